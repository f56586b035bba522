/* cap_holder.c: a client's capabilities, self-signed or from lego-controld, presented per
 * connection and renewed in place. */
#include "cap_holder.h"
#include "cap_verify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void holder_init(struct cap_holder *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	atomic_init(&h->gen, 1);
	for (int k = 0; k < 3; k++)
		atomic_init(&h->refresh_at[k], UINT64_MAX);
}

int cap_holder_init_key(struct cap_holder *h, const char *key_path, uint32_t lifetime, char *err,
			size_t errlen)
{
	holder_init(h);
	h->self_signed = true;
	h->lifetime = lifetime ? lifetime : CAP_HOLDER_DEFAULT_LIFETIME;
	if (h->lifetime > CAP_MAX_LIFETIME)
		h->lifetime = CAP_MAX_LIFETIME;
	if (cap_key_load(&h->signer, key_path, err, errlen) ||
	    cap_key_generate(&h->key, err, errlen)) {
		cap_holder_free(h);
		return -1;
	}
	return 0;
}

int cap_holder_init_env(struct cap_holder *h, const char *path, uint32_t lifetime, char *err,
			size_t errlen)
{
	if (!path)
		path = getenv("LEGO_CAPABILITY_KEY");
	if (!path || !*path)
		return 1;
	return cap_holder_init_key(h, path, lifetime, err, errlen);
}

/* One base64 field of a bundle (up to the next ':' or the end) into out: its length (0:
 * empty), or -1. */
static long bundle_field(const char **p, uint8_t *out, size_t max)
{
	const char *end = strchr(*p, ':');
	size_t n = end ? (size_t)(end - *p) : strlen(*p);
	long got = n ? cap_key_b64_get(*p, n, out, max) : 0;

	*p += n + (end ? 1 : 0);
	return got;
}

/* Set slot kind from c[0..len) (under the lock or before sharing): 0, or -1 with err. */
static int slot_set(struct cap_holder *h, unsigned kind, const uint8_t *c, size_t len, char *err,
		    size_t errlen)
{
	struct cap_holder_slot *s = &h->slot[kind];
	struct cap d;

	if (cap_get(c, len, &d, err, errlen))
		return -1;
	if (d.kind != kind) {
		snprintf(err, errlen, "a %s capability where a %s one belongs",
			 cap_kind_name(d.kind), cap_kind_name(kind));
		return -1;
	}
	if (memcmp(d.holder, h->key.pub, CAP_KEY_LEN)) {
		snprintf(err, errlen, "the %s capability is for another holder key",
			 cap_kind_name(kind));
		return -1;
	}
	s->c = d;
	memcpy(s->bytes, c, len);
	s->len = len;
	s->set = true;
	if (h->self_signed)
		atomic_store(&h->refresh_at[kind], d.expires - h->lifetime / 2);
	return 0;
}

int cap_holder_init_bundle(struct cap_holder *h, const char *text, char *err, size_t errlen)
{
	uint8_t keys[CAP_KEY_SEED_LEN + CAP_KEY_LEN + 8], buf[CAP_MAX_LEN];
	const char *p = text;
	long n;

	holder_init(h);
	if (strncmp(p, "1:", 2)) {
		snprintf(err, errlen, "not a capability bundle (it starts with '1:')");
		return -1;
	}
	p += 2;
	if (bundle_field(&p, keys, sizeof(keys)) != CAP_KEY_SEED_LEN + CAP_KEY_LEN) {
		snprintf(err, errlen, "capability bundle: the holder key is not 64 base64 bytes");
		return -1;
	}
	if (cap_key_from_seed(&h->key, keys, keys + CAP_KEY_SEED_LEN, err, errlen))
		return -1;
	for (unsigned kind = CAP_KIND_MEMORY; kind <= CAP_KIND_STORAGE; kind++) {
		n = bundle_field(&p, buf, sizeof(buf));
		if (n < 0 || (n > 0 && slot_set(h, kind, buf, (size_t)n, err, errlen))) {
			if (n < 0)
				snprintf(err, errlen,
					 "capability bundle: the %s capability is "
					 "not base64",
					 cap_kind_name(kind));
			cap_holder_free(h);
			return -1;
		}
	}
	if (*p) {
		snprintf(err, errlen, "capability bundle: more fields than three");
		cap_holder_free(h);
		return -1;
	}
	return 0;
}

int cap_holder_init_bundle_file(struct cap_holder *h, const char *path, char *err, size_t errlen)
{
	char text[CAP_HOLDER_BUNDLE_MAX + 2];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		snprintf(err, errlen, "cannot read capability file %s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	if (n >= CAP_HOLDER_BUNDLE_MAX) {
		snprintf(err, errlen, "capability file %s is too long", path);
		return -1;
	}
	if (cap_holder_init_bundle(h, text, err, errlen)) {
		size_t l = strlen(err);

		snprintf(err + l, errlen - l, " (in %s)", path);
		return -1;
	}
	return 0;
}

void cap_holder_free(struct cap_holder *h)
{
	cap_key_free(&h->key);
	cap_key_free(&h->signer);
	pthread_mutex_destroy(&h->lock);
	memset(h, 0, sizeof(*h));
}

/* Sign slot kind's capability anew for [now, now + lifetime] (self-signing; locked). */
static int resign(struct cap_holder *h, unsigned kind, const struct cap *tmpl, char *err,
		  size_t errlen)
{
	struct cap c = *tmpl;
	uint8_t out[CAP_MAX_LEN];
	size_t n;

	c.issued = cap_now();
	c.expires = c.issued + h->lifetime;
	c.serial = 0;
	memcpy(c.holder, h->key.pub, CAP_KEY_LEN);
	n = cap_key_issue(&h->signer, &c, out, err, errlen);
	if (!n || slot_set(h, kind, out, n, err, errlen))
		return -1;
	atomic_fetch_add(&h->gen, 1);
	return 0;
}

int cap_holder_grant(struct cap_holder *h, const struct cap *tmpl, char *err, size_t errlen)
{
	int rc;

	if (!h->self_signed || (tmpl->kind != CAP_KIND_MEMORY && tmpl->kind != CAP_KIND_STORAGE)) {
		snprintf(err, errlen, "this holder cannot sign capabilities");
		return -1;
	}
	pthread_mutex_lock(&h->lock);
	rc = resign(h, tmpl->kind, tmpl, err, errlen);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

bool cap_holder_has(struct cap_holder *h, unsigned kind)
{
	bool set;

	if (kind != CAP_KIND_MEMORY && kind != CAP_KIND_STORAGE)
		return false;
	pthread_mutex_lock(&h->lock);
	set = h->slot[kind].set;
	pthread_mutex_unlock(&h->lock);
	return set;
}

bool cap_holder_get(struct cap_holder *h, unsigned kind, struct cap *out)
{
	bool set = false;

	if (kind == CAP_KIND_MEMORY || kind == CAP_KIND_STORAGE) {
		pthread_mutex_lock(&h->lock);
		set = h->slot[kind].set;
		if (set)
			*out = h->slot[kind].c;
		pthread_mutex_unlock(&h->lock);
	}
	return set;
}

unsigned cap_holder_gen(struct cap_holder *h)
{
	return atomic_load(&h->gen);
}

bool cap_holder_stale(struct cap_holder *h, unsigned kind, unsigned gen)
{
	if (atomic_load(&h->gen) != gen)
		return true;
	return kind < 3 && cap_now() >= atomic_load(&h->refresh_at[kind]);
}

size_t cap_holder_present(struct cap_holder *h, unsigned kind,
			  const uint8_t challenge[CAP_KEY_CHALLENGE_LEN], uint8_t *out,
			  unsigned *gen, char *err, size_t errlen)
{
	struct cap_holder_slot *s;
	size_t n = 0;

	if (kind != CAP_KIND_MEMORY && kind != CAP_KIND_STORAGE) {
		snprintf(err, errlen, "no such capability kind");
		return 0;
	}
	pthread_mutex_lock(&h->lock);
	s = &h->slot[kind];
	if (!s->set) {
		snprintf(err, errlen,
			 "no %s capability (give --capability-key FILE, or start the "
			 "vNode through lego-controld)",
			 cap_kind_name(kind));
	} else if (h->self_signed && cap_now() >= atomic_load(&h->refresh_at[kind]) &&
		   resign(h, kind, &s->c, err, errlen)) {
		n = 0;
	} else if (cap_key_prove(&h->key, challenge, s->bytes, s->len, out)) {
		snprintf(err, errlen, "cannot sign the capability's proof");
	} else {
		memcpy(out + CAP_SIG_LEN, s->bytes, s->len);
		n = CAP_SIG_LEN + s->len;
		*gen = atomic_load(&h->gen);
	}
	pthread_mutex_unlock(&h->lock);
	return n;
}

int cap_holder_renew(struct cap_holder *h, const char *text, char *err, size_t errlen)
{
	char kind_name[16];
	char keyhex[17], sig64[100];
	unsigned long long issued, expires;
	uint8_t sig[CAP_SIG_LEN + 4], buf[CAP_MAX_LEN];
	unsigned kind;
	struct cap c;
	size_t n;
	int rc = -1;

	if (sscanf(text, "%15[a-z]:%llu:%llu:%16[0-9a-f]:%99[A-Za-z0-9+/=]", kind_name, &issued,
		   &expires, keyhex, sig64) != 5 ||
	    strlen(keyhex) != 16) {
		snprintf(err, errlen, "a renewal is KIND:ISSUED:EXPIRES:KEYID:SIGNATURE");
		return -1;
	}
	kind = !strcmp(kind_name, "memory")    ? CAP_KIND_MEMORY
	       : !strcmp(kind_name, "storage") ? CAP_KIND_STORAGE
					       : 0;
	if (!kind || cap_key_b64_get(sig64, strlen(sig64), sig, sizeof(sig)) != CAP_SIG_LEN) {
		snprintf(err, errlen, "a renewal names memory or storage and a 64-byte signature");
		return -1;
	}
	pthread_mutex_lock(&h->lock);
	if (!h->slot[kind].set) {
		snprintf(err, errlen, "no %s capability to renew", kind_name);
		goto out;
	}
	c = h->slot[kind].c;
	c.issued = issued;
	c.expires = expires;
	for (int i = 0; i < 8; i++)
		sscanf(keyhex + 2 * i, "%2hhx", &c.signer[i]);
	n = cap_body_put(buf, &c);
	memcpy(buf + n, sig, CAP_SIG_LEN);
	if (slot_set(h, kind, buf, n + CAP_SIG_LEN, err, errlen))
		goto out;
	atomic_fetch_add(&h->gen, 1);
	rc = 0;
out:
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int cap_holder_export(struct cap_holder *h, unsigned kind, char *out, size_t outlen,
		      uint64_t *expires)
{
	int rc = 0;

	out[0] = '\0';
	*expires = 0;
	if (kind != CAP_KIND_MEMORY && kind != CAP_KIND_STORAGE)
		return -1;
	pthread_mutex_lock(&h->lock);
	if (h->slot[kind].set) {
		rc = cap_key_b64_put(h->slot[kind].bytes, h->slot[kind].len, out, outlen);
		*expires = h->slot[kind].c.expires;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int cap_holder_bundle_put(const struct cap_key *holder, const uint8_t *mem, size_t mem_len,
			  const uint8_t *stor, size_t stor_len, char *out, size_t outlen)
{
	uint8_t keys[CAP_KEY_SEED_LEN + CAP_KEY_LEN];
	char s[128], m[CAP_MAX_LEN * 2], t[CAP_MAX_LEN * 2];
	int w, rc;

	m[0] = t[0] = '\0';
	if (cap_key_seed(holder, keys))
		return -1;
	memcpy(keys + CAP_KEY_SEED_LEN, holder->pub, CAP_KEY_LEN);
	rc = cap_key_b64_put(keys, sizeof(keys), s, sizeof(s));
	memset(keys, 0, sizeof(keys));
	if (rc || (mem_len && cap_key_b64_put(mem, mem_len, m, sizeof(m))) ||
	    (stor_len && cap_key_b64_put(stor, stor_len, t, sizeof(t))))
		return -1;
	w = snprintf(out, outlen, "1:%s:%s:%s", s, m, t);
	return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

int cap_holder_renewal(const struct cap_key *signer, struct cap_verify *trusted,
		       const char *cap_b64, uint64_t vnode, uint64_t issued, uint64_t expires,
		       char *out, size_t outlen, struct cap *renewed, char *err, size_t errlen)
{
	uint8_t buf[CAP_MAX_LEN], sig[CAP_SIG_LEN];
	char sig64[100];
	struct cap_key_pub pub;
	long n = cap_key_b64_get(cap_b64, strlen(cap_b64), buf, sizeof(buf));
	size_t body;
	int w, bad;

	if (n <= CAP_SIG_LEN || cap_get(buf, (size_t)n, renewed, err, errlen))
		return n <= CAP_SIG_LEN ? (snprintf(err, errlen, "not a capability"), -1) : -1;
	if (cap_key_pub_from_raw(&pub, signer->pub, err, errlen))
		return -1;
	bad = memcmp(renewed->signer, signer->id, 8) ||
	      cap_key_pub_verify(&pub, buf, (size_t)n - CAP_SIG_LEN, buf + n - CAP_SIG_LEN);
	cap_key_pub_free(&pub);
	if (bad && trusted)
		bad = cap_verify_signed(trusted, renewed->signer, buf, (size_t)n - CAP_SIG_LEN,
					buf + n - CAP_SIG_LEN) != 0;
	if (bad || renewed->vnode != vnode) {
		snprintf(err, errlen,
			 "the capability to renew is not one this key signed for "
			 "vNode %" PRIu64,
			 vnode);
		return -1;
	}
	renewed->issued = issued;
	renewed->expires = expires;
	memcpy(renewed->signer, signer->id, 8);
	body = cap_body_put(buf, renewed);
	if (cap_key_sign(signer, buf, body, sig) ||
	    cap_key_b64_put(sig, CAP_SIG_LEN, sig64, sizeof(sig64))) {
		snprintf(err, errlen, "cannot sign the renewal");
		return -1;
	}
	w = snprintf(out, outlen, "%s:%" PRIu64 ":%" PRIu64 ":%02x%02x%02x%02x%02x%02x%02x%02x:%s",
		     cap_kind_name(renewed->kind), issued, expires, signer->id[0], signer->id[1],
		     signer->id[2], signer->id[3], signer->id[4], signer->id[5], signer->id[6],
		     signer->id[7], sig64);
	return w < 0 || (size_t)w >= outlen ? -1 : 0;
}
