/* libvirt_console.c: `virsh console`: DOMAIN_OPEN_CONSOLE starts a stream (one per
 * connection, one per vNode as libvirtd allows: a second is refused unless it forces the first
 * out) served by a thread that passes the client's input to the vNode's UART and polls its
 * output on its host; the client's finish or abort ends it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "controlplane/controld/controld_console.h"
#include "controlplane/controld/controld_registry.h"
#include "lib/log.h"
#include "lib/proto/cluster_proto.h"
#include "libvirt_dispatch.h"

#define CONSOLE_POLL_MS 50
#define CONSOLE_ECHO_MS 10
#define FLAG_FORCE	1U /* VIR_DOMAIN_CONSOLE_FORCE: take the console from its holder */
#define FLAG_SAFE	2U /* VIR_DOMAIN_CONSOLE_SAFE: only with that exclusion (we have it) */

/* The connections holding a vNode's console, linked by stream_next. Lock order: this, then
 * a connection's stream_lock. A connection leaves the list before it is freed. */
static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct libvirt_conn *sessions;

/* Under sessions_lock. */
static void session_remove(struct libvirt_conn *cl)
{
	for (struct libvirt_conn **p = &sessions; *p; p = &(*p)->stream_next) {
		if (*p == cl) {
			*p = cl->stream_next;
			cl->stream_next = NULL;
			return;
		}
	}
}

/* cl takes uuid's console: false if another connection holds it and force is not given;
 * forced, the holder's stream ends (its client sees the end of the stream). */
static bool session_claim(struct libvirt_conn *cl, const uint8_t uuid[16], bool force)
{
	struct libvirt_conn *other = NULL;

	pthread_mutex_lock(&sessions_lock);
	for (struct libvirt_conn *s = sessions; s && !other; s = s->stream_next)
		if (!memcmp(s->stream_uuid, uuid, 16))
			other = s;
	if (other && !force) {
		pthread_mutex_unlock(&sessions_lock);
		return false;
	}
	if (other) {
		pthread_mutex_lock(&other->stream_lock);
		other->stream_stop = other->stream_taken = true;
		pthread_cond_signal(&other->stream_wake);
		pthread_mutex_unlock(&other->stream_lock);
		session_remove(other);
		log_info("libvirt: the console of vNode %s was taken over by another client "
			 "(--force)",
			 other->stream_name);
	}
	memcpy(cl->stream_uuid, uuid, 16);
	cl->stream_next = sessions;
	sessions = cl;
	pthread_mutex_unlock(&sessions_lock);
	return true;
}

static void stream_send(struct libvirt_conn *cl, int status, const void *data, size_t len)
{
	struct xdr_out o;
	struct rpc_proto_hdr h = cl->stream_hdr;

	h.type = RPC_STREAM;
	h.status = status;
	xdr_out_init(&o, RPC_MESSAGE_MAX + RPC_LEN_LEN);
	rpc_proto_begin(&o, &h);
	if (len)
		xdr_put_raw(&o, data, len); /* stream data is raw bytes, not XDR */
	rpc_proto_end(&o);
	libvirt_conn_send(cl, &o);
	xdr_out_free(&o);
}

static void stream_error(struct libvirt_conn *cl, const char *err)
{
	struct xdr_out o;

	xdr_out_init(&o, 65536);
	rpc_proto_error_reply(&o, &cl->stream_hdr, RPC_ERR_OPERATION_FAILED, RPC_FROM_DOMAIN, err);
	libvirt_conn_send(cl, &o);
	xdr_out_free(&o);
}

/* The client's input waiting, copied into in (the stream keeps it until it is taken); false
 * when the stream must stop (then the end of the stream goes to a client forced out). */
static bool stream_next_input(struct libvirt_conn *cl, uint8_t *in, size_t *len, bool *taken)
{
	bool stop;

	pthread_mutex_lock(&cl->stream_lock);
	stop = cl->stream_stop;
	*taken = cl->stream_taken;
	*len = cl->stream_in_len;
	memcpy(in, cl->stream_in, *len);
	cl->stream_in_new = false;
	pthread_mutex_unlock(&cl->stream_lock);
	return !stop;
}

/* The first n bytes went to the vNode. */
static void stream_input_done(struct libvirt_conn *cl, size_t n)
{
	pthread_mutex_lock(&cl->stream_lock);
	memmove(cl->stream_in, cl->stream_in + n, cl->stream_in_len - n);
	cl->stream_in_len -= n;
	pthread_mutex_unlock(&cl->stream_lock);
}

/* Until the next poll, new input, or the end. */
static void stream_wait(struct libvirt_conn *cl, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&cl->stream_lock);
	while (!cl->stream_stop && !cl->stream_in_new &&
	       pthread_cond_timedwait(&cl->stream_wake, &cl->stream_lock, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&cl->stream_lock);
}

/* The input waiting, to the vNode: how much it took. What it has no room for waits; a
 * failure to reach it is logged once per stream, and the input waits too; a vNode that no
 * longer runs takes nothing again: what waits is dropped. */
static size_t pass_input(struct libvirt_conn *cl, const uint8_t *in, size_t len, bool *warned)
{
	char err[512];
	size_t took = 0;

	switch (controld_console_input(cl->stream_uuid, in, len, &took, err, sizeof(err))) {
	case CONTROLD_CONSOLE_IN_OK:
		stream_input_done(cl, took);
		return took;
	case CONTROLD_CONSOLE_IN_LATER:
		if (!*warned)
			log_warn("libvirt: console input for vNode %s waits: %s", cl->stream_name,
				 err);
		*warned = true;
		return 0;
	default:
		stream_input_done(cl, len);
		return 0;
	}
}

/* Ends by itself when the vNode has stopped and all of its output was sent, or its output
 * cannot be read; then it leaves the sessions, so that a new console may open. */
static void *console_thread(void *arg)
{
	struct libvirt_conn *cl = arg;
	uint8_t *buf = malloc(CP_CONSOLE_MAX), *in = malloc(LIBVIRT_CONN_CONSOLE_IN_MAX);
	uint64_t off = 0;
	bool warned = false, taken = false;
	size_t in_len;

	while (buf && in && stream_next_input(cl, in, &in_len, &taken)) {
		char err[512];
		size_t n, took = 0;
		bool ended;

		if (in_len)
			took = pass_input(cl, in, in_len, &warned);
		if (controld_console_read(cl->stream_uuid, &off, buf, CP_CONSOLE_MAX, &n, &ended,
					  err, sizeof(err))) {
			stream_error(cl, err);
			break;
		}
		if (n)
			stream_send(cl, RPC_CONTINUE, buf, n);
		if (ended) {
			stream_send(cl, RPC_CONTINUE, NULL, 0); /* end of stream */
			break;
		}
		/* Soon after input: its echo is on the way. */
		if (!n)
			stream_wait(cl, took ? CONSOLE_ECHO_MS : CONSOLE_POLL_MS);
	}
	if (taken)
		stream_send(cl, RPC_CONTINUE, NULL, 0);
	pthread_mutex_lock(&sessions_lock);
	session_remove(cl);
	pthread_mutex_unlock(&sessions_lock);
	free(buf);
	free(in);
	return NULL;
}

void libvirt_console_end(struct libvirt_conn *cl)
{
	bool join;

	pthread_mutex_lock(&sessions_lock);
	session_remove(cl);
	pthread_mutex_unlock(&sessions_lock);
	pthread_mutex_lock(&cl->stream_lock);
	join = cl->streaming;
	cl->stream_stop = true;
	cl->streaming = false;
	pthread_cond_signal(&cl->stream_wake);
	pthread_mutex_unlock(&cl->stream_lock);
	if (join)
		pthread_join(cl->stream_thread, NULL);
	if (cl->stream_in_dropped)
		log_warn("libvirt: console of vNode %s: %llu input byte(s) dropped in all: the "
			 "guest did not read them",
			 cl->stream_name, (unsigned long long)cl->stream_in_dropped);
	cl->stream_in_len = 0;
	cl->stream_in_dropped = 0;
	cl->stream_taken = false;
}

/* Bytes from the client: into the bounded input buffer, and beyond it dropped (counted, and
 * said once). */
static void console_input(struct libvirt_conn *cl, const uint8_t *data, size_t len)
{
	size_t room, take;
	bool first_drop = false;

	pthread_mutex_lock(&cl->stream_lock);
	if (!cl->streaming || cl->stream_stop) {
		pthread_mutex_unlock(&cl->stream_lock);
		return; /* the stream has ended: nothing will read it */
	}
	room = LIBVIRT_CONN_CONSOLE_IN_MAX - cl->stream_in_len;
	take = len < room ? len : room;
	memcpy(cl->stream_in + cl->stream_in_len, data, take);
	cl->stream_in_len += take;
	if (take < len) {
		first_drop = !cl->stream_in_dropped;
		cl->stream_in_dropped += len - take;
	}
	cl->stream_in_new = true;
	pthread_cond_signal(&cl->stream_wake);
	pthread_mutex_unlock(&cl->stream_lock);
	if (first_drop)
		log_warn("libvirt: console of vNode %s: the guest is not reading; input beyond "
			 "%d waiting bytes is dropped",
			 cl->stream_name, LIBVIRT_CONN_CONSOLE_IN_MAX);
}

/* Data goes to the vNode; finish or abort ends the stream and is confirmed. A packet of
 * another stream (an older call's serial) is ignored. */
void libvirt_console_packet(struct libvirt_conn *cl, const struct rpc_proto_hdr *h,
			    const struct xdr_in *x)
{
	struct xdr_out o;
	struct rpc_proto_hdr r = *h;
	bool ours;

	pthread_mutex_lock(&cl->stream_lock);
	ours = cl->streaming && h->serial == cl->stream_hdr.serial;
	pthread_mutex_unlock(&cl->stream_lock);
	if (h->status == RPC_CONTINUE) {
		if (ours && x->len > x->pos)
			console_input(cl, x->p + x->pos, x->len - x->pos);
		return;
	}
	if (ours)
		libvirt_console_end(cl);
	r.status = RPC_OK;
	xdr_out_init(&o, 64);
	rpc_proto_begin(&o, &r);
	rpc_proto_end(&o);
	libvirt_conn_send(cl, &o);
	xdr_out_free(&o);
}

/* The empty reply goes first, then the stream's data. */
enum libvirt_result libvirt_console_open(struct libvirt_call *c)
{
	struct libvirt_conn *cl = c->cl;
	const char *dev = c->a->name;
	char name[sizeof(cl->stream_name)];
	uint8_t uuid[16];

	if (dev && strcmp(dev, "serial0") && strcmp(dev, "console0"))
		return libvirt_dispatch_fail(
			c, RPC_ERR_INTERNAL,
			"internal error: character device %s is not using a PTY", dev);
	if (c->a->flags & ~(FLAG_FORCE | FLAG_SAFE))
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG, "unsupported flags (0x%x)",
					     c->a->flags);
	if (c->v->id < 0)
		return libvirt_dispatch_fail(
			c, RPC_ERR_OPERATION_INVALID,
			"Requested operation is not valid: domain is not running");
	memcpy(uuid, c->a->uuid, 16);
	snprintf(name, sizeof(name), "%s", c->v->def.name);
	libvirt_dispatch_unlock(c);
	libvirt_console_end(cl); /* a new console replaces the connection's old one */
	memcpy(cl->stream_name, name, sizeof(name));
	if (!session_claim(cl, uuid, c->a->flags & FLAG_FORCE))
		return libvirt_dispatch_fail(
			c, RPC_ERR_OPERATION_FAILED,
			"operation failed: Active console session exists for this domain");
	rpc_proto_end(c->o);
	if (libvirt_conn_send(cl, c->o)) {
		c->close = true;
		return LIBVIRT_SENT;
	}
	pthread_mutex_lock(&cl->stream_lock);
	cl->stream_hdr = *c->h;
	cl->stream_stop = false;
	cl->stream_in_len = 0;
	cl->stream_in_new = false;
	cl->streaming = !pthread_create(&cl->stream_thread, NULL, console_thread, cl);
	pthread_mutex_unlock(&cl->stream_lock);
	if (!cl->streaming) {
		pthread_mutex_lock(&sessions_lock);
		session_remove(cl);
		pthread_mutex_unlock(&sessions_lock);
	}
	return LIBVIRT_SENT;
}
