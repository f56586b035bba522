/* smon_attack.c: what an attacker on the network tries against a lego-smon that requires
 * capabilities, each answer checked, and the victim's volume checked intact after all of it:
 * every operation without a capability, with a capability for another volume or a
 * read-only one, replayed from another connection, forged, tampered, expired.
 * TAP on stdout. Usage: smon_attack HOST:PORT (the key from $LEGO_CAPABILITY_KEY). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/cap/cap_holder.h"
#include "lib/client/smon_client.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "tap_ok.h"

#define TIMEOUT_MS 10000
#define VOL	   "victim-vol"
#define MIB	   (1U << 20)

static char host[256], port[16];
static struct cap_key signer, attacker_key, rogue;

/* A raw connection, the last reply's header and text. */
struct conn {
	struct fab_conn *c;
	uint64_t id;
	struct stor_proto_hello_reply hr;
	struct wire_hdr r;
	char text[SP_ERRTEXT_MAX + 1];
	const uint8_t *payload;
};

static int call(struct conn *a, size_t len)
{
	size_t rlen = 0;
	char err[SP_ERRTEXT_MAX + 1];

	if (fabric_call(a->c, len, &rlen, TIMEOUT_MS) ||
	    stor_proto_hdr_get(fabric_rbuf(a->c), rlen, &a->r, err, sizeof(err)))
		return -1;
	a->payload = (const uint8_t *)fabric_rbuf(a->c) + SP_HDR_LEN;
	wire_text_get(a->payload, a->r.len, a->text, sizeof(a->text));
	return (int)a->r.status;
}

static int op(struct conn *a, unsigned o, const char *vol, uint64_t off, uint32_t len)
{
	struct stor_proto_req m = {.offset = off, .len = len, .size = MIB};

	snprintf(m.vol, sizeof(m.vol), "%s", vol);
	if (o == SP_WRITE)
		memset((uint8_t *)fabric_sbuf(a->c) + SP_HDR_LEN + SP_IO_LEN, 0xee, len);
	return call(a, stor_proto_req_put(fabric_sbuf(a->c), o, ++a->id, &m));
}

/* A connection that said HELLO. */
static bool attacker(struct conn *a)
{
	struct stor_proto_req m = {.client = "attacker"};

	memset(a, 0, sizeof(*a));
	return !fabric_connect(fabric_default_provider(), host, port, SP_MAX_MSG, TIMEOUT_MS,
			       &a->c) &&
	       call(a, stor_proto_req_put(fabric_sbuf(a->c), SP_HELLO, ++a->id, &m)) == SP_OK &&
	       !stor_proto_hello_reply_get(a->payload, a->r.len, &a->hr);
}

/* A storage capability: rights on vol (NULL: every volume), signed by k, held by holder. */
static size_t make_cap(const struct cap_key *k, const char *vol, uint32_t rights, int64_t from,
		       int64_t to, const uint8_t *holder, uint8_t *out)
{
	struct cap c = {.vnode = 77,
			.issued = (uint64_t)((int64_t)cap_now() + from),
			.expires = (uint64_t)((int64_t)cap_now() + to)};
	char err[256];

	cap_storage_grant(&c, vol, rights);
	memcpy(c.holder, holder, CAP_KEY_LEN);
	return cap_key_issue(k, &c, out, err, sizeof(err));
}

static int auth(struct conn *a, const uint8_t *cap, size_t n, const struct cap_key *prover,
		uint8_t *sent)
{
	uint8_t *b = (uint8_t *)fabric_sbuf(a->c) + SP_HDR_LEN;

	if (cap_key_prove(prover, a->hr.challenge, cap, n, b))
		return -1;
	memcpy(b + CAP_SIG_LEN, cap, n);
	if (sent)
		memcpy(sent, b, CAP_SIG_LEN + n);
	return call(a, stor_proto_auth_put(fabric_sbuf(a->c), ++a->id, NULL, CAP_SIG_LEN + n));
}

static void without_capability(void)
{
	static const unsigned ops[] = {SP_READ, SP_WRITE,  SP_FLUSH,  SP_STAT,
				       SP_LIST, SP_RESIZE, SP_DELETE, SP_CREATE};
	struct conn a;
	int refused = 0;

	ok(attacker(&a) && (a.hr.flags & SP_HELLO_AUTH),
	   "attacker: HELLO is answered: a capability is required");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		int st = op(&a, ops[i], ops[i] == SP_LIST ? "" : VOL, 0, 4096);

		if (st == SP_EAUTH)
			refused++;
		else
			printf("# %s: %d %s\n", stor_proto_op_name(ops[i]), st, a.text);
	}
	ok(refused == 8,
	   "no capability: READ, WRITE, FLUSH, STAT, LIST, RESIZE, DELETE, CREATE all EAUTH (%d)",
	   refused);
	fabric_close(a.c);
}

static void wrong_capabilities(const uint8_t *sniffed, size_t sniffed_len)
{
	uint8_t cap[CAP_MAX_LEN];
	struct conn a;
	size_t n;
	int st;

	/* A genuine capability for another volume. */
	n = make_cap(&signer, "mine",
		     CAP_STOR_READ | CAP_STOR_WRITE | CAP_STOR_STAT | CAP_STOR_DELETE, 0, 600,
		     attacker_key.pub, cap);
	ok(attacker(&a) && auth(&a, cap, n, &attacker_key, NULL) == SP_OK,
	   "attacker: a capability for its own volume 'mine' is accepted");
	st = op(&a, SP_READ, VOL, 0, 4096);
	ok(st == SP_EACCES && strstr(a.text, "does not grant"),
	   "READ of the victim's volume: EACCES (%d: %s)", st, a.text);
	st = op(&a, SP_WRITE, VOL, 0, 4096);
	ok(st == SP_EACCES, "WRITE: EACCES (%d)", st);
	st = op(&a, SP_DELETE, VOL, 0, 0);
	ok(st == SP_EACCES, "DELETE: EACCES (%d)", st);
	st = op(&a, SP_LIST, "", 0, 0);
	ok(st == SP_EACCES, "LIST of every volume: EACCES (%d)", st);
	fabric_close(a.c);
	/* Read-only on the victim's volume: no writes. */
	n = make_cap(&signer, VOL, CAP_STOR_READ, 0, 600, attacker_key.pub, cap);
	attacker(&a);
	auth(&a, cap, n, &attacker_key, NULL);
	st = op(&a, SP_WRITE, VOL, 0, 4096);
	ok(st == SP_EACCES, "a read-only capability: WRITE EACCES (%d: %s)", st, a.text);
	ok(op(&a, SP_READ, VOL, 0, 4096) == SP_OK, "... READ allowed");
	fabric_close(a.c);
	/* The victim's AUTH seen on the wire, replayed. */
	attacker(&a);
	memcpy((uint8_t *)fabric_sbuf(a.c) + SP_HDR_LEN, sniffed, sniffed_len);
	st = call(&a, stor_proto_auth_put(fabric_sbuf(a.c), ++a.id, NULL, sniffed_len));
	ok(st == SP_EAUTH && strstr(a.text, "not proven by its holder"),
	   "the victim's capability replayed from another connection: EAUTH (%d: %s)", st, a.text);
	ok(op(&a, SP_READ, VOL, 0, 4096) == SP_EAUTH, "... and the connection has none");
	fabric_close(a.c);
	/* Forged, tampered, expired. */
	n = make_cap(&rogue, NULL, CAP_STOR_ALL, 0, 600, attacker_key.pub, cap);
	attacker(&a);
	st = auth(&a, cap, n, &attacker_key, NULL);
	ok(st == SP_EAUTH && strstr(a.text, "does not trust"),
	   "a capability signed by another key: EAUTH (%d: %s)", st, a.text);
	fabric_close(a.c);
	n = make_cap(&signer, "mine", CAP_STOR_ALL & ~CAP_STOR_LIST, 0, 600, attacker_key.pub, cap);
	memcpy(cap + CAP_HEAD_LEN + 8, "victim-v", 8); /* "mine" -> "victim-v..." */
	attacker(&a);
	st = auth(&a, cap, n, &attacker_key, NULL);
	ok(st == SP_EAUTH && strstr(a.text, "bad signature"),
	   "a capability altered to name another volume: EAUTH (%d: %s)", st, a.text);
	fabric_close(a.c);
	n = make_cap(&signer, VOL, CAP_STOR_ALL & ~CAP_STOR_LIST, -200, -100, attacker_key.pub,
		     cap);
	attacker(&a);
	st = auth(&a, cap, n, &attacker_key, NULL);
	ok(st == SP_EEXPIRED && strstr(a.text, "expired"),
	   "an expired capability: EEXPIRED (%d: %s)", st, a.text);
	fabric_close(a.c);
}

int main(int argc, char **argv)
{
	const char *key = getenv("LEGO_CAPABILITY_KEY");
	static uint8_t data[MIB], back[MIB];
	uint8_t sniffed[CAP_HOLDER_AUTH_MAX], cap[CAP_MAX_LEN];
	struct cap_key victim_key;
	struct smon_client *admin;
	struct cap_holder *h;
	struct conn v;
	char err[1024];
	size_t n;

	if (argc != 2 || parse_hostport(argv[1], 1, host, sizeof(host), port, sizeof(port)) ||
	    !key) {
		fprintf(stderr, "Usage: LEGO_CAPABILITY_KEY=FILE smon_attack HOST:PORT\n");
		return EX_USAGE;
	}
	log_init("smon_attack");
	log_set_level(LOG_ERROR);
	if (cap_key_load(&signer, key, err, sizeof(err)) ||
	    cap_key_generate(&victim_key, err, sizeof(err)) ||
	    cap_key_generate(&attacker_key, err, sizeof(err)) ||
	    cap_key_generate(&rogue, err, sizeof(err))) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	printf("1..17\n");
	/* The operator makes the victim's volume and writes 1 MiB into it. */
	h = calloc(1, sizeof(*h));
	if (!h || cap_holder_init_key(h, key, 600, err, sizeof(err)) ||
	    cap_holder_grant(h,
			     &(struct cap){.kind = CAP_KIND_STORAGE,
					   .rights = CAP_STOR_ALL,
					   .flags = CAP_ALL_VOLUMES},
			     err, sizeof(err)) ||
	    smon_client_connect(fabric_default_provider(), host, port, "operator", h, TIMEOUT_MS,
				&admin, err, sizeof(err))) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	smon_client_vol_delete(admin, VOL);
	ok(!smon_client_vol_create(admin, VOL, 16 * MIB) &&
		   !smon_client_vol_write(admin, VOL, 0, data, MIB) &&
		   !smon_client_vol_flush(admin, VOL),
	   "operator: the victim's volume, 1 MiB written");
	/* The victim shows its capability once (an eavesdropper keeps what it sent). */
	n = make_cap(&signer, VOL, CAP_STOR_READ | CAP_STOR_WRITE | CAP_STOR_STAT, 0, 600,
		     victim_key.pub, cap);
	ok(attacker(&v) && auth(&v, cap, n, &victim_key, sniffed) == SP_OK &&
		   op(&v, SP_READ, VOL, 0, 4096) == SP_OK,
	   "victim: its capability for its volume is accepted, and it reads");
	without_capability();
	wrong_capabilities(sniffed, CAP_SIG_LEN + n);
	ok(!smon_client_vol_read(admin, VOL, 0, back, MIB) && !memcmp(back, data, MIB),
	   "after all of it the victim's volume holds what was written");
	smon_client_vol_delete(admin, VOL);
	smon_client_disconnect(admin);
	fabric_close(v.c);
	cap_holder_free(h);
	free(h);
	cap_key_free(&signer);
	cap_key_free(&victim_key);
	cap_key_free(&attacker_key);
	cap_key_free(&rogue);
	return failed ? 1 : 0;
}
