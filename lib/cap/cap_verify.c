/* cap_verify.c: a server's trusted capability keys and the check of a presented capability. */
#include "cap_verify.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

/* A zeroed struct is an empty one: its lock is made when it is first loaded (at a server's
 * start, before any thread checks with it). */
static void init_lock(struct cap_verify *v)
{
	if (!v->ready) {
		pthread_rwlock_init(&v->lock, NULL);
		v->ready = true;
	}
}

int cap_verify_add_file(struct cap_verify *v, const char *path, char *err, size_t errlen)
{
	init_lock(v);
	if (v->nr_keys == CAP_KEY_MAX_TRUSTED) {
		snprintf(err, errlen, "%s: at most %d capability public keys are trusted at once",
			 path, CAP_KEY_MAX_TRUSTED);
		return -1;
	}
	if (cap_key_pub_load(&v->keys[v->nr_keys], path, err, errlen))
		return -1;
	for (int i = 0; i < v->nr_keys; i++)
		if (!memcmp(v->keys[i].id, v->keys[v->nr_keys].id, 8)) {
			cap_key_pub_free(&v->keys[v->nr_keys]);
			return 0; /* the same key twice */
		}
	v->nr_keys++;
	return 0;
}

int cap_verify_load_dir(struct cap_verify *v, const char *dir, char *err, size_t errlen)
{
	char path[4096];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/capability-pub.pem", dir);
	if (cap_verify_add_file(v, path, err, errlen))
		return -1;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (strncmp(e->d_name, "capability-pub-", 15) || n < 20 ||
		    strcmp(e->d_name + n - 4, ".pem"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (cap_verify_add_file(v, path, err, errlen)) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

int cap_verify_reload_dir(struct cap_verify *v, const char *dir, char *err, size_t errlen)
{
	struct cap_verify fresh;

	memset(&fresh, 0, sizeof(fresh));
	if (cap_verify_load_dir(&fresh, dir, err, errlen)) {
		cap_verify_free(&fresh);
		return -1;
	}
	init_lock(v);
	pthread_rwlock_wrlock(&v->lock);
	for (int i = 0; i < v->nr_keys; i++)
		cap_key_pub_free(&v->keys[i]);
	memcpy(v->keys, fresh.keys, sizeof(v->keys));
	v->nr_keys = fresh.nr_keys;
	pthread_rwlock_unlock(&v->lock);
	fresh.nr_keys = 0;
	cap_verify_free(&fresh);
	return 0;
}

int cap_verify_signed(struct cap_verify *v, const uint8_t id[8], const void *data, size_t len,
		      const uint8_t sig[CAP_SIG_LEN])
{
	int rc = -1;

	init_lock(v);
	pthread_rwlock_rdlock(&v->lock);
	for (int i = 0; i < v->nr_keys && rc; i++)
		if (!memcmp(v->keys[i].id, id, 8))
			rc = cap_key_pub_verify(&v->keys[i], data, len, sig) ? -2 : 0;
	pthread_rwlock_unlock(&v->lock);
	return rc;
}

void cap_verify_free(struct cap_verify *v)
{
	for (int i = 0; i < v->nr_keys; i++)
		cap_key_pub_free(&v->keys[i]);
	if (v->ready)
		pthread_rwlock_destroy(&v->lock);
	memset(v, 0, sizeof(*v));
}

enum cap_verify_result cap_verify_use(const struct cap *c, bool authed, uint32_t granted,
				      uint32_t right, bool *denied, char *err, size_t errlen)
{
	uint64_t now = cap_now();
	char name[32];

	*denied = false;
	if (!authed) {
		snprintf(err, errlen, "this server requires a capability: AUTH first");
		return CAP_VERIFY_BAD;
	}
	if (now >= c->expires) {
		snprintf(err, errlen,
			 "capability %016llx expired %llu s ago: AUTH with a renewed one",
			 (unsigned long long)c->serial, (unsigned long long)(now - c->expires));
		return CAP_VERIFY_EXPIRED;
	}
	if (!(granted & right)) {
		snprintf(err, errlen, "capability %016llx does not grant %s",
			 (unsigned long long)c->serial,
			 cap_rights_text(c->kind, right, name, sizeof(name)));
		*denied = true;
		return CAP_VERIFY_BAD;
	}
	return CAP_VERIFY_OK;
}

enum cap_verify_result cap_verify_check(struct cap_verify *v, unsigned kind,
					const uint8_t challenge[CAP_KEY_CHALLENGE_LEN],
					const void *cap, size_t len,
					const uint8_t proof[CAP_SIG_LEN], uint64_t now,
					struct cap *out, char *err, size_t errlen)
{
	char why[160];
	int rc;

	if (cap_get(cap, len, out, why, sizeof(why))) {
		snprintf(err, errlen, "%s", why);
		return CAP_VERIFY_BAD;
	}
	if (out->kind != kind) {
		snprintf(err, errlen, "a %s capability, not a %s one", cap_kind_name(out->kind),
			 cap_kind_name(kind));
		return CAP_VERIFY_BAD;
	}
	rc = cap_verify_signed(v, out->signer, cap, len - CAP_SIG_LEN,
			       (const uint8_t *)cap + len - CAP_SIG_LEN);
	if (rc == -1) {
		snprintf(err, errlen,
			 "capability %016llx is signed by a key this server does not "
			 "trust",
			 (unsigned long long)out->serial);
		return CAP_VERIFY_BAD;
	}
	if (rc) {
		snprintf(err, errlen, "capability %016llx has a bad signature (forged or altered)",
			 (unsigned long long)out->serial);
		return CAP_VERIFY_BAD;
	}
	if (cap_key_check_proof(out->holder, challenge, cap, len, proof)) {
		snprintf(err, errlen,
			 "capability %016llx is not proven by its holder (replayed from another "
			 "connection?)",
			 (unsigned long long)out->serial);
		return CAP_VERIFY_BAD;
	}
	if (cap_check_time(out, now, err, errlen))
		return CAP_VERIFY_EXPIRED;
	return CAP_VERIFY_OK;
}
