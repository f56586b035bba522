/* mmon_probe.c: sends a running lego-mmon every kind of bad request over the real
 * transport and checks each answer, and that the connection and server keep working.
 * TAP on stdout. Usage: mmon_probe HOST PORT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/fabric/fabric.h"
#include "lib/cap/cap_key.h"
#include "lib/log.h"
#include "tap_ok.h"
#include "tool_caps.h"
#include "lib/proto/mem_proto.h"
#include "lib/proto/wire.h"

#define TIMEOUT_MS 5000
#define REGION	   (4ULL << 20)

static uint64_t next_id = 1;
static struct wire_hdr rh; /* the last reply's header */
/* With $LEGO_CAPABILITY_KEY: the signing key and the probe's own holder key. */
static struct cap_key signer, own;
static bool keyed;
static uint8_t server_key[CAP_KEY_LEN]; /* from the HELLO reply: holder of FILL capabilities */

/* Send raw bytes already in the send buffer, wait for a reply; its status or -errno. */
static int raw(struct fab_conn *c, size_t len)
{
	size_t rlen = 0;
	char err[MP_ERRTEXT_MAX + 1];
	int rc = fabric_call(c, len, &rlen, TIMEOUT_MS);

	if (rc)
		return rc;
	if (mem_proto_hdr_get(fabric_rbuf(c), rlen, &rh, err, sizeof(err)) != MP_OK ||
	    !(rh.op & MP_REPLY))
		return -EPROTO;
	return (int)rh.status;
}

static int req(struct fab_conn *c, unsigned op, size_t body_len)
{
	struct wire_hdr h = {.magic = MP_MAGIC,
			     .version = MP_VERSION,
			     .op = (uint16_t)op,
			     .id = next_id++,
			     .len = (uint32_t)body_len};
	int st;

	mem_proto_hdr_put(fabric_sbuf(c), &h);
	st = raw(c, MP_HDR_LEN + body_len);
	if (st >= 0 && rh.id != h.id)
		return -EPROTO;
	return st;
}

static uint8_t *body(struct fab_conn *c)
{
	return (uint8_t *)fabric_sbuf(c) + MP_HDR_LEN;
}

/* A capability for vnode: rights on vRegions [first, first + count), held by holder. */
static size_t sign(uint64_t vnode, uint32_t rights, uint32_t first, uint32_t count,
		   const uint8_t *holder, uint8_t *out)
{
	return keyed ? tool_caps_sign_memory(&signer, vnode, rights, first, count, holder, out) : 0;
}

/* HELLO as vnode, then (where the server asks) AUTH with every right on every vRegion. */
static int hello(struct fab_conn *c, uint64_t vnode)
{
	struct mem_proto_hello m = {.vnode = vnode, .name = "mmon_probe"};
	struct mem_proto_hello_reply hr;
	uint8_t cap[CAP_MAX_LEN];
	size_t n;
	int st;

	mem_proto_hello_put(body(c), &m);
	st = req(c, MP_HELLO, MP_HELLO_LEN);
	if (st || mem_proto_hello_reply_get((uint8_t *)fabric_rbuf(c) + MP_HDR_LEN, rh.len, &hr))
		return st ? st : -EPROTO;
	memcpy(server_key, hr.server_key, sizeof(server_key));
	if (!(hr.flags & MP_HELLO_AUTH))
		return MP_OK;
	n = sign(vnode, CAP_MEM_ALL, 0, UINT32_MAX, own.pub, cap);
	if (!n || cap_key_prove(&own, hr.challenge, cap, n, body(c)))
		return MP_EAUTH;
	memcpy(body(c) + CAP_SIG_LEN, cap, n);
	return req(c, MP_AUTH, CAP_SIG_LEN + n);
}

/* FILL's body for f (a capability for its source appended, held by this server). */
static size_t fill_body(struct fab_conn *c, struct mem_proto_fill *f, uint64_t vnode)
{
	uint8_t cap[CAP_MAX_LEN];

	f->cap_len = sign(vnode, CAP_MEM_READ | CAP_MEM_STATE, f->index, 1, server_key, cap);
	f->cap = cap;
	return mem_proto_fill_put(body(c), f);
}

static int io(struct fab_conn *c, unsigned op, uint64_t handle, uint64_t epoch, uint64_t off,
	      uint32_t npages, uint8_t fill)
{
	struct mem_proto_io m = {.handle = handle, .epoch = epoch, .offset = off, .npages = npages};
	size_t len = MP_IO_LEN;

	mem_proto_io_put(body(c), &m);
	if (op == MP_WRITE) {
		memset(body(c) + MP_IO_LEN, fill, (size_t)npages * MP_PAGE_SIZE);
		len += (size_t)npages * MP_PAGE_SIZE;
	}
	return req(c, op, len);
}

/* The connection still serves: page 0 reads back as 0x3c. */
static int still_works(struct fab_conn *c, uint64_t handle)
{
	return io(c, MP_READ, handle, 1, 0, 1, 0) == MP_OK &&
	       ((uint8_t *)fabric_rbuf(c))[MP_HDR_LEN + 123] == 0x3c;
}

/* Each way a header can be wrong, on connection a (which can send over the limit). */
static void header_checks(struct fab_conn *a, uint64_t h)
{
	int st;

	/* Malformed header: bad magic. */
	mem_proto_hdr_put(
		fabric_sbuf(a),
		&(struct wire_hdr){.magic = 0xdeadbeef, .version = MP_VERSION, .op = MP_READ});
	st = raw(a, MP_HDR_LEN);
	ok(st == MP_EPROTO, "bad magic: EPROTO (got %d)", st);
	ok(still_works(a, h), "... and the connection still serves");
	/* Truncated header: 10 bytes. */
	st = raw(a, 10);
	ok(st == MP_EPROTO, "a 10-byte header: EPROTO (got %d)", st);
	/* Truncated body: a READ with 10 body bytes. */
	memset(body(a), 0, 10);
	st = req(a, MP_READ, 10);
	ok(st == MP_EPROTO, "a truncated READ body: EPROTO (got %d)", st);
	/* Length field larger than what was sent. */
	mem_proto_hdr_put(fabric_sbuf(a), &(struct wire_hdr){.magic = MP_MAGIC,
							     .version = MP_VERSION,
							     .op = MP_STAT,
							     .id = 77,
							     .len = 500});
	st = raw(a, MP_HDR_LEN + 20);
	ok(st == MP_EPROTO && rh.id == 77, "a header claiming more bytes than sent: EPROTO");
	/* Oversized: a message longer than the largest request. */
	mem_proto_hdr_put(fabric_sbuf(a), &(struct wire_hdr){.magic = MP_MAGIC,
							     .version = MP_VERSION,
							     .op = MP_WRITE,
							     .id = 78,
							     .len = MP_MAX_MSG});
	st = raw(a, MP_MAX_MSG + MP_HDR_LEN);
	ok(st == MP_E2BIG && rh.id == 78, "a message over %u bytes: E2BIG (got %d)", MP_MAX_MSG,
	   st);
	ok(still_works(a, h), "... and the connection still serves");
}

/* Requests whose fields are wrong, and another vNode's requests (on b). */
static void field_checks(struct fab_conn *a, struct fab_conn *b, uint64_t h)
{
	int st;

	st = io(a, MP_READ, h, 1, 0, MP_MAX_PAGES + 1, 0);
	ok(st == MP_E2BIG, "65 pages in one READ: E2BIG (got %d)", st);
	st = io(a, MP_READ, h, 1, REGION, 1, 0);
	ok(st == MP_ERANGE, "a page past the region's end: ERANGE (got %d)", st);
	st = io(a, MP_WRITE, h, 1, REGION - MP_PAGE_SIZE, 2, 0x77);
	ok(st == MP_ERANGE, "a write run crossing the region's end: ERANGE (got %d)", st);
	st = io(a, MP_READ, h + 99999, 1, 0, 1, 0);
	ok(st == MP_ENOENT, "an unknown region handle: ENOENT (got %d)", st);
	st = io(a, MP_READ, h, 2, 0, 1, 0);
	ok(st == MP_ESTALE, "a stale epoch: ESTALE (got %d)", st);
	st = req(a, 0x7777, 0);
	ok(st == MP_EBADOP, "an unknown op: EBADOP (got %d)", st);
	/* Foreign vNode: b is another vNode using a's handle. */
	ok(hello(b, 0x2222) == MP_OK, "a second connection as vNode 0x2222");
	st = io(b, MP_WRITE, h, 1, 0, 1, 0x99);
	ok(st == MP_EACCES, "another vNode writing the region: EACCES (got %d)", st);
	st = io(b, MP_READ, h, 1, 0, 1, 0);
	ok(st == MP_EACCES, "another vNode reading the region: EACCES (got %d)", st);
	ok(still_works(a, h), "the owner's data is untouched and its connection serves");
	st = req(a, MP_STAT, 0);
	{
		struct mem_proto_stat_reply sr = {0};

		mem_proto_stat_reply_get((uint8_t *)fabric_rbuf(a) + MP_HDR_LEN, rh.len, &sr);
		ok(st == MP_OK && sr.errors >= 14, "STAT counts the refused requests (%llu)",
		   (unsigned long long)sr.errors);
	}
}

/* The copy operations: FILL, RSTAT, RELEASE, BITMAP. */
static void copy_checks(struct fab_conn *a, struct fab_conn *b, uint64_t h)
{
	struct mem_proto_fill f = {.index = 0, .src_handle = h, .src_epoch = 1};
	struct mem_proto_rstat rs = {.index = 0};
	struct mem_proto_release rl = {.handle = h, .epoch = 1};
	struct mem_proto_bitmap bm = {.handle = h, .epoch = 1, .first = 0, .npages = 1024};
	struct mem_proto_open j = {
		.index = 5, .flags = MP_OPEN_CREATE | MP_OPEN_JOIN, .size = REGION};
	int st;

	snprintf(f.src_addr, sizeof(f.src_addr), "127.0.0.1:9");
	st = req(a, MP_FILL, fill_body(a, &f, 0x1111));
	ok(st == MP_EEXIST, "FILL of a live region: EEXIST (got %d)", st);
	memset(body(a) + 24, 'x', MP_ADDR_LEN);
	st = req(a, MP_FILL, MP_FILL_LEN);
	ok(st == MP_EINVAL, "FILL from a source that is no HOST:PORT: EINVAL (got %d)", st);
	mem_proto_rstat_put(body(b), &rs);
	st = req(b, MP_RSTAT, MP_RSTAT_LEN);
	ok(st == MP_ENOENT, "RSTAT of another vNode's region: ENOENT (got %d)", st);
	mem_proto_bitmap_put(body(a), &bm);
	st = req(a, MP_BITMAP, MP_BITMAP_LEN);
	ok(st == MP_OK && rh.len == 128 && (((uint8_t *)fabric_rbuf(a))[MP_HDR_LEN] & 1),
	   "BITMAP: page 0 is held (got %d, %u bytes)", st, rh.len);
	bm.first = 7;
	mem_proto_bitmap_put(body(a), &bm);
	st = req(a, MP_BITMAP, MP_BITMAP_LEN);
	ok(st == MP_EINVAL, "BITMAP from an unaligned page: EINVAL (got %d)", st);
	mem_proto_release_put(body(b), &rl);
	wire_name_put(body(b) + 16, MP_OWNER_LEN, "mm9@127.0.0.1:7");
	st = req(b, MP_RELEASE, MP_RELEASE_LEN);
	ok(st == MP_EACCES, "RELEASE of another vNode's region: EACCES (got %d)", st);
	mem_proto_release_put(body(a), &rl);
	wire_name_put(body(a) + 16, MP_OWNER_LEN, "no owner here");
	st = req(a, MP_RELEASE, MP_RELEASE_LEN);
	ok(st == MP_EINVAL, "RELEASE naming no NAME@HOST:PORT: EINVAL (got %d)", st);
	/* A joining copy whose source is unreachable: the fill fails, saying why. */
	mem_proto_open_put(body(a), &j);
	st = req(a, MP_OPEN, MP_OPEN_LEN);
	f.index = 5;
	st = st ? st : req(a, MP_FILL, fill_body(a, &f, 0x1111));
	ok(st == MP_OK, "a joining copy takes FILL from 127.0.0.1:9 (got %d)", st);
	rs.index = 5;
	for (int i = 0; i < 500; i++) {
		struct mem_proto_rstat_reply rr = {0};

		mem_proto_rstat_put(body(a), &rs);
		st = req(a, MP_RSTAT, MP_RSTAT_LEN);
		if (st ||
		    mem_proto_rstat_reply_get((uint8_t *)fabric_rbuf(a) + MP_HDR_LEN, rh.len,
					      &rr) ||
		    rr.state == MP_RS_FAILED) {
			ok(st == MP_OK && rr.state == MP_RS_FAILED &&
				   strstr(rr.error, "127.0.0.1:9"),
			   "... it fails, naming the source: '%s'", rr.error);
			break;
		}
		usleep(10000);
	}
	st = io(a, MP_READ, h, 1, 0, 1, 0);
	ok(st == MP_OK, "... and the live region still serves");
	st = req(a, MP_FILL, 3);
	ok(st == MP_EPROTO, "a truncated FILL: EPROTO (got %d)", st);
}

int main(int argc, char **argv)
{
	const char *prov = fabric_default_provider();
	struct fab_conn *a, *b;
	struct mem_proto_open m = {.index = 0, .flags = MP_OPEN_CREATE, .size = REGION};
	struct mem_proto_open_reply r;
	uint64_t h;
	int st;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: mmon_probe HOST PORT\nSends a lego-mmon every kind of bad request "
		       "and checks the answers (TAP).\n");
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "Usage: mmon_probe HOST PORT\n");
		return EX_USAGE;
	}
	log_init("mmon_probe");
	if (getenv("LEGO_CAPABILITY_KEY")) {
		char err[256];

		if (cap_key_load(&signer, getenv("LEGO_CAPABILITY_KEY"), err, sizeof(err)) ||
		    cap_key_generate(&own, err, sizeof(err))) {
			printf("Bail out! %s\n", err);
			return 1;
		}
		keyed = true;
	}
	printf("1..35\n");
	/* a: beyond the server's buffer, so oversized requests can be sent. */
	if (fabric_connect(prov, argv[1], argv[2], 3 * MP_MAX_MSG, TIMEOUT_MS, &a) ||
	    fabric_connect(prov, argv[1], argv[2], MP_MAX_MSG, TIMEOUT_MS, &b)) {
		printf("Bail out! cannot connect to %s:%s\n", argv[1], argv[2]);
		return 1;
	}
	st = io(a, MP_READ, 1, 1, 0, 1, 0);
	ok(st == MP_ENOTCONN, "a request before HELLO: ENOTCONN (got %d)", st);
	ok(hello(a, 0x1111) == MP_OK, "HELLO as vNode 0x1111");
	mem_proto_open_put(body(a), &m);
	st = req(a, MP_OPEN, MP_OPEN_LEN);
	ok(st == MP_OK && mem_proto_open_reply_get((uint8_t *)fabric_rbuf(a) + MP_HDR_LEN, rh.len,
						   &r) == MP_OK,
	   "OPEN creates a 4 MiB region");
	h = r.handle;
	ok(io(a, MP_WRITE, h, 1, 0, 1, 0x3c) == MP_OK && still_works(a, h),
	   "WRITE then READ of page 0 over the network");

	header_checks(a, h);
	field_checks(a, b, h);
	copy_checks(a, b, h);
	/* Far beyond anything the server receives: it answers if it can and drops the
	 * connection (the stream cannot be resynchronised), and keeps serving others. */
	mem_proto_hdr_put(fabric_sbuf(a), &(struct wire_hdr){.magic = MP_MAGIC,
							     .version = MP_VERSION,
							     .op = MP_WRITE,
							     .id = 79,
							     .len = 3 * MP_MAX_MSG});
	st = raw(a, 3 * MP_MAX_MSG);
	ok(st == MP_E2BIG || st == -ENOTCONN,
	   "a message over the server's buffer: E2BIG or the connection closed (got %d)", st);
	ok(io(b, MP_READ, h, 1, 0, 1, 0) == MP_EACCES, "the server still serves other connections");
	fabric_close(b);
	fabric_close(a);
	cap_key_free(&signer);
	cap_key_free(&own);
	return failed ? 1 : 0;
}
