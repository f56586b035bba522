/* mem_proto.c: encoding and strict decoding of memory-protocol messages. */
#include "mem_proto.h"

#include <stdio.h>
#include <string.h>

#include "lib/parse.h"
#include "wire.h"

void mem_proto_hdr_put(void *buf, const struct wire_hdr *h)
{
	wire_hdr_put(buf, h);
}

/* A refusal: why into err, and the status to answer with. */
static enum mem_proto_status fail(char *err, size_t errlen, enum mem_proto_status st,
				  const char *why)
{
	snprintf(err, errlen, "%s", why);
	return st;
}

enum mem_proto_status mem_proto_hdr_get(const void *buf, size_t buflen, struct wire_hdr *h,
					char *err, size_t errlen)
{
	switch (wire_hdr_get(buf, buflen, MP_MAGIC, MP_VERSION, MP_MAX_PAYLOAD, h, err, errlen)) {
	case WIRE_HDR_OK:
		return MP_OK;
	case WIRE_HDR_TOOBIG:
		return MP_E2BIG;
	default:
		return MP_EPROTO;
	}
}

static int name_get(const uint8_t *p, char *out)
{
	return wire_name_get(p, MP_NAME_LEN, out);
}

static void name_put(uint8_t *p, const char *name)
{
	wire_name_put(p, MP_NAME_LEN, name);
}

size_t mem_proto_hello_put(void *p, const struct mem_proto_hello *m)
{
	wire_put_le64(p, m->vnode);
	name_put((uint8_t *)p + 8, m->name);
	return MP_HELLO_LEN;
}

enum mem_proto_status mem_proto_hello_get(const void *p, size_t len, struct mem_proto_hello *m,
					  char *err, size_t errlen)
{
	if (len != MP_HELLO_LEN)
		return fail(err, errlen, MP_EPROTO, "HELLO payload has the wrong length");
	m->vnode = wire_get_le64(p);
	if (m->vnode == 0)
		return fail(err, errlen, MP_EINVAL, "vNode id 0 is reserved");
	if (name_get((const uint8_t *)p + 8, m->name))
		return fail(err, errlen, MP_EINVAL,
			    "client name is not NUL-padded printable ASCII");
	return MP_OK;
}

size_t mem_proto_hello_reply_put(void *p, const struct mem_proto_hello_reply *m)
{
	uint8_t *b = p;

	wire_put_le32(b, m->version);
	wire_put_le32(b + 4, m->page_size);
	wire_put_le32(b + 8, m->max_pages);
	wire_put_le32(b + 12, m->flags);
	wire_put_le64(b + 16, m->pool_bytes);
	wire_put_le64(b + 24, m->pool_free);
	name_put(b + 32, m->name);
	memcpy(b + 32 + MP_NAME_LEN, m->challenge, 32);
	memcpy(b + 64 + MP_NAME_LEN, m->server_key, 32);
	return MP_HELLO_REPLY_LEN;
}

enum mem_proto_status mem_proto_hello_reply_get(const void *p, size_t len,
						struct mem_proto_hello_reply *m)
{
	const uint8_t *b = p;

	if (len != MP_HELLO_REPLY_LEN)
		return MP_EPROTO;
	m->version = wire_get_le32(b);
	m->page_size = wire_get_le32(b + 4);
	m->max_pages = wire_get_le32(b + 8);
	m->flags = wire_get_le32(b + 12);
	m->pool_bytes = wire_get_le64(b + 16);
	m->pool_free = wire_get_le64(b + 24);
	memcpy(m->challenge, b + 32 + MP_NAME_LEN, 32);
	memcpy(m->server_key, b + 64 + MP_NAME_LEN, 32);
	if (name_get(b + 32, m->name) || m->page_size != MP_PAGE_SIZE || m->max_pages == 0 ||
	    m->max_pages > MP_MAX_PAGES || m->flags & ~(MP_HELLO_RMA | MP_HELLO_AUTH))
		return MP_EPROTO;
	return MP_OK;
}

size_t mem_proto_open_put(void *p, const struct mem_proto_open *m)
{
	uint8_t *b = p;

	wire_put_le32(b, m->index);
	wire_put_le32(b + 4, m->flags);
	wire_put_le64(b + 8, m->size);
	return MP_OPEN_LEN;
}

enum mem_proto_status mem_proto_open_get(const void *p, size_t len, struct mem_proto_open *m,
					 char *err, size_t errlen)
{
	const uint8_t *b = p;

	if (len != MP_OPEN_LEN)
		return fail(err, errlen, MP_EPROTO, "OPEN payload has the wrong length");
	m->index = wire_get_le32(b);
	m->flags = wire_get_le32(b + 4);
	m->size = wire_get_le64(b + 8);
	if (m->flags & ~(MP_OPEN_CREATE | MP_OPEN_JOIN))
		return fail(err, errlen, MP_EINVAL, "unknown OPEN flags");
	if ((m->flags & MP_OPEN_JOIN) && !(m->flags & MP_OPEN_CREATE))
		return fail(err, errlen, MP_EINVAL, "OPEN with JOIN needs CREATE");
	if (m->size == 0 || m->size % MP_PAGE_SIZE)
		return fail(err, errlen, MP_EINVAL,
			    "region size is zero or not a multiple of 4096");
	if (m->size > MP_REGION_MAX)
		return fail(err, errlen, MP_E2BIG, "region size is over 1 TiB");
	return MP_OK;
}

size_t mem_proto_open_reply_put(void *p, const struct mem_proto_open_reply *m)
{
	uint8_t *b = p;

	wire_put_le64(b, m->handle);
	wire_put_le64(b + 8, m->epoch);
	wire_put_le64(b + 16, m->size);
	wire_put_le64(b + 24, m->rma_addr);
	wire_put_le64(b + 32, m->rma_key);
	return MP_OPEN_REPLY_LEN;
}

enum mem_proto_status mem_proto_open_reply_get(const void *p, size_t len,
					       struct mem_proto_open_reply *m)
{
	const uint8_t *b = p;

	if (len != MP_OPEN_REPLY_LEN)
		return MP_EPROTO;
	m->handle = wire_get_le64(b);
	m->epoch = wire_get_le64(b + 8);
	m->size = wire_get_le64(b + 16);
	m->rma_addr = wire_get_le64(b + 24);
	m->rma_key = wire_get_le64(b + 32);
	return MP_OK;
}

size_t mem_proto_close_put(void *p, const struct mem_proto_close *m)
{
	wire_put_le64(p, m->handle);
	wire_put_le64((uint8_t *)p + 8, m->epoch);
	return MP_CLOSE_LEN;
}

enum mem_proto_status mem_proto_close_get(const void *p, size_t len, struct mem_proto_close *m,
					  char *err, size_t errlen)
{
	if (len != MP_CLOSE_LEN)
		return fail(err, errlen, MP_EPROTO, "CLOSE payload has the wrong length");
	m->handle = wire_get_le64(p);
	m->epoch = wire_get_le64((const uint8_t *)p + 8);
	return MP_OK;
}

size_t mem_proto_io_put(void *p, const struct mem_proto_io *m)
{
	uint8_t *b = p;

	wire_put_le64(b, m->handle);
	wire_put_le64(b + 8, m->epoch);
	wire_put_le64(b + 16, m->offset);
	wire_put_le32(b + 24, m->npages);
	wire_put_le32(b + 28, 0);
	return MP_IO_LEN;
}

enum mem_proto_status mem_proto_io_get(const void *p, size_t len, int write, struct mem_proto_io *m,
				       char *err, size_t errlen)
{
	const uint8_t *b = p;

	if (len < MP_IO_LEN)
		return fail(err, errlen, MP_EPROTO, "READ/WRITE payload is truncated");
	m->handle = wire_get_le64(b);
	m->epoch = wire_get_le64(b + 8);
	m->offset = wire_get_le64(b + 16);
	m->npages = wire_get_le32(b + 24);
	if (wire_get_le32(b + 28))
		return fail(err, errlen, MP_EPROTO, "reserved READ/WRITE bytes are not zero");
	if (m->npages == 0)
		return fail(err, errlen, MP_EINVAL, "zero pages requested");
	if (m->npages > MP_MAX_PAGES)
		return fail(err, errlen, MP_E2BIG, "more than 64 pages in one request");
	if (m->offset % MP_PAGE_SIZE)
		return fail(err, errlen, MP_EINVAL, "offset is not page-aligned");
	if (len != MP_IO_LEN + (write ? (size_t)m->npages * MP_PAGE_SIZE : 0))
		return fail(err, errlen, MP_EPROTO,
			    write ? "WRITE data length does not match its page count"
				  : "READ payload has the wrong length");
	return MP_OK;
}

size_t mem_proto_stat_reply_put(void *p, const struct mem_proto_stat_reply *m)
{
	uint8_t *b = p;

	wire_put_le64(b, m->pool_bytes);
	wire_put_le64(b + 8, m->reserved_bytes);
	wire_put_le64(b + 16, m->stored_bytes);
	wire_put_le64(b + 24, m->regions);
	wire_put_le64(b + 32, m->reads);
	wire_put_le64(b + 40, m->writes);
	wire_put_le64(b + 48, m->errors);
	return MP_STAT_REPLY_LEN;
}

enum mem_proto_status mem_proto_stat_reply_get(const void *p, size_t len,
					       struct mem_proto_stat_reply *m)
{
	const uint8_t *b = p;

	if (len != MP_STAT_REPLY_LEN)
		return MP_EPROTO;
	m->pool_bytes = wire_get_le64(b);
	m->reserved_bytes = wire_get_le64(b + 8);
	m->stored_bytes = wire_get_le64(b + 16);
	m->regions = wire_get_le64(b + 24);
	m->reads = wire_get_le64(b + 32);
	m->writes = wire_get_le64(b + 40);
	m->errors = wire_get_le64(b + 48);
	return MP_OK;
}

bool mem_proto_addr_ok(const char *text, bool owner)
{
	char host[MP_ADDR_LEN + 1], port[16];
	const char *at = owner ? strchr(text, '@') : NULL;

	if (owner) {
		if (!at || at == text || (size_t)(at - text) > MP_NAME_LEN)
			return false;
		for (const char *c = text; c < at; c++)
			if (*c < 0x21 || *c > 0x7e)
				return false;
		text = at + 1;
	}
	return strlen(text) <= MP_ADDR_LEN &&
	       !parse_hostport(text, 1, host, sizeof(host), port, sizeof(port));
}

size_t mem_proto_fill_put(void *p, const struct mem_proto_fill *m)
{
	uint8_t *b = p;

	wire_put_le32(b, m->index);
	wire_put_le32(b + 4, 0);
	wire_put_le64(b + 8, m->src_handle);
	wire_put_le64(b + 16, m->src_epoch);
	wire_name_put(b + 24, MP_ADDR_LEN, m->src_addr);
	if (m->cap_len)
		memcpy(b + MP_FILL_LEN, m->cap, m->cap_len);
	return MP_FILL_LEN + m->cap_len;
}

enum mem_proto_status mem_proto_fill_get(const void *p, size_t len, struct mem_proto_fill *m,
					 char *err, size_t errlen)
{
	const uint8_t *b = p;

	if (len < MP_FILL_LEN || len > MP_FILL_MAX_LEN)
		return fail(err, errlen, MP_EPROTO, "FILL payload has the wrong length");
	m->cap_len = len - MP_FILL_LEN;
	m->cap = m->cap_len ? b + MP_FILL_LEN : NULL;
	m->index = wire_get_le32(b);
	m->src_handle = wire_get_le64(b + 8);
	m->src_epoch = wire_get_le64(b + 16);
	if (wire_get_le32(b + 4))
		return fail(err, errlen, MP_EPROTO, "reserved FILL bytes are not zero");
	if (wire_name_get(b + 24, MP_ADDR_LEN, m->src_addr) ||
	    !mem_proto_addr_ok(m->src_addr, false))
		return fail(err, errlen, MP_EINVAL, "FILL source is not HOST:PORT");
	return MP_OK;
}

size_t mem_proto_rstat_put(void *p, const struct mem_proto_rstat *m)
{
	wire_put_le32(p, m->index);
	wire_put_le32((uint8_t *)p + 4, 0);
	return MP_RSTAT_LEN;
}

enum mem_proto_status mem_proto_rstat_get(const void *p, size_t len, struct mem_proto_rstat *m,
					  char *err, size_t errlen)
{
	if (len != MP_RSTAT_LEN)
		return fail(err, errlen, MP_EPROTO, "RSTAT payload has the wrong length");
	m->index = wire_get_le32(p);
	if (wire_get_le32((const uint8_t *)p + 4))
		return fail(err, errlen, MP_EPROTO, "reserved RSTAT bytes are not zero");
	return MP_OK;
}

size_t mem_proto_rstat_reply_put(void *p, const struct mem_proto_rstat_reply *m)
{
	uint8_t *b = p;

	wire_put_le32(b, m->state);
	wire_put_le32(b + 4, 0);
	wire_put_le64(b + 8, m->handle);
	wire_put_le64(b + 16, m->epoch);
	wire_put_le64(b + 24, m->size);
	wire_put_le64(b + 32, m->stored_pages);
	wire_put_le64(b + 40, m->fill_done);
	wire_put_le64(b + 48, m->fill_total);
	wire_name_put(b + 56, MP_ERRTEXT_MAX, m->error);
	return MP_RSTAT_REPLY_LEN;
}

enum mem_proto_status mem_proto_rstat_reply_get(const void *p, size_t len,
						struct mem_proto_rstat_reply *m)
{
	const uint8_t *b = p;

	if (len != MP_RSTAT_REPLY_LEN)
		return MP_EPROTO;
	m->state = wire_get_le32(b);
	m->handle = wire_get_le64(b + 8);
	m->epoch = wire_get_le64(b + 16);
	m->size = wire_get_le64(b + 24);
	m->stored_pages = wire_get_le64(b + 32);
	m->fill_done = wire_get_le64(b + 40);
	m->fill_total = wire_get_le64(b + 48);
	if (m->state < MP_RS_LIVE || m->state > MP_RS_MAX || wire_get_le32(b + 4) ||
	    m->fill_done > m->fill_total || m->stored_pages > m->size / MP_PAGE_SIZE ||
	    wire_name_get(b + 56, MP_ERRTEXT_MAX, m->error))
		return MP_EPROTO;
	return MP_OK;
}

size_t mem_proto_release_put(void *p, const struct mem_proto_release *m)
{
	uint8_t *b = p;

	wire_put_le64(b, m->handle);
	wire_put_le64(b + 8, m->epoch);
	wire_name_put(b + 16, MP_OWNER_LEN, m->new_owner);
	return MP_RELEASE_LEN;
}

enum mem_proto_status mem_proto_release_get(const void *p, size_t len, struct mem_proto_release *m,
					    char *err, size_t errlen)
{
	const uint8_t *b = p;

	if (len != MP_RELEASE_LEN)
		return fail(err, errlen, MP_EPROTO, "RELEASE payload has the wrong length");
	m->handle = wire_get_le64(b);
	m->epoch = wire_get_le64(b + 8);
	if (wire_name_get(b + 16, MP_OWNER_LEN, m->new_owner) ||
	    !mem_proto_addr_ok(m->new_owner, true))
		return fail(err, errlen, MP_EINVAL, "RELEASE's new owner is not NAME@HOST:PORT");
	return MP_OK;
}

size_t mem_proto_bitmap_put(void *p, const struct mem_proto_bitmap *m)
{
	uint8_t *b = p;

	wire_put_le64(b, m->handle);
	wire_put_le64(b + 8, m->epoch);
	wire_put_le64(b + 16, m->first);
	wire_put_le32(b + 24, m->npages);
	wire_put_le32(b + 28, 0);
	return MP_BITMAP_LEN;
}

enum mem_proto_status mem_proto_bitmap_get(const void *p, size_t len, struct mem_proto_bitmap *m,
					   char *err, size_t errlen)
{
	const uint8_t *b = p;

	if (len != MP_BITMAP_LEN)
		return fail(err, errlen, MP_EPROTO, "BITMAP payload has the wrong length");
	m->handle = wire_get_le64(b);
	m->epoch = wire_get_le64(b + 8);
	m->first = wire_get_le64(b + 16);
	m->npages = wire_get_le32(b + 24);
	if (wire_get_le32(b + 28))
		return fail(err, errlen, MP_EPROTO, "reserved BITMAP bytes are not zero");
	if (m->npages == 0 || m->npages % 64 || m->first % 64)
		return fail(err, errlen, MP_EINVAL,
			    "BITMAP pages must be a non-zero multiple of 64 from a multiple of 64");
	if (m->npages > MP_BITMAP_MAX)
		return fail(err, errlen, MP_E2BIG, "more pages than one BITMAP reply holds");
	return MP_OK;
}

size_t mem_proto_auth_put(void *p, const uint8_t proof_and_cap[], size_t len)
{
	memcpy(p, proof_and_cap, len);
	return len;
}

enum mem_proto_status mem_proto_auth_get(const void *p, size_t len, struct mem_proto_auth *m,
					 char *err, size_t errlen)
{
	if (len < MP_AUTH_MIN_LEN || len > MP_AUTH_MAX_LEN)
		return fail(err, errlen, MP_EPROTO, "AUTH payload has the wrong length");
	m->proof = p;
	m->cap = (const uint8_t *)p + CAP_SIG_LEN;
	m->cap_len = len - CAP_SIG_LEN;
	return MP_OK;
}

size_t mem_proto_auth_reply_put(void *p, const struct mem_proto_auth_reply *m)
{
	uint8_t *b = p;

	wire_put_le64(b, m->expires);
	wire_put_le32(b + 8, m->rights);
	wire_put_le32(b + 12, 0);
	return MP_AUTH_REPLY_LEN;
}

enum mem_proto_status mem_proto_auth_reply_get(const void *p, size_t len,
					       struct mem_proto_auth_reply *m)
{
	const uint8_t *b = p;

	if (len != MP_AUTH_REPLY_LEN || wire_get_le32(b + 12))
		return MP_EPROTO;
	m->expires = wire_get_le64(b);
	m->rights = wire_get_le32(b + 8);
	return MP_OK;
}

const char *mem_proto_op_name(unsigned op)
{
	static const char *const names[] = {"?",    "HELLO", "OPEN",  "CLOSE",	 "READ",   "WRITE",
					    "STAT", "FILL",  "RSTAT", "RELEASE", "BITMAP", "AUTH"};

	op &= ~MP_REPLY;
	return op < sizeof(names) / sizeof(names[0]) ? names[op] : "unknown";
}

const char *mem_proto_status_name(unsigned status)
{
	static const char *const names[] = {
		"ok",
		"protocol error",
		"unknown op",
		"invalid argument",
		"too big",
		"out of range",
		"permission denied",
		"no such region",
		"stale epoch",
		"region moved (redirect)",
		"pool full",
		"HELLO first",
		"server I/O error",
		"copy not filled yet (busy)",
		"a live copy exists here",
		"no valid capability",
		"capability expired",
		"over the capability's quota",
	};

	return status <= MP_STATUS_MAX ? names[status] : "unknown status";
}
