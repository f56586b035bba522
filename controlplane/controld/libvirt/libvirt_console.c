/* libvirt_console.c: `virsh console`: DOMAIN_OPEN_CONSOLE starts a stream (one per
 * connection) fed by a thread polling the vNode's console on its host; the client's own
 * stream packets end it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_vnode.h"
#include "libvirt_dispatch.h"

#define CONSOLE_POLL_US 50000

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

static bool stream_stopping(struct libvirt_conn *cl)
{
	bool stop;

	pthread_mutex_lock(&cl->stream_lock);
	stop = cl->stream_stop;
	pthread_mutex_unlock(&cl->stream_lock);
	return stop;
}

static void *console_thread(void *arg)
{
	struct libvirt_conn *cl = arg;
	uint8_t *buf = malloc(CP_CONSOLE_MAX);
	uint64_t off = 0;

	while (buf && !stream_stopping(cl)) {
		char err[512];
		size_t n;
		bool ended;

		if (controld_vnode_console(cl->stream_uuid, &off, buf, CP_CONSOLE_MAX, &n, &ended,
					   err, sizeof(err))) {
			struct xdr_out o;

			xdr_out_init(&o, 65536);
			rpc_proto_error_reply(&o, &cl->stream_hdr, RPC_ERR_OPERATION_FAILED,
					      RPC_FROM_DOMAIN, err);
			libvirt_conn_send(cl, &o);
			xdr_out_free(&o);
			break;
		}
		if (n)
			stream_send(cl, RPC_CONTINUE, buf, n);
		if (ended) {
			stream_send(cl, RPC_CONTINUE, NULL, 0); /* end of stream */
			break;
		}
		if (!n)
			usleep(CONSOLE_POLL_US);
	}
	free(buf);
	return NULL;
}

void libvirt_console_end(struct libvirt_conn *cl)
{
	bool join;

	pthread_mutex_lock(&cl->stream_lock);
	join = cl->streaming;
	cl->stream_stop = true;
	cl->streaming = false;
	pthread_mutex_unlock(&cl->stream_lock);
	if (join)
		pthread_join(cl->stream_thread, NULL);
}

/* Data from the client is dropped (the guest console takes no input); finish or abort
 * ends the stream and is confirmed. */
void libvirt_console_packet(struct libvirt_conn *cl, const struct rpc_proto_hdr *h)
{
	struct xdr_out o;
	struct rpc_proto_hdr r = *h;

	if (h->status == RPC_CONTINUE)
		return;
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

	if (dev && strcmp(dev, "serial0") && strcmp(dev, "console0"))
		return libvirt_dispatch_fail(
			c, RPC_ERR_INTERNAL,
			"internal error: character device %s is not using a PTY", dev);
	if (c->a->flags & ~3U)
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG, "unsupported flags (0x%x)",
					     c->a->flags);
	if (c->v->id < 0)
		return libvirt_dispatch_fail(
			c, RPC_ERR_OPERATION_INVALID,
			"Requested operation is not valid: domain is not running");
	libvirt_dispatch_unlock(c);
	libvirt_console_end(cl); /* a new console replaces the connection's old one */
	rpc_proto_end(c->o);
	if (libvirt_conn_send(cl, c->o)) {
		c->close = true;
		return LIBVIRT_SENT;
	}
	pthread_mutex_lock(&cl->stream_lock);
	cl->stream_hdr = *c->h;
	memcpy(cl->stream_uuid, c->a->uuid, 16);
	cl->stream_stop = false;
	cl->streaming = !pthread_create(&cl->stream_thread, NULL, console_thread, cl);
	pthread_mutex_unlock(&cl->stream_lock);
	return LIBVIRT_SENT;
}
