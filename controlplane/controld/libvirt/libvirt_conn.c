/* libvirt_conn.c: a libvirt client's connection: a thread reading its packets (length
 * word, header, payload) and handing each call to the procedure table, keepalive PINGs
 * answered, console stream packets passed on, and every packet written under one lock.
 * Facts: ../shared/LIBVIRT_PROTOCOL.md (the team's notes on libvirt 9.0.0). */
#include "libvirt_conn.h"

#include <stdlib.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "libvirt_dispatch.h"
#include "libvirt_events.h"

int libvirt_conn_send(struct libvirt_conn *cl, const struct xdr_out *o)
{
	int rc;

	if (o->err)
		return -1;
	pthread_mutex_lock(&cl->write_lock);
	rc = fdio_write_all(cl->fd, o->p, o->len);
	pthread_mutex_unlock(&cl->write_lock);
	return rc;
}

void libvirt_conn_call_begin(struct libvirt_conn *cl)
{
	pthread_mutex_lock(&cl->calls_lock);
	cl->calls++;
	pthread_mutex_unlock(&cl->calls_lock);
}

void libvirt_conn_call_done(struct libvirt_conn *cl)
{
	pthread_mutex_lock(&cl->calls_lock);
	cl->calls--;
	pthread_cond_broadcast(&cl->calls_done);
	pthread_mutex_unlock(&cl->calls_lock);
}

/* One packet that is not a console stream's: its answer in o (nothing when o stays
 * empty); false if the connection must close. */
static bool packet(struct libvirt_conn *cl, const struct rpc_proto_hdr *h, struct xdr_in *x,
		   struct xdr_out *o)
{
	if (h->prog == RPC_KEEPALIVE_PROGRAM && h->proc == RPC_KEEPALIVE_PING &&
	    h->type == RPC_MESSAGE) {
		struct rpc_proto_hdr pong = *h;

		pong.proc = RPC_KEEPALIVE_PONG;
		rpc_proto_begin(o, &pong);
		rpc_proto_end(o);
		return true;
	}
	if (h->type != RPC_CALL)
		return true; /* nothing else a client sends expects an answer here */
	if (h->prog != RPC_REMOTE_PROGRAM || h->vers != RPC_REMOTE_VERSION) {
		rpc_proto_error_reply(o, h, RPC_ERR_RPC, RPC_FROM_RPC,
				      "unknown program or version");
		return true;
	}
	return libvirt_dispatch(cl, h, x, o);
}

static void client_free(struct libvirt_conn *cl)
{
	close(cl->fd);
	pthread_mutex_destroy(&cl->write_lock);
	pthread_mutex_destroy(&cl->stream_lock);
	pthread_mutex_destroy(&cl->calls_lock);
	pthread_cond_destroy(&cl->calls_done);
	free(cl);
}

static void *serve(void *arg)
{
	struct libvirt_conn *cl = arg;
	uint8_t word[RPC_LEN_LEN], *body = NULL;

	for (;;) {
		struct rpc_proto_hdr h;
		struct xdr_in x;
		struct xdr_out o;
		int64_t len;
		bool keep;

		if (fdio_read_all(cl->fd, word, sizeof(word), MONO_NEVER) != FDIO_OK)
			break;
		len = rpc_proto_body_len(word);
		if (len < 0) {
			log_warn("client sent an impossible packet length: closing");
			break;
		}
		free(body);
		body = malloc((size_t)len);
		if (!body || fdio_read_all(cl->fd, body, (size_t)len, MONO_NEVER) != FDIO_OK)
			break;
		xdr_in_init(&x, body, (size_t)len);
		if (rpc_proto_hdr_get(&x, &h)) {
			log_warn("client sent a malformed header (%s): closing", x.err);
			break;
		}
		if (h.type == RPC_STREAM && h.prog == RPC_REMOTE_PROGRAM &&
		    h.proc == PROC_DOMAIN_OPEN_CONSOLE) {
			libvirt_console_packet(cl, &h);
			continue;
		}
		xdr_out_init(&o, RPC_MESSAGE_MAX + RPC_LEN_LEN);
		keep = packet(cl, &h, &x, &o);
		if (o.err || (o.len && libvirt_conn_send(cl, &o)))
			keep = false;
		xdr_out_free(&o);
		if (!keep)
			break;
	}
	libvirt_console_end(cl);
	libvirt_events_conn_end(cl);
	/* A migration goes on without its client; its thread still holds cl. */
	pthread_mutex_lock(&cl->calls_lock);
	while (cl->calls)
		pthread_cond_wait(&cl->calls_done, &cl->calls_lock);
	pthread_mutex_unlock(&cl->calls_lock);
	free(body);
	client_free(cl);
	return NULL;
}

void libvirt_conn_serve_fd(int fd)
{
	struct libvirt_conn *cl = calloc(1, sizeof(*cl));
	pthread_t t;

	if (!cl) {
		close(fd);
		return;
	}
	cl->fd = fd;
	pthread_mutex_init(&cl->write_lock, NULL);
	pthread_mutex_init(&cl->stream_lock, NULL);
	pthread_mutex_init(&cl->calls_lock, NULL);
	pthread_cond_init(&cl->calls_done, NULL);
	if (pthread_create(&t, NULL, serve, cl)) {
		log_error("cannot serve a client: out of threads");
		close(fd);
		free(cl);
		return;
	}
	pthread_detach(t);
}
