/* test_mmon_caps.c: lego-mmon's capability checks through the handler the daemon runs:
 * nothing before AUTH, a capability for the HELLO's vNode only, proven over this
 * connection's challenge; its rights, vRegions, largest vRegion and quota on every request;
 * expiry and renewal; a cap on refused AUTHs. And the records of moved copies: found by
 * hash, at most MMON_MAX_MOVED of them, the oldest dropped first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hypervisor/mmon/mmon_handler.h"
#include "hypervisor/mmon/mmon_pool.h"
#include "lib/cap/cap_key.h"
#include "lib/cap/cap_verify.h"
#include "lib/log.h"
#include "lib/proto/mem_proto.h"

#define POOL   (64ULL << 20)
#define REGION (2ULL << 20)

/* A throw-away key pair, as certtool writes it. */
static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
			      "MC4CAQAwBQYDK2VwBCIEIPM9/fHPcrSVYS1zHB91eJntYALUyue3boqTusVKn/C4\n"
			      "-----END PRIVATE KEY-----\n";
static const char pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MCowBQYDK2VwAyEACLmOcLG2Tpbjw+F18LV+HHAX9q1X5UdiFg6ElK1aO9Q=\n"
			      "-----END PUBLIC KEY-----\n";

struct ctx {
	char dir[64];
	struct cap_key signer, holder;
	struct cap_verify v;
	struct mmon_pool pool;
	struct mmon_handler_session s;
	struct mem_proto_hello_reply hr;
	uint8_t req[MP_MAX_MSG], reply[MP_MAX_MSG];
	uint64_t id;
	struct wire_hdr rh;
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char err[256], path[128];

	snprintf(c->dir, sizeof(c->dir), "/tmp/lego-mmon-caps.XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	write_file(c->dir, "capability-key.pem", key_pem);
	write_file(c->dir, "capability-pub.pem", pub_pem);
	snprintf(path, sizeof(path), "%s/capability-key.pem", c->dir);
	assert_int_equal(cap_key_load(&c->signer, path, err, sizeof(err)), 0);
	assert_int_equal(cap_key_generate(&c->holder, err, sizeof(err)), 0);
	assert_int_equal(cap_verify_load_dir(&c->v, c->dir, err, sizeof(err)), 0);
	assert_int_equal(mmon_pool_init(&c->pool, POOL), 0);
	c->s = (struct mmon_handler_session){
		.peer = "test", .server = "mmcaps", .verify = &c->v, .server_key = c->holder.pub};
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	char cmd[128];

	mmon_handler_end(&c->pool, &c->s);
	mmon_pool_destroy(&c->pool);
	cap_verify_free(&c->v);
	cap_key_free(&c->signer);
	cap_key_free(&c->holder);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", c->dir);
	assert_int_equal(system(cmd), 0);
	free(c);
	return 0;
}

static unsigned call(struct ctx *c, unsigned op, const void *body, size_t len)
{
	struct wire_hdr h = {.magic = MP_MAGIC,
			     .version = MP_VERSION,
			     .op = (uint16_t)op,
			     .id = ++c->id,
			     .len = (uint32_t)len};
	char err[MP_ERRTEXT_MAX + 1];
	size_t n;

	mem_proto_hdr_put(c->req, &h);
	if (len)
		memcpy(c->req + MP_HDR_LEN, body, len);
	n = mmon_handler_request(&c->pool, &c->s, c->req, MP_HDR_LEN + len, false, c->reply);
	assert_int_equal(mem_proto_hdr_get(c->reply, n, &c->rh, err, sizeof(err)), MP_OK);
	assert_int_equal(c->rh.id, c->id);
	return c->rh.status;
}

/* The reply's error text. */
static const char *why(struct ctx *c)
{
	static char t[MP_ERRTEXT_MAX + 1];

	return wire_text_get(c->reply + MP_HDR_LEN, c->rh.len, t, sizeof(t));
}

static void hello(struct ctx *c, uint64_t vnode)
{
	struct mem_proto_hello m = {.vnode = vnode, .name = "unit"};
	uint8_t b[MP_HELLO_LEN];

	mem_proto_hello_put(b, &m);
	assert_int_equal(call(c, MP_HELLO, b, sizeof(b)), MP_OK);
	assert_int_equal(mem_proto_hello_reply_get(c->reply + MP_HDR_LEN, c->rh.len, &c->hr),
			 MP_OK);
}

/* AUTH with a capability for vnode (rights, 4 vRegions of up to REGION, quota) signed by
 * signer and proven by prover over challenge (NULL: the connection's). */
static unsigned auth(struct ctx *c, uint64_t vnode, uint32_t rights, uint64_t quota,
		     int64_t expires_in, const struct cap_key *signer, const struct cap_key *prover,
		     const uint8_t *challenge)
{
	struct cap m = {.kind = CAP_KIND_MEMORY,
			.rights = rights,
			.vnode = vnode,
			.issued = cap_now() - 600,
			.expires = (uint64_t)((int64_t)cap_now() + expires_in),
			.region_count = 4,
			.region_max = REGION,
			.quota = quota};
	uint8_t b[MP_AUTH_MAX_LEN];
	char err[256];
	size_t n;

	memcpy(m.holder, prover->pub, CAP_KEY_LEN);
	n = cap_key_issue(signer, &m, b + CAP_SIG_LEN, err, sizeof(err));
	assert_int_not_equal(n, 0);
	assert_int_equal(cap_key_prove(prover, challenge ? challenge : c->hr.challenge,
				       b + CAP_SIG_LEN, n, b),
			 0);
	return call(c, MP_AUTH, b, CAP_SIG_LEN + n);
}

static unsigned open_region(struct ctx *c, uint32_t index, uint64_t size, uint32_t flags,
			    struct mem_proto_open_reply *r)
{
	struct mem_proto_open m = {.index = index, .flags = flags, .size = size};
	uint8_t b[MP_OPEN_LEN];
	unsigned st;

	mem_proto_open_put(b, &m);
	st = call(c, MP_OPEN, b, sizeof(b));
	if (!st && r)
		assert_int_equal(mem_proto_open_reply_get(c->reply + MP_HDR_LEN, c->rh.len, r),
				 MP_OK);
	return st;
}

static unsigned io(struct ctx *c, unsigned op, uint64_t handle)
{
	static uint8_t b[MP_IO_LEN + MP_PAGE_SIZE];
	struct mem_proto_io m = {.handle = handle, .epoch = 1, .offset = 0, .npages = 1};

	mem_proto_io_put(b, &m);
	memset(b + MP_IO_LEN, 0x6b, MP_PAGE_SIZE);
	return call(c, op, b, MP_IO_LEN + (op == MP_WRITE ? MP_PAGE_SIZE : 0));
}

static void test_checks(void **state)
{
	struct ctx *c = *state;
	struct mem_proto_open_reply r;
	struct mem_proto_auth_reply ar;
	const uint32_t vmm =
		CAP_MEM_OPEN | CAP_MEM_CREATE | CAP_MEM_READ | CAP_MEM_WRITE | CAP_MEM_CLOSE;

	hello(c, 7);
	assert_true(c->hr.flags & MP_HELLO_AUTH);
	assert_memory_equal(c->hr.server_key, c->holder.pub, CAP_KEY_LEN);
	assert_false(mmon_handler_established(&c->s));
	/* Nothing before AUTH. */
	assert_int_equal(open_region(c, 0, REGION, MP_OPEN_CREATE, NULL), MP_EAUTH);
	assert_int_equal(call(c, MP_STAT, NULL, 0), MP_EAUTH);
	assert_int_equal(io(c, MP_READ, 1), MP_EAUTH);
	/* A capability for another vNode, and one proven over another challenge. */
	assert_int_equal(auth(c, 8, vmm, 4 * REGION, 600, &c->signer, &c->holder, NULL), MP_EAUTH);
	assert_non_null(strstr(why(c), "this connection said HELLO as vNode 7"));
	assert_int_equal(auth(c, 7, vmm, 4 * REGION, 600, &c->signer, &c->holder,
			      (const uint8_t *)"another connection's challenge!!"),
			 MP_EAUTH);
	/* Expired. */
	assert_int_equal(auth(c, 7, vmm, 4 * REGION, -1, &c->signer, &c->holder, NULL),
			 MP_EEXPIRED);
	/* The vNode's own: quota three vRegions. */
	assert_int_equal(auth(c, 7, vmm, 3 * REGION, 600, &c->signer, &c->holder, NULL), MP_OK);
	assert_true(mmon_handler_established(&c->s));
	assert_int_equal(mem_proto_auth_reply_get(c->reply + MP_HDR_LEN, c->rh.len, &ar), MP_OK);
	assert_int_equal(ar.rights, vmm);
	assert_int_equal(open_region(c, 0, REGION, MP_OPEN_CREATE, &r), MP_OK);
	assert_int_equal(io(c, MP_WRITE, r.handle), MP_OK);
	assert_int_equal(io(c, MP_READ, r.handle), MP_OK);
	/* vRegions outside, a vRegion too large, the quota. */
	assert_int_equal(open_region(c, 4, REGION, MP_OPEN_CREATE, NULL), MP_EACCES);
	assert_non_null(strstr(why(c), "not covered"));
	assert_int_equal(open_region(c, 1, 2 * REGION, MP_OPEN_CREATE, NULL), MP_EQUOTA);
	assert_int_equal(open_region(c, 1, REGION, MP_OPEN_CREATE | MP_OPEN_JOIN, NULL), MP_OK);
	assert_int_equal(open_region(c, 2, REGION, MP_OPEN_CREATE, NULL), MP_OK);
	assert_int_equal(open_region(c, 3, REGION, MP_OPEN_CREATE, NULL), MP_EQUOTA);
	assert_non_null(strstr(why(c), "quota"));
	/* Rights not granted: STAT, RELEASE, FILL, RSTAT. */
	assert_int_equal(call(c, MP_STAT, NULL, 0), MP_EACCES);
	assert_non_null(strstr(why(c), "does not grant stat"));
	{
		struct mem_proto_release m = {.handle = r.handle, .epoch = 1};
		uint8_t b[MP_RELEASE_LEN];

		snprintf(m.new_owner, sizeof(m.new_owner), "x@127.0.0.1:1");
		mem_proto_release_put(b, &m);
		assert_int_equal(call(c, MP_RELEASE, b, sizeof(b)), MP_EACCES);
	}
	/* Closing gives the quota back. */
	{
		struct mem_proto_close m = {.handle = r.handle, .epoch = 1};
		uint8_t b[MP_CLOSE_LEN];

		mem_proto_close_put(b, &m);
		assert_int_equal(call(c, MP_CLOSE, b, sizeof(b)), MP_OK);
	}
	assert_int_equal(open_region(c, 3, REGION, MP_OPEN_CREATE, NULL), MP_OK);
	/* Past its end, nothing; a renewal (AUTH again) and it works again. */
	c->s.cap.expires = cap_now() - 1;
	assert_int_equal(io(c, MP_READ, r.handle), MP_EEXPIRED);
	assert_non_null(strstr(why(c), "AUTH with a renewed one"));
	assert_int_equal(
		auth(c, 7, vmm | CAP_MEM_STAT, 4 * REGION, 600, &c->signer, &c->holder, NULL),
		MP_OK);
	assert_int_equal(call(c, MP_STAT, NULL, 0), MP_OK);
}

static void test_refused_auths(void **state)
{
	struct ctx *c = *state;
	struct cap_key rogue;
	char err[256];

	assert_int_equal(cap_key_generate(&rogue, err, sizeof(err)), 0);
	hello(c, 7);
	for (int i = 0; i < MMON_HANDLER_MAX_BAD_AUTHS; i++)
		assert_int_equal(auth(c, 7, CAP_MEM_ALL, REGION, 600, &rogue, &c->holder, NULL),
				 MP_EAUTH);
	assert_non_null(strstr(why(c), "does not trust"));
	/* Then not even a good one: the connection has had its chances. */
	assert_int_equal(auth(c, 7, CAP_MEM_ALL, REGION, 600, &c->signer, &c->holder, NULL),
			 MP_EAUTH);
	assert_non_null(strstr(why(c), "too many refused"));
	cap_key_free(&rogue);
}

/* Without capability checks (the session's verify NULL): the records of copies that moved. */
static void test_moved_capped(void **state)
{
	struct ctx *c = *state;
	struct mem_proto_open_reply first = {0}, last = {0};
	const char *owner = "mm@127.0.0.1:7411";

	c->s.verify = NULL;
	hello(c, 9);
	for (uint32_t i = 0; i <= MMON_MAX_MOVED; i++) {
		struct mem_proto_open_reply r;
		struct mem_proto_release m;
		uint8_t b[MP_RELEASE_LEN];

		assert_int_equal(open_region(c, i, MP_PAGE_SIZE, MP_OPEN_CREATE, &r), MP_OK);
		m = (struct mem_proto_release){.handle = r.handle, .epoch = 1};
		snprintf(m.new_owner, sizeof(m.new_owner), "%s", owner);
		mem_proto_release_put(b, &m);
		assert_int_equal(call(c, MP_RELEASE, b, sizeof(b)), MP_OK);
		if (i == 0)
			first = r;
		last = r;
	}
	assert_int_equal(c->pool.moved, MMON_MAX_MOVED);
	/* The oldest record went: its handle is unknown now (never a zero page). */
	assert_int_equal(io(c, MP_READ, first.handle), MP_ENOENT);
	assert_int_equal(io(c, MP_READ, last.handle), MP_EREDIRECT);
	assert_string_equal(why(c), owner);
	/* A JOIN over a record replaces it; every region's memory was given back. */
	assert_int_equal(
		open_region(c, MMON_MAX_MOVED, MP_PAGE_SIZE, MP_OPEN_CREATE | MP_OPEN_JOIN, NULL),
		MP_OK);
	assert_int_equal(c->pool.moved, MMON_MAX_MOVED - 1);
	assert_int_equal(c->pool.reserved, MP_PAGE_SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_auths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_moved_capped, setup, teardown),
	};

	log_set_level(LOG_ERROR); /* the refusals' warnings are expected here */
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
