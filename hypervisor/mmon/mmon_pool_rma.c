/* mmon_pool_rma.c: per-connection RMA registrations of a region. */
#include "mmon_pool_rma.h"

#include <stdlib.h>

#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "mmon_pool.h"

int mmon_pool_rma_register(struct mmon_pool_region *r, const struct mmon_pool_rma_conn *c,
			   uint64_t *addr, uint64_t *key)
{
	struct mmon_pool_rma *m;

	for (m = r->rma; m; m = m->next)
		if (m->conn == c->tag) {
			*addr = m->addr;
			*key = m->key;
			return 0;
		}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	if (fabric_mr_reg(c->domain, r->base, r->size, &m->mr, &m->addr, &m->key)) {
		log_warn("region %llx: RMA registration failed; it is served by messages only",
			 (unsigned long long)r->handle);
		free(m);
		return -1;
	}
	m->conn = c->tag;
	m->next = r->rma;
	r->rma = m;
	*addr = m->addr;
	*key = m->key;
	return 0;
}

void mmon_pool_rma_drop(struct mmon_pool_region *r, uint64_t conn)
{
	struct mmon_pool_rma **pp = &r->rma;

	while (*pp) {
		struct mmon_pool_rma *m = *pp;

		if (m->conn == conn) {
			*pp = m->next;
			fabric_mr_close(m->mr);
			free(m);
		} else {
			pp = &m->next;
		}
	}
}

void mmon_pool_rma_drop_all(struct mmon_pool_region *r)
{
	while (r->rma) {
		struct mmon_pool_rma *m = r->rma;

		r->rma = m->next;
		fabric_mr_close(m->mr);
		free(m);
	}
}
