/* cap_holder.h: a client's capabilities (one per kind) and the key that proves them, as
 * lego-vmm, lego-controld, a memory server's fill or a tool presents them to servers.
 *
 * Two ways to hold them:
 *   bundle  lego-controld signed them: lego-pmon passes lego-vmm a file with a one-line
 *           bundle "1:HOLDER-KEY:MEMORY:STORAGE" (base64 fields, either capability may be
 *           empty); lego-controld renews them before they lapse with "KIND:ISSUED:EXPIRES:
 *           KEYID:SIGNATURE" (the same grant, a new time and signature).
 *   key     a standalone client holds the signing key itself (lego-vmm --capability-key,
 *           tools): it signs its own and signs them again when half their life is over.
 * Each change bumps a generation, so every connection knows to present the new one.
 * Thread-safe. */
#ifndef LEGO_CAP_HOLDER_H
#define LEGO_CAP_HOLDER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cap.h"
#include "cap_key.h"

#define CAP_HOLDER_DEFAULT_LIFETIME 3600 /* seconds a self-signed capability lasts */
#define CAP_HOLDER_BUNDLE_MAX	    2600 /* bytes of a bundle's text */
#define CAP_HOLDER_RENEWAL_MAX	    200	 /* bytes of a renewal's text */
/* The longest AUTH payload: the holder's proof, then the capability. */
#define CAP_HOLDER_AUTH_MAX (CAP_SIG_LEN + CAP_MAX_LEN)

struct cap_holder_slot {
	bool set;
	struct cap c;
	uint8_t bytes[CAP_MAX_LEN];
	size_t len;
};

struct cap_holder {
	pthread_mutex_t lock;
	struct cap_key key;    /* the holder's own */
	struct cap_key signer; /* self-signing only */
	bool self_signed;
	uint32_t lifetime;
	struct cap_holder_slot slot[3]; /* by kind */
	atomic_uint gen;
	atomic_uint_fast64_t refresh_at[3]; /* self-signed: when to sign anew, by kind */
};

/* A holder that signs its own with the signing key at key_path (lifetime: seconds each
 * lasts; 0 means the default). */
int cap_holder_init_key(struct cap_holder *h, const char *key_path, uint32_t lifetime, char *err,
			size_t errlen);
/* A self-signing holder with the key at path, or at $LEGO_CAPABILITY_KEY when path is NULL
 * (tools, tests): 0; 1 when neither names one (no holder made); -1 with err. */
int cap_holder_init_env(struct cap_holder *h, const char *path, uint32_t lifetime, char *err,
			size_t errlen);
/* A holder of the capabilities in a bundle (its text, or a file holding it). */
int cap_holder_init_bundle(struct cap_holder *h, const char *text, char *err, size_t errlen);
int cap_holder_init_bundle_file(struct cap_holder *h, const char *path, char *err, size_t errlen);
void cap_holder_free(struct cap_holder *h);

/* Self-signing: hold a capability like tmpl (its holder, signer and times are filled in). */
int cap_holder_grant(struct cap_holder *h, const struct cap *tmpl, char *err, size_t errlen);
bool cap_holder_has(struct cap_holder *h, unsigned kind);
/* A copy of the capability of kind (false: none). */
bool cap_holder_get(struct cap_holder *h, unsigned kind, struct cap *out);
unsigned cap_holder_gen(struct cap_holder *h);
/* Whether a connection that presented generation gen of kind must present again: a renewal
 * came, or a self-signed capability is past half its life. Cheap: no lock. */
bool cap_holder_stale(struct cap_holder *h, unsigned kind, unsigned gen);

/* The AUTH payload for a server's challenge: the proof, then the capability of kind, into
 * out (CAP_HOLDER_AUTH_MAX bytes); returns its length, or 0 with err. *gen: the generation
 * presented. A self-signed capability past half its life is signed anew first. */
size_t cap_holder_present(struct cap_holder *h, unsigned kind,
			  const uint8_t challenge[CAP_KEY_CHALLENGE_LEN], uint8_t *out,
			  unsigned *gen, char *err, size_t errlen);
/* Apply a renewal text from lego-controld. */
int cap_holder_renew(struct cap_holder *h, const char *text, char *err, size_t errlen);
/* The capability of kind as base64 into out (empty when none) and its expiry. */
int cap_holder_export(struct cap_holder *h, unsigned kind, char *out, size_t outlen,
		      uint64_t *expires);

/* lego-controld's side. A bundle's text for the holder's key and capabilities (len 0:
 * none). */
int cap_holder_bundle_put(const struct cap_key *holder, const uint8_t *mem, size_t mem_len,
			  const uint8_t *stor, size_t stor_len, char *out, size_t outlen);
/* A renewal of cap (base64 text, as cap_holder_export gives it): checked to be signed by
 * signer itself (or, during a key rotation, by a key of trusted, if not NULL) and to be for
 * vNode vnode, then signed again by signer for [issued, expires]. */
struct cap_verify;
int cap_holder_renewal(const struct cap_key *signer, struct cap_verify *trusted,
		       const char *cap_b64, uint64_t vnode, uint64_t issued, uint64_t expires,
		       char *out, size_t outlen, struct cap *renewed, char *err, size_t errlen);

#endif
