/* mmon_fill.h: a memory server filling a new copy of a vRegion from a live copy on
 * another server (the copy step of a drain, rebalance or re-replication). */
#ifndef LEGO_MMON_FILL_H
#define LEGO_MMON_FILL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/cap/cap_key.h"
#include "lib/proto/mem_proto.h"
#include "mmon_pool.h"

struct mmon_fill_ctx {
	struct mmon_pool *pool;
	const char *provider;
	const char *server;	   /* this server's name, for the source's log */
	int timeout_ms;		   /* per request to the source */
	const struct cap_key *key; /* this server's key: proves the FILL's capability */
};

/* Start filling (vnode, req->index), a JOINing copy here, from req's source in a thread
 * of its own, presenting there the capability req carries (if any): MP_OK once it runs,
 * else a status with err. RSTAT follows it; the region is live when it is done, or FAILED
 * with the reason. */
enum mem_proto_status mmon_fill_start(const struct mmon_fill_ctx *ctx, uint64_t vnode,
				      const struct mem_proto_fill *req, char *err, size_t errlen);

#endif
