/* mmon_handler.c: decode, check and answer one memory-protocol request. */
#include "mmon_handler.h"

#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/proto/wire.h"

static size_t reply_hdr(void *reply, unsigned op, uint64_t id, enum mp_status st, size_t len)
{
	struct wire_hdr h = {.magic = MP_MAGIC,
			     .version = MP_VERSION,
			     .op = (uint16_t)(op | MP_REPLY),
			     .id = id,
			     .status = st,
			     .len = (uint32_t)len};

	mp_hdr_put(reply, &h);
	return MP_HDR_LEN + len;
}

static size_t error_reply(struct mmon_pool *pool, struct mmon_session *s, void *reply, unsigned op,
			  uint64_t id, enum mp_status st, const char *why)
{
	size_t n = wire_text_put((uint8_t *)reply + MP_HDR_LEN, MP_ERRTEXT_MAX, "%s", why);

	atomic_fetch_add(&pool->errors, 1);
	if (log_sampled(++s->bad_requests))
		log_warn("%s (vNode %llu): %s request %llu refused: %s: %s", s->peer,
			 (unsigned long long)s->vnode, mp_op_name(op), (unsigned long long)id,
			 mp_status_name(st), why);
	return reply_hdr(reply, op, id, st, n);
}

static size_t do_hello(struct mmon_pool *pool, struct mmon_session *s, const struct wire_hdr *h,
		       const uint8_t *body, void *reply)
{
	struct mp_hello m;
	struct mp_hello_reply r = {0};
	struct mp_stat_reply st;
	const char *err = NULL;
	enum mp_status rc = mp_hello_get(body, h->len, &m, &err);

	if (rc)
		return error_reply(pool, s, reply, h->op, h->id, rc, err);
	if (s->hello && m.vnode != s->vnode)
		return error_reply(pool, s, reply, h->op, h->id, MP_EINVAL,
				   "this connection is bound to another vNode");
	if (!s->hello)
		log_info("%s: vNode %llu (%s) connected", s->peer, (unsigned long long)m.vnode,
			 m.name[0] ? m.name : "unnamed");
	s->hello = true;
	s->vnode = m.vnode;
	memcpy(s->client, m.name, sizeof(s->client));
	mmon_pool_stat(pool, &st);
	r.version = MP_VERSION;
	r.page_size = MP_PAGE_SIZE;
	r.max_pages = MP_MAX_PAGES;
	r.flags = s->rma ? MP_HELLO_RMA : 0;
	r.pool_bytes = st.pool_bytes;
	r.pool_free = st.pool_bytes - st.reserved_bytes;
	snprintf(r.name, sizeof(r.name), "%s", s->server);
	return reply_hdr(reply, h->op, h->id, MP_OK,
			 mp_hello_reply_put((uint8_t *)reply + MP_HDR_LEN, &r));
}

static size_t do_open(struct mmon_pool *pool, struct mmon_session *s, const struct wire_hdr *h,
		      const uint8_t *body, void *reply)
{
	struct mp_open m;
	struct mp_open_reply r = {0};
	const char *err = NULL;
	enum mp_status rc = mp_open_get(body, h->len, &m, &err);

	if (!rc)
		rc = mmon_pool_open(pool, s->vnode, &m, &r, &err);
	if (rc)
		return error_reply(pool, s, reply, h->op, h->id, rc, err);
	if (!s->rma)
		r.rma_addr = r.rma_key = 0;
	log_debug("%s: vNode %llu opened region %u (%llu MiB) as handle %llx epoch %llu", s->peer,
		  (unsigned long long)s->vnode, m.index, (unsigned long long)(m.size >> 20),
		  (unsigned long long)r.handle, (unsigned long long)r.epoch);
	return reply_hdr(reply, h->op, h->id, MP_OK,
			 mp_open_reply_put((uint8_t *)reply + MP_HDR_LEN, &r));
}

size_t mmon_handle(struct mmon_pool *pool, struct mmon_session *s, const void *req, size_t len,
		   bool truncated, void *reply)
{
	const uint8_t *body = (const uint8_t *)req + MP_HDR_LEN;
	const char *err = NULL;
	struct wire_hdr h;
	enum mp_status rc;

	if (truncated)
		/* What arrived of it cannot be trusted to be its header: no id to echo. */
		return error_reply(
			pool, s, reply, 0, 0, MP_E2BIG,
			"message longer than the receive buffer; closing the connection");
	rc = mp_hdr_get(req, len, &h, &err);
	if (rc)
		return error_reply(pool, s, reply, h.op, h.id, rc, err);
	if (h.op & MP_REPLY || h.status)
		return error_reply(pool, s, reply, h.op, h.id, MP_EPROTO,
				   "a request must have status 0 and no reply bit");
	if (h.op != MP_HELLO && !s->hello)
		return error_reply(pool, s, reply, h.op, h.id, MP_ENOTCONN,
				   "the first request on a connection must be HELLO");
	switch (h.op) {
	case MP_HELLO:
		return do_hello(pool, s, &h, body, reply);
	case MP_OPEN:
		return do_open(pool, s, &h, body, reply);
	case MP_CLOSE: {
		struct mp_close m;

		rc = mp_close_get(body, h.len, &m, &err);
		if (!rc)
			rc = mmon_pool_close(pool, s->vnode, &m, &err);
		if (rc)
			return error_reply(pool, s, reply, h.op, h.id, rc, err);
		log_debug("%s: vNode %llu closed handle %llx", s->peer,
			  (unsigned long long)s->vnode, (unsigned long long)m.handle);
		return reply_hdr(reply, h.op, h.id, MP_OK, 0);
	}
	case MP_READ:
	case MP_WRITE: {
		bool write = h.op == MP_WRITE;
		struct mp_io m;

		rc = mp_io_get(body, h.len, write, &m, &err);
		if (!rc)
			rc = mmon_pool_io(pool, s->vnode, &m,
					  write ? (void *)(body + MP_IO_LEN)
						: (void *)((uint8_t *)reply + MP_HDR_LEN),
					  write, &err);
		if (rc)
			return error_reply(pool, s, reply, h.op, h.id, rc, err);
		return reply_hdr(reply, h.op, h.id, MP_OK,
				 write ? 0 : (size_t)m.npages * MP_PAGE_SIZE);
	}
	case MP_FILL: {
		struct mp_fill m;

		rc = mp_fill_get(body, h.len, &m, &err);
		if (!rc && !s->fill) {
			err = "this server cannot fill copies";
			rc = MP_EIO;
		}
		if (!rc)
			rc = mmon_fill_start(s->fill, s->vnode, &m, &err);
		if (rc)
			return error_reply(pool, s, reply, h.op, h.id, rc, err);
		return reply_hdr(reply, h.op, h.id, MP_OK, 0);
	}
	case MP_RSTAT: {
		struct mp_rstat m;
		struct mp_rstat_reply r;

		rc = mp_rstat_get(body, h.len, &m, &err);
		if (!rc)
			rc = mmon_pool_rstat(pool, s->vnode, m.index, &r, &err);
		if (rc)
			return error_reply(pool, s, reply, h.op, h.id, rc, err);
		return reply_hdr(reply, h.op, h.id, MP_OK,
				 mp_rstat_reply_put((uint8_t *)reply + MP_HDR_LEN, &r));
	}
	case MP_RELEASE: {
		struct mp_release m;

		rc = mp_release_get(body, h.len, &m, &err);
		if (!rc)
			rc = mmon_pool_release(pool, s->vnode, &m, &err);
		if (rc)
			return error_reply(pool, s, reply, h.op, h.id, rc, err);
		log_info("%s: vNode %llu's region %llx moved to %s", s->peer,
			 (unsigned long long)s->vnode, (unsigned long long)m.handle, m.new_owner);
		return reply_hdr(reply, h.op, h.id, MP_OK, 0);
	}
	case MP_BITMAP: {
		struct mp_bitmap m;

		rc = mp_bitmap_get(body, h.len, &m, &err);
		if (!rc)
			rc = mmon_pool_bitmap(pool, s->vnode, &m, (uint8_t *)reply + MP_HDR_LEN,
					      &err);
		if (rc)
			return error_reply(pool, s, reply, h.op, h.id, rc, err);
		return reply_hdr(reply, h.op, h.id, MP_OK, m.npages / 8);
	}
	case MP_STAT: {
		struct mp_stat_reply st;

		if (h.len)
			return error_reply(pool, s, reply, h.op, h.id, MP_EPROTO,
					   "STAT takes no payload");
		mmon_pool_stat(pool, &st);
		return reply_hdr(reply, h.op, h.id, MP_OK,
				 mp_stat_reply_put((uint8_t *)reply + MP_HDR_LEN, &st));
	}
	default:
		return error_reply(pool, s, reply, h.op, h.id, MP_EBADOP, "unknown op");
	}
}
