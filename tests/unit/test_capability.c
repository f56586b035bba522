/* test_capability.c: capabilities (lib/cap/): what is signed verifies, with its holder's
 * proof over the connection's challenge; every forgery, replay, expiry, wrong kind or
 * unknown signer is refused; the decoder refuses every malformed field; bundles and renewals
 * carry what lego-controld granted and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/cap/cap.h"
#include "lib/cap/cap_holder.h"
#include "lib/cap/cap_key.h"
#include "lib/cap/cap_verify.h"

/* Two throw-away keys, as `certtool --generate-privkey --key-type=ed25519` writes them. */
static const char key1_pem[] = "-----BEGIN PRIVATE KEY-----\n"
			       "MC4CAQAwBQYDK2VwBCIEIPM9/fHPcrSVYS1zHB91eJntYALUyue3boqTusVKn/C4\n"
			       "-----END PRIVATE KEY-----\n";
static const char pub1_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			       "MCowBQYDK2VwAyEACLmOcLG2Tpbjw+F18LV+HHAX9q1X5UdiFg6ElK1aO9Q=\n"
			       "-----END PUBLIC KEY-----\n";
static const char key2_pem[] = "-----BEGIN PRIVATE KEY-----\n"
			       "MC4CAQAwBQYDK2VwBCIEIByeAIqlk840HsnMJuRIpOcI2hRidxz1g2Lp91nEnDXC\n"
			       "-----END PRIVATE KEY-----\n";
static const char pub2_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			       "MCowBQYDK2VwAyEABiAZ2UvDq13hVLuE6h5RQlLSJxLCVOZZJSrkGlByunY=\n"
			       "-----END PUBLIC KEY-----\n";

struct ctx {
	char dir[64], key1[96], key2[96];
	struct cap_key signer, other, holder;
	struct cap_verify v;
	uint8_t challenge[CAP_KEY_CHALLENGE_LEN];
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	fclose(f);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char err[256], path[128];

	snprintf(c->dir, sizeof(c->dir), "/tmp/lego-cap-test.XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->key1, sizeof(c->key1), "%s/capability-key.pem", c->dir);
	snprintf(c->key2, sizeof(c->key2), "%s/other-key.pem", c->dir);
	write_file(c->key1, key1_pem);
	write_file(c->key2, key2_pem);
	snprintf(path, sizeof(path), "%s/capability-pub.pem", c->dir);
	write_file(path, pub1_pem);
	assert_int_equal(cap_key_load(&c->signer, c->key1, err, sizeof(err)), 0);
	assert_int_equal(cap_key_load(&c->other, c->key2, err, sizeof(err)), 0);
	assert_int_equal(cap_key_generate(&c->holder, err, sizeof(err)), 0);
	assert_int_equal(cap_verify_load_dir(&c->v, c->dir, err, sizeof(err)), 0);
	assert_int_equal(c->v.nr_keys, 1);
	memset(c->challenge, 0x5a, sizeof(c->challenge));
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	char cmd[128];

	cap_key_free(&c->signer);
	cap_key_free(&c->other);
	cap_key_free(&c->holder);
	cap_verify_free(&c->v);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", c->dir);
	assert_int_equal(system(cmd), 0);
	free(c);
	return 0;
}

static struct cap mem_cap(const struct ctx *c, uint64_t now)
{
	struct cap m = {.kind = CAP_KIND_MEMORY,
			.rights = CAP_MEM_OPEN | CAP_MEM_CREATE | CAP_MEM_READ | CAP_MEM_WRITE,
			.vnode = 77,
			.issued = now,
			.expires = now + 600,
			.region_first = 0,
			.region_count = 4,
			.region_max = 64 << 20,
			.quota = 256 << 20};

	memcpy(m.holder, c->holder.pub, CAP_KEY_LEN);
	return m;
}

/* Issue m with signer, prove it with holder over challenge, check it. */
static enum cap_verify_result present(struct ctx *c, const struct cap_key *signer,
				      const struct cap_key *holder, struct cap m, unsigned kind,
				      struct cap *out)
{
	uint8_t buf[CAP_MAX_LEN], proof[CAP_SIG_LEN];
	char err[256];
	size_t n = cap_key_issue(signer, &m, buf, err, sizeof(err));

	assert_int_not_equal(n, 0);
	assert_int_equal(cap_key_prove(holder, c->challenge, buf, n, proof), 0);
	return cap_verify_check(&c->v, kind, c->challenge, buf, n, proof, cap_now(), out, err,
				sizeof(err));
}

static void test_issue_verify(void **state)
{
	struct ctx *c = *state;
	struct cap out;
	uint64_t now = cap_now();

	assert_int_equal(present(c, &c->signer, &c->holder, mem_cap(c, now), CAP_KIND_MEMORY, &out),
			 CAP_VERIFY_OK);
	assert_int_equal(out.vnode, 77);
	assert_int_equal(out.region_count, 4);
	assert_int_equal(out.quota, 256 << 20);
	assert_memory_equal(out.signer, c->signer.id, 8);
	assert_true(cap_covers_region(&out, 3));
	assert_false(cap_covers_region(&out, 4));
	assert_int_not_equal(out.serial, 0);
	/* Wrong kind, unknown signer, another holder's proof. */
	assert_int_equal(
		present(c, &c->signer, &c->holder, mem_cap(c, now), CAP_KIND_STORAGE, &out),
		CAP_VERIFY_BAD);
	assert_int_equal(present(c, &c->other, &c->holder, mem_cap(c, now), CAP_KIND_MEMORY, &out),
			 CAP_VERIFY_BAD);
	assert_int_equal(present(c, &c->signer, &c->other, mem_cap(c, now), CAP_KIND_MEMORY, &out),
			 CAP_VERIFY_BAD);
}

static void test_forged_replayed_expired(void **state)
{
	struct ctx *c = *state;
	struct cap m = mem_cap(c, cap_now()), out;
	uint8_t buf[CAP_MAX_LEN], proof[CAP_SIG_LEN], other[CAP_KEY_CHALLENGE_LEN];
	char err[256];
	size_t n = cap_key_issue(&c->signer, &m, buf, err, sizeof(err));

	assert_int_equal(cap_key_prove(&c->holder, c->challenge, buf, n, proof), 0);
	assert_int_equal(cap_verify_check(&c->v, CAP_KIND_MEMORY, c->challenge, buf, n, proof,
					  cap_now(), &out, err, sizeof(err)),
			 CAP_VERIFY_OK);
	/* Every byte flipped is refused: the body by the signature, the signature itself. */
	for (size_t i = 0; i < n; i++) {
		buf[i] ^= 0x01;
		assert_int_equal(cap_verify_check(&c->v, CAP_KIND_MEMORY, c->challenge, buf, n,
						  proof, cap_now(), &out, err, sizeof(err)),
				 CAP_VERIFY_BAD);
		buf[i] ^= 0x01;
	}
	/* The same proof on a connection with another challenge: a replay. */
	memset(other, 0x11, sizeof(other));
	assert_int_equal(cap_verify_check(&c->v, CAP_KIND_MEMORY, other, buf, n, proof, cap_now(),
					  &out, err, sizeof(err)),
			 CAP_VERIFY_BAD);
	assert_non_null(strstr(err, "not proven by its holder"));
	/* Time: expired, and issued far in the future. */
	assert_int_equal(cap_verify_check(&c->v, CAP_KIND_MEMORY, c->challenge, buf, n, proof,
					  m.expires + 1, &out, err, sizeof(err)),
			 CAP_VERIFY_EXPIRED);
	assert_non_null(strstr(err, "expired"));
	assert_int_equal(cap_verify_check(&c->v, CAP_KIND_MEMORY, c->challenge, buf, n, proof,
					  m.issued - CAP_CLOCK_SKEW - 10, &out, err, sizeof(err)),
			 CAP_VERIFY_EXPIRED);
	assert_non_null(strstr(err, "future"));
}

static void test_decoder_strict(void **state)
{
	struct ctx *c = *state;
	struct cap m = mem_cap(c, cap_now()), out, s = {0};
	uint8_t buf[CAP_MAX_LEN];
	char err[256];
	size_t n = cap_key_issue(&c->signer, &m, buf, err, sizeof(err));

	assert_int_equal(cap_get(buf, n, &out, err, sizeof(err)), 0);
	for (size_t len = 0; len < n; len++)
		assert_int_equal(cap_get(buf, len, &out, err, sizeof(err)), -1);
	/* Fields out of range, each alone. */
	m.rights = 0;
	assert_int_equal(cap_key_issue(&c->signer, &m, buf, err, sizeof(err)), n);
	assert_int_equal(cap_get(buf, n, &out, err, sizeof(err)), -1);
	m = mem_cap(c, cap_now());
	m.expires = m.issued + CAP_MAX_LIFETIME + 1;
	cap_key_issue(&c->signer, &m, buf, err, sizeof(err));
	assert_int_equal(cap_get(buf, n, &out, err, sizeof(err)), -1);
	m = mem_cap(c, cap_now());
	m.region_first = UINT32_MAX;
	m.region_count = 2;
	cap_key_issue(&c->signer, &m, buf, err, sizeof(err));
	assert_int_equal(cap_get(buf, n, &out, err, sizeof(err)), -1);
	m = mem_cap(c, cap_now());
	m.vnode = 0;
	cap_key_issue(&c->signer, &m, buf, err, sizeof(err));
	assert_int_equal(cap_get(buf, n, &out, err, sizeof(err)), -1);
	/* Storage: names, rights within the capability's, LIST only for all volumes. */
	s = (struct cap){.kind = CAP_KIND_STORAGE,
			 .rights = CAP_STOR_READ | CAP_STOR_WRITE,
			 .vnode = 5,
			 .issued = cap_now(),
			 .expires = cap_now() + 60,
			 .nr_volumes = 2};
	snprintf(s.volumes[0].name, sizeof(s.volumes[0].name), "disk0");
	s.volumes[0].rights = CAP_STOR_READ;
	snprintf(s.volumes[1].name, sizeof(s.volumes[1].name), "disk1");
	s.volumes[1].rights = CAP_STOR_READ | CAP_STOR_WRITE;
	n = cap_key_issue(&c->signer, &s, buf, err, sizeof(err));
	assert_int_equal(cap_get(buf, n, &out, err, sizeof(err)), 0);
	assert_int_equal(cap_volume_rights(&out, "disk0"), CAP_STOR_READ);
	assert_int_equal(cap_volume_rights(&out, "disk1"), CAP_STOR_READ | CAP_STOR_WRITE);
	assert_int_equal(cap_volume_rights(&out, "disk2"), 0);
	s.volumes[0].rights = CAP_STOR_DELETE;
	cap_key_issue(&c->signer, &s, buf, err, sizeof(err));
	assert_int_equal(cap_get(buf, n, &out, err, sizeof(err)), -1);
	s.volumes[0].rights = CAP_STOR_READ;
	snprintf(s.volumes[1].name, sizeof(s.volumes[1].name), "disk0");
	cap_key_issue(&c->signer, &s, buf, err, sizeof(err));
	assert_int_equal(cap_get(buf, n, &out, err, sizeof(err)), -1);
	snprintf(s.volumes[1].name, sizeof(s.volumes[1].name), "../etc");
	cap_key_issue(&c->signer, &s, buf, err, sizeof(err));
	assert_int_equal(cap_get(buf, n, &out, err, sizeof(err)), -1);
	s = (struct cap){.kind = CAP_KIND_STORAGE,
			 .rights = CAP_STOR_LIST,
			 .issued = cap_now(),
			 .expires = cap_now() + 60};
	n = cap_key_issue(&c->signer, &s, buf, err, sizeof(err));
	assert_int_equal(cap_get(buf, n, &out, err, sizeof(err)), -1);
	s.flags = CAP_ALL_VOLUMES;
	cap_key_issue(&c->signer, &s, buf, err, sizeof(err));
	assert_int_equal(cap_get(buf, n, &out, err, sizeof(err)), 0);
	assert_int_equal(cap_volume_rights(&out, "anything"), CAP_STOR_LIST);
}

static void test_bundle_and_renewal(void **state)
{
	struct ctx *c = *state;
	struct cap_key holder;
	struct cap_holder h;
	struct cap m, s, out, renewed;
	uint8_t mb[CAP_MAX_LEN], sb[CAP_MAX_LEN];
	uint8_t auth[CAP_HOLDER_AUTH_MAX];
	char err[256], bundle[CAP_HOLDER_BUNDLE_MAX], b64[CAP_MAX_LEN * 2], renewal[256];
	size_t mn, sn, an;
	uint64_t exp, now = cap_now();
	unsigned gen, gen2;

	/* lego-controld: a holder key per run and its two capabilities. */
	assert_int_equal(cap_key_generate(&holder, err, sizeof(err)), 0);
	m = mem_cap(c, now);
	memcpy(m.holder, holder.pub, CAP_KEY_LEN);
	mn = cap_key_issue(&c->signer, &m, mb, err, sizeof(err));
	s = (struct cap){.kind = CAP_KIND_STORAGE,
			 .rights = CAP_STOR_READ,
			 .vnode = 77,
			 .issued = now,
			 .expires = now + 600,
			 .nr_volumes = 1};
	snprintf(s.volumes[0].name, sizeof(s.volumes[0].name), "root");
	s.volumes[0].rights = CAP_STOR_READ;
	memcpy(s.holder, holder.pub, CAP_KEY_LEN);
	sn = cap_key_issue(&c->signer, &s, sb, err, sizeof(err));
	assert_int_equal(cap_holder_bundle_put(&holder, mb, mn, sb, sn, bundle, sizeof(bundle)), 0);
	/* lego-vmm: the bundle read back proves both. */
	assert_int_equal(cap_holder_init_bundle(&h, bundle, err, sizeof(err)), 0);
	assert_memory_equal(h.key.pub, holder.pub, CAP_KEY_LEN);
	an = cap_holder_present(&h, CAP_KIND_STORAGE, c->challenge, auth, &gen, err, sizeof(err));
	assert_int_equal(an, CAP_SIG_LEN + sn);
	assert_int_equal(cap_verify_check(&c->v, CAP_KIND_STORAGE, c->challenge, auth + CAP_SIG_LEN,
					  an - CAP_SIG_LEN, auth, cap_now(), &out, err,
					  sizeof(err)),
			 CAP_VERIFY_OK);
	/* A renewal: lego-controld re-signs what the holder shows for a later expiry. */
	assert_int_equal(cap_holder_export(&h, CAP_KIND_MEMORY, b64, sizeof(b64), &exp), 0);
	assert_int_equal(exp, now + 600);
	assert_int_equal(cap_holder_renewal(&c->signer, NULL, b64, 77, now, now + 1200, renewal,
					    sizeof(renewal), &renewed, err, sizeof(err)),
			 0);
	assert_true(strlen(renewal) < 200);
	/* ... for no other vNode, and never what another key signed. */
	assert_int_equal(cap_holder_renewal(&c->signer, NULL, b64, 78, now, now + 1200, err, 100,
					    &renewed, err, sizeof(err)),
			 -1);
	assert_int_equal(cap_holder_renewal(&c->other, NULL, b64, 77, now, now + 1200, err, 100,
					    &renewed, err, sizeof(err)),
			 -1);
	assert_int_equal(cap_holder_renew(&h, renewal, err, sizeof(err)), 0);
	an = cap_holder_present(&h, CAP_KIND_MEMORY, c->challenge, auth, &gen2, err, sizeof(err));
	assert_true(gen2 > gen);
	assert_int_equal(cap_verify_check(&c->v, CAP_KIND_MEMORY, c->challenge, auth + CAP_SIG_LEN,
					  an - CAP_SIG_LEN, auth, cap_now(), &out, err,
					  sizeof(err)),
			 CAP_VERIFY_OK);
	assert_int_equal(out.expires, now + 1200);
	/* A renewal whose signature was altered is taken by the holder but refused by a
	 * server; garbage is refused at once. */
	renewal[strlen(renewal) - 10] = renewal[strlen(renewal) - 10] == 'A' ? 'B' : 'A';
	assert_int_equal(cap_holder_renew(&h, renewal, err, sizeof(err)), 0);
	an = cap_holder_present(&h, CAP_KIND_MEMORY, c->challenge, auth, &gen2, err, sizeof(err));
	assert_int_equal(cap_verify_check(&c->v, CAP_KIND_MEMORY, c->challenge, auth + CAP_SIG_LEN,
					  an - CAP_SIG_LEN, auth, cap_now(), &out, err,
					  sizeof(err)),
			 CAP_VERIFY_BAD);
	assert_int_equal(cap_holder_renew(&h, "memory:1:2:zz:abc", err, sizeof(err)), -1);
	assert_int_equal(cap_holder_renew(&h, "disk:1:2:0011223344556677:AAAA", err, sizeof(err)),
			 -1);
	/* Bundles that are not. */
	cap_holder_free(&h);
	assert_int_equal(cap_holder_init_bundle(&h, "2:abc::", err, sizeof(err)), -1);
	assert_int_equal(cap_holder_init_bundle(&h, "1:abc::", err, sizeof(err)), -1);
	bundle[strlen(bundle) - 10] = '!';
	assert_int_equal(cap_holder_init_bundle(&h, bundle, err, sizeof(err)), -1);
	cap_key_free(&holder);
}

static void test_self_signed(void **state)
{
	struct ctx *c = *state;
	struct cap_holder h;
	struct cap m = mem_cap(c, 0), out;
	uint8_t auth[CAP_HOLDER_AUTH_MAX];
	char err[256];
	unsigned gen;
	size_t n;

	assert_int_equal(cap_holder_init_key(&h, c->key1, 120, err, sizeof(err)), 0);
	n = cap_holder_present(&h, CAP_KIND_MEMORY, c->challenge, auth, &gen, err, sizeof(err));
	assert_int_equal(n, 0);
	assert_non_null(strstr(err, "no memory capability"));
	assert_int_equal(cap_holder_grant(&h, &m, err, sizeof(err)), 0);
	n = cap_holder_present(&h, CAP_KIND_MEMORY, c->challenge, auth, &gen, err, sizeof(err));
	assert_int_equal(cap_verify_check(&c->v, CAP_KIND_MEMORY, c->challenge, auth + CAP_SIG_LEN,
					  n - CAP_SIG_LEN, auth, cap_now(), &out, err, sizeof(err)),
			 CAP_VERIFY_OK);
	assert_int_equal(out.expires - out.issued, 120);
	assert_memory_equal(out.holder, h.key.pub, CAP_KEY_LEN);
	cap_holder_free(&h);
	assert_int_equal(cap_holder_init_key(&h, "/nonexistent/key.pem", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/key.pem"));
}

/* A key rotation: what the old key signed is renewed by the new one, and a server that
 * reloads its keys trusts the new one. */
static void test_rotation(void **state)
{
	struct ctx *c = *state;
	struct cap m = mem_cap(c, cap_now()), out, renewed;
	struct cap_verify old = {0};
	uint8_t buf[CAP_MAX_LEN], proof[CAP_SIG_LEN];
	char err[256], b64[CAP_MAX_LEN * 2], text[256], path[128];
	size_t n = cap_key_issue(&c->other, &m, buf, err, sizeof(err));

	snprintf(path, sizeof(path), "%s/capability-pub-old.pem", c->dir);
	write_file(path, pub2_pem);
	assert_int_equal(cap_verify_add_file(&old, path, err, sizeof(err)), 0);
	assert_int_equal(cap_key_b64_put(buf, n, b64, sizeof(b64)), 0);
	/* Without the old key's public half the new key renews nothing of the old one's. */
	assert_int_equal(cap_holder_renewal(&c->signer, NULL, b64, 77, cap_now(), cap_now() + 60,
					    text, sizeof(text), &renewed, err, sizeof(err)),
			 -1);
	assert_int_equal(cap_holder_renewal(&c->signer, &old, b64, 77, cap_now(), cap_now() + 60,
					    text, sizeof(text), &renewed, err, sizeof(err)),
			 0);
	assert_memory_equal(renewed.signer, c->signer.id, 8);
	/* The server: the old key not trusted until a reload that reads it too. */
	assert_int_equal(cap_key_prove(&c->holder, c->challenge, buf, n, proof), 0);
	assert_int_equal(cap_verify_check(&c->v, CAP_KIND_MEMORY, c->challenge, buf, n, proof,
					  cap_now(), &out, err, sizeof(err)),
			 CAP_VERIFY_BAD);
	assert_int_equal(cap_verify_reload_dir(&c->v, c->dir, err, sizeof(err)), 0);
	assert_int_equal(c->v.nr_keys, 2);
	assert_int_equal(cap_verify_check(&c->v, CAP_KIND_MEMORY, c->challenge, buf, n, proof,
					  cap_now(), &out, err, sizeof(err)),
			 CAP_VERIFY_OK);
	cap_verify_free(&old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_issue_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_replayed_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decoder_strict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundle_and_renewal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
