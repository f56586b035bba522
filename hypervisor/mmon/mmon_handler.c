/* mmon_handler.c: decode, check and answer one memory-protocol request. */
#include "mmon_handler.h"

#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/proto/wire.h"

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
	if (!s->hello)
		log_info("%s: vNode %llu (%s) connected", s->peer, (unsigned long long)m.vnode,
			 m.name[0] ? m.name : "unnamed");
	s->hello = true;
	s->vnode = m.vnode;
	memcpy(s->client, m.name, sizeof(s->client));
	mmon_pool_stat(q->pool, &st);
	r.version = MP_VERSION;
	r.page_size = MP_PAGE_SIZE;
	r.max_pages = MP_MAX_PAGES;
	r.flags = s->rma ? MP_HELLO_RMA : 0;
	r.pool_bytes = st.pool_bytes;
	r.pool_free = st.pool_bytes - st.reserved_bytes;
	snprintf(r.name, sizeof(r.name), "%s", s->server);
	return done(q, mem_proto_hello_reply_put(payload(q), &r));
}

static size_t do_open(struct req *q)
{
	struct mem_proto_open m;
	struct mem_proto_open_reply r = {0};
	enum mem_proto_status rc =
		mem_proto_open_get(q->body, q->h.len, &m, q->err, sizeof(q->err));

	if (!rc)
		rc = mmon_pool_open(q->pool, q->s->vnode, &m, &r, q->err, sizeof(q->err));
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
	if (!q->s->rma)
		r.rma_addr = r.rma_key = 0;
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
		rc = mmon_pool_close(q->pool, q->s->vnode, &m, q->err, sizeof(q->err));
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
		rc = mmon_pool_io(q->pool, q->s->vnode, &m,
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
		rc = mmon_pool_rstat(q->pool, q->s->vnode, m.index, &r, q->err, sizeof(q->err));
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
		rc = mmon_pool_release(q->pool, q->s->vnode, &m, q->err, sizeof(q->err));
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
		rc = mmon_pool_bitmap(q->pool, q->s->vnode, &m, payload(q), q->err, sizeof(q->err));
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

/* The requests, by op. */
static size_t (*const ops[])(struct req *q) = {
	[MP_HELLO] = do_hello,	 [MP_OPEN] = do_open,	[MP_CLOSE] = do_close,
	[MP_READ] = do_io,	 [MP_WRITE] = do_io,	[MP_STAT] = do_stat,
	[MP_FILL] = do_fill,	 [MP_RSTAT] = do_rstat, [MP_RELEASE] = do_release,
	[MP_BITMAP] = do_bitmap,
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
	if (q.h.op >= sizeof(ops) / sizeof(ops[0]) || !ops[q.h.op])
		return refuse(&q, MP_EBADOP, "unknown op");
	return ops[q.h.op](&q);
}
