/* smon_store.c: the open-volume table and the operations every backend shares. */
#include "smon_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static unsigned bucket_of(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h % SMON_BUCKETS;
}

static struct smon_store_vol *find(struct smon_store *st, const char *name)
{
	for (struct smon_store_vol *v = st->bucket[bucket_of(name)]; v; v = v->next)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

void smon_store_init(struct smon_store *st)
{
	pthread_rwlockattr_t a;

	memset(st, 0, sizeof(*st));
	/* Writers (resize, delete) must not starve behind a stream of I/O. */
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&st->lock, &a);
	pthread_rwlockattr_destroy(&a);
	pthread_mutex_init(&st->admin, NULL);
}

void smon_store_close(struct smon_store *st)
{
	for (unsigned i = 0; i < SMON_BUCKETS; i++) {
		while (st->bucket[i]) {
			struct smon_store_vol *v = st->bucket[i];

			st->bucket[i] = v->next;
			st->ops->unload(st, v);
		}
	}
	if (st->ops)
		st->ops->close(st);
	pthread_rwlock_destroy(&st->lock);
	pthread_mutex_destroy(&st->admin);
}

/* With the read lock held: the volume, loaded from the backend into the table if needed
 * (the lock is dropped and taken again meanwhile). */
static int get_locked(struct smon_store *st, const char *name, struct smon_store_vol **out)
{
	struct smon_store_vol *v = find(st, name), *nv;
	int rc;

	if (v) {
		*out = v;
		return 0;
	}
	pthread_rwlock_unlock(&st->lock);
	pthread_mutex_lock(&st->admin);
	pthread_rwlock_wrlock(&st->lock);
	v = find(st, name);
	if (!v) {
		rc = st->ops->load(st, name, &nv);
		if (!rc) {
			unsigned b = bucket_of(name);

			nv->next = st->bucket[b];
			st->bucket[b] = nv;
			v = nv;
		}
	}
	pthread_rwlock_unlock(&st->lock);
	pthread_mutex_unlock(&st->admin);
	pthread_rwlock_rdlock(&st->lock);
	/* A delete may have run in between: look again. */
	*out = find(st, name);
	return *out ? 0 : -ENOENT;
}

/* Take a volume out of the table (admin mutex and write lock held). */
static void unlink_vol(struct smon_store *st, struct smon_store_vol *v)
{
	struct smon_store_vol **pp = &st->bucket[bucket_of(v->name)];

	while (*pp != v)
		pp = &(*pp)->next;
	*pp = v->next;
}

int smon_store_create(struct smon_store *st, const char *name, uint64_t size)
{
	int rc;

	pthread_mutex_lock(&st->admin);
	rc = st->ops->create(st, name, size);
	pthread_mutex_unlock(&st->admin);
	return rc;
}

/* The volume, loaded if needed, with the admin mutex and the write lock held (both taken
 * even when it returns NULL, which means it does not exist; *rc then says why). */
static struct smon_store_vol *admin_lock(struct smon_store *st, const char *name, int *rc)
{
	struct smon_store_vol *v;

	pthread_rwlock_rdlock(&st->lock);
	*rc = get_locked(st, name, &v);
	pthread_rwlock_unlock(&st->lock);
	pthread_mutex_lock(&st->admin);
	pthread_rwlock_wrlock(&st->lock);
	v = *rc ? NULL : find(st, name); /* a delete may have run in between */
	if (!v && !*rc)
		*rc = -ENOENT;
	return v;
}

static void admin_unlock(struct smon_store *st)
{
	pthread_rwlock_unlock(&st->lock);
	pthread_mutex_unlock(&st->admin);
}

int smon_store_delete(struct smon_store *st, const char *name)
{
	int rc;
	struct smon_store_vol *v = admin_lock(st, name, &rc);

	if (v)
		unlink_vol(st, v);
	pthread_rwlock_unlock(&st->lock);
	/* No I/O can reach v now; the backend's delete runs without blocking other volumes. */
	if (v) {
		rc = st->ops->destroy(st, v);
		st->ops->unload(st, v);
	}
	pthread_mutex_unlock(&st->admin);
	return rc;
}

int smon_store_resize(struct smon_store *st, const char *name, uint64_t size)
{
	int rc;
	struct smon_store_vol *v = admin_lock(st, name, &rc);

	if (v) {
		rc = st->ops->resize(st, v, size);
		if (!rc)
			v->size = size;
	}
	admin_unlock(st);
	return rc;
}

int smon_store_stat(struct smon_store *st, const char *name, struct stor_proto_vol_info *out)
{
	struct smon_store_vol *v;
	int rc;

	pthread_rwlock_rdlock(&st->lock);
	rc = get_locked(st, name, &v);
	if (!rc) {
		memset(out, 0, sizeof(*out));
		memcpy(out->name, v->name, sizeof(out->name));
		out->size = v->size;
		out->obj_size = v->obj_size;
	}
	pthread_rwlock_unlock(&st->lock);
	return rc;
}

int smon_store_list(struct smon_store *st, const char *after, struct stor_proto_vol_info *out,
		    uint32_t max, uint32_t *n, bool *more)
{
	int rc;

	pthread_mutex_lock(&st->admin);
	rc = st->ops->list(st, after, out, max, n, more);
	pthread_mutex_unlock(&st->admin);
	return rc;
}

enum io_kind { IO_READ, IO_WRITE, IO_FLUSH };

static int do_io(struct smon_store *st, enum io_kind k, const char *name, uint64_t off, void *buf,
		 uint32_t len)
{
	struct smon_store_vol *v;
	int rc;

	pthread_rwlock_rdlock(&st->lock);
	rc = get_locked(st, name, &v);
	if (!rc && k != IO_FLUSH && (off > v->size || len > v->size - off))
		rc = -ERANGE;
	if (!rc) {
		if (k == IO_READ)
			rc = st->ops->read(st, v, off, buf, len);
		else if (k == IO_WRITE)
			rc = st->ops->write(st, v, off, buf, len);
		else
			rc = st->ops->flush(st, v);
	}
	pthread_rwlock_unlock(&st->lock);
	atomic_fetch_add(k == IO_READ ? &st->reads : k == IO_WRITE ? &st->writes : &st->flushes, 1);
	if (rc)
		atomic_fetch_add(&st->errors, 1);
	return rc;
}

int smon_store_read(struct smon_store *st, const char *name, uint64_t off, void *buf, uint32_t len)
{
	return do_io(st, IO_READ, name, off, buf, len);
}

int smon_store_write(struct smon_store *st, const char *name, uint64_t off, const void *buf,
		     uint32_t len)
{
	return do_io(st, IO_WRITE, name, off, (void *)buf, len);
}

int smon_store_flush(struct smon_store *st, const char *name)
{
	return do_io(st, IO_FLUSH, name, 0, NULL, 0);
}
