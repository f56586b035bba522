/* mmon_pool_index.c: chained hash tables of the pool's regions and vNodes. */
#include "mmon_pool_index.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "mmon_pool.h"

#define START_BUCKETS 64

/* splitmix64's finalizer over the key and the pool's seed. */
static uint64_t mix(uint64_t seed, uint64_t a, uint64_t b)
{
	uint64_t z = seed ^ a ^ (b * 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t slot_handle(const struct mmon_pool_index *x, size_t n, uint64_t handle)
{
	return mix(x->seed, handle, 0) & (n - 1);
}

static size_t slot_index(const struct mmon_pool_index *x, size_t n, uint64_t vnode, uint32_t index)
{
	return mix(x->seed, vnode, (uint64_t)index + 1) & (n - 1);
}

int mmon_pool_index_init(struct mmon_pool_index *x)
{
	memset(x, 0, sizeof(*x));
	if (getrandom(&x->seed, sizeof(x->seed), 0) != sizeof(x->seed))
		x->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	x->nbuckets = x->nvbuckets = START_BUCKETS;
	x->by_handle = calloc(x->nbuckets, sizeof(*x->by_handle));
	x->by_index = calloc(x->nbuckets, sizeof(*x->by_index));
	x->vnodes = calloc(x->nvbuckets, sizeof(*x->vnodes));
	if (!x->by_handle || !x->by_index || !x->vnodes) {
		mmon_pool_index_destroy(x);
		return -1;
	}
	return 0;
}

void mmon_pool_index_destroy(struct mmon_pool_index *x)
{
	for (size_t i = 0; x->vnodes && i < x->nvbuckets; i++)
		while (x->vnodes[i]) {
			struct mmon_pool_index_vnode *v = x->vnodes[i];

			x->vnodes[i] = v->next;
			free(v);
		}
	free(x->by_handle);
	free(x->by_index);
	free(x->vnodes);
	memset(x, 0, sizeof(*x));
}

/* Both region tables at twice the size; the old ones stay if memory runs out. */
static void grow(struct mmon_pool_index *x)
{
	size_t n = x->nbuckets * 2;
	struct mmon_pool_region **h = calloc(n, sizeof(*h)), **ix = calloc(n, sizeof(*ix));

	if (!h || !ix) {
		free(h);
		free(ix);
		return;
	}
	for (size_t i = 0; i < x->nbuckets; i++) {
		while (x->by_handle[i]) {
			struct mmon_pool_region *r = x->by_handle[i];
			size_t s = slot_handle(x, n, r->handle);

			x->by_handle[i] = r->hnext;
			r->hnext = h[s];
			h[s] = r;
		}
		while (x->by_index[i]) {
			struct mmon_pool_region *r = x->by_index[i];
			size_t s = slot_index(x, n, r->vnode, r->index);

			x->by_index[i] = r->inext;
			r->inext = ix[s];
			ix[s] = r;
		}
	}
	free(x->by_handle);
	free(x->by_index);
	x->by_handle = h;
	x->by_index = ix;
	x->nbuckets = n;
}

int mmon_pool_index_add(struct mmon_pool_index *x, struct mmon_pool_region *r)
{
	size_t s;

	if (x->nregions >= x->nbuckets)
		grow(x);
	s = slot_handle(x, x->nbuckets, r->handle);
	r->hnext = x->by_handle[s];
	x->by_handle[s] = r;
	s = slot_index(x, x->nbuckets, r->vnode, r->index);
	r->inext = x->by_index[s];
	x->by_index[s] = r;
	x->nregions++;
	return 0;
}

void mmon_pool_index_remove(struct mmon_pool_index *x, struct mmon_pool_region *r)
{
	struct mmon_pool_region **pp = &x->by_handle[slot_handle(x, x->nbuckets, r->handle)];

	while (*pp && *pp != r)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = r->hnext;
	pp = &x->by_index[slot_index(x, x->nbuckets, r->vnode, r->index)];
	while (*pp && *pp != r)
		pp = &(*pp)->inext;
	if (*pp)
		*pp = r->inext;
	r->hnext = r->inext = NULL;
	x->nregions--;
}

struct mmon_pool_region *mmon_pool_index_handle(const struct mmon_pool_index *x, uint64_t handle)
{
	struct mmon_pool_region *r = x->by_handle[slot_handle(x, x->nbuckets, handle)];

	while (r && r->handle != handle)
		r = r->hnext;
	return r;
}

struct mmon_pool_region *mmon_pool_index_find(const struct mmon_pool_index *x, uint64_t vnode,
					      uint32_t index, int moved)
{
	struct mmon_pool_region *r = x->by_index[slot_index(x, x->nbuckets, vnode, index)];

	while (r && (r->vnode != vnode || r->index != index || !r->base != !!moved))
		r = r->inext;
	return r;
}

static size_t slot_vnode(const struct mmon_pool_index *x, size_t n, uint64_t vnode)
{
	return mix(x->seed, vnode, 0x76) & (n - 1);
}

static void grow_vnodes(struct mmon_pool_index *x)
{
	size_t n = x->nvbuckets * 2;
	struct mmon_pool_index_vnode **t = calloc(n, sizeof(*t));

	if (!t)
		return;
	for (size_t i = 0; i < x->nvbuckets; i++)
		while (x->vnodes[i]) {
			struct mmon_pool_index_vnode *v = x->vnodes[i];
			size_t s = slot_vnode(x, n, v->vnode);

			x->vnodes[i] = v->next;
			v->next = t[s];
			t[s] = v;
		}
	free(x->vnodes);
	x->vnodes = t;
	x->nvbuckets = n;
}

struct mmon_pool_index_vnode *mmon_pool_index_vnode(struct mmon_pool_index *x, uint64_t vnode,
						    int create)
{
	struct mmon_pool_index_vnode *v = x->vnodes[slot_vnode(x, x->nvbuckets, vnode)];
	size_t s;

	while (v && v->vnode != vnode)
		v = v->next;
	if (v || !create)
		return v;
	if (x->nvnodes >= x->nvbuckets)
		grow_vnodes(x);
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->vnode = vnode;
	s = slot_vnode(x, x->nvbuckets, vnode);
	v->next = x->vnodes[s];
	x->vnodes[s] = v;
	x->nvnodes++;
	return v;
}

void mmon_pool_index_vnode_put(struct mmon_pool_index *x, struct mmon_pool_index_vnode *v)
{
	struct mmon_pool_index_vnode **pp;

	if (!v || v->regions || v->reserved)
		return;
	pp = &x->vnodes[slot_vnode(x, x->nvbuckets, v->vnode)];
	while (*pp && *pp != v)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = v->next;
		x->nvnodes--;
		free(v);
	}
}
