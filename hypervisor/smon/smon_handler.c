/* smon_handler.c: decode, check and answer one storage-protocol request. */
#include "smon_handler.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "smon_auth.h"

static size_t error_reply(struct smon_handler_session *s, void *reply, unsigned op, uint64_t id,
			  enum stor_proto_status st, const char *why, const char *vol)
{
	char *text = (char *)reply + SP_HDR_LEN;
	size_t n;

	if (vol && vol[0])
		n = wire_text_put(text, SP_ERRTEXT_MAX, "volume '%s': %s", vol, why);
	else
		n = wire_text_put(text, SP_ERRTEXT_MAX, "%s", why);
	if (log_sampled(++s->bad_requests))
		log_warn("%s (%s): %s request %llu refused: %s: %.*s", s->peer,
			 s->client[0] ? s->client : "no HELLO", stor_proto_op_name(op),
			 (unsigned long long)id, stor_proto_status_name(st), (int)n, text);
	return stor_proto_reply_put(reply, op, id, st, n);
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

/* One request being answered. */
struct req {
	struct smon_store *st;
	struct smon_handler_session *s;
	struct wire_hdr h;
	struct stor_proto_req m;
	uint8_t *out;			    /* the reply's payload */
	size_t len;			    /* its length, once done */
	enum stor_proto_status auth_status; /* AUTH refused: with this status and text */
	char auth_err[SP_ERRTEXT_MAX + 1];
};

static int do_hello(struct req *q)
{
	struct smon_handler_session *s = q->s;
	struct stor_proto_hello_reply r = {.version = SP_VERSION,
					   .max_io = SP_MAX_IO,
					   .backend = q->st->kind,
					   .flags = s->verify ? SP_HELLO_AUTH : 0};
	char err[128];

	if (smon_auth_hello(s, err, sizeof(err)))
		return -EIO;
	if (!s->hello)
		log_info("%s: client '%s' connected", s->peer, q->m.client[0] ? q->m.client : "-");
	s->hello = true;
	memcpy(r.challenge, s->challenge, sizeof(r.challenge));
	memcpy(s->client, q->m.client, sizeof(s->client));
	if (q->st->ops->space(q->st, &r.capacity, &r.free))
		r.capacity = r.free = 0;
	snprintf(r.name, sizeof(r.name), "%s", s->server);
	q->len = stor_proto_hello_reply_put(q->out, &r);
	return 0;
}

/* CREATE and RESIZE. */
static int do_size(struct req *q)
{
	int e = q->h.op == SP_CREATE ? smon_store_create(q->st, q->m.vol, q->m.size)
				     : smon_store_resize(q->st, q->m.vol, q->m.size);

	if (!e)
		log_info("%s (%s): %s '%s' to %llu bytes", q->s->peer, q->s->client,
			 stor_proto_op_name(q->h.op), q->m.vol, (unsigned long long)q->m.size);
	return e;
}

static int do_delete(struct req *q)
{
	int e = smon_store_delete(q->st, q->m.vol);

	if (!e)
		log_info("%s (%s): deleted '%s'", q->s->peer, q->s->client, q->m.vol);
	return e;
}

static int do_list(struct req *q)
{
	static __thread struct stor_proto_vol_info vols[SP_LIST_MAX];
	uint32_t n = 0;
	bool more = false;
	int e = smon_store_list(q->st, q->m.vol, vols, SP_LIST_MAX, &n, &more);

	if (e)
		return e;
	stor_proto_list_head_put(q->out, n, more);
	for (uint32_t i = 0; i < n; i++)
		stor_proto_list_entry_put(q->out, i, &vols[i]);
	q->len = 8 + (size_t)n * SP_LIST_ENTRY;
	return 0;
}

static int do_stat(struct req *q)
{
	struct stor_proto_vol_info info;
	int e = smon_store_stat(q->st, q->m.vol, &info);

	if (!e)
		q->len = stor_proto_stat_reply_put(q->out, &info);
	return e;
}

static int do_read(struct req *q)
{
	uint8_t *bounce = q->s->bounce;
	/* Data in messages is not aligned for O_DIRECT: such stores go via bounce. */
	int e = smon_store_read(q->st, q->m.vol, q->m.offset, bounce ? bounce : q->out, q->m.len);

	if (!e && bounce)
		memcpy(q->out, bounce, q->m.len);
	if (!e)
		q->len = q->m.len;
	return e;
}

static int do_write(struct req *q)
{
	uint8_t *bounce = q->s->bounce;

	if (bounce)
		memcpy(bounce, q->m.data, q->m.len);
	return smon_store_write(q->st, q->m.vol, q->m.offset, bounce ? bounce : q->m.data,
				q->m.len);
}

static int do_flush(struct req *q)
{
	return smon_store_flush(q->st, q->m.vol);
}

static int do_auth(struct req *q)
{
	struct stor_proto_auth_reply r = {.rights = CAP_STOR_ALL};
	char err[SP_ERRTEXT_MAX + 1];
	enum stor_proto_status st = smon_auth_check(q->s, &q->m, err, sizeof(err));

	if (st) {
		q->auth_status = st;
		snprintf(q->auth_err, sizeof(q->auth_err), "%s", err);
		return -EPERM;
	}
	if (q->s->verify) {
		r.expires = q->s->cap.expires;
		r.rights = q->s->cap.rights;
	}
	q->len = stor_proto_auth_reply_put(q->out, &r);
	return 0;
}

/* The requests, by op (stor_proto_req_get refuses every other): what runs one (0 or -errno),
 * whether its failure is the named volume's, and the right it needs (on its volume; LIST's
 * on every volume). */
static const struct {
	int (*run)(struct req *q);
	bool on_volume;
	uint32_t right;
} ops[SP_OP_MAX + 1] = {
	[SP_HELLO] = {do_hello, false, 0},
	[SP_CREATE] = {do_size, true, CAP_STOR_CREATE},
	[SP_DELETE] = {do_delete, true, CAP_STOR_DELETE},
	[SP_RESIZE] = {do_size, true, CAP_STOR_RESIZE},
	[SP_LIST] = {do_list, false, CAP_STOR_LIST},
	[SP_STAT] = {do_stat, true, CAP_STOR_STAT},
	[SP_READ] = {do_read, true, CAP_STOR_READ},
	[SP_WRITE] = {do_write, true, CAP_STOR_WRITE},
	[SP_FLUSH] = {do_flush, true, CAP_STOR_WRITE},
	[SP_AUTH] = {do_auth, false, 0},
};

size_t smon_handler_request(struct smon_store *st, struct smon_handler_session *s, const void *req,
			    size_t len, bool truncated, void *reply)
{
	struct req q = {.st = st, .s = s, .out = (uint8_t *)reply + SP_HDR_LEN};
	char err[SP_ERRTEXT_MAX + 1];
	enum stor_proto_status rc;
	int e;

	s->requests++;
	if (truncated) {
		/* Only the start arrived (maybe not even that, on some providers): E2BIG, for
		 * whatever op and id the header names. */
		stor_proto_hdr_get(req, SP_HDR_LEN, &q.h, err, sizeof(err));
		return error_reply(s, reply, q.h.op, q.h.id, SP_E2BIG,
				   "message longer than the server's buffer", NULL);
	}
	rc = stor_proto_hdr_get(req, len, &q.h, err, sizeof(err));
	if (rc)
		return error_reply(s, reply, q.h.op, q.h.id, rc, err, NULL);
	if (q.h.op & SP_REPLY || q.h.status)
		return error_reply(s, reply, q.h.op, q.h.id, SP_EPROTO,
				   "a request must not carry a reply flag or status", NULL);
	rc = stor_proto_req_get(q.h.op, (const uint8_t *)req + SP_HDR_LEN, q.h.len, &q.m, err,
				sizeof(err));
	if (rc)
		return error_reply(s, reply, q.h.op, q.h.id, rc, err, NULL);
	if (q.h.op != SP_HELLO && !s->hello)
		return error_reply(s, reply, q.h.op, q.h.id, SP_ENOTCONN, "HELLO first", NULL);
	if (ops[q.h.op].right) {
		rc = smon_auth_right(s, ops[q.h.op].right, q.h.op == SP_LIST ? NULL : q.m.vol, err,
				     sizeof(err));
		if (rc)
			return error_reply(s, reply, q.h.op, q.h.id, rc, err,
					   q.h.op == SP_LIST ? NULL : q.m.vol);
	}
	e = ops[q.h.op].run(&q);
	if (e && q.auth_status)
		return error_reply(s, reply, q.h.op, q.h.id, q.auth_status, q.auth_err, NULL);
	if (!e)
		return stor_proto_reply_put(reply, q.h.op, q.h.id, SP_OK, q.len);
	if (!ops[q.h.op].on_volume)
		return error_reply(s, reply, q.h.op, q.h.id, stor_proto_status_from_errno(e),
				   why_errno(e), NULL);
	if (e != -ENOENT && e != -ERANGE && e != -EEXIST && e != -EINVAL)
		log_error("%s (%s): %s of '%s' failed: %s", s->peer, s->client,
			  stor_proto_op_name(q.h.op), q.m.vol, strerror(-e));
	return error_reply(s, reply, q.h.op, q.h.id, stor_proto_status_from_errno(e), why_errno(e),
			   q.m.vol);
}

bool smon_handler_established(const struct smon_handler_session *s)
{
	return s->hello && (s->authed || !s->verify);
}
