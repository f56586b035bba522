/* mmon_pool_index.h: the pool's hash indexes: regions by handle, by (vNode, index), and
 * each vNode's reserved bytes (for its capability's quota). Keyed with a random seed per
 * pool, so that clients cannot aim their ids at one chain; grown as they fill. The caller
 * holds the pool's lock (write lock for changes). */
#ifndef LEGO_MMON_POOL_INDEX_H
#define LEGO_MMON_POOL_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct mmon_pool_region;

/* A vNode's use of this pool. */
struct mmon_pool_index_vnode {
	uint64_t vnode;
	uint64_t reserved; /* bytes of its live regions */
	uint32_t regions;
	struct mmon_pool_index_vnode *next;
};

struct mmon_pool_index {
	uint64_t seed;
	size_t nbuckets, nregions; /* both region tables have nbuckets */
	struct mmon_pool_region **by_handle, **by_index;
	size_t nvbuckets, nvnodes;
	struct mmon_pool_index_vnode **vnodes;
};

/* 0, or -1 when out of memory. */
int mmon_pool_index_init(struct mmon_pool_index *x);
void mmon_pool_index_destroy(struct mmon_pool_index *x);

/* A region in or out of both region tables (its handle, vnode and index set). */
int mmon_pool_index_add(struct mmon_pool_index *x, struct mmon_pool_region *r);
void mmon_pool_index_remove(struct mmon_pool_index *x, struct mmon_pool_region *r);
struct mmon_pool_region *mmon_pool_index_handle(const struct mmon_pool_index *x, uint64_t handle);
/* The live (moved: released) region of (vnode, index), or NULL. */
struct mmon_pool_region *mmon_pool_index_find(const struct mmon_pool_index *x, uint64_t vnode,
					      uint32_t index, int moved);

/* A vNode's use (created at 0 when create is set; NULL when out of memory or absent), and
 * its release once it holds nothing. */
struct mmon_pool_index_vnode *mmon_pool_index_vnode(struct mmon_pool_index *x, uint64_t vnode,
						    int create);
void mmon_pool_index_vnode_put(struct mmon_pool_index *x, struct mmon_pool_index_vnode *v);

#endif
