/* cluster_io.c: framing of cluster-protocol messages over a connection (TLS or plain). */
#include "cluster_io.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fdio.h"
#include "lib/mem_budget.h"
#include "lib/mono_clock.h"
#include "lib/proto/cluster_proto.h"

int cluster_io_send(struct tls_conn *c, uint16_t op, uint64_t id, uint32_t status,
		    const void *payload, size_t len)
{
	uint8_t hdr[CP_HDR_LEN];

	if (len > CP_MAX_PAYLOAD)
		return -1;
	wire_hdr_put(hdr, &(struct wire_hdr){.magic = CP_MAGIC,
					     .version = CP_VERSION,
					     .op = op,
					     .id = id,
					     .status = status,
					     .len = (uint32_t)len});
	if (len == 0)
		return tls_conn_write(c, hdr, sizeof(hdr));
	/* One segment for small messages: two writes would cost a round trip with Nagle off
	 * on some stacks. */
	if (len <= 4096) {
		uint8_t buf[CP_HDR_LEN + 4096];

		memcpy(buf, hdr, sizeof(hdr));
		memcpy(buf + CP_HDR_LEN, payload, len);
		return tls_conn_write(c, buf, CP_HDR_LEN + len);
	}
	return tls_conn_write(c, hdr, sizeof(hdr)) || tls_conn_write(c, payload, len) ? -1 : 0;
}

int cluster_io_send_error(struct tls_conn *c, const struct wire_hdr *h, uint32_t status,
			  const char *fmt, ...)
{
	uint8_t text[CP_ERRTEXT_MAX];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = wire_text_vput(text, sizeof(text), fmt, ap);
	va_end(ap);
	return cluster_io_send(c, (uint16_t)(h->op | CP_REPLY), h->id, status, text, n);
}

/* A deadline timeout_ms from now, for tls_conn_read (-1: none). */
static int64_t deadline_in(int timeout_ms)
{
	return timeout_ms < 0 ? MONO_NEVER : mono_clock_ms() + timeout_ms;
}

enum cluster_io_recv_result cluster_io_recv(struct tls_conn *c, int idle_ms, int read_ms,
					    struct wire_hdr *h, uint8_t **payload, char *err,
					    size_t errlen)
{
	uint8_t hdr[CP_HDR_LEN], *buf;
	uint32_t len;
	int64_t deadline;
	int rc = tls_conn_wait(c, idle_ms);

	*payload = NULL;
	if (rc <= 0) {
		snprintf(err, errlen, rc ? "connection failed" : "idle for %d ms", idle_ms);
		return CIO_FAILED;
	}
	deadline = deadline_in(read_ms);
	rc = tls_conn_read(c, hdr, sizeof(hdr), deadline);
	if (rc == FDIO_EOF)
		return CIO_EOF;
	if (rc != FDIO_OK) {
		snprintf(err, errlen, "%s", tls_conn_strerror(c, errno));
		return CIO_FAILED;
	}
	len = wire_get_le32(hdr + 20);
	/* Magic, version and reserved bytes before waiting for a payload: a peer speaking
	 * something else gets its error reply rather than a timeout or a silent close. */
	switch (wire_hdr_get(hdr, (size_t)CP_HDR_LEN + len, CP_MAGIC, CP_VERSION, CP_MAX_PAYLOAD, h,
			     err, errlen)) {
	case WIRE_HDR_OK:
		break;
	case WIRE_HDR_BAD:
		return CIO_BAD;
	case WIRE_HDR_TOOBIG:
		snprintf(err, errlen, "message longer than the protocol allows");
		return CIO_FAILED;
	}
	if (c->budget && mem_budget_hold(c->budget, &c->held, len > MEM_BUDGET_SMALL ? len : 0)) {
		snprintf(err, errlen,
			 "a %u-byte message while big messages of other clients fill the "
			 "server's memory for them",
			 len);
		return CIO_FAILED;
	}
	buf = malloc((size_t)CP_HDR_LEN + len + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return CIO_FAILED;
	}
	memcpy(buf, hdr, sizeof(hdr));
	if (len && tls_conn_read(c, buf + CP_HDR_LEN, len, deadline) != FDIO_OK) {
		snprintf(err, errlen, "inside a message: %s", tls_conn_strerror(c, errno));
		free(buf);
		return CIO_FAILED;
	}
	buf[CP_HDR_LEN + len] = '\0';
	if (cluster_proto_hdr_get(buf, (size_t)CP_HDR_LEN + len, h, err, errlen) != CP_OK) {
		free(buf);
		return CIO_BAD;
	}
	memmove(buf, buf + CP_HDR_LEN, (size_t)len + 1);
	*payload = buf;
	return CIO_MSG;
}

int cluster_io_call(struct tls_conn *c, uint16_t op, const void *req, size_t len, uint8_t **reply,
		    size_t *rlen, int timeout_ms, char *err, size_t errlen)
{
	static uint64_t next_id;
	uint64_t id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	struct wire_hdr h;
	uint8_t *p;
	char why[WIRE_TEXT_MAX];

	if (reply)
		*reply = NULL;
	if (rlen)
		*rlen = 0;
	if (cluster_io_send(c, op, id, 0, req, len)) {
		snprintf(err, errlen, "cannot send: %s", tls_conn_strerror(c, errno));
		return -1;
	}
	switch (cluster_io_recv(c, timeout_ms, timeout_ms, &h, &p, why, sizeof(why))) {
	case CIO_MSG:
		break;
	case CIO_EOF:
		snprintf(err, errlen, "the peer closed the connection");
		return -1;
	default:
		snprintf(err, errlen, "bad reply: %s", why);
		return -1;
	}
	if (h.op != (op | CP_REPLY) || h.id != id) {
		snprintf(err, errlen, "reply does not match the request (op %u id %llu)", h.op,
			 (unsigned long long)h.id);
		free(p);
		return -1;
	}
	if (h.status != CP_OK) {
		snprintf(err, errlen, "%s",
			 h.len ? (char *)p : cluster_proto_status_name(h.status));
		free(p);
		return (int)h.status;
	}
	if (reply)
		*reply = p;
	else
		free(p);
	if (rlen)
		*rlen = h.len;
	return CP_OK;
}
