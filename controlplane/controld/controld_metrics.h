/* controld_metrics.h: lego-controld's Prometheus metrics (--metrics ADDR): the components
 * with their capacity and use, vNodes by state, each vNode's pager figures as its lego-vmm
 * reports them (faults, fetches, write-backs, ExCache use; asked at each scrape, as `virsh
 * domstats` does), the memory pool, and the migrations, pool jobs and pool steps that ended
 * since lego-controld started, with their durations. Served by lib/metrics_http.c: plain
 * HTTP, read-only, unauthenticated. */
#ifndef LEGO_CONTROLD_METRICS_H
#define LEGO_CONTROLD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/strbuf.h"

/* Serve GET /metrics on "HOST:PORT" (port 0 picks; the bound port into port). 0, or -1
 * with err. */
int controld_metrics_start(const char *hostport, char *port, size_t plen, char *err, size_t errlen);

/* The page (lib/metrics_http.c's render function). */
int controld_metrics_render(struct strbuf *b, void *ctx);

/* How migrations end (controld_migrate_watch.h's outcomes, in its order). */
enum controld_metrics_mig { CM_MIG_MOVED, CM_MIG_FAILED, CM_MIG_LOST, CM_MIG_N };
/* A migration ended: its outcome, how long it took, the guest's downtime and the bytes sent
 * (CP_MIG_UNKNOWN: not known). */
void controld_metrics_migration(enum controld_metrics_mig outcome, uint64_t total_us,
				uint64_t downtime_us, uint64_t bytes);
/* A memory pool job (cp_pool_what: drain or rebalance) ended, done or not. */
void controld_metrics_pool_job(uint32_t what, bool done, uint64_t elapsed_us, uint32_t copies,
			       uint64_t bytes);
/* A pool step ended: a copy added (re-replication), moved (a job's) or dropped. */
enum controld_metrics_step { CM_STEP_ADD, CM_STEP_MOVE, CM_STEP_DROP, CM_STEP_N };
void controld_metrics_pool_step(enum controld_metrics_step kind, bool done, uint64_t elapsed_us);

/* The per-vNode families (controld_metrics_vnode.c): lego-vmm is asked without the registry
 * lock held. */
void controld_metrics_vnodes(struct strbuf *b);

#endif
