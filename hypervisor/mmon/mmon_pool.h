/* mmon_pool.h: a memory server's pool: sparse vRegions owned by vNodes, with epochs.
 *
 * A region is created for (vNode, index) and named on the wire by a handle the server
 * picks at random; every access names the handle and the epoch the caller believes in, and
 * is checked against the caller's scope (its vNode and what its capability covers), the
 * region's state, epoch and bounds. Regions are found through hash indexes
 * (mmon_pool_index.h); the records of copies that moved away are kept for their redirects,
 * at most MMON_MAX_MOVED of them (the oldest go first). Thread-safe.
 *
 * A region created with JOIN is a new copy of one that lives on another server: it takes
 * writes at once and is filled from the other copy (mmon_fill.c) before it answers reads.
 * The stored bitmap is what makes that safe: a page the vNode wrote here is never
 * replaced by the fill's (older) copy of it. Fill and writes of a region that is not live
 * serialise on its fill_lock; a live region's writes never take it.
 */
#ifndef LEGO_MMON_POOL_H
#define LEGO_MMON_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/proto/mem_proto.h"
#include "mmon_pool_index.h"
#include "mmon_pool_rma.h"

#define MMON_MAX_MOVED 65536 /* records of moved copies kept, for their redirects */

struct mmon_pool_region {
	uint64_t handle;
	uint64_t vnode;
	uint32_t index;
	uint64_t size;
	uint64_t epoch;
	uint8_t *base;			 /* NULL once released */
	uint64_t *stored;		 /* bitmap: pages written at least once */
	char moved_to[MP_OWNER_LEN + 1]; /* set when released to another server */
	atomic_uint state;		 /* mp_region_state */
	int refs;			 /* the table's and a running fill's (under lock) */
	atomic_bool dead;		 /* closed: gone from the table, freed at refs 0 */
	pthread_mutex_t fill_lock;	 /* a fill's installs vs. writes, while not live */
	/* The fill (mmon_fill.c), while one runs or ran: */
	atomic_bool fill_abort;
	atomic_uint_fast64_t fill_done, fill_total;
	char *fill_error; /* set (under fill_lock) when it failed */
	struct mmon_pool_rma *rma;
	/* Links, under the pool's lock: every region; the hash chains; moved records. */
	struct mmon_pool_region *prev, *next, *hnext, *inext, *mprev, *mnext;
};

/* What one connection may touch: its vNode's regions, and with a capability only the
 * indexes it covers, regions up to region_max bytes, quota bytes in all. */
struct mmon_pool_scope {
	uint64_t vnode;
	bool limited; /* false: no capability checks (lego-mmon --insecure-no-capabilities) */
	uint32_t first, count;
	uint64_t region_max, quota;
};

struct mmon_pool {
	pthread_rwlock_t lock;
	uint64_t bytes;	   /* capacity */
	uint64_t reserved; /* sum of live region sizes */
	uint64_t stored_pages;
	uint64_t nregions;
	uint64_t moved; /* records of copies released to other servers */
	struct mmon_pool_index idx;
	struct mmon_pool_region *all, *moved_oldest, *moved_newest;
	atomic_uint_fast64_t reads, writes, errors;
};

/* 0, or -1 when out of memory. */
int mmon_pool_init(struct mmon_pool *p, uint64_t bytes);
void mmon_pool_destroy(struct mmon_pool *p);

/* Each request returns MP_OK or the status to answer with, err saying why. */
/* Open (vnode, index), creating it when create is set and the pool and the scope's quota
 * have room. With rma, the region is registered for that connection's RMA reads and the
 * reply carries their address and key. */
enum mem_proto_status mmon_pool_open(struct mmon_pool *p, const struct mmon_pool_scope *sc,
				     const struct mem_proto_open *req,
				     const struct mmon_pool_rma_conn *rma,
				     struct mem_proto_open_reply *out, char *err, size_t errlen);
enum mem_proto_status mmon_pool_close(struct mmon_pool *p, const struct mmon_pool_scope *sc,
				      const struct mem_proto_close *req, char *err, size_t errlen);
/* Copy npages pages out of (read) or into (write) the region. */
enum mem_proto_status mmon_pool_io(struct mmon_pool *p, const struct mmon_pool_scope *sc,
				   const struct mem_proto_io *io, void *data, int write, char *err,
				   size_t errlen);
/* Give a region up to another server: its memory is freed and later requests for it get
 * MP_EREDIRECT naming new_owner. */
enum mem_proto_status mmon_pool_release(struct mmon_pool *p, const struct mmon_pool_scope *sc,
					const struct mem_proto_release *req, char *err,
					size_t errlen);
void mmon_pool_stat(struct mmon_pool *p, struct mem_proto_stat_reply *out);
/* What this server holds of (vnode, index). */
enum mem_proto_status mmon_pool_rstat(struct mmon_pool *p, const struct mmon_pool_scope *sc,
				      uint32_t index, struct mem_proto_rstat_reply *out, char *err,
				      size_t errlen);
/* The stored bits of npages pages from first into out (npages / 8 bytes). */
enum mem_proto_status mmon_pool_bitmap(struct mmon_pool *p, const struct mmon_pool_scope *sc,
				       const struct mem_proto_bitmap *req, uint8_t *out, char *err,
				       size_t errlen);
/* A connection's RMA registration of handle, dropped when it ends. */
void mmon_pool_rma_forget(struct mmon_pool *p, uint64_t handle, uint64_t conn);
/* Whether the scope covers vRegion index. */
bool mmon_pool_scope_covers(const struct mmon_pool_scope *sc, uint32_t index);

/* For the fill: take the joining region (vnode, index) into *out if it can start a fill,
 * marking it FILLING; install n pages at page first unless the vNode already wrote them;
 * the end of the fill (error NULL: it is live). */
enum mem_proto_status mmon_pool_fill_begin(struct mmon_pool *p, uint64_t vnode, uint32_t index,
					   struct mmon_pool_region **out, char *err, size_t errlen);
enum mem_proto_status mmon_pool_fill_install(struct mmon_pool *p, struct mmon_pool_region *r,
					     uint64_t first, uint32_t n, const void *data,
					     uint64_t *installed);
void mmon_pool_fill_end(struct mmon_pool *p, struct mmon_pool_region *r, const char *error);

#endif
