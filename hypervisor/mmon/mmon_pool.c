/* mmon_pool.c: region table, capacity accounting and checked page copies. */
#include "mmon_pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/proto/wire.h"

int mmon_pool_init(struct mmon_pool *p, uint64_t bytes)
{
	memset(p, 0, sizeof(*p));
	if (mmon_pool_index_init(&p->idx))
		return -1;
	pthread_rwlock_init(&p->lock, NULL);
	p->bytes = bytes;
	return 0;
}

/* A refusal: why into err (a copy: the text may live in the table, which changes once the
 * lock is let go), and the status to answer with. */
static enum mem_proto_status fail(char *err, size_t errlen, enum mem_proto_status st,
				  const char *why)
{
	snprintf(err, errlen, "%s", why);
	return st;
}

static void region_free_memory(struct mmon_pool_region *r)
{
	mmon_pool_rma_drop_all(r);
	if (r->base)
		munmap(r->base, r->size);
	r->base = NULL;
	free(r->stored);
	r->stored = NULL;
}

static void region_free(struct mmon_pool_region *r)
{
	region_free_memory(r);
	pthread_mutex_destroy(&r->fill_lock);
	free(r->fill_error);
	free(r);
}

/* Drop a reference (under the write lock); the last one frees the region. */
static void region_unref(struct mmon_pool_region *r)
{
	if (--r->refs == 0)
		region_free(r);
}

void mmon_pool_destroy(struct mmon_pool *p)
{
	struct mmon_pool_region *r;

	/* Running fills hold references: stop them and wait until they let go. */
	for (;;) {
		bool busy = false;

		pthread_rwlock_wrlock(&p->lock);
		for (r = p->all; r; r = r->next) {
			atomic_store(&r->fill_abort, true);
			busy |= r->refs > 1;
		}
		pthread_rwlock_unlock(&p->lock);
		if (!busy)
			break;
		usleep(10000);
	}
	r = p->all;
	while (r) {
		struct mmon_pool_region *next = r->next;

		region_free(r);
		r = next;
	}
	mmon_pool_index_destroy(&p->idx);
	pthread_rwlock_destroy(&p->lock);
	memset(p, 0, sizeof(*p));
}

bool mmon_pool_scope_covers(const struct mmon_pool_scope *sc, uint32_t index)
{
	return !sc->limited || (index >= sc->first && index - sc->first < sc->count);
}

/* Out of every list and index (under the write lock). */
static void unlink_region(struct mmon_pool *p, struct mmon_pool_region *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		p->all = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	mmon_pool_index_remove(&p->idx, r);
}

/* A live region's accounting gone (closed or released), under the write lock. */
static void unaccount(struct mmon_pool *p, struct mmon_pool_region *r)
{
	struct mmon_pool_index_vnode *v = mmon_pool_index_vnode(&p->idx, r->vnode, 0);

	p->reserved -= r->size;
	p->nregions--;
	for (uint64_t i = 0; i < (r->size / MP_PAGE_SIZE + 63) / 64; i++)
		p->stored_pages -= (uint64_t)__builtin_popcountll(r->stored[i]);
	if (v) {
		v->reserved -= r->size;
		v->regions--;
		mmon_pool_index_vnode_put(&p->idx, v);
	}
}

/* Unlink and free a moved copy's record (under the write lock). */
static void drop_moved(struct mmon_pool *p, struct mmon_pool_region *r)
{
	if (r->mprev)
		r->mprev->mnext = r->mnext;
	else
		p->moved_oldest = r->mnext;
	if (r->mnext)
		r->mnext->mprev = r->mprev;
	else
		p->moved_newest = r->mprev;
	unlink_region(p, r);
	p->moved--;
	region_unref(r);
}

/* A handle no region has, never 0. */
static uint64_t new_handle(struct mmon_pool *p)
{
	uint64_t h = 0;

	while (!h || mmon_pool_index_handle(&p->idx, h))
		if (getrandom(&h, sizeof(h), 0) != sizeof(h))
			h = ((uint64_t)rand() << 32) ^ (uint64_t)rand() ^ p->idx.seed;
	return h;
}

static void fill_open_reply(const struct mmon_pool_region *r, struct mem_proto_open_reply *out)
{
	out->handle = r->handle;
	out->epoch = r->epoch;
	out->size = r->size;
	out->rma_addr = out->rma_key = 0;
}

/* May sc create a region of size bytes? Its quota counts this vNode's live regions here. */
static enum mem_proto_status check_quota(struct mmon_pool *p, const struct mmon_pool_scope *sc,
					 uint64_t size, char *err, size_t errlen)
{
	const struct mmon_pool_index_vnode *v = mmon_pool_index_vnode(&p->idx, sc->vnode, 0);
	uint64_t used = v ? v->reserved : 0;

	if (!sc->limited)
		return MP_OK;
	if (size > sc->region_max) {
		snprintf(err, errlen,
			 "a vRegion of %llu bytes is larger than the capability's %llu",
			 (unsigned long long)size, (unsigned long long)sc->region_max);
		return MP_EQUOTA;
	}
	if (size > sc->quota || used > sc->quota - size) {
		snprintf(err, errlen,
			 "the vNode holds %llu bytes here; %llu more exceed its capability's "
			 "quota of %llu",
			 (unsigned long long)used, (unsigned long long)size,
			 (unsigned long long)sc->quota);
		return MP_EQUOTA;
	}
	return MP_OK;
}

/* A new region (vnode, index) of size bytes, linked in and accounted: NULL when out of
 * memory (under the write lock). */
static struct mmon_pool_region *region_new(struct mmon_pool *p, uint64_t vnode, uint32_t index,
					   uint64_t size, unsigned state)
{
	struct mmon_pool_index_vnode *v = mmon_pool_index_vnode(&p->idx, vnode, 1);
	struct mmon_pool_region *r = v ? calloc(1, sizeof(*r)) : NULL;

	if (r)
		r->stored = calloc((size / MP_PAGE_SIZE + 63) / 64, sizeof(uint64_t));
	if (r && r->stored) {
		/* Sparse: pages cost memory only once written. */
		r->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r->base == MAP_FAILED)
			r->base = NULL;
	}
	if (!r || !r->stored || !r->base) {
		if (r)
			free(r->stored);
		free(r);
		mmon_pool_index_vnode_put(&p->idx, v);
		return NULL;
	}
	r->vnode = vnode;
	r->index = index;
	r->size = size;
	r->epoch = 1;
	r->refs = 1;
	atomic_store(&r->state, state);
	pthread_mutex_init(&r->fill_lock, NULL);
	r->handle = new_handle(p);
	mmon_pool_index_add(&p->idx, r);
	r->next = p->all;
	if (p->all)
		p->all->prev = r;
	p->all = r;
	p->reserved += size;
	p->nregions++;
	v->reserved += size;
	v->regions++;
	return r;
}

enum mem_proto_status mmon_pool_open(struct mmon_pool *p, const struct mmon_pool_scope *sc,
				     const struct mem_proto_open *req,
				     const struct mmon_pool_rma_conn *rma,
				     struct mem_proto_open_reply *out, char *err, size_t errlen)
{
	struct mmon_pool_region *r;
	enum mem_proto_status st = MP_OK;

	if (!mmon_pool_scope_covers(sc, req->index)) {
		snprintf(err, errlen, "vRegion %u is not covered by the connection's capability",
			 req->index);
		return MP_EACCES;
	}
	pthread_rwlock_wrlock(&p->lock);
	r = mmon_pool_index_find(&p->idx, sc->vnode, req->index, 0);
	if (r) {
		unsigned state = atomic_load(&r->state);

		if (r->size != req->size) {
			st = fail(err, errlen, MP_EINVAL, "the region exists with another size");
		} else if ((req->flags & MP_OPEN_JOIN) && state == MP_RS_LIVE) {
			st = fail(err, errlen, MP_EEXIST,
				  "this server already holds a live copy of the region");
		} else if ((req->flags & MP_OPEN_JOIN) && state == MP_RS_FAILED) {
			st = fail(err, errlen, MP_EBUSY,
				  "a copy whose fill failed is here: CLOSE it first");
		} else {
			fill_open_reply(r, out);
		}
		goto out;
	}
	r = mmon_pool_index_find(&p->idx, sc->vnode, req->index, 1);
	if (r && !(req->flags & MP_OPEN_JOIN)) {
		/* A client with an old map must learn where it went, never get a new, empty
		 * region in its place. Only a JOIN (a copy the control plane will fill) may
		 * bring it back here. */
		st = fail(err, errlen, MP_EREDIRECT, r->moved_to);
		goto out;
	}
	if (!(req->flags & MP_OPEN_CREATE)) {
		st = fail(err, errlen, MP_ENOENT, "no such region and CREATE not set");
		goto out;
	}
	st = check_quota(p, sc, req->size, err, errlen);
	if (st)
		goto out;
	if (req->size > p->bytes - p->reserved) {
		st = fail(err, errlen, MP_ENOSPC, "the pool has no room for a region of this size");
		goto out;
	}
	if (r)
		drop_moved(p, r);
	r = region_new(p, sc->vnode, req->index, req->size,
		       req->flags & MP_OPEN_JOIN ? MP_RS_JOINING : MP_RS_LIVE);
	if (!r) {
		st = fail(err, errlen, MP_EIO, "the server cannot map memory for the region");
		goto out;
	}
	fill_open_reply(r, out);
out:
	if (st == MP_OK && rma && rma->domain &&
	    mmon_pool_rma_register(r, rma, &out->rma_addr, &out->rma_key))
		out->rma_addr = out->rma_key = 0;
	pthread_rwlock_unlock(&p->lock);
	return st;
}

/* The checks every access to an existing region makes, in the order a client can act on. */
static enum mem_proto_status check_access(struct mmon_pool_region *r,
					  const struct mmon_pool_scope *sc, uint64_t epoch,
					  char *err, size_t errlen)
{
	if (!r)
		return fail(err, errlen, MP_ENOENT, "no such region handle");
	if (r->vnode != sc->vnode)
		return fail(err, errlen, MP_EACCES, "the region belongs to another vNode");
	if (!mmon_pool_scope_covers(sc, r->index)) {
		snprintf(err, errlen, "vRegion %u is not covered by the connection's capability",
			 r->index);
		return MP_EACCES;
	}
	if (!r->base)
		return fail(err, errlen, MP_EREDIRECT, r->moved_to);
	if (r->epoch != epoch)
		return fail(err, errlen, MP_ESTALE, "epoch mismatch: reopen the region");
	return MP_OK;
}

enum mem_proto_status mmon_pool_close(struct mmon_pool *p, const struct mmon_pool_scope *sc,
				      const struct mem_proto_close *req, char *err, size_t errlen)
{
	struct mmon_pool_region *r;
	enum mem_proto_status st;

	pthread_rwlock_wrlock(&p->lock);
	r = mmon_pool_index_handle(&p->idx, req->handle);
	st = check_access(r, sc, req->epoch, err, errlen);
	if (st == MP_OK) {
		unlink_region(p, r);
		unaccount(p, r);
		mmon_pool_rma_drop_all(r);
		/* A fill still running lets go of it at its next step. */
		atomic_store(&r->dead, true);
		atomic_store(&r->fill_abort, true);
		region_unref(r);
	}
	pthread_rwlock_unlock(&p->lock);
	return st;
}

enum mem_proto_status mmon_pool_io(struct mmon_pool *p, const struct mmon_pool_scope *sc,
				   const struct mem_proto_io *io, void *data, int write, char *err,
				   size_t errlen)
{
	uint64_t len = (uint64_t)io->npages * MP_PAGE_SIZE;
	struct mmon_pool_region *r;
	enum mem_proto_status st;

	pthread_rwlock_rdlock(&p->lock);
	r = mmon_pool_index_handle(&p->idx, io->handle);
	st = check_access(r, sc, io->epoch, err, errlen);
	if (st == MP_OK && (io->offset >= r->size || len > r->size - io->offset)) {
		st = fail(err, errlen, MP_ERANGE, "pages outside the region");
	}
	if (st == MP_OK) {
		unsigned state = atomic_load(&r->state);

		if (state == MP_RS_FAILED) {
			st = fail(err, errlen, MP_EBUSY,
				  "this copy's fill failed: it takes no more requests");
		} else if (!write && state != MP_RS_LIVE) {
			st = fail(err, errlen, MP_EBUSY,
				  "this copy is not filled yet: read another");
		}
	}
	if (st == MP_OK && write) {
		uint64_t first = io->offset / MP_PAGE_SIZE, added = 0;
		/* While a fill may run, its installs must not interleave with this copy. */
		bool filling = atomic_load(&r->state) != MP_RS_LIVE;

		if (filling)
			pthread_mutex_lock(&r->fill_lock);
		memcpy(r->base + io->offset, data, len);
		for (uint64_t pg = first; pg < first + io->npages; pg++) {
			uint64_t bit = 1ULL << (pg % 64);
			uint64_t old =
				__atomic_fetch_or(&r->stored[pg / 64], bit, __ATOMIC_RELAXED);

			added += !(old & bit);
		}
		if (filling)
			pthread_mutex_unlock(&r->fill_lock);
		__atomic_fetch_add(&p->stored_pages, added, __ATOMIC_RELAXED);
		atomic_fetch_add(&p->writes, 1);
	} else if (st == MP_OK) {
		memcpy(data, r->base + io->offset, len);
		atomic_fetch_add(&p->reads, 1);
	}
	pthread_rwlock_unlock(&p->lock);
	return st;
}

enum mem_proto_status mmon_pool_release(struct mmon_pool *p, const struct mmon_pool_scope *sc,
					const struct mem_proto_release *req, char *err,
					size_t errlen)
{
	struct mmon_pool_region *r;
	enum mem_proto_status st;

	pthread_rwlock_wrlock(&p->lock);
	r = mmon_pool_index_handle(&p->idx, req->handle);
	st = check_access(r, sc, req->epoch, err, errlen);
	if (st == MP_OK && atomic_load(&r->state) != MP_RS_LIVE) {
		st = fail(err, errlen, MP_EBUSY, "only a live copy can move away");
	}
	if (st == MP_OK) {
		/* An older record of this region moving away is superseded by this one. */
		struct mmon_pool_region *old = mmon_pool_index_find(&p->idx, r->vnode, r->index, 1);

		if (old)
			drop_moved(p, old);
		unaccount(p, r);
		region_free_memory(r);
		snprintf(r->moved_to, sizeof(r->moved_to), "%s", req->new_owner);
		r->mprev = p->moved_newest;
		if (p->moved_newest)
			p->moved_newest->mnext = r;
		else
			p->moved_oldest = r;
		p->moved_newest = r;
		/* The records of moved copies are small, but not kept without bound: the
		 * oldest goes (a client that old then gets ENOENT, still never zeros). */
		if (++p->moved > MMON_MAX_MOVED)
			drop_moved(p, p->moved_oldest);
	}
	pthread_rwlock_unlock(&p->lock);
	return st;
}

enum mem_proto_status mmon_pool_rstat(struct mmon_pool *p, const struct mmon_pool_scope *sc,
				      uint32_t index, struct mem_proto_rstat_reply *out, char *err,
				      size_t errlen)
{
	struct mmon_pool_region *r;
	enum mem_proto_status st = MP_OK;

	memset(out, 0, sizeof(*out));
	if (!mmon_pool_scope_covers(sc, index)) {
		snprintf(err, errlen, "vRegion %u is not covered by the connection's capability",
			 index);
		return MP_EACCES;
	}
	pthread_rwlock_rdlock(&p->lock);
	r = mmon_pool_index_find(&p->idx, sc->vnode, index, 0);
	if (!r) {
		st = fail(err, errlen, MP_ENOENT, "this server holds no such region of the vNode");
	} else {
		out->state = atomic_load(&r->state);
		out->handle = r->handle;
		out->epoch = r->epoch;
		out->size = r->size;
		for (uint64_t i = 0; i < (r->size / MP_PAGE_SIZE + 63) / 64; i++)
			out->stored_pages += (uint64_t)__builtin_popcountll(
				__atomic_load_n(&r->stored[i], __ATOMIC_RELAXED));
		out->fill_done = atomic_load(&r->fill_done);
		out->fill_total = atomic_load(&r->fill_total);
		if (out->fill_done > out->fill_total)
			out->fill_done = out->fill_total;
		if (out->state == MP_RS_FAILED) {
			pthread_mutex_lock(&r->fill_lock);
			snprintf(out->error, sizeof(out->error), "%s",
				 r->fill_error ? r->fill_error : "");
			pthread_mutex_unlock(&r->fill_lock);
		}
	}
	pthread_rwlock_unlock(&p->lock);
	return st;
}

enum mem_proto_status mmon_pool_bitmap(struct mmon_pool *p, const struct mmon_pool_scope *sc,
				       const struct mem_proto_bitmap *req, uint8_t *out, char *err,
				       size_t errlen)
{
	struct mmon_pool_region *r;
	enum mem_proto_status st;

	pthread_rwlock_rdlock(&p->lock);
	r = mmon_pool_index_handle(&p->idx, req->handle);
	st = check_access(r, sc, req->epoch, err, errlen);
	if (st == MP_OK) {
		uint64_t words = (r->size / MP_PAGE_SIZE + 63) / 64;

		if (req->first / 64 >= words || req->npages / 64 > words - req->first / 64) {
			st = fail(err, errlen, MP_ERANGE, "pages outside the region");
		}
	}
	if (st == MP_OK && atomic_load(&r->state) != MP_RS_LIVE) {
		st = fail(err, errlen, MP_EBUSY, "this copy is not filled yet: ask another");
	}
	for (uint64_t w = 0; st == MP_OK && w < req->npages / 64; w++)
		wire_put_le64(out + 8 * w,
			      __atomic_load_n(&r->stored[req->first / 64 + w], __ATOMIC_RELAXED));
	pthread_rwlock_unlock(&p->lock);
	return st;
}

enum mem_proto_status mmon_pool_fill_begin(struct mmon_pool *p, uint64_t vnode, uint32_t index,
					   struct mmon_pool_region **out, char *err, size_t errlen)
{
	struct mmon_pool_region *r;
	unsigned joining = MP_RS_JOINING;
	enum mem_proto_status st = MP_OK;

	*out = NULL;
	pthread_rwlock_wrlock(&p->lock);
	r = mmon_pool_index_find(&p->idx, vnode, index, 0);
	if (!r) {
		st = fail(err, errlen, MP_ENOENT,
			  "no copy of the region here: OPEN it with JOIN first");
	} else if (!atomic_compare_exchange_strong(&r->state, &joining, MP_RS_FILLING)) {
		st = joining == MP_RS_LIVE
			     ? fail(err, errlen, MP_EEXIST, "this copy is live: it needs no fill")
			     : fail(err, errlen, MP_EBUSY,
				    "this copy is being filled, or its fill failed");
	} else {
		r->refs++;
		*out = r;
	}
	pthread_rwlock_unlock(&p->lock);
	return st;
}

enum mem_proto_status mmon_pool_fill_install(struct mmon_pool *p, struct mmon_pool_region *r,
					     uint64_t first, uint32_t n, const void *data,
					     uint64_t *installed)
{
	uint64_t added = 0;

	*installed = 0;
	if (first >= r->size / MP_PAGE_SIZE || n > r->size / MP_PAGE_SIZE - first)
		return MP_ERANGE;
	/* The read lock keeps CLOSE (and its accounting) out while pages go in. */
	pthread_rwlock_rdlock(&p->lock);
	if (atomic_load(&r->fill_abort) || atomic_load(&r->dead)) {
		pthread_rwlock_unlock(&p->lock);
		return MP_ENOENT;
	}
	pthread_mutex_lock(&r->fill_lock);
	for (uint64_t pg = first; pg < first + n; pg++) {
		uint64_t bit = 1ULL << (pg % 64);

		/* A page the vNode wrote here is newer than the source's. */
		if (__atomic_load_n(&r->stored[pg / 64], __ATOMIC_RELAXED) & bit)
			continue;
		memcpy(r->base + pg * MP_PAGE_SIZE,
		       (const uint8_t *)data + (pg - first) * MP_PAGE_SIZE, MP_PAGE_SIZE);
		__atomic_fetch_or(&r->stored[pg / 64], bit, __ATOMIC_RELAXED);
		added++;
	}
	pthread_mutex_unlock(&r->fill_lock);
	__atomic_fetch_add(&p->stored_pages, added, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&p->lock);
	*installed = added;
	return MP_OK;
}

void mmon_pool_fill_end(struct mmon_pool *p, struct mmon_pool_region *r, const char *error)
{
	pthread_rwlock_wrlock(&p->lock);
	if (!atomic_load(&r->dead)) {
		pthread_mutex_lock(&r->fill_lock);
		if (error && !r->fill_error)
			r->fill_error = strndup(error, MP_ERRTEXT_MAX);
		atomic_store(&r->state, error ? MP_RS_FAILED : MP_RS_LIVE);
		pthread_mutex_unlock(&r->fill_lock);
	}
	region_unref(r);
	pthread_rwlock_unlock(&p->lock);
}

void mmon_pool_rma_forget(struct mmon_pool *p, uint64_t handle, uint64_t conn)
{
	struct mmon_pool_region *r;

	pthread_rwlock_wrlock(&p->lock);
	r = mmon_pool_index_handle(&p->idx, handle);
	if (r)
		mmon_pool_rma_drop(r, conn);
	pthread_rwlock_unlock(&p->lock);
}

void mmon_pool_stat(struct mmon_pool *p, struct mem_proto_stat_reply *out)
{
	pthread_rwlock_rdlock(&p->lock);
	out->pool_bytes = p->bytes;
	out->reserved_bytes = p->reserved;
	out->stored_bytes = __atomic_load_n(&p->stored_pages, __ATOMIC_RELAXED) * MP_PAGE_SIZE;
	out->regions = p->nregions;
	pthread_rwlock_unlock(&p->lock);
	out->reads = atomic_load(&p->reads);
	out->writes = atomic_load(&p->writes);
	out->errors = atomic_load(&p->errors);
}
