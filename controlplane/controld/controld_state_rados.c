/* controld_state_rados.c: the state in a RADOS pool: the omap of one object, each change a
 * single write operation with a cmpxattr guard on the leader's epoch and its journal entry
 * (controld_state_mirror.h); reads are served by the copy in memory once it is read. */
#include "controld_state_rados.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controld_lease.h"
#include "controld_state_mirror.h"
#include "lib/log.h"

#define PAGE	   512	/* omap entries read per round trip */
#define TRIM_EVERY 1024 /* journal entries between two trims */
#define TRIM_KEEP  8192 /* journal entries a trim keeps */

static rados_t cluster;
static rados_ioctx_t io;
static char epoch_text[CONTROLD_STATE_RADOS_EPOCH_LEN + 1];
/* Writes are sent in the order of their journal entries (RADOS applies one client's
 * operations on one object in the order sent), so the journal has no holes but failed
 * writes', and its newest entry (SEQ_XATTR) is the last applied. */
static pthread_mutex_t order = PTHREAD_MUTEX_INITIALIZER;
static uint64_t seq;

rados_ioctx_t controld_state_rados_io(void)
{
	return io;
}

void controld_state_rados_epoch_text(uint64_t epoch, char out[CONTROLD_STATE_RADOS_EPOCH_LEN + 1])
{
	snprintf(out, CONTROLD_STATE_RADOS_EPOCH_LEN + 1, "%0*" PRIu64,
		 CONTROLD_STATE_RADOS_EPOCH_LEN, epoch);
}

void controld_state_rados_set_epoch(uint64_t epoch)
{
	controld_state_rados_epoch_text(epoch, epoch_text);
}

/* The journal entry of the next write (under order): its key, and its "EPOCH.SEQ". */
static void journal(rados_write_op_t op, const char *key)
{
	char jseq[CONTROLD_STATE_MIRROR_SEQ_LEN + 1], jkey[sizeof(jseq) + 16];
	const char *keys[1] = {jkey}, *vals[1] = {key};
	size_t key_lens[1], lens[1] = {strlen(key)};

	seq++;
	snprintf(jseq, sizeof(jseq), "%s.%020" PRIu64, epoch_text, seq);
	key_lens[0] = (size_t)snprintf(jkey, sizeof(jkey), CONTROLD_STATE_MIRROR_LOG "%s", jseq);
	rados_write_op_omap_set2(op, keys, vals, key_lens, lens, 1);
	rados_write_op_setxattr(op, CONTROLD_STATE_MIRROR_SEQ_XATTR, jseq, strlen(jseq));
	if (seq % TRIM_EVERY == 0 && seq > TRIM_KEEP) { /* older entries go, older epochs' too */
		snprintf(jseq, sizeof(jseq), "%s.%020" PRIu64, epoch_text, seq - TRIM_KEEP);
		key_lens[0] =
			(size_t)snprintf(jkey, sizeof(jkey), CONTROLD_STATE_MIRROR_LOG "%s", jseq);
		rados_write_op_omap_rm_range2(op, CONTROLD_STATE_MIRROR_LOG,
					      strlen(CONTROLD_STATE_MIRROR_LOG), jkey, key_lens[0]);
		rados_write_op_setxattr(op, CONTROLD_STATE_MIRROR_TRIMMED_XATTR, jseq,
					strlen(jseq));
	}
}

/* One guarded write of key (val NULL: its removal): the operation fails as a whole when
 * another leader took over. */
static int operate(rados_write_op_t op, const char *what, const char *key, const void *val,
		   size_t len)
{
	rados_completion_t done = NULL;
	int rc;

	if (!epoch_text[0]) { /* a standby never writes */
		rados_release_write_op(op);
		log_error("state: %s %s refused: this lego-controld does not lead", what, key);
		return -1;
	}
	rados_write_op_cmpxattr(op, CONTROLD_STATE_RADOS_EPOCH, LIBRADOS_CMPXATTR_OP_EQ, epoch_text,
				CONTROLD_STATE_RADOS_EPOCH_LEN);
	rc = rados_aio_create_completion2(NULL, NULL, &done);
	pthread_mutex_lock(&order);
	if (!rc) {
		journal(op, key);
		rc = rados_aio_write_op_operate(op, io, done, CONTROLD_STATE_RADOS_OBJ, NULL, 0);
	}
	if (!rc && val)
		controld_state_mirror_set(key, val, len);
	else if (!rc)
		controld_state_mirror_del(key);
	pthread_mutex_unlock(&order);
	if (!rc) {
		rados_aio_wait_for_complete(done);
		rc = rados_aio_get_return_value(done);
	}
	if (done)
		rados_aio_release(done);
	rados_release_write_op(op);
	if (rc == -ECANCELED || rc == -ENODATA)
		controld_lease_fenced(what, key);
	if (rc) {
		log_error("state: cannot %s %s in RADOS: %s", what, key, strerror(-rc));
		return -1;
	}
	return 0;
}

static int st_put(const char *key, const void *data, size_t len)
{
	rados_write_op_t op = rados_create_write_op();
	const char *keys[1] = {key};
	const char *vals[1] = {data};
	size_t key_lens[1] = {strlen(key)}, lens[1] = {len};

	if (!op)
		return -1;
	rados_write_op_omap_set2(op, keys, vals, key_lens, lens, 1);
	return operate(op, "write", key, data, len);
}

static int st_remove(const char *key)
{
	rados_write_op_t op = rados_create_write_op();
	const char *keys[1] = {key};
	size_t key_lens[1] = {strlen(key)};

	if (!op)
		return -1;
	rados_write_op_omap_rm_keys2(op, keys, key_lens, 1);
	return operate(op, "remove", key, NULL, 0);
}

static char *copy_val(const char *key, const char *val, size_t vlen, size_t *len)
{
	char *text;

	if (vlen > CONTROLD_STATE_MAX) {
		log_error("state: RADOS entry %s is larger than %d bytes: ignored", key,
			  CONTROLD_STATE_MAX);
		return NULL;
	}
	text = malloc(vlen + 1);
	if (!text)
		return NULL;
	memcpy(text, val, vlen);
	text[vlen] = '\0';
	*len = vlen;
	return text;
}

static char *st_get(const char *key, size_t *len)
{
	rados_read_op_t op = rados_create_read_op();
	const char *keys[1] = {key};
	size_t key_lens[1] = {strlen(key)}, klen, vlen;
	rados_omap_iter_t it = NULL;
	char *k, *v, *text = NULL;
	int prval = 0, rc;

	if (controld_state_mirror_ready()) {
		rados_release_read_op(op);
		return controld_state_mirror_get(key, len);
	}
	if (!op)
		return NULL;
	rados_read_op_omap_get_vals_by_keys2(op, keys, 1, key_lens, &it, &prval);
	rc = rados_read_op_operate(op, io, CONTROLD_STATE_RADOS_OBJ, 0);
	if (!rc && !prval && it && !rados_omap_get_next2(it, &k, &v, &klen, &vlen) && k &&
	    klen == key_lens[0] && !memcmp(k, key, klen))
		text = copy_val(key, v, vlen, len);
	else if (rc && rc != -ENOENT)
		log_error("state: cannot read %s from RADOS: %s", key, strerror(-rc));
	if (it)
		rados_omap_get_end(it);
	rados_release_read_op(op);
	return text;
}

/* One page of SUB/ entries after *after (updated); true while more remain. */
static bool each_page(const char *prefix, const char *suffix, char *after, size_t alen,
		      void (*fn)(const char *key, char *text, size_t len, void *ctx), void *ctx)
{
	rados_read_op_t op = rados_create_read_op();
	rados_omap_iter_t it = NULL;
	unsigned char more = 0;
	char *k, *v, key[1024];
	size_t klen, vlen, len, slen = strlen(suffix);
	int prval = 0, rc;

	if (!op)
		return false;
	rados_read_op_omap_get_vals2(op, after, prefix, PAGE, &it, &more, &prval);
	rc = rados_read_op_operate(op, io, CONTROLD_STATE_RADOS_OBJ, 0);
	if (rc || prval) {
		if (rc != -ENOENT)
			log_error("state: cannot list %s in RADOS: %s", prefix,
				  strerror(-(rc ? rc : prval)));
		more = 0;
	}
	while (!rc && !prval && it && !rados_omap_get_next2(it, &k, &v, &klen, &vlen) && k) {
		char *text;

		if (klen >= sizeof(key) || klen >= alen) { /* not one of ours: stop there */
			log_error("state: RADOS key of %zu bytes under %s: listing stopped", klen,
				  prefix);
			more = 0;
			break;
		}
		memcpy(key, k, klen);
		key[klen] = '\0';
		snprintf(after, alen, "%s", key);
		if (strlen(key) != klen || klen <= strlen(prefix) + slen ||
		    strcmp(key + klen - slen, suffix) || strchr(key + strlen(prefix), '/'))
			continue;
		text = copy_val(key, v, vlen, &len);
		if (text)
			fn(key, text, len, ctx);
		free(text);
	}
	if (it)
		rados_omap_get_end(it);
	rados_release_read_op(op);
	return more;
}

static void st_each(const char *sub, const char *suffix,
		    void (*fn)(const char *key, char *text, size_t len, void *ctx), void *ctx)
{
	char prefix[256], after[1024] = "";

	if (controld_state_mirror_ready()) {
		controld_state_mirror_each(sub, suffix, fn, ctx);
		return;
	}
	snprintf(prefix, sizeof(prefix), "%s/", sub);
	while (each_page(prefix, suffix, after, sizeof(after), fn, ctx))
		;
}

int controld_state_rados_sync(void)
{
	return controld_state_mirror_sync(io, CONTROLD_STATE_RADOS_OBJ);
}

static const struct controld_state_ops rados_ops = {
	.put = st_put, .remove = st_remove, .get = st_get, .each = st_each};

int controld_state_rados_open(const char *pool, const struct controld_state_options *o)
{
	const char *conf = o->ceph_conf ? o->ceph_conf : "/etc/ceph/ceph.conf";
	char where[4200], t[16];
	int rc;

	if (!pool[0]) {
		log_error("state: 'rados:' names no pool");
		return -1;
	}
	rc = rados_create2(&cluster, "ceph", o->ceph_client ? o->ceph_client : "client.admin", 0);
	if (rc) {
		log_error("state: cannot create a Ceph client %s: %s",
			  o->ceph_client ? o->ceph_client : "client.admin", strerror(-rc));
		return -1;
	}
	rc = rados_conf_read_file(cluster, conf);
	if (!rc && o->ceph_keyring)
		rc = rados_conf_set(cluster, "keyring", o->ceph_keyring);
	if (rc) {
		log_error("state: cannot read the Ceph configuration %s: %s", conf, strerror(-rc));
		goto fail;
	}
	/* Bounded calls: a renewal that hangs must not outlive the lease. */
	snprintf(t, sizeof(t), "%d", o->lease_s > 2 ? o->lease_s : 2);
	rados_conf_set(cluster, "client_mount_timeout", t);
	rados_conf_set(cluster, "rados_mon_op_timeout", t);
	rados_conf_set(cluster, "rados_osd_op_timeout", t);
	rc = rados_connect(cluster);
	if (rc) {
		log_error("state: cannot connect to the Ceph cluster of %s: %s", conf,
			  strerror(-rc));
		goto fail;
	}
	rc = rados_ioctx_create(cluster, pool, &io);
	if (rc) {
		log_error("state: cannot open RADOS pool '%s': %s", pool,
			  rc == -ENOENT ? "no such pool" : strerror(-rc));
		goto fail;
	}
	snprintf(where, sizeof(where), "RADOS pool %s (object " CONTROLD_STATE_RADOS_OBJ ")", pool);
	controld_state_set_ops(&rados_ops, where);
	return 0;
fail:
	rados_shutdown(cluster);
	return -1;
}
