/* cap_verify.h: what a server (lego-mmon, lego-smon) checks when a client presents a
 * capability: signed by a trusted key (the PKI directory's capability-pub.pem, and during a
 * key rotation capability-pub-*.pem), of the server's kind, not expired, and proven by its
 * holder over this connection's challenge. */
#ifndef LEGO_CAP_VERIFY_H
#define LEGO_CAP_VERIFY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cap.h"
#include "cap_key.h"

struct cap_verify {
	bool ready;	       /* lock made */
	pthread_rwlock_t lock; /* the keys change on a reload (cap_verify_reload_dir) */
	int nr_keys;
	struct cap_key_pub keys[CAP_KEY_MAX_TRUSTED];
};

enum cap_verify_result {
	CAP_VERIFY_OK = 0,
	CAP_VERIFY_BAD = 1,	/* malformed, forged, unknown signer, wrong kind, wrong holder */
	CAP_VERIFY_EXPIRED = 2, /* valid, but out of its time */
};

/* Trust DIR/capability-pub.pem (it must exist) and every DIR/capability-pub-*.pem: 0, or -1
 * with err. */
int cap_verify_load_dir(struct cap_verify *v, const char *dir, char *err, size_t errlen);
/* The same again, in place, while checks run (a key rotation): the old keys stay if the new
 * ones cannot be read. */
int cap_verify_reload_dir(struct cap_verify *v, const char *dir, char *err, size_t errlen);
/* Whether sig is a trusted key's (the one named by id) signature of data[0..len). */
int cap_verify_signed(struct cap_verify *v, const uint8_t id[8], const void *data, size_t len,
		      const uint8_t sig[CAP_SIG_LEN]);
/* Trust one more public key file. */
int cap_verify_add_file(struct cap_verify *v, const char *path, char *err, size_t errlen);
void cap_verify_free(struct cap_verify *v);

/* Check cap[0..len) of kind, presented with proof (the holder's signature over challenge
 * and the capability) at time now: the decoded capability in *out, or why not in err. */
enum cap_verify_result cap_verify_check(struct cap_verify *v, unsigned kind,
					const uint8_t challenge[CAP_KEY_CHALLENGE_LEN],
					const void *cap, size_t len,
					const uint8_t proof[CAP_SIG_LEN], uint64_t now,
					struct cap *out, char *err, size_t errlen);

/* Before each request: does the connection hold a capability (authed), still in its time,
 * granting right (among granted: what it grants where the request acts)? CAP_VERIFY_OK,
 * CAP_VERIFY_BAD (none held: AUTH first; or not granted: *denied set), CAP_VERIFY_EXPIRED;
 * err says which. */
enum cap_verify_result cap_verify_use(const struct cap *c, bool authed, uint32_t granted,
				      uint32_t right, bool *denied, char *err, size_t errlen);

#endif
