/* mmon_pool.h: a memory server's pool: sparse vRegions owned by vNodes, with epochs.
 *
 * A region is created for (vNode, index) and named on the wire by a handle the server
 * picks; every access names the handle and the epoch the caller believes in, and is
 * checked against the region's owner, state, epoch and bounds. Thread-safe.
 */
#ifndef LEGO_MMON_POOL_H
#define LEGO_MMON_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mem_proto.h"

struct fab_domain;

struct mmon_region {
	uint64_t handle;
	uint64_t vnode;
	uint32_t index;
	uint64_t size;
	uint64_t epoch;
	uint8_t *base; /* NULL once released */
	struct fab_mr *mr;
	uint64_t rma_addr, rma_key;
	uint64_t *stored;		/* bitmap: pages written at least once */
	char moved_to[MP_NAME_LEN + 1]; /* set when released to another server */
	struct mmon_region *next;
};

struct mmon_pool {
	pthread_rwlock_t lock;
	uint64_t bytes;	   /* capacity */
	uint64_t reserved; /* sum of live region sizes */
	uint64_t stored_pages;
	uint64_t nregions;
	uint64_t next_handle;
	struct mmon_region *regions;
	struct fab_domain *rma; /* regions are registered for RMA here when set */
	atomic_uint_fast64_t reads, writes, errors;
};

void mmon_pool_init(struct mmon_pool *p, uint64_t bytes, uint64_t handle_seed,
		    struct fab_domain *rma);
void mmon_pool_destroy(struct mmon_pool *p);

/* Open (vnode, index), creating it when create is set and the pool has room. */
enum mp_status mmon_pool_open(struct mmon_pool *p, uint64_t vnode, const struct mp_open *req,
			      struct mp_open_reply *out, const char **err);
enum mp_status mmon_pool_close(struct mmon_pool *p, uint64_t vnode, const struct mp_close *req,
			       const char **err);
/* Copy npages pages out of (read) or into (write) the region. */
enum mp_status mmon_pool_io(struct mmon_pool *p, uint64_t vnode, const struct mp_io *io, void *data,
			    int write, const char **err);
/* Give a region up to another server: its memory is freed and later requests for it get
 * MP_EREDIRECT naming new_owner. */
enum mp_status mmon_pool_release(struct mmon_pool *p, uint64_t handle, const char *new_owner);
void mmon_pool_stat(struct mmon_pool *p, struct mp_stat_reply *out);

#endif
