/* mem_client.c: a memory-protocol request/reply over one libfabric connection. */
#include "mem_client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/fabric/fabric.h"
#include "lib/parse.h"

static enum mem_client_result from_errno(int rc)
{
	return rc == -ETIMEDOUT ? MC_TIMEOUT : MC_LOST;
}

enum mem_client_result mem_client_send(struct fab_conn *c, uint64_t id, unsigned op,
				       size_t body_len, int timeout_ms)
{
	struct wire_hdr h = {.magic = MP_MAGIC,
			     .version = MP_VERSION,
			     .op = (uint16_t)op,
			     .id = id,
			     .len = (uint32_t)body_len};
	int rc;

	mem_proto_hdr_put(fabric_sbuf(c), &h);
	rc = fabric_call_send(c, MP_HDR_LEN + body_len, timeout_ms);
	return rc ? from_errno(rc) : MC_OK;
}

enum mem_client_result mem_client_wait(struct fab_conn *c, uint64_t id, unsigned op, int timeout_ms,
				       struct mem_client_reply *r)
{
	struct wire_hdr h;
	char err[MP_ERRTEXT_MAX + 1];
	size_t len = 0;
	int rc = fabric_call_wait(c, &len, timeout_ms);

	r->status = MP_EIO;
	r->payload = NULL;
	r->len = 0;
	if (rc)
		return from_errno(rc);
	if (mem_proto_hdr_get(fabric_rbuf(c), len, &h, err, sizeof(err)) ||
	    h.op != (op | MP_REPLY) || h.id != id || h.status > MP_STATUS_MAX)
		return MC_MALFORMED;
	r->status = (enum mem_proto_status)h.status;
	r->payload = (const uint8_t *)fabric_rbuf(c) + MP_HDR_LEN;
	r->len = h.len;
	return MC_OK;
}

enum mem_client_result mem_client_exchange(struct fab_conn *c, uint64_t id, unsigned op,
					   size_t body_len, int timeout_ms,
					   struct mem_client_reply *r)
{
	enum mem_client_result rc = mem_client_send(c, id, op, body_len, timeout_ms);

	if (rc) {
		r->status = MP_EIO;
		r->payload = NULL;
		r->len = 0;
		return rc;
	}
	return mem_client_wait(c, id, op, timeout_ms, r);
}

const char *mem_client_result_text(enum mem_client_result rc)
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

const char *mem_client_reply_text(const struct mem_client_reply *r, char *buf, size_t blen)
{
	return wire_text_get(r->payload, r->len, buf, blen);
}

int mem_client_call(struct fab_conn *c, uint64_t id, unsigned op, size_t body_len, int timeout_ms,
		    struct mem_client_reply *r, char *err, size_t errlen)
{
	enum mem_client_result rc = mem_client_exchange(c, id, op, body_len, timeout_ms, r);
	char text[MP_ERRTEXT_MAX + 1];

	if (rc) {
		snprintf(err, errlen, "%s: %s", mem_proto_op_name(op), mem_client_result_text(rc));
		return -1;
	}
	if (r->status != MP_OK) {
		snprintf(err, errlen, "%s refused: %s: %s", mem_proto_op_name(op),
			 mem_proto_status_name(r->status),
			 mem_client_reply_text(r, text, sizeof(text)));
		return (int)r->status;
	}
	return 0;
}

int mem_client_auth(struct fab_conn *c, uint64_t id, const struct mem_client_cred *cred,
		    const struct mem_proto_hello_reply *hr, int timeout_ms, unsigned *gen,
		    char *err, size_t errlen)
{
	uint8_t *body = (uint8_t *)fabric_sbuf(c) + MP_HDR_LEN;
	struct mem_proto_auth_reply ar;
	struct mem_client_reply r;
	size_t len = 0;
	unsigned g = 0;
	int rc;

	if (!(hr->flags & MP_HELLO_AUTH))
		return 0;
	if (cred && cred->holder) {
		len = cap_holder_present(cred->holder, CAP_KIND_MEMORY, hr->challenge, body, &g,
					 err, errlen);
		if (!len)
			return -1;
	} else if (cred && cred->key && cred->cap_len && cred->cap_len <= CAP_MAX_LEN) {
		if (cap_key_prove(cred->key, hr->challenge, cred->cap, cred->cap_len, body)) {
			snprintf(err, errlen, "cannot sign the capability's proof");
			return -1;
		}
		memcpy(body + CAP_SIG_LEN, cred->cap, cred->cap_len);
		len = CAP_SIG_LEN + cred->cap_len;
	} else {
		snprintf(err, errlen,
			 "memory server %s requires a capability, and this client has "
			 "none",
			 hr->name);
		return -1;
	}
	rc = mem_client_call(c, id, MP_AUTH, len, timeout_ms, &r, err, errlen);
	if (!rc && mem_proto_auth_reply_get(r.payload, r.len, &ar) != MP_OK) {
		snprintf(err, errlen, "malformed AUTH reply");
		rc = -1;
	}
	if (!rc && gen)
		*gen = g;
	return rc;
}

int mem_client_connect(const char *provider, const char *addr, uint64_t vnode, const char *client,
		       const struct mem_client_cred *cred, int timeout_ms, struct fab_conn **out,
		       struct mem_proto_hello_reply *hr, char *err, size_t errlen)
{
	char host[256], port[16], why[MP_ERRTEXT_MAX + 64];
	struct mem_proto_hello m = {.vnode = vnode};
	struct mem_proto_hello_reply own;
	struct mem_client_reply r;
	int rc;

	*out = NULL;
	if (!hr)
		hr = &own;
	if (parse_hostport(addr, 1, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "'%s' is not HOST:PORT", addr);
		return -1;
	}
	rc = fabric_connect(provider, host, port, MP_MAX_MSG, timeout_ms, out);
	if (rc) {
		*out = NULL;
		snprintf(err, errlen, "cannot connect to %s: %s", addr,
			 rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		return -1;
	}
	snprintf(m.name, sizeof(m.name), "%s", client);
	mem_proto_hello_put((uint8_t *)fabric_sbuf(*out) + MP_HDR_LEN, &m);
	rc = mem_client_call(*out, 1, MP_HELLO, MP_HELLO_LEN, timeout_ms, &r, why, sizeof(why));
	if (!rc && mem_proto_hello_reply_get(r.payload, r.len, hr) != MP_OK) {
		snprintf(why, sizeof(why), "malformed HELLO reply");
		rc = -1;
	}
	if (!rc)
		rc = mem_client_auth(*out, 2, cred, hr, timeout_ms, NULL, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "%s: %s", addr, why);
		fabric_close(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}
