/* cap_key.h: the Ed25519 keys of capabilities (GnuTLS): lego-controld's signing key
 * (capability-key.pem, PKCS#8 PEM as `certtool --generate-privkey --key-type=ed25519`
 * writes it) and its public half (capability-pub.pem, as `certtool --pubkey-info` writes
 * it), and the holders' keys (made per run, passed as a 32-byte seed).
 *
 * A key's id is the first 8 bytes of SHA-256 of its raw 32-byte public key: a capability
 * names its signer by it, so servers can trust an old and a new key while keys rotate. */
#ifndef LEGO_CAP_KEY_H
#define LEGO_CAP_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "cap.h"

#define CAP_KEY_SEED_LEN      32
#define CAP_KEY_CHALLENGE_LEN 32
#define CAP_KEY_MAX_TRUSTED   4 /* public keys a server trusts at once */

/* A private key, with its raw public key and id. */
struct cap_key {
	void *priv; /* gnutls_privkey_t */
	uint8_t pub[CAP_KEY_LEN];
	uint8_t id[8];
};

/* A public key that verifies signatures. */
struct cap_key_pub {
	void *pub; /* gnutls_pubkey_t */
	uint8_t raw[CAP_KEY_LEN];
	uint8_t id[8];
};

/* Each returns 0, or -1 with err saying why (naming the file). */
int cap_key_load(struct cap_key *k, const char *path, char *err, size_t errlen);
int cap_key_generate(struct cap_key *k, char *err, size_t errlen);
/* The private half as a seed and the public half (GnuTLS cannot derive it from the seed). */
int cap_key_from_seed(struct cap_key *k, const uint8_t seed[CAP_KEY_SEED_LEN],
		      const uint8_t pub[CAP_KEY_LEN], char *err, size_t errlen);
int cap_key_seed(const struct cap_key *k, uint8_t seed[CAP_KEY_SEED_LEN]);
void cap_key_free(struct cap_key *k);
/* An Ed25519 signature of data[0..len). */
int cap_key_sign(const struct cap_key *k, const void *data, size_t len, uint8_t sig[CAP_SIG_LEN]);

/* Sign c with k (its signer id set to k's): the capability's bytes into out (CAP_MAX_LEN
 * bytes); returns their length, or 0 with err. A zero serial is replaced by a random one. */
size_t cap_key_issue(const struct cap_key *k, struct cap *c, uint8_t *out, char *err,
		     size_t errlen);
/* The holder's proof for a connection: its signature over the server's challenge and the
 * capability it presents. */
int cap_key_prove(const struct cap_key *holder, const uint8_t challenge[CAP_KEY_CHALLENGE_LEN],
		  const void *cap, size_t cap_len, uint8_t sig[CAP_SIG_LEN]);

int cap_key_pub_load(struct cap_key_pub *p, const char *path, char *err, size_t errlen);
int cap_key_pub_from_raw(struct cap_key_pub *p, const uint8_t raw[CAP_KEY_LEN], char *err,
			 size_t errlen);
void cap_key_pub_free(struct cap_key_pub *p);
/* 0 when sig is k's signature of data[0..len). */
int cap_key_pub_verify(const struct cap_key_pub *p, const void *data, size_t len,
		       const uint8_t sig[CAP_SIG_LEN]);
/* Whether sig is the proof of raw holder key over challenge and cap. */
int cap_key_check_proof(const uint8_t holder[CAP_KEY_LEN],
			const uint8_t challenge[CAP_KEY_CHALLENGE_LEN], const void *cap,
			size_t cap_len, const uint8_t sig[CAP_SIG_LEN]);

/* The id of a raw public key; random bytes (challenges, serials). */
void cap_key_id(const uint8_t raw[CAP_KEY_LEN], uint8_t id[8]);
int cap_key_random(void *buf, size_t len);

/* Base64 (no line breaks) of data into out (4 * ((len + 2) / 3) + 1 bytes): 0 or -1; the
 * decoded bytes of text into out (at most max): their count, or -1. */
int cap_key_b64_put(const void *data, size_t len, char *out, size_t outlen);
long cap_key_b64_get(const char *text, size_t tlen, void *out, size_t max);

#endif
