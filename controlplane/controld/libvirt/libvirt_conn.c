/* libvirt_conn.c: a libvirt client's connection: a thread reading its packets (length
 * word, header, payload; a big one only within the server's memory budget) and handing each
 * call to the procedure table, keepalive PINGs answered, console stream packets passed on,
 * and every packet written under one lock. Facts: ../shared/LIBVIRT_PROTOCOL.md (the team's
 * notes on libvirt 9.0.0). */
#include "libvirt_conn.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>

#include "controlplane/controld/controld_lease.h"
#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/mem_budget.h"
#include "lib/mono_clock.h"
#include "libvirt_dispatch.h"
#include "libvirt_events.h"

/* Quiet clients stay (virsh's shell, a console someone watches): only a very long silence
 * with nothing under way closes a connection. A packet, once begun, must arrive soon. */
#define IDLE_MS	  (15 * 60 * 1000)
#define PACKET_MS 60000
/* libvirtd's word after a TLS handshake that the client's certificate is accepted;
 * without it the client says "server verification (of our certificate or IP address)
 * failed". */
#define TLS_ACCEPTED 1

static const char *const *allow;
static int nallow;

void libvirt_conn_allow(const char *const *patterns, int n)
{
	allow = patterns;
	nallow = n;
}

int libvirt_conn_send(struct libvirt_conn *cl, const struct xdr_out *o)
{
	int rc;

	if (o->err)
		return -1;
	pthread_mutex_lock(&cl->write_lock);
	rc = tls_conn_write(cl->c, o->p, o->len);
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
	if (controld_lease_standby()) { /* a peer the listener accepted: name the leader */
		char leader[400], msg[512];

		controld_lease_leader(leader, sizeof(leader));
		snprintf(msg, sizeof(msg),
			 "this lego-controld stands by and serves nothing; the leader is %s",
			 leader);
		rpc_proto_error_reply(o, h, RPC_ERR_OPERATION_INVALID, RPC_FROM_RPC, msg);
		return true;
	}
	return libvirt_dispatch(cl, h, x, o);
}

/* Until the next packet begins: true, or false when the client left or stayed silent too
 * long with nothing under way. */
static bool wait_packet(struct libvirt_conn *cl)
{
	int64_t quiet_since = mono_clock_ms();

	for (;;) {
		int r = tls_conn_wait(cl->c, 1000);
		bool busy;

		if (r)
			return r > 0;
		pthread_mutex_lock(&cl->calls_lock);
		busy = cl->calls > 0;
		pthread_mutex_unlock(&cl->calls_lock);
		pthread_mutex_lock(&cl->stream_lock);
		busy |= cl->streaming;
		pthread_mutex_unlock(&cl->stream_lock);
		if (busy)
			quiet_since = mono_clock_ms();
		else if (mono_clock_ms() - quiet_since > IDLE_MS)
			return false;
	}
}

/* The next packet's body (malloc'ed, *len bytes), or NULL when the connection must close
 * (logged if the client did something wrong). */
static uint8_t *read_packet(struct libvirt_conn *cl, const char *who, int64_t *len)
{
	uint8_t word[RPC_LEN_LEN], *body;
	int64_t deadline;
	int rc;

	if (!wait_packet(cl))
		return NULL;
	deadline = mono_clock_ms() + PACKET_MS;
	rc = tls_conn_read(cl->c, word, sizeof(word), deadline);
	if (rc != FDIO_OK) {
		if (rc != FDIO_EOF)
			log_info("libvirt: %s: %s", who, tls_conn_strerror(cl->c, errno));
		return NULL;
	}
	*len = rpc_proto_body_len(word);
	if (*len < 0) {
		log_warn("libvirt: %s sent an impossible packet length: closing", who);
		return NULL;
	}
	/* A big packet holds its share of the budget while it arrives and is handled; the
	 * buffer's pages are only touched as its bytes come. */
	if (cl->c->budget && mem_budget_hold(cl->c->budget, &cl->c->held,
					     *len > MEM_BUDGET_SMALL ? (uint64_t)*len : 0)) {
		log_warn("libvirt: %s: a %lld-byte packet while other clients' big packets fill "
			 "the memory kept for them: closing",
			 who, (long long)*len);
		return NULL;
	}
	body = malloc((size_t)*len);
	if (!body)
		return NULL;
	rc = tls_conn_read(cl->c, body, (size_t)*len, deadline);
	if (rc != FDIO_OK) {
		log_warn("libvirt: %s: a %lld-byte packet did not arrive within %d s: %s", who,
			 (long long)*len, PACKET_MS / 1000,
			 rc == FDIO_EOF ? "closed" : tls_conn_strerror(cl->c, errno));
		free(body);
		return NULL;
	}
	return body;
}

static void serve(struct libvirt_conn *cl, const char *who)
{
	for (;;) {
		struct rpc_proto_hdr h;
		struct xdr_in x;
		struct xdr_out o;
		int64_t len;
		uint8_t *body = read_packet(cl, who, &len);
		bool keep;

		if (!body)
			break;
		xdr_in_init(&x, body, (size_t)len);
		if (rpc_proto_hdr_get(&x, &h)) {
			log_warn("libvirt: %s sent a malformed header (%s): closing", who, x.err);
			free(body);
			break;
		}
		if (h.type == RPC_STREAM && h.prog == RPC_REMOTE_PROGRAM &&
		    h.proc == PROC_DOMAIN_OPEN_CONSOLE) {
			libvirt_console_packet(cl, &h, &x);
			free(body);
			continue;
		}
		xdr_out_init(&o, RPC_MESSAGE_MAX + RPC_LEN_LEN);
		keep = packet(cl, &h, &x, &o);
		if (o.err || (o.len && libvirt_conn_send(cl, &o)))
			keep = false;
		xdr_out_free(&o);
		free(body);
		if (!keep)
			break;
	}
}

/* A TLS client: an admin certificate whose name is on the allow-list. */
static bool allowed(const struct tls_pki_id *id)
{
	if (id->kind != TLS_KIND_ADMIN)
		return false;
	if (!nallow)
		return true;
	for (int i = 0; i < nallow; i++)
		if (!fnmatch(allow[i], id->name, 0))
			return true;
	return false;
}

void libvirt_conn_serve(struct netserver_client *nc)
{
	struct libvirt_conn *cl;
	pthread_condattr_t ca;
	const uint8_t accepted = TLS_ACCEPTED;
	char who[160];

	/* A local client is its user (the address says it); a remote one its certificate. */
	if (nc->tag == LIBVIRT_CONN_UNIX || nc->tag == LIBVIRT_CONN_UNIX_RO)
		snprintf(who, sizeof(who), "%s", nc->conn->addr);
	else
		tls_conn_who(nc->conn, who, sizeof(who));
	if (nc->tag == LIBVIRT_CONN_TLS && !allowed(&nc->conn->peer)) {
		log_warn("libvirt: refused TLS client %s: an admin certificate on the allow-list "
			 "(--libvirt-allow) is required",
			 who);
		return;
	}
	if (nc->tag == LIBVIRT_CONN_TLS && tls_conn_write(nc->conn, &accepted, 1))
		return;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return;
	cl->c = nc->conn;
	cl->via = (enum libvirt_conn_listener)nc->tag;
	cl->readonly = cl->via == LIBVIRT_CONN_UNIX_RO;
	pthread_mutex_init(&cl->write_lock, NULL);
	pthread_mutex_init(&cl->stream_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cl->stream_wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&cl->calls_lock, NULL);
	pthread_cond_init(&cl->calls_done, NULL);
	if (cl->via == LIBVIRT_CONN_TCP) {
		log_info("libvirt: unauthenticated plain-TCP client %s (--libvirt-tcp)", who);
	}
	serve(cl, who);
	libvirt_console_end(cl);
	libvirt_events_conn_end(cl);
	/* A migration goes on without its client; its thread still holds cl. */
	pthread_mutex_lock(&cl->calls_lock);
	while (cl->calls)
		pthread_cond_wait(&cl->calls_done, &cl->calls_lock);
	pthread_mutex_unlock(&cl->calls_lock);
	pthread_mutex_destroy(&cl->write_lock);
	pthread_mutex_destroy(&cl->stream_lock);
	pthread_cond_destroy(&cl->stream_wake);
	pthread_mutex_destroy(&cl->calls_lock);
	pthread_cond_destroy(&cl->calls_done);
	free(cl);
}
