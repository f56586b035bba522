/* smon_client.c: storage-protocol calls over one libfabric connection. */
#include "smon_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fabric/fabric.h"

struct smon_client {
	struct fab_conn *c;
	char provider[64], host[256], port[16];
	char name[SP_NAME_LEN + 1];
	int timeout_ms;
	int spin_us; /* -1: the process default */
	uint64_t next_id;
	struct cap_holder *holder;
	bool authed;
	unsigned gen; /* the holder's generation presented */
	struct stor_proto_hello_reply server;
	char peer[300];
	char err[1024];
};

void smon_client_set_spin_us(struct smon_client *cl, int us)
{
	cl->spin_us = us;
	if (cl->c)
		fabric_set_spin_us(cl->c, us);
}

bool smon_client_broken(const struct smon_client *cl)
{
	return !cl->c || fabric_broken(cl->c);
}

const char *smon_client_error(const struct smon_client *cl)
{
	return cl->err;
}

const struct stor_proto_hello_reply *smon_client_server(const struct smon_client *cl)
{
	return &cl->server;
}

const char *smon_client_peer(const struct smon_client *cl)
{
	return cl->peer;
}

void *smon_client_raw_buf(struct smon_client *cl)
{
	return fabric_sbuf(cl->c);
}

void *smon_client_write_buf(struct smon_client *cl)
{
	return (uint8_t *)fabric_sbuf(cl->c) + SP_HDR_LEN + SP_IO_LEN;
}

int smon_client_raw_call(struct smon_client *cl, size_t len, struct wire_hdr *reply,
			 const void **payload)
{
	char err[SP_ERRTEXT_MAX + 1];
	size_t rlen = 0;
	int rc;

	if (!cl->c)
		return -ENOTCONN;
	rc = fabric_call(cl->c, len, &rlen, cl->timeout_ms);
	if (rc) {
		snprintf(cl->err, sizeof(cl->err), "%s: %s", cl->peer,
			 rc == -ENOTCONN    ? "connection lost (server gone?)"
			 : rc == -ETIMEDOUT ? "no reply in time"
					    : strerror(-rc));
		return rc;
	}
	if (stor_proto_hdr_get(fabric_rbuf(cl->c), rlen, reply, err, sizeof(err)) != SP_OK) {
		snprintf(cl->err, sizeof(cl->err), "%s: malformed reply: %s", cl->peer, err);
		return -EPROTO;
	}
	*payload = (const uint8_t *)fabric_rbuf(cl->c) + SP_HDR_LEN;
	return 0;
}

/* The request is in the send buffer (len bytes): send it, check the reply is its answer.
 * Returns 0 with the payload, or -errno with cl->err set. */
static int call(struct smon_client *cl, unsigned op, uint64_t id, size_t len, const void **body,
		size_t *blen)
{
	struct wire_hdr r;
	const void *p;
	int rc = smon_client_raw_call(cl, len, &r, &p);

	if (rc)
		return rc;
	if (r.op != (op | SP_REPLY) || r.id != id || r.status > SP_STATUS_MAX) {
		snprintf(cl->err, sizeof(cl->err),
			 "%s: malformed %s reply (op %#x, id %llu, status %u)", cl->peer,
			 stor_proto_op_name(op), r.op, (unsigned long long)r.id, r.status);
		return -EPROTO;
	}
	if (r.status != SP_OK) {
		char text[SP_ERRTEXT_MAX + 1];

		wire_text_get(p, r.len, text, sizeof(text));
		/* The server's text says what was wrong; the status name is the fallback. */
		snprintf(cl->err, sizeof(cl->err), "%s",
			 text[0] ? text : stor_proto_status_name(r.status));
		return stor_proto_status_errno((enum stor_proto_status)r.status);
	}
	*body = p;
	*blen = r.len;
	return 0;
}

/* AUTH with the holder's storage capability. The request goes through the start of the send
 * buffer, which may hold a WRITE's data already: what it overwrites is put back. */
static int auth(struct smon_client *cl)
{
	uint8_t saved[SP_HDR_LEN + SP_AUTH_MAX_LEN];
	uint8_t *sbuf = fabric_sbuf(cl->c);
	struct stor_proto_auth_reply ar;
	const void *p;
	size_t n, len;
	uint64_t id;
	unsigned gen;
	int rc;

	if (!cl->holder) {
		snprintf(cl->err, sizeof(cl->err),
			 "%s: storage server %s requires a capability, and this client has none",
			 cl->peer, cl->server.name);
		return -EPERM;
	}
	memcpy(saved, sbuf, sizeof(saved));
	len = cap_holder_present(cl->holder, CAP_KIND_STORAGE, cl->server.challenge,
				 sbuf + SP_HDR_LEN, &gen, cl->err, sizeof(cl->err));
	if (!len) {
		memcpy(sbuf, saved, sizeof(saved));
		return -EPERM;
	}
	id = ++cl->next_id;
	rc = call(cl, SP_AUTH, id, stor_proto_auth_put(sbuf, id, NULL, len), &p, &n);
	memcpy(sbuf, saved, sizeof(saved));
	if (!rc && stor_proto_auth_reply_get(p, n, &ar) != SP_OK) {
		snprintf(cl->err, sizeof(cl->err), "%s: malformed AUTH reply", cl->peer);
		rc = -EPROTO;
	}
	if (rc)
		return rc;
	cl->authed = true;
	cl->gen = gen;
	return 0;
}

static int simple(struct smon_client *cl, unsigned op, const struct stor_proto_req *m,
		  const void **body, size_t *blen)
{
	uint64_t id;
	size_t len;
	int rc;

	if (!cl->c)
		return -ENOTCONN;
	if (cl->authed && cap_holder_stale(cl->holder, CAP_KIND_STORAGE, cl->gen)) {
		rc = auth(cl);
		if (rc)
			return rc;
	}
	id = ++cl->next_id;
	len = stor_proto_req_put(fabric_sbuf(cl->c), op, id, m);
	rc = call(cl, op, id, len, body, blen);
	/* Expired while a renewal is at hand (it came late): show it, send again. */
	if (rc == -EKEYEXPIRED && cl->authed &&
	    cap_holder_stale(cl->holder, CAP_KIND_STORAGE, cl->gen) && !auth(cl)) {
		id = ++cl->next_id;
		len = stor_proto_req_put(fabric_sbuf(cl->c), op, id, m);
		rc = call(cl, op, id, len, body, blen);
	}
	return rc;
}

static int hello(struct smon_client *cl)
{
	struct stor_proto_req m = {0};
	const void *p;
	size_t n;
	int rc;

	snprintf(m.client, sizeof(m.client), "%s", cl->name);
	rc = simple(cl, SP_HELLO, &m, &p, &n);
	if (rc)
		return rc;
	if (stor_proto_hello_reply_get(p, n, &cl->server) != SP_OK ||
	    cl->server.version != SP_VERSION) {
		snprintf(cl->err, sizeof(cl->err), "%s: malformed HELLO reply", cl->peer);
		return -EPROTO;
	}
	cl->authed = false;
	return cl->server.flags & SP_HELLO_AUTH ? auth(cl) : 0;
}

static int dial(struct smon_client *cl)
{
	/* Replies are at most SP_MAX_MSG; twice that is only the server's need. */
	int rc = fabric_connect(cl->provider, cl->host, cl->port, SP_MAX_MSG, cl->timeout_ms,
				&cl->c);

	if (rc) {
		cl->c = NULL;
		snprintf(cl->err, sizeof(cl->err), "%s: cannot connect: %s", cl->peer,
			 strerror(-rc));
		return rc;
	}
	fabric_set_spin_us(cl->c, cl->spin_us);
	rc = hello(cl);
	if (rc) {
		fabric_close(cl->c);
		cl->c = NULL;
	}
	return rc;
}

int smon_client_connect(const char *provider, const char *host, const char *port,
			const char *client_name, struct cap_holder *holder, int timeout_ms,
			struct smon_client **out, char *err, size_t errlen)
{
	struct smon_client *cl = calloc(1, sizeof(*cl));
	int rc;

	*out = NULL;
	if (!cl) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(cl->provider, sizeof(cl->provider), "%s", provider);
	snprintf(cl->host, sizeof(cl->host), "%s", host);
	snprintf(cl->port, sizeof(cl->port), "%s", port);
	snprintf(cl->name, sizeof(cl->name), "%s", client_name);
	snprintf(cl->peer, sizeof(cl->peer), "%s:%s", host, port);
	cl->holder = holder;
	cl->timeout_ms = timeout_ms;
	cl->spin_us = -1;
	rc = dial(cl);
	if (rc) {
		snprintf(err, errlen, "%s", cl->err);
		free(cl);
		return rc;
	}
	*out = cl;
	return 0;
}

int smon_client_reconnect(struct smon_client *cl)
{
	if (cl->c)
		fabric_close(cl->c);
	cl->c = NULL;
	return dial(cl);
}

void smon_client_disconnect(struct smon_client *cl)
{
	if (!cl)
		return;
	if (cl->c)
		fabric_close(cl->c);
	free(cl);
}

static struct stor_proto_req vol_req(const char *vol)
{
	struct stor_proto_req m = {0};

	snprintf(m.vol, sizeof(m.vol), "%s", vol);
	return m;
}

int smon_client_vol_create(struct smon_client *cl, const char *vol, uint64_t size)
{
	struct stor_proto_req m = vol_req(vol);
	const void *p;
	size_t n;

	m.size = size;
	return simple(cl, SP_CREATE, &m, &p, &n);
}

int smon_client_vol_delete(struct smon_client *cl, const char *vol)
{
	struct stor_proto_req m = vol_req(vol);
	const void *p;
	size_t n;

	return simple(cl, SP_DELETE, &m, &p, &n);
}

int smon_client_vol_resize(struct smon_client *cl, const char *vol, uint64_t size)
{
	struct stor_proto_req m = vol_req(vol);
	const void *p;
	size_t n;

	m.size = size;
	return simple(cl, SP_RESIZE, &m, &p, &n);
}

int smon_client_vol_stat(struct smon_client *cl, const char *vol, struct stor_proto_vol_info *out)
{
	struct stor_proto_req m = vol_req(vol);
	const void *p;
	size_t n;
	int rc = simple(cl, SP_STAT, &m, &p, &n);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", vol);
	if (stor_proto_stat_reply_get(p, n, out) != SP_OK) {
		snprintf(cl->err, sizeof(cl->err), "%s: malformed STAT reply", cl->peer);
		return -EPROTO;
	}
	return 0;
}

int smon_client_vol_list(struct smon_client *cl, struct stor_proto_vol_info **out, size_t *n)
{
	struct stor_proto_vol_info *all = NULL;
	struct stor_proto_req m = vol_req("");
	size_t nall = 0;
	bool more = true;

	while (more) {
		const void *p;
		size_t len;
		uint32_t count;
		struct stor_proto_vol_info *na;
		int rc = simple(cl, SP_LIST, &m, &p, &len);

		if (!rc && stor_proto_list_get(p, len, &count, &more) != SP_OK) {
			snprintf(cl->err, sizeof(cl->err), "%s: malformed LIST reply", cl->peer);
			rc = -EPROTO;
		}
		if (rc) {
			free(all);
			return rc;
		}
		na = realloc(all, (nall + count + 1) * sizeof(*all));
		if (!na) {
			free(all);
			return -ENOMEM;
		}
		all = na;
		for (uint32_t i = 0; i < count; i++) {
			if (stor_proto_list_entry_get(p, i, &all[nall]) != SP_OK ||
			    (nall && strcmp(all[nall].name, all[nall - 1].name) <= 0)) {
				snprintf(cl->err, sizeof(cl->err),
					 "%s: malformed LIST entry (bad name or out of order)",
					 cl->peer);
				free(all);
				return -EPROTO;
			}
			nall++;
		}
		if (more && !count) {
			snprintf(cl->err, sizeof(cl->err), "%s: LIST says more but sent none",
				 cl->peer);
			free(all);
			return -EPROTO;
		}
		if (count)
			memcpy(m.vol, all[nall - 1].name, sizeof(m.vol));
	}
	*out = all;
	*n = nall;
	return 0;
}

int smon_client_vol_write_buf(struct smon_client *cl, const char *vol, uint64_t off, uint32_t len)
{
	struct stor_proto_req m = vol_req(vol);
	const void *p;
	size_t n;

	if (len > SP_MAX_IO)
		return -E2BIG;
	m.offset = off;
	m.len = len;
	return simple(cl, SP_WRITE, &m, &p, &n);
}

int smon_client_vol_write(struct smon_client *cl, const char *vol, uint64_t off, const void *buf,
			  uint32_t len)
{
	if (!cl->c)
		return -ENOTCONN;
	if (len > SP_MAX_IO)
		return -E2BIG;
	memcpy(smon_client_write_buf(cl), buf, len);
	return smon_client_vol_write_buf(cl, vol, off, len);
}

int smon_client_vol_read_ref(struct smon_client *cl, const char *vol, uint64_t off, uint32_t len,
			     const void **data)
{
	struct stor_proto_req m = vol_req(vol);
	size_t n;
	int rc;

	m.offset = off;
	m.len = len;
	rc = simple(cl, SP_READ, &m, data, &n);
	if (!rc && n != len) {
		snprintf(cl->err, sizeof(cl->err), "%s: READ of %u bytes answered with %zu",
			 cl->peer, len, n);
		rc = -EPROTO;
	}
	return rc;
}

int smon_client_vol_read(struct smon_client *cl, const char *vol, uint64_t off, void *buf,
			 uint32_t len)
{
	const void *p;
	int rc = smon_client_vol_read_ref(cl, vol, off, len, &p);

	if (!rc)
		memcpy(buf, p, len);
	return rc;
}

int smon_client_vol_flush(struct smon_client *cl, const char *vol)
{
	struct stor_proto_req m = vol_req(vol);
	const void *p;
	size_t n;

	return simple(cl, SP_FLUSH, &m, &p, &n);
}
