/* cap_key.c: Ed25519 keys, signatures and proofs of capabilities, through GnuTLS. */
#include "cap_key.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#define PROOF_CONTEXT "lego capability proof v1"

static int fail(char *err, size_t errlen, const char *what, const char *path, int rc)
{
	snprintf(err, errlen, "%s%s%s: %s", what, path ? " " : "", path ? path : "",
		 rc ? gnutls_strerror(rc) : "not an Ed25519 key");
	return -1;
}

void cap_key_id(const uint8_t raw[CAP_KEY_LEN], uint8_t id[8])
{
	uint8_t h[32];

	gnutls_hash_fast(GNUTLS_DIG_SHA256, raw, CAP_KEY_LEN, h);
	memcpy(id, h, 8);
}

int cap_key_random(void *buf, size_t len)
{
	return gnutls_rnd(GNUTLS_RND_NONCE, buf, len) ? -1 : 0;
}

/* k->pub and k->id from k->priv: 0, or a GnuTLS error (or 1: not Ed25519). */
static int fill_public(struct cap_key *k)
{
	gnutls_datum_t x = {0};
	gnutls_ecc_curve_t curve;
	int rc;

	if (gnutls_privkey_get_pk_algorithm(k->priv, NULL) != GNUTLS_PK_EDDSA_ED25519)
		return 1;
	rc = gnutls_privkey_export_ecc_raw2(k->priv, &curve, &x, NULL, NULL,
					    GNUTLS_EXPORT_FLAG_NO_LZ);
	if (rc)
		return rc;
	if (curve != GNUTLS_ECC_CURVE_ED25519 || x.size != CAP_KEY_LEN) {
		gnutls_free(x.data);
		return 1;
	}
	memcpy(k->pub, x.data, CAP_KEY_LEN);
	gnutls_free(x.data);
	cap_key_id(k->pub, k->id);
	return 0;
}

static int new_priv(struct cap_key *k)
{
	gnutls_privkey_t p;

	memset(k, 0, sizeof(*k));
	if (gnutls_privkey_init(&p))
		return -1;
	k->priv = p;
	return 0;
}

int cap_key_load(struct cap_key *k, const char *path, char *err, size_t errlen)
{
	gnutls_datum_t d = {0};
	int rc;

	if (new_priv(k))
		return fail(err, errlen, "cannot load capability key", path, GNUTLS_E_MEMORY_ERROR);
	rc = gnutls_load_file(path, &d);
	if (!rc)
		rc = gnutls_privkey_import_x509_raw(k->priv, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_free(d.data);
	if (!rc)
		rc = fill_public(k);
	if (rc) {
		cap_key_free(k);
		return fail(err, errlen, "cannot load capability key", path, rc < 0 ? rc : 0);
	}
	return 0;
}

int cap_key_generate(struct cap_key *k, char *err, size_t errlen)
{
	int rc = new_priv(k) ? GNUTLS_E_MEMORY_ERROR : 0;

	if (!rc)
		rc = gnutls_privkey_generate2(k->priv, GNUTLS_PK_EDDSA_ED25519,
					      GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519), 0,
					      NULL, 0);
	if (!rc)
		rc = fill_public(k);
	if (rc) {
		cap_key_free(k);
		return fail(err, errlen, "cannot make a key", NULL, rc < 0 ? rc : 0);
	}
	return 0;
}

int cap_key_from_seed(struct cap_key *k, const uint8_t seed[CAP_KEY_SEED_LEN],
		      const uint8_t pub[CAP_KEY_LEN], char *err, size_t errlen)
{
	gnutls_datum_t x = {(unsigned char *)pub, CAP_KEY_LEN},
		       kd = {(unsigned char *)seed, CAP_KEY_SEED_LEN};
	static const char probe[] = "lego holder key probe";
	struct cap_key_pub p;
	uint8_t sig[CAP_SIG_LEN];
	int rc;

	if (new_priv(k))
		return fail(err, errlen, "cannot read a holder key", NULL, GNUTLS_E_MEMORY_ERROR);
	rc = gnutls_privkey_import_ecc_raw(k->priv, GNUTLS_ECC_CURVE_ED25519, &x, NULL, &kd);
	if (!rc)
		rc = fill_public(k);
	/* GnuTLS takes the public half as given: a signature shows it matches the seed. */
	if (!rc && (cap_key_sign(k, probe, sizeof(probe), sig) ||
		    cap_key_pub_from_raw(&p, pub, err, errlen)))
		rc = 1;
	else if (!rc) {
		rc = cap_key_pub_verify(&p, probe, sizeof(probe), sig) ? 1 : 0;
		cap_key_pub_free(&p);
	}
	if (rc) {
		cap_key_free(k);
		snprintf(err, errlen, "a holder key whose halves do not match");
		return -1;
	}
	return 0;
}

int cap_key_seed(const struct cap_key *k, uint8_t seed[CAP_KEY_SEED_LEN])
{
	gnutls_datum_t d = {0};
	int rc = gnutls_privkey_export_ecc_raw2(k->priv, NULL, NULL, NULL, &d,
						GNUTLS_EXPORT_FLAG_NO_LZ);

	if (rc || d.size != CAP_KEY_SEED_LEN) {
		gnutls_free(d.data);
		return -1;
	}
	memcpy(seed, d.data, CAP_KEY_SEED_LEN);
	gnutls_memset(d.data, 0, d.size);
	gnutls_free(d.data);
	return 0;
}

void cap_key_free(struct cap_key *k)
{
	if (k->priv)
		gnutls_privkey_deinit(k->priv);
	memset(k, 0, sizeof(*k));
}

int cap_key_sign(const struct cap_key *k, const void *data, size_t len, uint8_t sig[CAP_SIG_LEN])
{
	gnutls_datum_t d = {(unsigned char *)data, (unsigned)len}, s = {0};
	int rc = gnutls_privkey_sign_data2(k->priv, GNUTLS_SIGN_EDDSA_ED25519, 0, &d, &s);

	if (rc || s.size != CAP_SIG_LEN) {
		gnutls_free(s.data);
		return -1;
	}
	memcpy(sig, s.data, CAP_SIG_LEN);
	gnutls_free(s.data);
	return 0;
}

size_t cap_key_issue(const struct cap_key *k, struct cap *c, uint8_t *out, char *err, size_t errlen)
{
	size_t n;

	while (!c->serial)
		if (cap_key_random(&c->serial, sizeof(c->serial))) {
			snprintf(err, errlen, "no random bytes for a capability serial");
			return 0;
		}
	memcpy(c->signer, k->id, sizeof(c->signer));
	if (!cap_len(c)) {
		snprintf(err, errlen, "a capability of unknown kind or too many volumes");
		return 0;
	}
	n = cap_body_put(out, c);
	if (cap_key_sign(k, out, n, out + n)) {
		snprintf(err, errlen, "cannot sign a capability");
		return 0;
	}
	return n + CAP_SIG_LEN;
}

/* What a holder signs for a connection: a context, the challenge, the capability. */
static size_t proof_message(uint8_t *m, const uint8_t *challenge, const void *cap, size_t cap_len)
{
	size_t n = sizeof(PROOF_CONTEXT);

	memcpy(m, PROOF_CONTEXT, n);
	memcpy(m + n, challenge, CAP_KEY_CHALLENGE_LEN);
	memcpy(m + n + CAP_KEY_CHALLENGE_LEN, cap, cap_len);
	return n + CAP_KEY_CHALLENGE_LEN + cap_len;
}

int cap_key_prove(const struct cap_key *holder, const uint8_t challenge[CAP_KEY_CHALLENGE_LEN],
		  const void *cap, size_t cap_len, uint8_t sig[CAP_SIG_LEN])
{
	uint8_t m[sizeof(PROOF_CONTEXT) + CAP_KEY_CHALLENGE_LEN + CAP_MAX_LEN];

	if (cap_len > CAP_MAX_LEN)
		return -1;
	return cap_key_sign(holder, m, proof_message(m, challenge, cap, cap_len), sig);
}

int cap_key_pub_from_raw(struct cap_key_pub *p, const uint8_t raw[CAP_KEY_LEN], char *err,
			 size_t errlen)
{
	gnutls_pubkey_t k;
	gnutls_datum_t x = {(unsigned char *)raw, CAP_KEY_LEN};
	int rc;

	memset(p, 0, sizeof(*p));
	if (gnutls_pubkey_init(&k))
		return fail(err, errlen, "cannot read a public key", NULL, GNUTLS_E_MEMORY_ERROR);
	rc = gnutls_pubkey_import_ecc_raw(k, GNUTLS_ECC_CURVE_ED25519, &x, NULL);
	if (rc) {
		gnutls_pubkey_deinit(k);
		return fail(err, errlen, "cannot read a public key", NULL, rc);
	}
	p->pub = k;
	memcpy(p->raw, raw, CAP_KEY_LEN);
	cap_key_id(raw, p->id);
	return 0;
}

int cap_key_pub_load(struct cap_key_pub *p, const char *path, char *err, size_t errlen)
{
	gnutls_datum_t d = {0}, x = {0};
	gnutls_pubkey_t k = NULL;
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	uint8_t raw[CAP_KEY_LEN];
	int rc = gnutls_load_file(path, &d);

	memset(p, 0, sizeof(*p));
	if (!rc)
		rc = gnutls_pubkey_init(&k);
	if (!rc)
		rc = gnutls_pubkey_import(k, &d, GNUTLS_X509_FMT_PEM);
	if (!rc)
		rc = gnutls_pubkey_export_ecc_raw2(k, &curve, &x, NULL, GNUTLS_EXPORT_FLAG_NO_LZ);
	gnutls_free(d.data);
	if (k)
		gnutls_pubkey_deinit(k);
	if (!rc && (curve != GNUTLS_ECC_CURVE_ED25519 || x.size != CAP_KEY_LEN))
		rc = 1;
	if (!rc)
		memcpy(raw, x.data, CAP_KEY_LEN);
	gnutls_free(x.data);
	if (rc)
		return fail(err, errlen, "cannot load capability public key", path,
			    rc < 0 ? rc : 0);
	return cap_key_pub_from_raw(p, raw, err, errlen);
}

void cap_key_pub_free(struct cap_key_pub *p)
{
	if (p->pub)
		gnutls_pubkey_deinit(p->pub);
	memset(p, 0, sizeof(*p));
}

int cap_key_pub_verify(const struct cap_key_pub *p, const void *data, size_t len,
		       const uint8_t sig[CAP_SIG_LEN])
{
	gnutls_datum_t d = {(unsigned char *)data, (unsigned)len},
		       s = {(unsigned char *)sig, CAP_SIG_LEN};

	return gnutls_pubkey_verify_data2(p->pub, GNUTLS_SIGN_EDDSA_ED25519, 0, &d, &s) < 0 ? -1
											    : 0;
}

int cap_key_check_proof(const uint8_t holder[CAP_KEY_LEN],
			const uint8_t challenge[CAP_KEY_CHALLENGE_LEN], const void *cap,
			size_t cap_len, const uint8_t sig[CAP_SIG_LEN])
{
	uint8_t m[sizeof(PROOF_CONTEXT) + CAP_KEY_CHALLENGE_LEN + CAP_MAX_LEN];
	struct cap_key_pub p;
	char err[128];
	int rc;

	if (cap_len > CAP_MAX_LEN || cap_key_pub_from_raw(&p, holder, err, sizeof(err)))
		return -1;
	rc = cap_key_pub_verify(&p, m, proof_message(m, challenge, cap, cap_len), sig);
	cap_key_pub_free(&p);
	return rc;
}

int cap_key_b64_put(const void *data, size_t len, char *out, size_t outlen)
{
	gnutls_datum_t d = {(unsigned char *)data, (unsigned)len}, r = {0};

	if (gnutls_base64_encode2(&d, &r) || r.size + 1 > outlen) {
		gnutls_free(r.data);
		return -1;
	}
	memcpy(out, r.data, r.size);
	out[r.size] = '\0';
	gnutls_free(r.data);
	return 0;
}

long cap_key_b64_get(const char *text, size_t tlen, void *out, size_t max)
{
	gnutls_datum_t d = {(unsigned char *)text, (unsigned)tlen}, r = {0};
	long n;

	if (!tlen || gnutls_base64_decode2(&d, &r) || r.size > max) {
		gnutls_free(r.data);
		return -1;
	}
	memcpy(out, r.data, r.size);
	n = (long)r.size;
	gnutls_free(r.data);
	return n;
}
