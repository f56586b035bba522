/* mem_client.c: a memory-protocol request/reply over one libfabric connection. */
#include "mem_client.h"

#include <errno.h>
#include <string.h>

#include "lib/fabric/fabric.h"

static enum mc_result from_errno(int rc)
{
	return rc == -ETIMEDOUT ? MC_TIMEOUT : MC_LOST;
}

enum mc_result mc_send(struct fab_conn *c, uint64_t id, unsigned op, size_t body_len,
		       int timeout_ms)
{
	struct wire_hdr h = {.magic = MP_MAGIC,
			     .version = MP_VERSION,
			     .op = (uint16_t)op,
			     .id = id,
			     .len = (uint32_t)body_len};
	int rc;

	mp_hdr_put(fab_sbuf(c), &h);
	rc = fab_call_send(c, MP_HDR_LEN + body_len, timeout_ms);
	return rc ? from_errno(rc) : MC_OK;
}

enum mc_result mc_wait(struct fab_conn *c, uint64_t id, unsigned op, int timeout_ms,
		       struct mc_reply *r)
{
	struct wire_hdr h;
	char err[MP_ERRTEXT_MAX + 1];
	size_t len = 0;
	int rc = fab_call_wait(c, &len, timeout_ms);

	r->status = MP_EIO;
	r->payload = NULL;
	r->len = 0;
	if (rc)
		return from_errno(rc);
	if (mp_hdr_get(fab_rbuf(c), len, &h, err, sizeof(err)) || h.op != (op | MP_REPLY) ||
	    h.id != id || h.status > MP_STATUS_MAX)
		return MC_MALFORMED;
	r->status = (enum mp_status)h.status;
	r->payload = (const uint8_t *)fab_rbuf(c) + MP_HDR_LEN;
	r->len = h.len;
	return MC_OK;
}

enum mc_result mc_call(struct fab_conn *c, uint64_t id, unsigned op, size_t body_len,
		       int timeout_ms, struct mc_reply *r)
{
	enum mc_result rc = mc_send(c, id, op, body_len, timeout_ms);

	if (rc) {
		r->status = MP_EIO;
		r->payload = NULL;
		r->len = 0;
		return rc;
	}
	return mc_wait(c, id, op, timeout_ms, r);
}

const char *mc_result_text(enum mc_result rc)
{
	switch (rc) {
	case MC_OK:
		return "ok";
	case MC_LOST:
		return "connection lost (server gone?)";
	case MC_TIMEOUT:
		return "no reply in time";
	default:
		return "a reply that does not answer the request";
	}
}

const char *mc_reply_text(const struct mc_reply *r, char *buf, size_t blen)
{
	return wire_text_get(r->payload, r->len, buf, blen);
}
