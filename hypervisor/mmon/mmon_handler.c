/* mmon_handler.c: decode, check and answer one memory-protocol request. */
#include "mmon_handler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/proto/wire.h"
#include "mmon_auth.h"

/* One request being answered. */
struct req {
	struct mmon_pool *pool;
	struct mmon_handler_session *s;
	struct wire_hdr h;
	const uint8_t *body;
	uint8_t *reply;
	char err[MP_ERRTEXT_MAX + 1]; /* why it was refused */
};

static size_t reply_hdr(void *reply, unsigned op, uint64_t id, enum mem_proto_status st, size_t len)
{
	struct wire_hdr h = {.magic = MP_MAGIC,
			     .version = MP_VERSION,
			     .op = (uint16_t)(op | MP_REPLY),
			     .id = id,
			     .status = st,
			     .len = (uint32_t)len};

	mem_proto_hdr_put(reply, &h);
	return MP_HDR_LEN + len;
}

/* Where a reply's payload goes. */
static uint8_t *payload(struct req *q)
{
	return q->reply + MP_HDR_LEN;
}

/* The answer to a request done, with len payload bytes in place. */
static size_t done(struct req *q, size_t len)
{
	return reply_hdr(q->reply, q->h.op, q->h.id, MP_OK, len);
}

/* The answer to a request refused with st, saying why; counted and logged (sampled). */
static size_t refuse(struct req *q, enum mem_proto_status st, const char *why)
{
	struct mmon_handler_session *s = q->s;
	size_t n = wire_text_put(payload(q), MP_ERRTEXT_MAX, "%s", why);

	atomic_fetch_add(&q->pool->errors, 1);
	if (log_sampled(++s->bad_requests))
		log_warn("%s (vNode %llu): %s request %llu refused: %s: %s", s->peer,
			 (unsigned long long)s->vnode, mem_proto_op_name(q->h.op),
			 (unsigned long long)q->h.id, mem_proto_status_name(st), why);
	return reply_hdr(q->reply, q->h.op, q->h.id, st, n);
}

static size_t do_hello(struct req *q)
{
	struct mmon_handler_session *s = q->s;
	struct mem_proto_hello m;
	struct mem_proto_hello_reply r = {0};
	struct mem_proto_stat_reply st;
	enum mem_proto_status rc =
		mem_proto_hello_get(q->body, q->h.len, &m, q->err, sizeof(q->err));

	if (rc)
		return refuse(q, rc, q->err);
	if (s->hello && m.vnode != s->vnode)
		return refuse(q, MP_EINVAL, "this connection is bound to another vNode");
	if (!s->hello) {
		if (mmon_auth_hello(s, q->err, sizeof(q->err)))
			return refuse(q, MP_EIO, q->err);
		log_info("%s: vNode %llu (%s) connected", s->peer, (unsigned long long)m.vnode,
			 m.name[0] ? m.name : "unnamed");
	}
	s->hello = true;
	s->vnode = m.vnode;
	s->scope.vnode = m.vnode;
	memcpy(s->client, m.name, sizeof(s->client));
	mmon_pool_stat(q->pool, &st);
	r.version = MP_VERSION;
	r.page_size = MP_PAGE_SIZE;
	r.max_pages = MP_MAX_PAGES;
	r.flags = (s->rma.domain ? MP_HELLO_RMA : 0) | (s->verify ? MP_HELLO_AUTH : 0);
	r.pool_bytes = st.pool_bytes;
	r.pool_free = st.pool_bytes - st.reserved_bytes;
	snprintf(r.name, sizeof(r.name), "%s", s->server);
	memcpy(r.challenge, s->challenge, sizeof(r.challenge));
	if (s->server_key)
		memcpy(r.server_key, s->server_key, sizeof(r.server_key));
	return done(q, mem_proto_hello_reply_put(payload(q), &r));
}

static size_t do_auth(struct req *q)
{
	struct mem_proto_auth m;
	struct mem_proto_auth_reply r = {0};
	enum mem_proto_status rc =
		mem_proto_auth_get(q->body, q->h.len, &m, q->err, sizeof(q->err));

	if (!rc)
		rc = mmon_auth_check(q->s, &m, q->err, sizeof(q->err));
	if (rc)
		return refuse(q, rc, q->err);
	r.expires = q->s->verify ? q->s->cap.expires : 0;
	r.rights = q->s->verify ? q->s->cap.rights : CAP_MEM_ALL;
	return done(q, mem_proto_auth_reply_put(payload(q), &r));
}

/* Remember that handle is registered for this connection's RMA (to drop it at the end). */
static int rma_track(struct mmon_handler_session *s, uint64_t handle)
{
	for (size_t i = 0; i < s->nr_rma; i++)
		if (s->rma_handles[i] == handle)
			return 0;
	if (s->nr_rma == s->max_rma) {
		size_t n = s->max_rma ? 2 * s->max_rma : 16;
		uint64_t *grown = realloc(s->rma_handles, n * sizeof(*grown));

		if (!grown)
			return -1;
		s->rma_handles = grown;
		s->max_rma = n;
	}
	s->rma_handles[s->nr_rma++] = handle;
	return 0;
}

static size_t do_open(struct req *q)
{
	struct mem_proto_open m;
	struct mem_proto_open_reply r = {0};
	enum mem_proto_status rc =
		mem_proto_open_get(q->body, q->h.len, &m, q->err, sizeof(q->err));

	if (!rc && (m.flags & MP_OPEN_CREATE))
		rc = mmon_auth_right(q->s, CAP_MEM_CREATE, q->err, sizeof(q->err));
	if (!rc)
		rc = mmon_pool_open(q->pool, &q->s->scope, &m, q->s->rma.domain ? &q->s->rma : NULL,
				    &r, q->err, sizeof(q->err));
	if (rc == MP_ENOENT && !(m.flags & MP_OPEN_CREATE)) {
		/* A lookup's answer, not bad input: the control plane asks whether a copy is
		 * here (freeing what a vNode's run may have left) and none is. */
		log_debug("%s: vNode %llu has no region %u here", q->s->peer,
			  (unsigned long long)q->s->vnode, m.index);
		return reply_hdr(q->reply, q->h.op, q->h.id, rc,
				 wire_text_put(payload(q), MP_ERRTEXT_MAX, "%s", q->err));
	}
	if (rc)
		return refuse(q, rc, q->err);
	if (r.rma_key && rma_track(q->s, r.handle)) {
		mmon_pool_rma_forget(q->pool, r.handle, q->s->rma.tag);
		r.rma_addr = r.rma_key = 0;
	}
	log_debug("%s: vNode %llu opened region %u (%llu MiB) as handle %llx epoch %llu",
		  q->s->peer, (unsigned long long)q->s->vnode, m.index,
		  (unsigned long long)(m.size >> 20), (unsigned long long)r.handle,
		  (unsigned long long)r.epoch);
	return done(q, mem_proto_open_reply_put(payload(q), &r));
}

static size_t do_close(struct req *q)
{
	struct mem_proto_close m;
	enum mem_proto_status rc =
		mem_proto_close_get(q->body, q->h.len, &m, q->err, sizeof(q->err));

	if (!rc)
		rc = mmon_pool_close(q->pool, &q->s->scope, &m, q->err, sizeof(q->err));
	if (rc)
		return refuse(q, rc, q->err);
	log_debug("%s: vNode %llu closed handle %llx", q->s->peer, (unsigned long long)q->s->vnode,
		  (unsigned long long)m.handle);
	return done(q, 0);
}

/* READ and WRITE. */
static size_t do_io(struct req *q)
{
	bool write = q->h.op == MP_WRITE;
	struct mem_proto_io m;
	enum mem_proto_status rc =
		mem_proto_io_get(q->body, q->h.len, write, &m, q->err, sizeof(q->err));

	if (!rc)
		rc = mmon_pool_io(q->pool, &q->s->scope, &m,
				  write ? (void *)(q->body + MP_IO_LEN) : (void *)payload(q), write,
				  q->err, sizeof(q->err));
	if (rc)
		return refuse(q, rc, q->err);
	return done(q, write ? 0 : (size_t)m.npages * MP_PAGE_SIZE);
}

static size_t do_fill(struct req *q)
{
	struct mem_proto_fill m;
	enum mem_proto_status rc =
		mem_proto_fill_get(q->body, q->h.len, &m, q->err, sizeof(q->err));

	if (rc)
		return refuse(q, rc, q->err);
	if (!q->s->fill)
		return refuse(q, MP_EIO, "this server cannot fill copies");
	if (!mmon_pool_scope_covers(&q->s->scope, m.index))
		return refuse(q, MP_EACCES,
			      "the vRegion is not covered by the connection's "
			      "capability");
	if (q->s->verify && !m.cap_len)
		return refuse(q, MP_EAUTH, "a FILL must carry a capability for its source");
	rc = mmon_fill_start(q->s->fill, q->s->vnode, &m, q->err, sizeof(q->err));
	if (rc)
		return refuse(q, rc, q->err);
	return done(q, 0);
}

static size_t do_rstat(struct req *q)
{
	struct mem_proto_rstat m;
	struct mem_proto_rstat_reply r;
	enum mem_proto_status rc =
		mem_proto_rstat_get(q->body, q->h.len, &m, q->err, sizeof(q->err));

	if (!rc)
		rc = mmon_pool_rstat(q->pool, &q->s->scope, m.index, &r, q->err, sizeof(q->err));
	if (rc)
		return refuse(q, rc, q->err);
	return done(q, mem_proto_rstat_reply_put(payload(q), &r));
}

static size_t do_release(struct req *q)
{
	struct mem_proto_release m;
	enum mem_proto_status rc =
		mem_proto_release_get(q->body, q->h.len, &m, q->err, sizeof(q->err));

	if (!rc)
		rc = mmon_pool_release(q->pool, &q->s->scope, &m, q->err, sizeof(q->err));
	if (rc)
		return refuse(q, rc, q->err);
	log_info("%s: vNode %llu's region %llx moved to %s", q->s->peer,
		 (unsigned long long)q->s->vnode, (unsigned long long)m.handle, m.new_owner);
	return done(q, 0);
}

static size_t do_bitmap(struct req *q)
{
	struct mem_proto_bitmap m;
	enum mem_proto_status rc =
		mem_proto_bitmap_get(q->body, q->h.len, &m, q->err, sizeof(q->err));

	if (!rc)
		rc = mmon_pool_bitmap(q->pool, &q->s->scope, &m, payload(q), q->err,
				      sizeof(q->err));
	if (rc)
		return refuse(q, rc, q->err);
	return done(q, m.npages / 8);
}

static size_t do_stat(struct req *q)
{
	struct mem_proto_stat_reply st;

	if (q->h.len)
		return refuse(q, MP_EPROTO, "STAT takes no payload");
	mmon_pool_stat(q->pool, &st);
	return done(q, mem_proto_stat_reply_put(payload(q), &st));
}

/* The requests, by op, and the right each needs. */
static const struct {
	size_t (*run)(struct req *q);
	uint32_t right; /* 0: none (HELLO, AUTH) */
} ops[] = {
	[MP_HELLO] = {do_hello, 0},
	[MP_OPEN] = {do_open, CAP_MEM_OPEN},
	[MP_CLOSE] = {do_close, CAP_MEM_CLOSE},
	[MP_READ] = {do_io, CAP_MEM_READ},
	[MP_WRITE] = {do_io, CAP_MEM_WRITE},
	[MP_STAT] = {do_stat, CAP_MEM_STAT},
	[MP_FILL] = {do_fill, CAP_MEM_FILL},
	[MP_RSTAT] = {do_rstat, CAP_MEM_STATE},
	[MP_RELEASE] = {do_release, CAP_MEM_RELEASE},
	[MP_BITMAP] = {do_bitmap, CAP_MEM_STATE},
	[MP_AUTH] = {do_auth, 0},
};

size_t mmon_handler_request(struct mmon_pool *pool, struct mmon_handler_session *s, const void *req,
			    size_t len, bool truncated, void *reply)
{
	struct req q = {
		.pool = pool, .s = s, .body = (const uint8_t *)req + MP_HDR_LEN, .reply = reply};
	enum mem_proto_status rc;

	if (truncated)
		/* What arrived of it cannot be trusted to be its header: no id to echo. */
		return refuse(&q, MP_E2BIG,
			      "message longer than the receive buffer; closing the connection");
	rc = mem_proto_hdr_get(req, len, &q.h, q.err, sizeof(q.err));
	if (rc)
		return refuse(&q, rc, q.err);
	if (q.h.op & MP_REPLY || q.h.status)
		return refuse(&q, MP_EPROTO, "a request must have status 0 and no reply bit");
	if (q.h.op != MP_HELLO && !s->hello)
		return refuse(&q, MP_ENOTCONN, "the first request on a connection must be HELLO");
	if (q.h.op >= sizeof(ops) / sizeof(ops[0]) || !ops[q.h.op].run)
		return refuse(&q, MP_EBADOP, "unknown op");
	if (ops[q.h.op].right) {
		rc = mmon_auth_right(s, ops[q.h.op].right, q.err, sizeof(q.err));
		if (rc)
			return refuse(&q, rc, q.err);
	}
	return ops[q.h.op].run(&q);
}

bool mmon_handler_established(const struct mmon_handler_session *s)
{
	return s->hello && (s->authed || !s->verify);
}

void mmon_handler_end(struct mmon_pool *pool, struct mmon_handler_session *s)
{
	mmon_auth_end(s);
	for (size_t i = 0; i < s->nr_rma; i++)
		mmon_pool_rma_forget(pool, s->rma_handles[i], s->rma.tag);
	free(s->rma_handles);
	s->rma_handles = NULL;
	s->nr_rma = s->max_rma = 0;
}
