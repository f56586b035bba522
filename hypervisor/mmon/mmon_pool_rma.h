/* mmon_pool_rma.h: a region's registrations for one-sided RMA reads, one per connection that
 * opened it, each in that connection's own domain (its protection domain on verbs), so that
 * a key opens the region to that connection only. Only on providers with native RMA that
 * give connections domains of their own (fabric_conn_domain); never on tcp, whose keys are
 * small integers shared by every connection. Under the pool's write lock. */
#ifndef LEGO_MMON_POOL_RMA_H
#define LEGO_MMON_POOL_RMA_H

#include <stdint.h>

struct fab_domain;
struct fab_mr;
struct mmon_pool_region;

/* One registration. */
struct mmon_pool_rma {
	uint64_t conn; /* the connection's tag */
	struct fab_mr *mr;
	uint64_t addr, key;
	struct mmon_pool_rma *next;
};

/* A connection that reads by RMA: its domain and a tag unique in the process. */
struct mmon_pool_rma_conn {
	struct fab_domain *domain;
	uint64_t tag;
};

/* Register r for c (once; later calls give the same address and key): 0 or -1. */
int mmon_pool_rma_register(struct mmon_pool_region *r, const struct mmon_pool_rma_conn *c,
			   uint64_t *addr, uint64_t *key);
/* Drop c's registration of r, or every registration of r. */
void mmon_pool_rma_drop(struct mmon_pool_region *r, uint64_t conn);
void mmon_pool_rma_drop_all(struct mmon_pool_region *r);

#endif
