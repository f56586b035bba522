/* controld_state_mirror.c: the RADOS state's copy in memory (see controld_state_mirror.h):
 * a search tree of entries, read whole once, then caught up through the change journal. */
#include "controld_state_mirror.h"

#include <errno.h>
#include <pthread.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controld_state.h"
#include "lib/log.h"
#include "lib/mono_clock.h"

#define PAGE	  1024 /* omap entries read per round trip */
#define LOG_LEN	  (sizeof(CONTROLD_STATE_MIRROR_LOG) - 1)
#define KEY_MAX	  1024
#define SEQ_BYTES (CONTROLD_STATE_MIRROR_SEQ_LEN + 1)

struct mirror_entry {
	char *key, *val;
	size_t len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *root;		  /* struct mirror_entry *, by key */
static size_t count;		  /* entries in it */
static char floor_seq[SEQ_BYTES]; /* the newest journal entry the copy reflects */
static bool ready;

static int cmp(const void *a, const void *b)
{
	return strcmp(((const struct mirror_entry *)a)->key, ((const struct mirror_entry *)b)->key);
}

static void free_entry(void *p)
{
	struct mirror_entry *e = p;

	free(e->key);
	free(e->val);
	free(e);
}

bool controld_state_mirror_ready(void)
{
	return __atomic_load_n(&ready, __ATOMIC_ACQUIRE);
}

static void set_locked(const char *key, const char *val, size_t len)
{
	struct mirror_entry probe = {.key = (char *)key}, *e, **found;
	char *copy = malloc(len + 1);

	if (!copy)
		goto oom;
	memcpy(copy, val, len);
	copy[len] = '\0';
	found = tfind(&probe, &root, cmp);
	if (found) {
		free((*found)->val);
		(*found)->val = copy;
		(*found)->len = len;
		return;
	}
	e = calloc(1, sizeof(*e));
	if (e)
		e->key = strdup(key);
	if (!e || !e->key || !tsearch(e, &root, cmp)) {
		if (e)
			free(e->key);
		free(e);
		free(copy);
		goto oom;
	}
	e->val = copy;
	e->len = len;
	count++;
	return;
oom: /* the copy no longer matches: read it whole the next time */
	log_error("state: out of memory copying %s: the state is read again", key);
	__atomic_store_n(&ready, false, __ATOMIC_RELEASE);
}

static void del_locked(const char *key)
{
	struct mirror_entry probe = {.key = (char *)key}, **found = tfind(&probe, &root, cmp), *e;

	if (!found)
		return;
	e = *found;
	tdelete(&probe, &root, cmp);
	free_entry(e);
	count--;
}

void controld_state_mirror_set(const char *key, const void *val, size_t len)
{
	pthread_mutex_lock(&lock);
	set_locked(key, val, len);
	pthread_mutex_unlock(&lock);
}

void controld_state_mirror_del(const char *key)
{
	pthread_mutex_lock(&lock);
	del_locked(key);
	pthread_mutex_unlock(&lock);
}

char *controld_state_mirror_get(const char *key, size_t *len)
{
	struct mirror_entry probe = {.key = (char *)key}, **found;
	char *text = NULL;

	pthread_mutex_lock(&lock);
	found = tfind(&probe, &root, cmp);
	if (found && (*found)->len <= CONTROLD_STATE_MAX) {
		text = malloc((*found)->len + 1);
		if (text) {
			memcpy(text, (*found)->val, (*found)->len + 1);
			*len = (*found)->len;
		}
	}
	pthread_mutex_unlock(&lock);
	return text;
}

/* ---- each: the matching entries copied out, then given to fn (which may change the copy) */

struct picked {
	struct mirror_entry *v;
	size_t n, cap;
	const char *prefix, *suffix;
	bool failed;
};

static __thread struct picked *picking; /* twalk has no context argument */

static void pick(const void *node, VISIT which, int depth)
{
	const struct mirror_entry *e = *(struct mirror_entry *const *)node;
	struct picked *p = picking;
	size_t kl = strlen(e->key), pl = strlen(p->prefix), sl = strlen(p->suffix);

	(void)depth;
	if ((which != postorder && which != leaf) || p->failed)
		return;
	if (kl <= pl + sl || strncmp(e->key, p->prefix, pl) ||
	    strcmp(e->key + kl - sl, p->suffix) || strchr(e->key + pl, '/') ||
	    e->len > CONTROLD_STATE_MAX)
		return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct mirror_entry *v = realloc(p->v, cap * sizeof(*v));

		if (!v) {
			p->failed = true;
			return;
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n].key = strdup(e->key);
	p->v[p->n].val = malloc(e->len + 1);
	p->v[p->n].len = e->len;
	if (!p->v[p->n].key || !p->v[p->n].val) {
		free(p->v[p->n].key);
		free(p->v[p->n].val);
		p->failed = true;
		return;
	}
	memcpy(p->v[p->n].val, e->val, e->len + 1);
	p->n++;
}

void controld_state_mirror_each(const char *sub, const char *suffix,
				void (*fn)(const char *key, char *text, size_t len, void *ctx),
				void *ctx)
{
	char prefix[256];
	struct picked p = {.prefix = prefix, .suffix = suffix};

	snprintf(prefix, sizeof(prefix), "%s/", sub);
	pthread_mutex_lock(&lock);
	picking = &p;
	twalk(root, pick);
	picking = NULL;
	pthread_mutex_unlock(&lock);
	if (p.failed)
		log_error("state: out of memory listing %s: some entries were skipped", prefix);
	for (size_t i = 0; i < p.n; i++) {
		fn(p.v[i].key, p.v[i].val, p.v[i].len, ctx);
		free(p.v[i].key);
		free(p.v[i].val);
	}
	free(p.v);
}

/* ---- reading from RADOS ----------------------------------------------------------------- */

/* The journal's xattrs: the newest entry and the trimmed floor ("" when absent). */
static void read_xattrs(rados_xattrs_iter_t it, char seq[SEQ_BYTES], char trimmed[SEQ_BYTES])
{
	const char *name, *val;
	size_t len;

	seq[0] = trimmed[0] = '\0';
	while (it && !rados_getxattrs_next(it, &name, &val, &len) && name) {
		char *to = !strcmp(name, CONTROLD_STATE_MIRROR_SEQ_XATTR)	? seq
			   : !strcmp(name, CONTROLD_STATE_MIRROR_TRIMMED_XATTR) ? trimmed
										: NULL;

		if (to && len < SEQ_BYTES) {
			memcpy(to, val, len);
			to[len] = '\0';
		}
	}
}

static int get_xattrs(rados_ioctx_t io, const char *obj, char seq[SEQ_BYTES],
		      char trimmed[SEQ_BYTES])
{
	rados_read_op_t op = rados_create_read_op();
	rados_xattrs_iter_t it = NULL;
	int prval = 0, rc;

	if (!op)
		return -ENOMEM;
	rados_read_op_getxattrs(op, &it, &prval);
	rc = rados_read_op_operate(op, io, obj, 0);
	if (!rc && !prval)
		read_xattrs(it, seq, trimmed);
	if (it)
		rados_getxattrs_end(it);
	rados_release_read_op(op);
	if (rc == -ENOENT) { /* no state yet */
		seq[0] = trimmed[0] = '\0';
		return 0;
	}
	return rc ? rc : prval;
}

/* One page of omap entries after *after with prefix; each given to fn. 1 while more
 * remain, 0 at the end, or a negative errno. */
static int page(rados_ioctx_t io, const char *obj, const char *prefix, char after[KEY_MAX],
		void (*fn)(const char *key, const char *val, size_t len, void *ctx), void *ctx)
{
	rados_read_op_t op = rados_create_read_op();
	rados_omap_iter_t it = NULL;
	unsigned char more = 0;
	char *k, *v;
	size_t klen, vlen;
	int prval = 0, rc;

	if (!op)
		return -ENOMEM;
	rados_read_op_omap_get_vals2(op, after, prefix, PAGE, &it, &more, &prval);
	rc = rados_read_op_operate(op, io, obj, 0);
	if (!rc)
		rc = prval;
	while (!rc && it && !rados_omap_get_next2(it, &k, &v, &klen, &vlen) && k) {
		char key[KEY_MAX];

		if (klen >= KEY_MAX || memchr(k, '\0', klen)) {
			log_error("state: a RADOS key of %zu bytes: not one of ours, skipped",
				  klen);
			continue;
		}
		memcpy(key, k, klen);
		key[klen] = '\0';
		memcpy(after, key, klen + 1);
		fn(key, v, vlen, ctx);
	}
	if (it)
		rados_omap_get_end(it);
	rados_release_read_op(op);
	return rc == -ENOENT ? 0 : rc < 0 ? rc : more;
}

static void keep(const char *key, const char *val, size_t len, void *ctx)
{
	(void)ctx;
	if (strncmp(key, CONTROLD_STATE_MIRROR_LOG, LOG_LEN)) /* the journal is not state */
		set_locked(key, val, len);
}

/* The whole object read again; the copy then reflects journal entry seq and older. */
static int read_whole(rados_ioctx_t io, const char *obj, const char *seq)
{
	char after[KEY_MAX] = "";
	uint64_t t0 = mono_clock_ms();
	int rc;

	pthread_mutex_lock(&lock);
	tdestroy(root, free_entry);
	root = NULL;
	count = 0;
	__atomic_store_n(&ready, true, __ATOMIC_RELEASE); /* set_locked clears it (no memory) */
	while ((rc = page(io, obj, "", after, keep, NULL)) > 0)
		;
	if (rc == 0 && controld_state_mirror_ready())
		snprintf(floor_seq, sizeof(floor_seq), "%s", seq);
	else
		__atomic_store_n(&ready, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lock);
	if (rc < 0) {
		log_error("state: cannot read the RADOS state: %s", strerror(-rc));
		return -1;
	}
	log_info("state: read %zu entries from RADOS in %llu ms (journal at %s)", count,
		 (unsigned long long)(mono_clock_ms() - t0), seq[0] ? seq : "its start");
	return controld_state_mirror_ready() ? 0 : -1;
}

struct changed {
	char **keys;
	size_t n, cap;
	bool failed;
};

static void note(const char *key, const char *val, size_t len, void *ctx)
{
	struct changed *c = ctx;

	(void)key;
	if (c->failed || !len || len >= KEY_MAX || memchr(val, '\0', len))
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		char **keys = realloc(c->keys, cap * sizeof(*keys));

		if (!keys) {
			c->failed = true;
			return;
		}
		c->keys = keys;
		c->cap = cap;
	}
	c->keys[c->n] = strndup(val, len);
	if (!c->keys[c->n])
		c->failed = true;
	else
		c->n++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* key against the omap key k of klen bytes, in omap (byte) order. */
static int key_cmp(const char *key, const char *k, size_t klen)
{
	size_t len = strlen(key);
	int c = memcmp(key, k, len < klen ? len : klen);

	return c ? c : len < klen ? -1 : len > klen;
}

/* The current values of the keys the journal named: set, or removed when gone. */
static int fetch(rados_ioctx_t io, const char *obj, char **keys, size_t n)
{
	rados_read_op_t op = rados_create_read_op();
	rados_omap_iter_t it = NULL;
	size_t *lens = malloc(n * sizeof(*lens)), i = 0, klen, vlen;
	char *k, *v;
	int prval = 0, rc = -ENOMEM;

	if (!op || !lens)
		goto out;
	for (size_t j = 0; j < n; j++)
		lens[j] = strlen(keys[j]);
	rados_read_op_omap_get_vals_by_keys2(op, (const char *const *)keys, n, lens, &it, &prval);
	rc = rados_read_op_operate(op, io, obj, 0);
	if (!rc)
		rc = prval;
	pthread_mutex_lock(&lock);
	/* Both sorted: a key the answer skips is one removed since. */
	while (!rc && it && !rados_omap_get_next2(it, &k, &v, &klen, &vlen) && k) {
		for (; i < n && key_cmp(keys[i], k, klen) < 0; i++)
			del_locked(keys[i]);
		if (i < n && !key_cmp(keys[i], k, klen))
			set_locked(keys[i++], v, vlen);
	}
	for (; !rc && i < n; i++)
		del_locked(keys[i]);
	pthread_mutex_unlock(&lock);
out:
	if (it)
		rados_omap_get_end(it);
	if (op)
		rados_release_read_op(op);
	free(lens);
	return rc;
}

/* The journal after the copy's floor, page by page: what it names fetched again. */
static int catch_up(rados_ioctx_t io, const char *obj, size_t *changes)
{
	char after[KEY_MAX];
	int more;

	snprintf(after, sizeof(after), "%s%s", CONTROLD_STATE_MIRROR_LOG, floor_seq);
	do {
		struct changed c = {0};
		size_t u = 0;
		int rc;

		more = page(io, obj, CONTROLD_STATE_MIRROR_LOG, after, note, &c);
		if (c.n) { /* each key once, in omap order */
			qsort(c.keys, c.n, sizeof(*c.keys), cmp_str);
			for (size_t j = 0; j < c.n; j++)
				if (!u || strcmp(c.keys[u - 1], c.keys[j]))
					c.keys[u++] = c.keys[j];
				else
					free(c.keys[j]);
		}
		rc = more < 0 || c.failed ? (more < 0 ? more : -ENOMEM)
		     : u		  ? fetch(io, obj, c.keys, u)
					  : 0;
		for (size_t j = 0; j < u; j++)
			free(c.keys[j]);
		free(c.keys);
		if (rc < 0)
			return rc;
		*changes += u;
		snprintf(floor_seq, sizeof(floor_seq), "%.*s", CONTROLD_STATE_MIRROR_SEQ_LEN,
			 after + LOG_LEN);
	} while (more > 0);
	return 0;
}

int controld_state_mirror_sync(rados_ioctx_t io, const char *obj)
{
	char seq[SEQ_BYTES], trimmed[SEQ_BYTES];
	size_t changes = 0;
	uint64_t t0 = mono_clock_ms();
	int rc = get_xattrs(io, obj, seq, trimmed);

	if (rc) {
		log_error("state: cannot read the RADOS state's journal: %s", strerror(-rc));
		return -1;
	}
	/* Never read, or older than what the journal still holds: whole. */
	if (!controld_state_mirror_ready() || strcmp(floor_seq, trimmed) < 0)
		return read_whole(io, obj, seq);
	if (!strcmp(seq, floor_seq))
		return 0; /* unchanged: that one small read */
	rc = catch_up(io, obj, &changes);
	if (rc) {
		log_error("state: cannot follow the RADOS state's journal: %s", strerror(-rc));
		__atomic_store_n(&ready, false, __ATOMIC_RELEASE);
		return -1;
	}
	log_debug("state: %zu entries changed in RADOS (journal at %s), read in %llu ms", changes,
		  floor_seq, (unsigned long long)(mono_clock_ms() - t0));
	return 0;
}
