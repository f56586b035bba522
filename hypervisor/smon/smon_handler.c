/* smon_handler.c: decode, check and answer one storage-protocol request. */
#include "smon_handler.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"

static size_t error_reply(struct smon_session *s, void *reply, unsigned op, uint64_t id,
			  enum sp_status st, const char *why, const char *vol)
{
	char *text = (char *)reply + SP_HDR_LEN;
	size_t n;

	if (vol && vol[0])
		n = wire_text_put(text, SP_ERRTEXT_MAX, "volume '%s': %s", vol, why);
	else
		n = wire_text_put(text, SP_ERRTEXT_MAX, "%s", why);
	if (log_sampled(++s->bad_requests))
		log_warn("%s (%s): %s request %llu refused: %s: %.*s", s->peer,
			 s->client[0] ? s->client : "no HELLO", sp_op_name(op),
			 (unsigned long long)id, sp_status_name(st), (int)n, text);
	return sp_reply_put(reply, op, id, st, n);
}

static const char *why_errno(int rc)
{
	switch (-rc) {
	case ENOENT:
		return "no such volume";
	case EEXIST:
		return "a volume of that name exists";
	case ERANGE:
		return "range beyond the volume's end";
	case ENOSPC:
		return "no space left in the backend";
	default:
		return strerror(-rc);
	}
}

static size_t do_hello(struct smon_store *st, struct smon_session *s, const struct wire_hdr *h,
		       const struct sp_req *m, void *reply)
{
	struct sp_hello_reply r = {.version = SP_VERSION, .max_io = SP_MAX_IO, .backend = st->kind};
	uint8_t *body = (uint8_t *)reply + SP_HDR_LEN;

	if (!s->hello)
		log_info("%s: client '%s' connected", s->peer, m->client[0] ? m->client : "-");
	s->hello = true;
	memcpy(s->client, m->client, sizeof(s->client));
	if (st->ops->space(st, &r.capacity, &r.free))
		r.capacity = r.free = 0;
	snprintf(r.name, sizeof(r.name), "%s", s->server);
	return sp_reply_put(reply, h->op, h->id, SP_OK, sp_hello_reply_put(body, &r));
}

static size_t do_list(struct smon_store *st, struct smon_session *s, const struct wire_hdr *h,
		      const struct sp_req *m, void *reply)
{
	static __thread struct sp_vol_info out[SP_LIST_MAX];
	uint8_t *body = (uint8_t *)reply + SP_HDR_LEN;
	uint32_t n = 0;
	bool more = false;
	int rc = smon_list(st, m->vol, out, SP_LIST_MAX, &n, &more);

	if (rc)
		return error_reply(s, reply, h->op, h->id, sp_status_from_errno(rc), why_errno(rc),
				   NULL);
	sp_list_head_put(body, n, more);
	for (uint32_t i = 0; i < n; i++)
		sp_list_entry_put(body, i, &out[i]);
	return sp_reply_put(reply, h->op, h->id, SP_OK, 8 + (size_t)n * SP_LIST_ENTRY);
}

static void log_admin(struct smon_session *s, const struct wire_hdr *h, const struct sp_req *m)
{
	if (h->op == SP_CREATE || h->op == SP_RESIZE)
		log_info("%s (%s): %s '%s' to %llu bytes", s->peer, s->client, sp_op_name(h->op),
			 m->vol, (unsigned long long)m->size);
	else if (h->op == SP_DELETE)
		log_info("%s (%s): deleted '%s'", s->peer, s->client, m->vol);
}

size_t smon_handle(struct smon_store *st, struct smon_session *s, const void *req, size_t len,
		   bool truncated, void *reply)
{
	uint8_t *body = (uint8_t *)reply + SP_HDR_LEN;
	const char *err = "?";
	struct wire_hdr h;
	struct sp_req m;
	struct sp_vol_info info;
	enum sp_status rc;
	size_t out = 0;
	int e;

	s->requests++;
	if (truncated) {
		/* Only the start arrived (maybe not even that, on some providers): E2BIG, for
		 * whatever op and id the header names. */
		sp_hdr_get(req, SP_HDR_LEN, &h, &err);
		return error_reply(s, reply, h.op, h.id, SP_E2BIG,
				   "message longer than the server's buffer", NULL);
	}
	rc = sp_hdr_get(req, len, &h, &err);
	if (rc)
		return error_reply(s, reply, h.op, h.id, rc, err, NULL);
	if (h.op & SP_REPLY || h.status)
		return error_reply(s, reply, h.op, h.id, SP_EPROTO,
				   "a request must not carry a reply flag or status", NULL);
	rc = sp_req_get(h.op, (const uint8_t *)req + SP_HDR_LEN, h.len, &m, &err);
	if (rc)
		return error_reply(s, reply, h.op, h.id, rc, err, NULL);
	if (h.op == SP_HELLO)
		return do_hello(st, s, &h, &m, reply);
	if (!s->hello)
		return error_reply(s, reply, h.op, h.id, SP_ENOTCONN, "HELLO first", NULL);

	switch (h.op) {
	case SP_CREATE:
		e = smon_create(st, m.vol, m.size);
		break;
	case SP_DELETE:
		e = smon_delete(st, m.vol);
		break;
	case SP_RESIZE:
		e = smon_resize(st, m.vol, m.size);
		break;
	case SP_LIST:
		return do_list(st, s, &h, &m, reply);
	case SP_STAT:
		e = smon_stat(st, m.vol, &info);
		if (!e)
			out = sp_stat_reply_put(body, &info);
		break;
	case SP_READ:
		/* Data in messages is not aligned for O_DIRECT: such stores go via bounce. */
		e = smon_read(st, m.vol, m.offset, s->bounce ? s->bounce : body, m.len);
		if (!e && s->bounce)
			memcpy(body, s->bounce, m.len);
		if (!e)
			out = m.len;
		break;
	case SP_WRITE:
		if (s->bounce)
			memcpy(s->bounce, m.data, m.len);
		e = smon_write(st, m.vol, m.offset, s->bounce ? s->bounce : m.data, m.len);
		break;
	default: /* SP_FLUSH: sp_req_get refused every other op */
		e = smon_flush(st, m.vol);
		break;
	}
	if (e) {
		if (e != -ENOENT && e != -ERANGE && e != -EEXIST && e != -EINVAL)
			log_error("%s (%s): %s of '%s' failed: %s", s->peer, s->client,
				  sp_op_name(h.op), m.vol, strerror(-e));
		return error_reply(s, reply, h.op, h.id, sp_status_from_errno(e), why_errno(e),
				   m.vol);
	}
	log_admin(s, &h, &m);
	return sp_reply_put(reply, h.op, h.id, SP_OK, out);
}
