/* controld_mempool.h: the memory pool as lego-controld's GMM runs it while vNodes run.
 *
 * One worker thread makes every change to the vRegion copies of running vNodes, one step at
 * a time (controld_pool_step.c: region-add, FILL server to server, region-live, then for a
 * move region-drop and RELEASE):
 *   - re-replication, first: a vRegion with fewer copies than its vNode's replication factor
 *     (a server was lost) gets one on the alive, non-draining server with the most room that
 *     holds none of it; with no such server it waits, and says so, until capacity appears;
 *   - the job legoctl asked for, one at a time: a drain (every copy off a memory server,
 *     which stays draining: nothing new is placed there until `legoctl mmon undrain`), or a
 *     rebalance (copies from the fullest servers to the emptiest until within about a
 *     region of even);
 *   - between steps, the watch (controld_pool_watch.c): lost servers, servers that
 *     restarted, and each lego-vmm's own view of its copies.
 * A step and a migration of the same vNode exclude each other. */
#ifndef LEGO_CONTROLD_MEMPOOL_H
#define LEGO_CONTROLD_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/cluster_proto.h"

struct controld_mempool_options {
	int heartbeat_ms;  /* the components' heartbeat interval */
	int loss_grace_ms; /* a memory server down this long is lost */
	int host_loss_ms;  /* a processor host down this long is lost, with its vNodes */
};

/* Start the worker. 0, or -1 after logging why. */
int controld_mempool_start(const struct controld_mempool_options *o);
/* POOL_JOB: refused at once (a cp_status with err: unknown or dead server, no room, another
 * job under way), or run to its end: 0 with its report, or the status and where it stopped. */
int controld_mempool_job(const struct cluster_proto_pool_job *j, const char *who,
			 struct cluster_proto_pool_report *rep, char *err, size_t errlen);
/* POOL_STATUS: the job under way and the re-replication still to do. The caller holds the
 * registry lock. */
void controld_mempool_progress(struct cluster_proto_pool_progress *p);
/* A migration waits up to ms for a step on the vNode to end: true if none runs. */
bool controld_mempool_wait_idle(const uint8_t uuid[16], int ms);

#endif
