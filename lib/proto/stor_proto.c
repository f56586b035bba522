/* stor_proto.c: encoding and strict decoding of storage-protocol messages. */
#include "stor_proto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

bool stor_proto_vol_name_ok(const char *name)
{
	return wire_name_ok(name, SP_VOL_LEN, false);
}

size_t stor_proto_req_put(void *buf, unsigned op, uint64_t id, const struct stor_proto_req *m)
{
	uint8_t *b = (uint8_t *)buf + SP_HDR_LEN;
	size_t len = 0;

	switch (op) {
	case SP_HELLO:
		wire_name_put(b, SP_NAME_LEN, m->client);
		len = SP_NAME_LEN;
		break;
	case SP_CREATE:
	case SP_RESIZE:
		wire_name_put(b, SP_VOL_LEN, m->vol);
		wire_put_le64(b + SP_VOL_LEN, m->size);
		len = SP_VOL_LEN + 8;
		break;
	case SP_READ:
	case SP_WRITE:
		wire_name_put(b, SP_VOL_LEN, m->vol);
		wire_put_le64(b + SP_VOL_LEN, m->offset);
		wire_put_le32(b + SP_VOL_LEN + 8, m->len);
		wire_put_le32(b + SP_VOL_LEN + 12, 0);
		len = SP_IO_LEN;
		if (op == SP_WRITE) {
			if (m->data)
				memcpy(b + SP_IO_LEN, m->data, m->len);
			len += m->len;
		}
		break;
	default: /* DELETE, LIST, STAT, FLUSH, and anything else: a name */
		wire_name_put(b, SP_VOL_LEN, m->vol);
		len = SP_VOL_LEN;
		break;
	}
	wire_hdr_put(buf, &(struct wire_hdr){.magic = SP_MAGIC,
					     .version = SP_VERSION,
					     .op = (uint16_t)op,
					     .id = id,
					     .len = (uint32_t)len});
	return SP_HDR_LEN + len;
}

/* A refusal: why into err, and the status to answer with. */
static enum stor_proto_status fail(char *err, size_t errlen, enum stor_proto_status st,
				   const char *why)
{
	snprintf(err, errlen, "%s", why);
	return st;
}

enum stor_proto_status stor_proto_hdr_get(const void *buf, size_t buflen, struct wire_hdr *h,
					  char *err, size_t errlen)
{
	switch (wire_hdr_get(buf, buflen, SP_MAGIC, SP_VERSION, SP_MAX_PAYLOAD, h, err, errlen)) {
	case WIRE_HDR_OK:
		return SP_OK;
	case WIRE_HDR_TOOBIG:
		return SP_E2BIG;
	default:
		return SP_EPROTO;
	}
}

static enum stor_proto_status vol_get(const uint8_t *p, char *out, bool may_be_empty, char *err,
				      size_t errlen)
{
	if (wire_name_get(p, SP_VOL_LEN, out))
		return fail(err, errlen, SP_EINVAL,
			    "volume name is not NUL-padded printable ASCII");
	if (may_be_empty && !out[0])
		return SP_OK;
	if (!stor_proto_vol_name_ok(out))
		return fail(
			err, errlen, SP_EINVAL,
			"volume name must be 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'");
	return SP_OK;
}

static enum stor_proto_status size_check(uint64_t size, char *err, size_t errlen)
{
	if (size == 0 || size % SP_SECTOR)
		return fail(err, errlen, SP_EINVAL,
			    "volume size must be a positive multiple of 512");
	if (size > SP_VOL_MAX)
		return fail(err, errlen, SP_E2BIG, "volume size beyond 1 PiB");
	return SP_OK;
}

enum stor_proto_status stor_proto_req_get(unsigned op, const void *body, size_t len,
					  struct stor_proto_req *m, char *err, size_t errlen)
{
	const uint8_t *b = body;
	enum stor_proto_status st;
	size_t want;

	memset(m, 0, sizeof(*m));
	switch (op) {
	case SP_HELLO:
		want = SP_NAME_LEN;
		break;
	case SP_CREATE:
	case SP_RESIZE:
		want = SP_VOL_LEN + 8;
		break;
	case SP_READ:
	case SP_WRITE:
		want = SP_IO_LEN;
		break;
	case SP_DELETE:
	case SP_LIST:
	case SP_STAT:
	case SP_FLUSH:
		want = SP_VOL_LEN;
		break;
	case SP_AUTH:
		if (len < SP_AUTH_MIN_LEN || len > SP_AUTH_MAX_LEN)
			return fail(err, errlen, SP_EPROTO, "AUTH payload has the wrong length");
		m->proof = b;
		m->cap = b + CAP_SIG_LEN;
		m->cap_len = len - CAP_SIG_LEN;
		return SP_OK;
	default:
		return fail(err, errlen, SP_EBADOP, "unknown op");
	}
	if (len < want || (op != SP_WRITE && len != want))
		return fail(err, errlen, SP_EPROTO, "payload has the wrong length for its op");
	if (op == SP_HELLO) {
		if (wire_name_get(b, SP_NAME_LEN, m->client))
			return fail(err, errlen, SP_EINVAL,
				    "client name is not NUL-padded printable ASCII");
		return SP_OK;
	}
	st = vol_get(b, m->vol, op == SP_LIST, err, errlen);
	if (st)
		return st;
	if (op == SP_CREATE || op == SP_RESIZE) {
		m->size = wire_get_le64(b + SP_VOL_LEN);
		return size_check(m->size, err, errlen);
	}
	if (op != SP_READ && op != SP_WRITE)
		return SP_OK;
	m->offset = wire_get_le64(b + SP_VOL_LEN);
	m->len = wire_get_le32(b + SP_VOL_LEN + 8);
	if (wire_get_le32(b + SP_VOL_LEN + 12))
		return fail(err, errlen, SP_EINVAL, "unknown flags");
	if (m->len > SP_MAX_IO)
		return fail(err, errlen, SP_E2BIG, "I/O length beyond 1 MiB");
	if (m->len == 0 || m->len % SP_SECTOR || m->offset % SP_SECTOR)
		return fail(err, errlen, SP_EINVAL,
			    "offset and length must be multiples of 512, length not 0");
	if (m->offset > SP_VOL_MAX)
		return fail(err, errlen, SP_ERANGE, "offset beyond any volume");
	if (op == SP_WRITE) {
		if (len - SP_IO_LEN != m->len)
			return fail(
				err, errlen, SP_EPROTO,
				"WRITE carries a different number of data bytes than its length");
		m->data = b + SP_IO_LEN;
	}
	return SP_OK;
}

size_t stor_proto_reply_put(void *buf, unsigned op, uint64_t id, enum stor_proto_status st,
			    size_t len)
{
	wire_hdr_put(buf, &(struct wire_hdr){.magic = SP_MAGIC,
					     .version = SP_VERSION,
					     .op = (uint16_t)(op | SP_REPLY),
					     .id = id,
					     .status = st,
					     .len = (uint32_t)len});
	return SP_HDR_LEN + len;
}

size_t stor_proto_hello_reply_put(void *p, const struct stor_proto_hello_reply *m)
{
	uint8_t *b = p;

	wire_put_le32(b, m->version);
	wire_put_le32(b + 4, m->max_io);
	wire_put_le32(b + 8, m->backend);
	wire_put_le32(b + 12, m->flags);
	wire_put_le64(b + 16, m->capacity);
	wire_put_le64(b + 24, m->free);
	wire_name_put(b + 32, SP_NAME_LEN, m->name);
	memcpy(b + 32 + SP_NAME_LEN, m->challenge, 32);
	return SP_HELLO_REPLY_LEN;
}

enum stor_proto_status stor_proto_hello_reply_get(const void *p, size_t len,
						  struct stor_proto_hello_reply *m)
{
	const uint8_t *b = p;

	if (len != SP_HELLO_REPLY_LEN)
		return SP_EPROTO;
	m->version = wire_get_le32(b);
	m->max_io = wire_get_le32(b + 4);
	m->backend = wire_get_le32(b + 8);
	m->flags = wire_get_le32(b + 12);
	m->capacity = wire_get_le64(b + 16);
	m->free = wire_get_le64(b + 24);
	memcpy(m->challenge, b + 32 + SP_NAME_LEN, 32);
	if (wire_name_get(b + 32, SP_NAME_LEN, m->name) || m->max_io < SP_SECTOR ||
	    m->max_io > SP_MAX_IO || m->max_io % SP_SECTOR || m->flags & ~SP_HELLO_AUTH)
		return SP_EPROTO;
	return SP_OK;
}

size_t stor_proto_auth_put(void *buf, uint64_t id, const uint8_t *proof_and_cap, size_t len)
{
	if (proof_and_cap)
		memcpy((uint8_t *)buf + SP_HDR_LEN, proof_and_cap, len);
	wire_hdr_put(buf, &(struct wire_hdr){.magic = SP_MAGIC,
					     .version = SP_VERSION,
					     .op = SP_AUTH,
					     .id = id,
					     .len = (uint32_t)len});
	return SP_HDR_LEN + len;
}

size_t stor_proto_auth_reply_put(void *p, const struct stor_proto_auth_reply *m)
{
	uint8_t *b = p;

	wire_put_le64(b, m->expires);
	wire_put_le32(b + 8, m->rights);
	wire_put_le32(b + 12, 0);
	return SP_AUTH_REPLY_LEN;
}

enum stor_proto_status stor_proto_auth_reply_get(const void *p, size_t len,
						 struct stor_proto_auth_reply *m)
{
	const uint8_t *b = p;

	if (len != SP_AUTH_REPLY_LEN || wire_get_le32(b + 12))
		return SP_EPROTO;
	m->expires = wire_get_le64(b);
	m->rights = wire_get_le32(b + 8);
	return SP_OK;
}

size_t stor_proto_stat_reply_put(void *p, const struct stor_proto_vol_info *v)
{
	wire_put_le64(p, v->size);
	wire_put_le64((uint8_t *)p + 8, v->obj_size);
	return SP_STAT_REPLY_LEN;
}

enum stor_proto_status stor_proto_stat_reply_get(const void *p, size_t len,
						 struct stor_proto_vol_info *v)
{
	if (len != SP_STAT_REPLY_LEN)
		return SP_EPROTO;
	v->size = wire_get_le64(p);
	v->obj_size = wire_get_le64((const uint8_t *)p + 8);
	return v->size % SP_SECTOR || v->size > SP_VOL_MAX ? SP_EPROTO : SP_OK;
}

void stor_proto_list_head_put(void *p, uint32_t count, bool more)
{
	wire_put_le32(p, count);
	wire_put_le32((uint8_t *)p + 4, more);
}

void stor_proto_list_entry_put(void *p, uint32_t i, const struct stor_proto_vol_info *v)
{
	uint8_t *e = (uint8_t *)p + 8 + (size_t)i * SP_LIST_ENTRY;

	wire_name_put(e, SP_VOL_LEN, v->name);
	wire_put_le64(e + SP_VOL_LEN, v->size);
}

enum stor_proto_status stor_proto_list_get(const void *p, size_t len, uint32_t *count, bool *more)
{
	uint32_t more_word;

	if (len < 8)
		return SP_EPROTO;
	*count = wire_get_le32(p);
	more_word = wire_get_le32((const uint8_t *)p + 4);
	*more = more_word != 0;
	if (more_word > 1 || *count > SP_LIST_MAX || len != 8 + (size_t)*count * SP_LIST_ENTRY)
		return SP_EPROTO;
	return SP_OK;
}

enum stor_proto_status stor_proto_list_entry_get(const void *p, uint32_t i,
						 struct stor_proto_vol_info *v)
{
	const uint8_t *e = (const uint8_t *)p + 8 + (size_t)i * SP_LIST_ENTRY;

	memset(v, 0, sizeof(*v));
	if (wire_name_get(e, SP_VOL_LEN, v->name) || !stor_proto_vol_name_ok(v->name))
		return SP_EPROTO;
	v->size = wire_get_le64(e + SP_VOL_LEN);
	return SP_OK;
}

const char *stor_proto_op_name(unsigned op)
{
	static const char *const names[] = {"?",    "HELLO", "CREATE", "DELETE", "RESIZE", "LIST",
					    "STAT", "READ",  "WRITE",  "FLUSH",	 "AUTH"};

	op &= ~SP_REPLY;
	return op <= SP_OP_MAX ? names[op] : "unknown";
}

const char *stor_proto_status_name(unsigned status)
{
	static const char *const names[] = {
		"ok",
		"protocol error",
		"unknown op",
		"invalid argument",
		"too big",
		"beyond the volume's end",
		"no such volume",
		"volume exists",
		"no space",
		"storage I/O error",
		"HELLO first",
		"no valid capability",
		"capability expired",
		"not granted by the capability",
	};

	return status <= SP_STATUS_MAX ? names[status] : "unknown status";
}

enum stor_proto_status stor_proto_status_from_errno(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return SP_OK;
	case EINVAL:
		return SP_EINVAL;
	case E2BIG:
	case EFBIG:
		return SP_E2BIG;
	case ERANGE:
		return SP_ERANGE;
	case ENOENT:
		return SP_ENOENT;
	case EEXIST:
		return SP_EEXIST;
	case ENOSPC:
	case EDQUOT:
		return SP_ENOSPC;
	case EPROTO:
		return SP_EPROTO;
	case EPERM:
		return SP_EAUTH;
	case EKEYEXPIRED:
		return SP_EEXPIRED;
	case EACCES:
		return SP_EACCES;
	default:
		return SP_EIO;
	}
}

int stor_proto_status_errno(enum stor_proto_status st)
{
	static const int map[] = {0,	  EPROTO, EOPNOTSUPP, EINVAL,	E2BIG, ERANGE,	    ENOENT,
				  EEXIST, ENOSPC, EIO,	      ENOTCONN, EPERM, EKEYEXPIRED, EACCES};

	return (unsigned)st <= SP_STATUS_MAX ? -map[st] : -EPROTO;
}
