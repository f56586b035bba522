/* mmon_pool.c: region table, capacity accounting and checked page copies. */
#include "mmon_pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/proto/wire.h"

void mmon_pool_init(struct mmon_pool *p, uint64_t bytes, uint64_t handle_seed,
		    struct fab_domain *rma)
{
	memset(p, 0, sizeof(*p));
	pthread_rwlock_init(&p->lock, NULL);
	p->bytes = bytes;
	/* Handles start at a per-run random point so a stale client cannot hit a new region. */
	p->next_handle = (handle_seed << 20) | 1;
	p->rma = rma;
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
	fabric_mr_close(r->mr);
	r->mr = NULL;
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
		for (r = p->regions; r; r = r->next) {
			atomic_store(&r->fill_abort, true);
			busy |= r->refs > 1;
		}
		pthread_rwlock_unlock(&p->lock);
		if (!busy)
			break;
		usleep(10000);
	}
	r = p->regions;
	while (r) {
		struct mmon_pool_region *next = r->next;

		region_free(r);
		r = next;
	}
	pthread_rwlock_destroy(&p->lock);
	memset(p, 0, sizeof(*p));
}

static struct mmon_pool_region *find_handle(struct mmon_pool *p, uint64_t handle)
{
	for (struct mmon_pool_region *r = p->regions; r; r = r->next)
		if (r->handle == handle)
			return r;
	return NULL;
}

static struct mmon_pool_region *find_index(struct mmon_pool *p, uint64_t vnode, uint32_t index)
{
	for (struct mmon_pool_region *r = p->regions; r; r = r->next)
		if (r->vnode == vnode && r->index == index && r->base)
			return r;
	return NULL;
}

/* The newest copy of (vnode, index) that moved away from here, if any. */
static struct mmon_pool_region *find_moved(struct mmon_pool *p, uint64_t vnode, uint32_t index)
{
	for (struct mmon_pool_region *r = p->regions; r; r = r->next)
		if (r->vnode == vnode && r->index == index && !r->base)
			return r;
	return NULL;
}

/* Unlink and free a moved copy's record (under the write lock). */
static void drop_moved(struct mmon_pool *p, struct mmon_pool_region *r)
{
	struct mmon_pool_region **pp;

	for (pp = &p->regions; *pp != r; pp = &(*pp)->next)
		;
	*pp = r->next;
	p->moved--;
	region_unref(r);
}

static void fill_open_reply(const struct mmon_pool_region *r, struct mem_proto_open_reply *out)
{
	out->handle = r->handle;
	out->epoch = r->epoch;
	out->size = r->size;
	out->rma_addr = r->rma_addr;
	out->rma_key = r->rma_key;
}

enum mem_proto_status mmon_pool_open(struct mmon_pool *p, uint64_t vnode,
				     const struct mem_proto_open *req,
				     struct mem_proto_open_reply *out, char *err, size_t errlen)
{
	struct mmon_pool_region *r;
	enum mem_proto_status st = MP_OK;

	pthread_rwlock_wrlock(&p->lock);
	r = find_index(p, vnode, req->index);
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
	r = find_moved(p, vnode, req->index);
	if (r && !(req->flags & MP_OPEN_JOIN)) {
		/* A client with an old map must learn where it went, never get a new, empty
		 * region in its place. Only a JOIN (a copy the control plane will fill) may
		 * bring it back here. */
		st = fail(err, errlen, MP_EREDIRECT, r->moved_to);
		goto out;
	}
	if (r)
		drop_moved(p, r);
	if (!(req->flags & MP_OPEN_CREATE)) {
		st = fail(err, errlen, MP_ENOENT, "no such region and CREATE not set");
		goto out;
	}
	if (req->size > p->bytes - p->reserved) {
		st = fail(err, errlen, MP_ENOSPC, "the pool has no room for a region of this size");
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (r)
		r->stored = calloc((req->size / MP_PAGE_SIZE + 63) / 64, sizeof(uint64_t));
	if (r && r->stored) {
		/* Sparse: pages cost memory only once written. */
		r->base = mmap(NULL, req->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r->base == MAP_FAILED)
			r->base = NULL;
	}
	if (!r || !r->stored || !r->base) {
		if (r)
			free(r->stored);
		free(r);
		st = fail(err, errlen, MP_EIO, "the server cannot map memory for the region");
		goto out;
	}
	r->vnode = vnode;
	r->index = req->index;
	r->size = req->size;
	r->epoch = 1;
	r->refs = 1;
	atomic_store(&r->state, req->flags & MP_OPEN_JOIN ? MP_RS_JOINING : MP_RS_LIVE);
	pthread_mutex_init(&r->fill_lock, NULL);
	r->handle = p->next_handle++;
	if (p->rma && fabric_mr_reg(p->rma, r->base, r->size, &r->mr, &r->rma_addr, &r->rma_key)) {
		log_warn("region %llx: RMA registration failed; it is served by messages only",
			 (unsigned long long)r->handle);
		r->mr = NULL;
	}
	if (!r->mr)
		r->rma_addr = r->rma_key = 0;
	r->next = p->regions;
	p->regions = r;
	p->reserved += r->size;
	p->nregions++;
	fill_open_reply(r, out);
	if (!r->mr)
		out->rma_key = out->rma_addr = 0;
out:
	pthread_rwlock_unlock(&p->lock);
	return st;
}

/* The checks every access to an existing region makes, in the order a client can act on. */
static enum mem_proto_status check_access(struct mmon_pool_region *r, uint64_t vnode,
					  uint64_t epoch, char *err, size_t errlen)
{
	if (!r)
		return fail(err, errlen, MP_ENOENT, "no such region handle");
	if (r->vnode != vnode)
		return fail(err, errlen, MP_EACCES, "the region belongs to another vNode");
	if (!r->base)
		return fail(err, errlen, MP_EREDIRECT, r->moved_to);
	if (r->epoch != epoch)
		return fail(err, errlen, MP_ESTALE, "epoch mismatch: reopen the region");
	return MP_OK;
}

enum mem_proto_status mmon_pool_close(struct mmon_pool *p, uint64_t vnode,
				      const struct mem_proto_close *req, char *err, size_t errlen)
{
	struct mmon_pool_region **pp, *r;
	enum mem_proto_status st;

	pthread_rwlock_wrlock(&p->lock);
	r = find_handle(p, req->handle);
	st = check_access(r, vnode, req->epoch, err, errlen);
	if (st == MP_OK) {
		for (pp = &p->regions; *pp != r; pp = &(*pp)->next)
			;
		*pp = r->next;
		p->reserved -= r->size;
		p->nregions--;
		for (uint64_t i = 0; i < (r->size / MP_PAGE_SIZE + 63) / 64; i++)
			p->stored_pages -= (uint64_t)__builtin_popcountll(r->stored[i]);
		/* A fill still running lets go of it at its next step. */
		atomic_store(&r->dead, true);
		atomic_store(&r->fill_abort, true);
		region_unref(r);
	}
	pthread_rwlock_unlock(&p->lock);
	return st;
}

enum mem_proto_status mmon_pool_io(struct mmon_pool *p, uint64_t vnode,
				   const struct mem_proto_io *io, void *data, int write, char *err,
				   size_t errlen)
{
	uint64_t len = (uint64_t)io->npages * MP_PAGE_SIZE;
	struct mmon_pool_region *r;
	enum mem_proto_status st;

	pthread_rwlock_rdlock(&p->lock);
	r = find_handle(p, io->handle);
	st = check_access(r, vnode, io->epoch, err, errlen);
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

enum mem_proto_status mmon_pool_release(struct mmon_pool *p, uint64_t vnode,
					const struct mem_proto_release *req, char *err,
					size_t errlen)
{
	struct mmon_pool_region *r;
	enum mem_proto_status st;

	pthread_rwlock_wrlock(&p->lock);
	r = find_handle(p, req->handle);
	st = check_access(r, vnode, req->epoch, err, errlen);
	if (st == MP_OK && atomic_load(&r->state) != MP_RS_LIVE) {
		st = fail(err, errlen, MP_EBUSY, "only a live copy can move away");
	}
	if (st == MP_OK) {
		p->reserved -= r->size;
		for (uint64_t i = 0; i < (r->size / MP_PAGE_SIZE + 63) / 64; i++)
			p->stored_pages -= (uint64_t)__builtin_popcountll(r->stored[i]);
		p->nregions--;
		region_free_memory(r);
		snprintf(r->moved_to, sizeof(r->moved_to), "%s", req->new_owner);
		/* The records of moved copies are small, but not kept without bound: the
		 * oldest goes (a client that old then gets ENOENT, still never zeros). */
		if (++p->moved > MMON_MAX_MOVED) {
			struct mmon_pool_region *old = NULL;

			for (struct mmon_pool_region *m = p->regions; m; m = m->next)
				if (!m->base && m != r)
					old = m;
			if (old)
				drop_moved(p, old);
		}
	}
	pthread_rwlock_unlock(&p->lock);
	return st;
}

enum mem_proto_status mmon_pool_rstat(struct mmon_pool *p, uint64_t vnode, uint32_t index,
				      struct mem_proto_rstat_reply *out, char *err, size_t errlen)
{
	struct mmon_pool_region *r;
	enum mem_proto_status st = MP_OK;

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&p->lock);
	r = find_index(p, vnode, index);
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
			snprintf(out->error, sizeof(out->error), "%s", r->fill_error);
			pthread_mutex_unlock(&r->fill_lock);
		}
	}
	pthread_rwlock_unlock(&p->lock);
	return st;
}

enum mem_proto_status mmon_pool_bitmap(struct mmon_pool *p, uint64_t vnode,
				       const struct mem_proto_bitmap *req, uint8_t *out, char *err,
				       size_t errlen)
{
	struct mmon_pool_region *r;
	enum mem_proto_status st;

	pthread_rwlock_rdlock(&p->lock);
	r = find_handle(p, req->handle);
	st = check_access(r, vnode, req->epoch, err, errlen);
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
	r = find_index(p, vnode, index);
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
		if (error)
			snprintf(r->fill_error, sizeof(r->fill_error), "%s", error);
		atomic_store(&r->state, error ? MP_RS_FAILED : MP_RS_LIVE);
		pthread_mutex_unlock(&r->fill_lock);
	}
	region_unref(r);
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
