/* mmon_attack.c: what an attacker on the network tries against a lego-mmon that requires
 * capabilities, each answer checked, and the victim vNode's data checked intact after all of
 * it: requests without a capability, a foreign HELLO, a capability replayed from another
 * connection, forged, tampered, expired ones, guessed and stolen handles, RELEASE by a
 * stranger, OPENs beyond a capability's vRegions and quota, RMA reads with guessed keys.
 * TAP on stdout. Usage: mmon_attack HOST:PORT (the key from $LEGO_CAPABILITY_KEY). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/cap/cap_key.h"
#include "lib/client/mem_client.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/proto/mem_proto.h"
#include "tap_ok.h"

#define TIMEOUT_MS 5000
#define REGION	   (4ULL << 20)
#define VICTIM	   0x5151ULL
#define ATTACKER   0x6161ULL

static const char *server;
static char host[256], port[16];
static struct cap_key signer, victim_key, attacker_key, rogue;

/* A connection and what its HELLO said. */
struct conn {
	struct fab_conn *c;
	uint64_t id;
	struct mem_proto_hello_reply hr;
	struct mem_client_reply r; /* the last reply */
};

static uint8_t *body(struct conn *m)
{
	return (uint8_t *)fabric_sbuf(m->c) + MP_HDR_LEN;
}

/* One request (body in place): the reply's status, or -1 when none came. */
static int req(struct conn *m, unsigned op, size_t len)
{
	return mem_client_exchange(m->c, ++m->id, op, len, TIMEOUT_MS, &m->r) ? -1
									      : (int)m->r.status;
}

static int dial(struct conn *m)
{
	memset(m, 0, sizeof(*m));
	return fabric_connect(fabric_default_provider(), host, port, MP_MAX_MSG, TIMEOUT_MS, &m->c);
}

static int hello(struct conn *m, uint64_t vnode)
{
	struct mem_proto_hello h = {.vnode = vnode, .name = "attacker"};
	int st;

	mem_proto_hello_put(body(m), &h);
	st = req(m, MP_HELLO, MP_HELLO_LEN);
	if (!st && mem_proto_hello_reply_get(m->r.payload, m->r.len, &m->hr))
		return -1;
	return st;
}

/* A capability for vnode signed by key k, held by holder, into out: its length. */
static size_t make_cap(const struct cap_key *k, uint64_t vnode, uint32_t rights, uint32_t count,
		       uint64_t quota, int64_t from, int64_t to, const uint8_t *holder,
		       uint8_t *out)
{
	struct cap c = {.kind = CAP_KIND_MEMORY,
			.rights = rights,
			.vnode = vnode,
			.issued = (uint64_t)((int64_t)cap_now() + from),
			.expires = (uint64_t)((int64_t)cap_now() + to),
			.region_count = count,
			.region_max = REGION,
			.quota = quota};
	char err[256];

	memcpy(c.holder, holder, CAP_KEY_LEN);
	return cap_key_issue(k, &c, out, err, sizeof(err));
}

/* AUTH with cap[0..n), proven by prover over this connection's challenge; the payload is
 * kept in sent (if not NULL) as an eavesdropper would see it. */
static int auth(struct conn *m, const uint8_t *cap, size_t n, const struct cap_key *prover,
		uint8_t *sent)
{
	if (cap_key_prove(prover, m->hr.challenge, cap, n, body(m)))
		return -1;
	memcpy(body(m) + CAP_SIG_LEN, cap, n);
	if (sent)
		memcpy(sent, body(m), CAP_SIG_LEN + n);
	return req(m, MP_AUTH, CAP_SIG_LEN + n);
}

static int open_region(struct conn *m, uint32_t index, uint64_t size,
		       struct mem_proto_open_reply *o)
{
	struct mem_proto_open q = {.index = index, .flags = MP_OPEN_CREATE, .size = size};
	int st;

	mem_proto_open_put(body(m), &q);
	st = req(m, MP_OPEN, MP_OPEN_LEN);
	if (!st && o && mem_proto_open_reply_get(m->r.payload, m->r.len, o))
		return -1;
	return st;
}

static int io(struct conn *m, unsigned op, uint64_t handle, uint64_t off, uint8_t fill)
{
	struct mem_proto_io q = {.handle = handle, .epoch = 1, .offset = off, .npages = 1};

	mem_proto_io_put(body(m), &q);
	if (op == MP_WRITE)
		memset(body(m) + MP_IO_LEN, fill, MP_PAGE_SIZE);
	return req(m, op, MP_IO_LEN + (op == MP_WRITE ? MP_PAGE_SIZE : 0));
}

static int release(struct conn *m, uint64_t handle)
{
	struct mem_proto_release q = {.handle = handle, .epoch = 1};

	snprintf(q.new_owner, sizeof(q.new_owner), "evil@127.0.0.1:9");
	mem_proto_release_put(body(m), &q);
	return req(m, MP_RELEASE, MP_RELEASE_LEN);
}

static int close_region(struct conn *m, uint64_t handle)
{
	struct mem_proto_close q = {.handle = handle, .epoch = 1};

	mem_proto_close_put(body(m), &q);
	return req(m, MP_CLOSE, MP_CLOSE_LEN);
}

static const char *text(struct conn *m)
{
	static char t[MP_ERRTEXT_MAX + 1];

	return mem_client_reply_text(&m->r, t, sizeof(t));
}

/* The victim's four pages still hold 0xa0 + page. */
static bool victim_intact(struct conn *v, uint64_t handle)
{
	for (int pg = 0; pg < 4; pg++)
		if (io(v, MP_READ, handle, (uint64_t)pg * MP_PAGE_SIZE, 0) ||
		    v->r.len != MP_PAGE_SIZE || v->r.payload[0] != 0xa0 + pg ||
		    v->r.payload[MP_PAGE_SIZE - 1] != 0xa0 + pg)
			return false;
	return true;
}

/* An attacker connection that said HELLO as vnode. */
static bool attacker_as(struct conn *a, uint64_t vnode)
{
	return !dial(a) && hello(a, vnode) == MP_OK;
}

static void without_capability(uint64_t vh)
{
	struct conn a;
	struct mem_proto_open_reply o;
	int st;

	ok(attacker_as(&a, VICTIM) && (a.hr.flags & MP_HELLO_AUTH),
	   "attacker: HELLO as the victim's vNode is answered: a capability is required");
	st = io(&a, MP_READ, vh, 0, 0);
	ok(st == MP_EAUTH,
	   "foreign HELLO, no capability: READ of the victim's region: EAUTH (%d: %s)", st,
	   text(&a));
	st = io(&a, MP_WRITE, vh, 0, 0xee);
	ok(st == MP_EAUTH, "... WRITE: EAUTH (%d)", st);
	st = release(&a, vh);
	ok(st == MP_EAUTH, "... RELEASE to the attacker's server: EAUTH (%d)", st);
	st = close_region(&a, vh);
	ok(st == MP_EAUTH, "... CLOSE: EAUTH (%d)", st);
	st = open_region(&a, 9, REGION, &o);
	ok(st == MP_EAUTH, "... OPEN: EAUTH (%d)", st);
	st = req(&a, MP_STAT, 0);
	ok(st == MP_EAUTH, "... STAT: EAUTH (%d)", st);
	fabric_close(a.c);
}

static void bad_capabilities(const uint8_t *sniffed, size_t sniffed_len)
{
	uint8_t cap[CAP_MAX_LEN];
	struct conn a;
	size_t n;
	int st;

	/* The attacker's own, valid capability, shown on a connection that said HELLO as
	 * the victim. */
	n = make_cap(&signer, ATTACKER, CAP_MEM_ALL, 4, 4 * REGION, 0, 600, attacker_key.pub, cap);
	attacker_as(&a, VICTIM);
	st = auth(&a, cap, n, &attacker_key, NULL);
	ok(st == MP_EAUTH && strstr(text(&a), "this connection said HELLO as vNode"),
	   "foreign HELLO with the attacker's own capability: EAUTH (%d: %s)", st, text(&a));
	fabric_close(a.c);
	/* The victim's AUTH as seen on the wire, replayed on another connection. */
	attacker_as(&a, VICTIM);
	memcpy(body(&a), sniffed, sniffed_len);
	st = req(&a, MP_AUTH, sniffed_len);
	ok(st == MP_EAUTH && strstr(text(&a), "not proven by its holder"),
	   "the victim's capability replayed from another connection: EAUTH (%d: %s)", st,
	   text(&a));
	fabric_close(a.c);
	/* Forged: signed by a key the server does not trust. */
	n = make_cap(&rogue, VICTIM, CAP_MEM_ALL, 4, 4 * REGION, 0, 600, attacker_key.pub, cap);
	attacker_as(&a, VICTIM);
	st = auth(&a, cap, n, &attacker_key, NULL);
	ok(st == MP_EAUTH && strstr(text(&a), "does not trust"),
	   "a capability signed by another key: EAUTH (%d: %s)", st, text(&a));
	fabric_close(a.c);
	/* Tampered: the attacker's own capability with the vNode changed to the victim's. */
	n = make_cap(&signer, ATTACKER, CAP_MEM_ALL, 4, 4 * REGION, 0, 600, attacker_key.pub, cap);
	cap[16] = (uint8_t)VICTIM;
	cap[17] = (uint8_t)(VICTIM >> 8);
	attacker_as(&a, VICTIM);
	st = auth(&a, cap, n, &attacker_key, NULL);
	ok(st == MP_EAUTH && strstr(text(&a), "bad signature"),
	   "a capability altered to name the victim: EAUTH (%d: %s)", st, text(&a));
	fabric_close(a.c);
	/* Expired: a genuine capability for the victim, past its end. */
	n = make_cap(&signer, VICTIM, CAP_MEM_ALL, 4, 4 * REGION, -200, -100, attacker_key.pub,
		     cap);
	attacker_as(&a, VICTIM);
	st = auth(&a, cap, n, &attacker_key, NULL);
	ok(st == MP_EEXPIRED && strstr(text(&a), "expired"),
	   "an expired capability: EEXPIRED (%d: %s)", st, text(&a));
	st = io(&a, MP_READ, 1, 0, 0);
	ok(st == MP_EAUTH, "... and the connection still has none: EAUTH (%d)", st);
	fabric_close(a.c);
}

/* A genuine capability for the attacker's own vNode: nothing of the victim's is reachable,
 * and the pool use is bounded by it. */
static void own_capability(uint64_t vh)
{
	uint8_t cap[CAP_MAX_LEN];
	struct mem_proto_open_reply o;
	struct mem_proto_stat_reply sr = {0};
	struct conn a;
	int st, opened = 0, refused = 0;
	size_t n = make_cap(&signer, ATTACKER, CAP_MEM_ALL, 8, 2 * REGION, 0, 600, attacker_key.pub,
			    cap);

	attacker_as(&a, ATTACKER);
	ok(auth(&a, cap, n, &attacker_key, NULL) == MP_OK,
	   "attacker: its own vNode's capability (8 vRegions, quota 8 MiB) is accepted");
	st = io(&a, MP_READ, vh, 0, 0);
	ok(st == MP_EACCES, "the victim's handle (stolen): READ refused EACCES (%d: %s)", st,
	   text(&a));
	st = io(&a, MP_WRITE, vh, 0, 0xee);
	ok(st == MP_EACCES, "... WRITE: EACCES (%d)", st);
	st = release(&a, vh);
	ok(st == MP_EACCES, "RELEASE of the victim's region by a stranger: EACCES (%d: %s)", st,
	   text(&a));
	st = close_region(&a, vh);
	ok(st == MP_EACCES, "... CLOSE: EACCES (%d)", st);
	/* Guessed handles: random 64-bit numbers name nothing. */
	for (int i = 0; i < 64; i++) {
		uint64_t h;

		cap_key_random(&h, sizeof(h));
		refused += io(&a, MP_READ, h, 0, 0) == MP_ENOENT;
	}
	ok(refused == 64, "64 guessed handles: all ENOENT (%d)", refused);
	refused = 0;
	/* A new connection (its refusals logged afresh). */
	fabric_close(a.c);
	attacker_as(&a, ATTACKER);
	auth(&a, cap, n, &attacker_key, NULL);
	/* The pool: the capability's vRegions and quota bound what the attacker holds. */
	for (uint32_t i = 0; i < 76; i++) {
		st = open_region(&a, i, REGION, &o);
		opened += st == MP_OK;
		refused += st == MP_EQUOTA || st == MP_EACCES;
	}
	ok(opened == 2 && refused == 74,
	   "76 OPENs of 4 MiB: 2 within the quota, 74 refused (EQUOTA, EACCES) (%d, %d)", opened,
	   refused);
	st = open_region(&a, 3, 2 * REGION, &o);
	ok(st == MP_EQUOTA, "a vRegion over the capability's largest: EQUOTA (%d: %s)", st,
	   text(&a));
	st = req(&a, MP_STAT, 0);
	if (st || mem_proto_stat_reply_get(a.r.payload, a.r.len, &sr))
		sr.reserved_bytes = UINT64_MAX;
	ok(sr.reserved_bytes == 3 * REGION,
	   "the pool holds %llu MiB reserved: the victim's 4 and the attacker's quota of 8",
	   (unsigned long long)(sr.reserved_bytes >> 20));
	fabric_close(a.c);
	/* A capability without the right: the vNode's own, but RELEASE not granted. */
	n = make_cap(&signer, ATTACKER, CAP_MEM_READ, 8, 2 * REGION, 0, 600, attacker_key.pub, cap);
	attacker_as(&a, ATTACKER);
	auth(&a, cap, n, &attacker_key, NULL);
	st = open_region(&a, 0, REGION, &o);
	ok(st == MP_EACCES && strstr(text(&a), "does not grant"),
	   "an OPEN its capability does not grant: EACCES (%d: %s)", st, text(&a));
	fabric_close(a.c);
}

/* Whether an RMA read of the page at vo's byte off over m's connection gives fill. */
static bool rma_page(struct conn *m, const struct mem_proto_open_reply *vo, uint64_t off,
		     uint8_t fill)
{
	const uint8_t *p = fabric_rbuf(m->c);

	if (fabric_rma_read(m->c, MP_PAGE_SIZE, vo->rma_addr + off, vo->rma_key, 2000))
		return false;
	for (size_t i = 0; i < MP_PAGE_SIZE; i++)
		if (p[i] != fill)
			return false;
	return true;
}

/* Where the server offers RMA (verbs; tcp with LEGO_FABRIC_RMA=emulated): the victim's key
 * reads its page on its own connection only; a stranger's connection and the attacker's
 * authenticated one get nothing with it. Skipped where RMA is off. */
static void rma_keys(struct conn *v, const struct mem_proto_open_reply *vo)
{
	uint8_t cap[CAP_MAX_LEN];
	struct conn a;
	size_t n;

	if (!vo->rma_key) {
		for (int i = 0; i < 3; i++)
			ok(1, "# SKIP the server offers no RMA on %s", fabric_default_provider());
		return;
	}
	ok(rma_page(v, vo, MP_PAGE_SIZE, 0xa1),
	   "victim: an RMA read with its key on its own connection gives its page");
	ok(!dial(&a) && !rma_page(&a, vo, MP_PAGE_SIZE, 0xa1),
	   "the victim's address and key on a connection without HELLO: no data");
	fabric_close(a.c);
	n = make_cap(&signer, ATTACKER, CAP_MEM_ALL, 8, 2 * REGION, 0, 600, attacker_key.pub, cap);
	ok(attacker_as(&a, ATTACKER) && auth(&a, cap, n, &attacker_key, NULL) == MP_OK &&
		   open_region(&a, 0, REGION, NULL) == MP_OK && !rma_page(&a, vo, 0, 0xa0),
	   "the victim's key on the attacker's authenticated connection (a region of its "
	   "own open): no data");
	fabric_close(a.c);
}

/* RMA: on a provider without keys bound to a connection nothing is registered for remote
 * access; reads with guessed keys (the old small sequential integers) all fail. */
static void rma(struct mem_proto_open_reply *vo)
{
	int got = 0;

	for (uint64_t key = 0; key < 16; key++) {
		struct conn a;

		if (dial(&a))
			continue;
		if (fabric_rma_read(a.c, MP_PAGE_SIZE, vo->rma_addr, key, 2000) == 0)
			got++;
		fabric_close(a.c);
	}
	ok(got == 0,
	   "16 RMA reads with guessed keys on connections without HELLO: none served (%d)", got);
}

int main(int argc, char **argv)
{
	const char *key = getenv("LEGO_CAPABILITY_KEY");
	const char *e = getenv("LEGO_FABRIC_RMA");
	bool emulated = e && !strcmp(e, "emulated");
	struct mem_proto_open_reply vo;
	uint8_t cap[CAP_MAX_LEN], sniffed[CAP_HOLDER_AUTH_MAX];
	char err[512];
	struct conn v;
	size_t n;

	if (argc != 2 || parse_hostport(argv[1], 1, host, sizeof(host), port, sizeof(port)) ||
	    !key) {
		fprintf(stderr, "Usage: LEGO_CAPABILITY_KEY=FILE mmon_attack HOST:PORT\n");
		return EX_USAGE;
	}
	server = argv[1];
	log_init("mmon_attack");
	log_set_level(LOG_ERROR);
	if (cap_key_load(&signer, key, err, sizeof(err)) ||
	    cap_key_generate(&victim_key, err, sizeof(err)) ||
	    cap_key_generate(&attacker_key, err, sizeof(err)) ||
	    cap_key_generate(&rogue, err, sizeof(err))) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	printf("1..33\n");
	/* The victim: its capability, a region, four pages of its data. */
	n = make_cap(&signer, VICTIM, CAP_MEM_ALL & ~CAP_MEM_RELEASE, 4, 4 * REGION, 0, 600,
		     victim_key.pub, cap);
	ok(!dial(&v) && hello(&v, VICTIM) == MP_OK && (v.hr.flags & MP_HELLO_AUTH) &&
		   auth(&v, cap, n, &victim_key, sniffed) == MP_OK,
	   "victim: HELLO (capability required) and AUTH with its capability");
	ok(!(v.hr.flags & MP_HELLO_RMA) || strcmp(fabric_default_provider(), "tcp") || emulated,
	   "on %s the server offers no RMA (unless emulated)", fabric_default_provider());
	ok(open_region(&v, 0, REGION, &vo) == MP_OK && io(&v, MP_WRITE, vo.handle, 0, 0xa0) == 0 &&
		   io(&v, MP_WRITE, vo.handle, MP_PAGE_SIZE, 0xa1) == 0 &&
		   io(&v, MP_WRITE, vo.handle, 2 * MP_PAGE_SIZE, 0xa2) == 0 &&
		   io(&v, MP_WRITE, vo.handle, 3 * MP_PAGE_SIZE, 0xa3) == 0,
	   "victim: a 4 MiB vRegion with four pages written (RMA key %llu)",
	   (unsigned long long)vo.rma_key);

	without_capability(vo.handle);
	bad_capabilities(sniffed, CAP_SIG_LEN + n);
	own_capability(vo.handle);
	rma(&vo);
	rma_keys(&v, &vo);
	ok(victim_intact(&v, vo.handle), "after all of it the victim's four pages are intact");
	ok(release(&v, vo.handle) == MP_EACCES && strstr(text(&v), "does not grant"),
	   "the victim itself may not RELEASE (only lego-controld's capability grants it)");
	if (vo.rma_key) {
		struct mem_proto_close q = {.handle = vo.handle, .epoch = vo.epoch};

		mem_proto_close_put(body(&v), &q);
		ok(req(&v, MP_CLOSE, MP_CLOSE_LEN) == MP_OK && !rma_page(&v, &vo, 0, 0xa0),
		   "the victim closes its region: its key stops working");
	} else {
		ok(1, "# SKIP the server offers no RMA on %s", fabric_default_provider());
	}
	fabric_close(v.c);
	cap_key_free(&signer);
	cap_key_free(&victim_key);
	cap_key_free(&attacker_key);
	cap_key_free(&rogue);
	printf("# server %s\n", server);
	return failed ? 1 : 0;
}
