/* test_mmon_requests.c: every kind of request lego-mmon must refuse, through the same
 * handler the daemon runs (mmon_handler_request), plus the wire layout and the good paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/log.h"
#include "lib/proto/mem_proto.h"
#include "hypervisor/mmon/mmon_handler.h"
#include "hypervisor/mmon/mmon_pool.h"
#include "lib/proto/wire.h"

#define POOL (64ULL << 20)

struct ctx {
	struct mmon_pool pool;
	struct mmon_handler_session a, b; /* two connections, vNodes 7 and 9 */
	uint8_t req[MP_MAX_MSG + 64], reply[MP_MAX_MSG];
	uint64_t id;
	struct wire_hdr rh; /* the last reply's header */
	size_t rlen;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	assert_int_equal(mmon_pool_init(&c->pool, POOL), 0);
	c->a = (struct mmon_handler_session){.peer = "test-a", .server = "mmtest"};
	c->b = (struct mmon_handler_session){.peer = "test-b", .server = "mmtest"};
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	mmon_pool_destroy(&c->pool);
	free(c);
	return 0;
}

/* Send op with body[0..len) on session s; returns the reply status. */
static unsigned call(struct ctx *c, struct mmon_handler_session *s, unsigned op, const void *body,
		     size_t len)
{
	struct wire_hdr h = {.magic = MP_MAGIC,
			     .version = MP_VERSION,
			     .op = (uint16_t)op,
			     .id = ++c->id,
			     .len = (uint32_t)len};
	char err[MP_ERRTEXT_MAX + 1] = "";

	mem_proto_hdr_put(c->req, &h);
	if (len)
		memcpy(c->req + MP_HDR_LEN, body, len);
	c->rlen = mmon_handler_request(&c->pool, s, c->req, MP_HDR_LEN + len, false, c->reply);
	assert_int_equal(mem_proto_hdr_get(c->reply, c->rlen, &c->rh, err, sizeof(err)), MP_OK);
	assert_int_equal(c->rh.op, op | MP_REPLY);
	assert_int_equal(c->rh.id, c->id);
	return c->rh.status;
}

static void hello(struct ctx *c, struct mmon_handler_session *s, uint64_t vnode)
{
	struct mem_proto_hello m = {.vnode = vnode, .name = "unit"};
	uint8_t b[MP_HELLO_LEN];
	struct mem_proto_hello_reply r;

	mem_proto_hello_put(b, &m);
	assert_int_equal(call(c, s, MP_HELLO, b, sizeof(b)), MP_OK);
	assert_int_equal(mem_proto_hello_reply_get(c->reply + MP_HDR_LEN, c->rh.len, &r), MP_OK);
	assert_string_equal(r.name, "mmtest");
	assert_int_equal(r.pool_bytes, POOL);
}

static struct mem_proto_open_reply open_region(struct ctx *c, struct mmon_handler_session *s,
					       uint32_t index, uint64_t size)
{
	struct mem_proto_open m = {.index = index, .flags = MP_OPEN_CREATE, .size = size};
	struct mem_proto_open_reply r;
	uint8_t b[MP_OPEN_LEN];

	mem_proto_open_put(b, &m);
	assert_int_equal(call(c, s, MP_OPEN, b, sizeof(b)), MP_OK);
	assert_int_equal(mem_proto_open_reply_get(c->reply + MP_HDR_LEN, c->rh.len, &r), MP_OK);
	return r;
}

/* READ/WRITE body: the io header, then data for WRITE. */
static unsigned io(struct ctx *c, struct mmon_handler_session *s, unsigned op, uint64_t handle,
		   uint64_t epoch, uint64_t offset, uint32_t npages, uint8_t fill)
{
	static uint8_t body[MP_IO_LEN + MP_MAX_PAGES * MP_PAGE_SIZE];
	struct mem_proto_io m = {
		.handle = handle, .epoch = epoch, .offset = offset, .npages = npages};
	size_t len = MP_IO_LEN;

	mem_proto_io_put(body, &m);
	if (op == MP_WRITE && npages <= MP_MAX_PAGES) {
		memset(body + MP_IO_LEN, fill, (size_t)npages * MP_PAGE_SIZE);
		len += (size_t)npages * MP_PAGE_SIZE;
	}
	return call(c, s, op, body, len);
}

static void test_header_layout(void **state)
{
	static const uint8_t want[MP_HDR_LEN] = {0x4c, 0x45, 0x47, 0x4d, 0x02, 0x00, 0x04, 0x80,
						 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
						 0x07, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
						 0,    0,    0,	   0,	 0,    0,    0,	   0};
	struct wire_hdr h = {.magic = MP_MAGIC,
			     .version = MP_VERSION,
			     .op = MP_READ | MP_REPLY,
			     .id = 0x0102030405060708ULL,
			     .status = MP_ENOENT,
			     .len = 16};
	uint8_t b[MP_HDR_LEN + 16] = {0};
	char err[MP_ERRTEXT_MAX + 1];
	struct wire_hdr g;

	(void)state;
	mem_proto_hdr_put(b, &h);
	assert_memory_equal(b, want, MP_HDR_LEN);
	assert_int_equal(mem_proto_hdr_get(b, sizeof(b), &g, err, sizeof(err)), MP_OK);
	assert_int_equal(g.id, h.id);
	assert_int_equal(g.op, h.op);
	assert_int_equal(g.status, MP_ENOENT);
	/* Each way a header can be wrong. */
	assert_int_equal(mem_proto_hdr_get(b, 10, &g, err, sizeof(err)), MP_EPROTO);
	assert_string_equal(err, "truncated header");
	assert_int_equal(mem_proto_hdr_get(b, MP_HDR_LEN + 15, &g, err, sizeof(err)), MP_EPROTO);
	assert_string_equal(err, "payload length does not match the bytes received");
	b[24] = 1;
	assert_int_equal(mem_proto_hdr_get(b, sizeof(b), &g, err, sizeof(err)), MP_EPROTO);
	b[24] = 0;
	b[4] = 1; /* the protocol before capabilities */
	assert_int_equal(mem_proto_hdr_get(b, sizeof(b), &g, err, sizeof(err)), MP_EPROTO);
	b[4] = 2;
	b[0] ^= 0xff;
	assert_int_equal(mem_proto_hdr_get(b, sizeof(b), &g, err, sizeof(err)), MP_EPROTO);
	b[0] ^= 0xff;
	wire_put_le32(b + 20, MP_MAX_PAYLOAD + 1);
	assert_int_equal(mem_proto_hdr_get(b, sizeof(b), &g, err, sizeof(err)), MP_E2BIG);
	assert_string_equal(err, "payload longer than the protocol allows");
}

static void test_hello_first(void **state)
{
	struct ctx *c = *state;
	uint8_t b[MP_OPEN_LEN] = {0};
	uint8_t hb[MP_HELLO_LEN] = {0};

	assert_int_equal(call(c, &c->a, MP_OPEN, b, sizeof(b)), MP_ENOTCONN);
	assert_int_equal(call(c, &c->a, MP_STAT, NULL, 0), MP_ENOTCONN);
	/* vNode 0, a short body, a name with a control byte: all refused. */
	assert_int_equal(call(c, &c->a, MP_HELLO, hb, sizeof(hb)), MP_EINVAL);
	assert_int_equal(call(c, &c->a, MP_HELLO, hb, sizeof(hb) - 1), MP_EPROTO);
	wire_put_le64(hb, 7);
	hb[8] = 'x';
	hb[9] = 0x01;
	assert_int_equal(call(c, &c->a, MP_HELLO, hb, sizeof(hb)), MP_EINVAL);
	hello(c, &c->a, 7);
	/* A connection stays bound to its vNode. */
	wire_put_le64(hb, 9);
	hb[9] = 0;
	assert_int_equal(call(c, &c->a, MP_HELLO, hb, sizeof(hb)), MP_EINVAL);
}

static void test_read_write(void **state)
{
	struct ctx *c = *state;
	struct mem_proto_open_reply r;
	struct mem_proto_stat_reply st;

	hello(c, &c->a, 7);
	r = open_region(c, &c->a, 0, 8ULL << 20);
	assert_int_equal(r.epoch, 1);
	assert_int_equal(r.size, 8ULL << 20);
	assert_int_equal(r.rma_key, 0); /* no RMA without a fabric domain */
	/* Never written: zeros. */
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 4096, 2, 0), MP_OK);
	assert_int_equal(c->rh.len, 2 * MP_PAGE_SIZE);
	for (size_t i = 0; i < 2 * MP_PAGE_SIZE; i++)
		assert_int_equal(c->reply[MP_HDR_LEN + i], 0);
	/* Written pages come back, a run of 64 at the region's end too. */
	assert_int_equal(io(c, &c->a, MP_WRITE, r.handle, 1, 4096, 1, 0xab), MP_OK);
	assert_int_equal(c->rh.len, 0);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 4096, 1, 0), MP_OK);
	assert_int_equal(c->reply[MP_HDR_LEN], 0xab);
	assert_int_equal(c->reply[MP_HDR_LEN + MP_PAGE_SIZE - 1], 0xab);
	assert_int_equal(
		io(c, &c->a, MP_WRITE, r.handle, 1, (8ULL << 20) - 64 * MP_PAGE_SIZE, 64, 0x5c),
		MP_OK);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, (8ULL << 20) - MP_PAGE_SIZE, 1, 0),
			 MP_OK);
	assert_int_equal(c->reply[MP_HDR_LEN + 100], 0x5c);
	/* Reopening gives the same region; another size is refused. */
	assert_int_equal(open_region(c, &c->a, 0, 8ULL << 20).handle, r.handle);
	{
		struct mem_proto_open m = {.index = 0, .flags = MP_OPEN_CREATE, .size = 4ULL << 20};
		uint8_t b[MP_OPEN_LEN];

		mem_proto_open_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_OPEN, b, sizeof(b)), MP_EINVAL);
	}
	assert_int_equal(call(c, &c->a, MP_STAT, NULL, 0), MP_OK);
	assert_int_equal(mem_proto_stat_reply_get(c->reply + MP_HDR_LEN, c->rh.len, &st), MP_OK);
	assert_int_equal(st.reserved_bytes, 8ULL << 20);
	assert_int_equal(st.stored_bytes, 65 * MP_PAGE_SIZE);
	assert_int_equal(st.regions, 1);
	/* CLOSE frees the region and its reservation. */
	{
		struct mem_proto_close m = {.handle = r.handle, .epoch = 1};
		uint8_t b[MP_CLOSE_LEN];

		mem_proto_close_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_CLOSE, b, sizeof(b)), MP_OK);
	}
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 0, 1, 0), MP_ENOENT);
	assert_int_equal(call(c, &c->a, MP_STAT, NULL, 0), MP_OK);
	assert_int_equal(mem_proto_stat_reply_get(c->reply + MP_HDR_LEN, c->rh.len, &st), MP_OK);
	assert_int_equal(st.reserved_bytes, 0);
	assert_int_equal(st.stored_bytes, 0);
}

static void test_bad_requests(void **state)
{
	struct ctx *c = *state;
	const uint64_t size = 4ULL << 20;
	struct mem_proto_open_reply r;
	uint8_t b[MP_IO_LEN + 8] = {0};
	size_t n;

	hello(c, &c->a, 7);
	r = open_region(c, &c->a, 3, size);
	/* Out of range: past the end, a run across the end, an offset that would wrap. */
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, size, 1, 0), MP_ERANGE);
	assert_int_equal(io(c, &c->a, MP_WRITE, r.handle, 1, size - MP_PAGE_SIZE, 2, 1), MP_ERANGE);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, UINT64_MAX - 4095, 1, 0), MP_ERANGE);
	/* Oversized: 65 pages; zero pages; unaligned offset. */
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 0, MP_MAX_PAGES + 1, 0), MP_E2BIG);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 0, 0, 0), MP_EINVAL);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 100, 1, 0), MP_EINVAL);
	/* Truncated: a READ body cut short, WRITE data shorter than its page count. */
	assert_int_equal(call(c, &c->a, MP_READ, b, MP_IO_LEN - 1), MP_EPROTO);
	{
		struct mem_proto_io m = {.handle = r.handle, .epoch = 1, .offset = 0, .npages = 2};
		static uint8_t wb[MP_IO_LEN + MP_PAGE_SIZE];

		mem_proto_io_put(wb, &m);
		assert_int_equal(call(c, &c->a, MP_WRITE, wb, sizeof(wb)), MP_EPROTO);
	}
	/* Unknown handle; stale epoch. */
	assert_int_equal(io(c, &c->a, MP_READ, r.handle + 1000, 1, 0, 1, 0), MP_ENOENT);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 2, 0, 1, 0), MP_ESTALE);
	/* Foreign vNode: another connection, another vNode, the same handle. */
	hello(c, &c->b, 9);
	assert_int_equal(io(c, &c->b, MP_READ, r.handle, 1, 0, 1, 0), MP_EACCES);
	assert_int_equal(io(c, &c->b, MP_WRITE, r.handle, 1, 0, 1, 0xee), MP_EACCES);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 0, 1, 0), MP_OK);
	assert_int_not_equal(c->reply[MP_HDR_LEN], 0xee);
	/* Unknown op; a request carrying a status or the reply bit. */
	assert_int_equal(call(c, &c->a, 99, NULL, 0), MP_EBADOP);
	assert_int_equal(call(c, &c->a, MP_STAT | MP_REPLY, NULL, 0), MP_EPROTO);
	assert_int_equal(call(c, &c->a, MP_STAT, b, 4), MP_EPROTO);
	/* Bad OPENs: size 0, unaligned, over 1 TiB, unknown flags, pool exhausted. */
	{
		struct mem_proto_open bad[] = {
			{.index = 1, .flags = MP_OPEN_CREATE, .size = 0},
			{.index = 1, .flags = MP_OPEN_CREATE, .size = 5000},
			{.index = 1, .flags = MP_OPEN_CREATE, .size = MP_REGION_MAX * 2},
			{.index = 1, .flags = 0x80, .size = 4096},
			{.index = 1, .flags = MP_OPEN_CREATE, .size = POOL},
			{.index = 1, .flags = 0, .size = 4096}};
		unsigned want[] = {MP_EINVAL, MP_EINVAL, MP_E2BIG, MP_EINVAL, MP_ENOSPC, MP_ENOENT};
		uint8_t ob[MP_OPEN_LEN];

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			mem_proto_open_put(ob, &bad[i]);
			assert_int_equal(call(c, &c->a, MP_OPEN, ob, sizeof(ob)), want[i]);
		}
	}
	/* Every refusal carries a reason. */
	assert_true(c->rh.len > 0);
	/* A message the transport cut (longer than its buffer): E2BIG, no id to trust. */
	{
		struct wire_hdr h = {.magic = MP_MAGIC,
				     .version = 1,
				     .op = MP_WRITE,
				     .id = 4242,
				     .len = MP_MAX_PAYLOAD};
		char err[MP_ERRTEXT_MAX + 1];
		struct wire_hdr g;

		mem_proto_hdr_put(c->req, &h);
		n = mmon_handler_request(&c->pool, &c->a, c->req, MP_MAX_MSG, true, c->reply);
		assert_int_equal(mem_proto_hdr_get(c->reply, n, &g, err, sizeof(err)), MP_OK);
		assert_int_equal(g.status, MP_E2BIG);
		assert_int_equal(g.id, 0);
	}
	/* Garbage header: EPROTO, and the session still works after all of the above. */
	memset(c->req, 0xa5, 64);
	n = mmon_handler_request(&c->pool, &c->a, c->req, 64, false, c->reply);
	assert_true(n >= MP_HDR_LEN);
	assert_int_equal(wire_get_le32(c->reply + 16), MP_EPROTO);
	assert_int_equal(io(c, &c->a, MP_WRITE, r.handle, 1, 0, 1, 0x11), MP_OK);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 0, 1, 0), MP_OK);
	assert_int_equal(c->reply[MP_HDR_LEN + 7], 0x11);
}

static unsigned release(struct ctx *c, struct mmon_handler_session *s, uint64_t handle,
			uint64_t epoch, const char *owner)
{
	struct mem_proto_release m = {.handle = handle, .epoch = epoch};
	uint8_t b[MP_RELEASE_LEN];

	snprintf(m.new_owner, sizeof(m.new_owner), "%s", owner);
	mem_proto_release_put(b, &m);
	return call(c, s, MP_RELEASE, b, sizeof(b));
}

static void test_redirect(void **state)
{
	struct ctx *c = *state;
	struct mem_proto_open_reply r;
	const char *owner = "mm-new@127.0.0.1:7411";

	hello(c, &c->a, 7);
	hello(c, &c->b, 9);
	r = open_region(c, &c->a, 0, 2ULL << 20);
	/* Another vNode, a stale epoch, a malformed owner: refused, the region stays. */
	assert_int_equal(release(c, &c->b, r.handle, 1, owner), MP_EACCES);
	assert_int_equal(release(c, &c->a, r.handle, 2, owner), MP_ESTALE);
	assert_int_equal(release(c, &c->a, r.handle, 1, "no-at-sign"), MP_EINVAL);
	assert_int_equal(release(c, &c->a, r.handle, 1, "x@host-without-port"), MP_EINVAL);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 0, 1, 0), MP_OK);
	assert_int_equal(release(c, &c->a, r.handle, 1, owner), MP_OK);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 0, 1, 0), MP_EREDIRECT);
	assert_int_equal(c->rh.len, strlen(owner));
	assert_memory_equal(c->reply + MP_HDR_LEN, owner, strlen(owner));
	assert_int_equal(release(c, &c->a, r.handle, 1, owner), MP_EREDIRECT);
	/* An OPEN with an old map is redirected too, CREATE or not: never a new, empty
	 * region in the moved one's place. */
	{
		struct mem_proto_open m = {.index = 0, .flags = MP_OPEN_CREATE, .size = 2ULL << 20};
		uint8_t b[MP_OPEN_LEN];

		mem_proto_open_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_OPEN, b, sizeof(b)), MP_EREDIRECT);
		assert_memory_equal(c->reply + MP_HDR_LEN, owner, strlen(owner));
		m.flags = 0;
		mem_proto_open_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_OPEN, b, sizeof(b)), MP_EREDIRECT);
		/* Only a JOIN brings it back here (a copy to be filled), with its capacity free
		 * again; the old handle is then unknown. */
		m.flags = MP_OPEN_CREATE | MP_OPEN_JOIN;
		mem_proto_open_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_OPEN, b, sizeof(b)), MP_OK);
		assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 0, 1, 0), MP_ENOENT);
	}
}

static unsigned open_flags(struct ctx *c, struct mmon_handler_session *s, uint32_t index,
			   uint64_t size, uint32_t flags, struct mem_proto_open_reply *r)
{
	struct mem_proto_open m = {.index = index, .flags = flags, .size = size};
	uint8_t b[MP_OPEN_LEN];
	unsigned st;

	mem_proto_open_put(b, &m);
	st = call(c, s, MP_OPEN, b, sizeof(b));
	if (st == MP_OK && r)
		assert_int_equal(mem_proto_open_reply_get(c->reply + MP_HDR_LEN, c->rh.len, r),
				 MP_OK);
	return st;
}

static struct mem_proto_rstat_reply rstat(struct ctx *c, struct mmon_handler_session *s,
					  uint32_t index)
{
	struct mem_proto_rstat m = {.index = index};
	struct mem_proto_rstat_reply r;
	uint8_t b[MP_RSTAT_LEN];

	mem_proto_rstat_put(b, &m);
	assert_int_equal(call(c, s, MP_RSTAT, b, sizeof(b)), MP_OK);
	assert_int_equal(mem_proto_rstat_reply_get(c->reply + MP_HDR_LEN, c->rh.len, &r), MP_OK);
	return r;
}

/* A joining copy: takes writes at once, refuses reads until filled, and a fill never
 * replaces a page the vNode wrote meanwhile. */
static void test_join_and_fill(void **state)
{
	struct ctx *c = *state;
	static uint8_t src[4 * MP_PAGE_SIZE];
	struct mem_proto_open_reply r, live;
	struct mem_proto_rstat_reply rs;
	struct mmon_pool_region *reg, *other;
	char err[MP_ERRTEXT_MAX + 1] = "";
	uint64_t installed;

	hello(c, &c->a, 7);
	assert_int_equal(open_flags(c, &c->a, 2, 2ULL << 20, MP_OPEN_JOIN, NULL), MP_EINVAL);
	assert_int_equal(open_flags(c, &c->a, 2, 2ULL << 20, MP_OPEN_CREATE | MP_OPEN_JOIN, &r),
			 MP_OK);
	/* Joining again is the same copy; a live one refuses to be joined. */
	assert_int_equal(open_flags(c, &c->a, 2, 2ULL << 20, MP_OPEN_CREATE | MP_OPEN_JOIN, &live),
			 MP_OK);
	assert_int_equal(live.handle, r.handle);
	live = open_region(c, &c->a, 3, 2ULL << 20);
	assert_int_equal(open_flags(c, &c->a, 3, 2ULL << 20, MP_OPEN_CREATE | MP_OPEN_JOIN, NULL),
			 MP_EEXIST);
	rs = rstat(c, &c->a, 2);
	assert_int_equal(rs.state, MP_RS_JOINING);
	assert_int_equal(rs.handle, r.handle);
	/* Writes go in, reads and bitmaps wait for the fill. */
	assert_int_equal(io(c, &c->a, MP_WRITE, r.handle, 1, MP_PAGE_SIZE, 1, 0xaa), MP_OK);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 0, 1, 0), MP_EBUSY);
	{
		struct mem_proto_bitmap m = {
			.handle = r.handle, .epoch = 1, .first = 0, .npages = 512};
		uint8_t b[MP_BITMAP_LEN];

		mem_proto_bitmap_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_BITMAP, b, sizeof(b)), MP_EBUSY);
	}
	/* No fill context here: FILL is refused with a reason. */
	{
		struct mem_proto_fill m = {.index = 2, .src_handle = live.handle, .src_epoch = 1};
		uint8_t b[MP_FILL_LEN];

		snprintf(m.src_addr, sizeof(m.src_addr), "127.0.0.1:1");
		mem_proto_fill_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_FILL, b, sizeof(b)), MP_EIO);
		snprintf(m.src_addr, sizeof(m.src_addr), "not an address");
		mem_proto_fill_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_FILL, b, sizeof(b)), MP_EINVAL);
	}
	/* The fill as mmon_fill.c drives it: page 1 keeps the vNode's 0xaa. */
	assert_int_equal(mmon_pool_fill_begin(&c->pool, 7, 3, &reg, err, sizeof(err)), MP_EEXIST);
	assert_null(reg);
	assert_string_equal(err, "this copy is live: it needs no fill");
	assert_int_equal(mmon_pool_fill_begin(&c->pool, 9, 2, &reg, err, sizeof(err)), MP_ENOENT);
	assert_null(reg);
	assert_int_equal(mmon_pool_fill_begin(&c->pool, 7, 2, &reg, err, sizeof(err)), MP_OK);
	assert_non_null(reg);
	assert_int_equal(mmon_pool_fill_begin(&c->pool, 7, 2, &other, err, sizeof(err)), MP_EBUSY);
	assert_null(other);
	assert_int_equal(rstat(c, &c->a, 2).state, MP_RS_FILLING);
	memset(src, 0x55, sizeof(src));
	assert_int_equal(mmon_pool_fill_install(&c->pool, reg, 0, 4, src, &installed), MP_OK);
	assert_int_equal(installed, 3);
	assert_int_equal(mmon_pool_fill_install(&c->pool, reg, 511, 2, src, &installed), MP_ERANGE);
	/* A write during the fill wins over a later install of the same page. */
	assert_int_equal(io(c, &c->a, MP_WRITE, r.handle, 1, 8 * MP_PAGE_SIZE, 1, 0xbb), MP_OK);
	assert_int_equal(mmon_pool_fill_install(&c->pool, reg, 8, 1, src, &installed), MP_OK);
	assert_int_equal(installed, 0);
	mmon_pool_fill_end(&c->pool, reg, NULL);
	rs = rstat(c, &c->a, 2);
	assert_int_equal(rs.state, MP_RS_LIVE);
	assert_int_equal(rs.stored_pages, 5);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 0, 2, 0), MP_OK);
	assert_int_equal(c->reply[MP_HDR_LEN], 0x55);
	assert_int_equal(c->reply[MP_HDR_LEN + MP_PAGE_SIZE], 0xaa);
	assert_int_equal(io(c, &c->a, MP_READ, r.handle, 1, 8 * MP_PAGE_SIZE, 1, 0), MP_OK);
	assert_int_equal(c->reply[MP_HDR_LEN + 9], 0xbb);
	/* The live copy's bitmap: pages 0-3 and 8. */
	{
		struct mem_proto_bitmap m = {
			.handle = r.handle, .epoch = 1, .first = 0, .npages = 512};
		uint8_t b[MP_BITMAP_LEN];

		mem_proto_bitmap_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_BITMAP, b, sizeof(b)), MP_OK);
		assert_int_equal(c->rh.len, 64);
		assert_int_equal(c->reply[MP_HDR_LEN], 0x0f);
		assert_int_equal(c->reply[MP_HDR_LEN + 1], 0x01);
		m.first = 512;
		mem_proto_bitmap_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_BITMAP, b, sizeof(b)), MP_ERANGE);
		m.first = 1;
		mem_proto_bitmap_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_BITMAP, b, sizeof(b)), MP_EINVAL);
		m = (struct mem_proto_bitmap){
			.handle = r.handle, .epoch = 1, .npages = MP_BITMAP_MAX + 64};
		mem_proto_bitmap_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_BITMAP, b, sizeof(b)), MP_E2BIG);
	}
	/* A failed fill: the copy answers nothing but RSTAT (with the reason) and CLOSE. */
	assert_int_equal(open_flags(c, &c->a, 4, 2ULL << 20, MP_OPEN_CREATE | MP_OPEN_JOIN, &r),
			 MP_OK);
	assert_int_equal(mmon_pool_fill_begin(&c->pool, 7, 4, &reg, err, sizeof(err)), MP_OK);
	assert_non_null(reg);
	mmon_pool_fill_end(&c->pool, reg, "source gone");
	rs = rstat(c, &c->a, 4);
	assert_int_equal(rs.state, MP_RS_FAILED);
	assert_string_equal(rs.error, "source gone");
	assert_int_equal(io(c, &c->a, MP_WRITE, r.handle, 1, 0, 1, 0x1), MP_EBUSY);
	assert_int_equal(open_flags(c, &c->a, 4, 2ULL << 20, MP_OPEN_CREATE | MP_OPEN_JOIN, NULL),
			 MP_EBUSY);
	/* A copy closed in the middle of its fill: the fill's next install fails, and the
	 * region is freed when the fill lets go of it. */
	assert_int_equal(open_flags(c, &c->a, 5, 2ULL << 20, MP_OPEN_CREATE | MP_OPEN_JOIN, &r),
			 MP_OK);
	assert_int_equal(mmon_pool_fill_begin(&c->pool, 7, 5, &reg, err, sizeof(err)), MP_OK);
	assert_non_null(reg);
	{
		struct mem_proto_close m = {.handle = r.handle, .epoch = 1};
		uint8_t b[MP_CLOSE_LEN];

		mem_proto_close_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_CLOSE, b, sizeof(b)), MP_OK);
	}
	assert_int_equal(mmon_pool_fill_install(&c->pool, reg, 0, 1, src, &installed), MP_ENOENT);
	mmon_pool_fill_end(&c->pool, reg, "closed");
	{
		struct mem_proto_rstat m = {.index = 5};
		uint8_t b[MP_RSTAT_LEN];

		mem_proto_rstat_put(b, &m);
		assert_int_equal(call(c, &c->a, MP_RSTAT, b, sizeof(b)), MP_ENOENT);
		b[4] = 1;
		assert_int_equal(call(c, &c->a, MP_RSTAT, b, sizeof(b)), MP_EPROTO);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test_setup_teardown(test_hello_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_and_fill, setup, teardown),
	};

	log_set_level(LOG_ERROR); /* the refusals' warnings are expected here */
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
