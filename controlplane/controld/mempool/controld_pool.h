/* controld_pool.h: what the memory pool's files share inside lego-controld: one step on a
 * vRegion's copies (controld_pool_step.c), the watch over servers and lego-vmms
 * (controld_pool_watch.c), and the worker that runs them (controld_mempool.c). Every step
 * and every change of a map is made by that one worker thread. */
#ifndef LEGO_CONTROLD_POOL_H
#define LEGO_CONTROLD_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controld_owed.h"
#include "controlplane/controld/libvirt/domain_xml.h"
#include "lib/proto/cluster_proto.h"

struct controld_registry_vnode;
struct controld_registry_component;

/* One step: a new copy of (vNode, region) on `to`, filled from the live copy on `src`; then,
 * for a move, the copy on `drop` goes (RELEASEd naming its new home). `to` "" is a drop
 * alone (a region with a copy more than it wants); `drop` "" an addition alone
 * (re-replication). */
struct controld_pool_step {
	uint8_t uuid[16];
	int id;
	char vnode[DOM_NAME_MAX + 1];
	char host[CP_NAME_LEN + 1];
	uint64_t uid;
	int region;
	uint64_t size;
	char src[CP_NAME_LEN + 1], src_addr[CP_ADDR_LEN + 1];
	char to[CP_NAME_LEN + 1], to_addr[CP_ADDR_LEN + 1];
	char drop[CP_NAME_LEN + 1], drop_addr[CP_ADDR_LEN + 1];
	struct controld_owed_run run; /* its vRegions as the servers know them */
};

enum controld_pool_step_result {
	STEP_DONE,
	STEP_SKIPPED, /* the vNode cannot be touched now (migrating, stopping, ...): later */
	STEP_FAILED,  /* undone: the map and the vNode are as they were (err says why) */
};

/* A step on (v, r), under the registry lock: to (or NULL), drop (or NULL), and the copy to
 * fill from (the first one, other than drop, whose server is alive). false if none can. */
bool controld_pool_step_make(const struct controld_registry_vnode *v, int r,
			     const struct controld_registry_component *to, const char *drop,
			     struct controld_pool_step *st);
/* Under the registry lock: has region r of v a copy on a memory server that is up (one a new
 * copy can be filled from)? */
bool controld_pool_step_source_up(const struct controld_registry_vnode *v, int r);
/* Run a step (the worker thread; no lock held). */
enum controld_pool_step_result controld_pool_step_run(const struct controld_pool_step *st,
						      char *err, size_t errlen);
/* How far the step's fill is, in bytes (called by the step as it polls). */
void controld_mempool_step_progress(uint64_t bytes_done);

enum controld_pool_ctl_result {
	CTL_OK,
	CTL_REFUSED,	 /* lego-vmm answered with an error (err holds it) */
	CTL_GONE,	 /* the host has no running lego-vmm for the vNode */
	CTL_UNREACHABLE, /* the host or its lego-vmm could not be asked */
};

/* A control command to the vNode's lego-vmm through its host's lego-pmon; on CTL_OK the
 * answer (malloc'ed) in *json if json is not NULL. */
enum controld_pool_ctl_result controld_pool_step_vmm_ctl(const char *host, const uint8_t uuid[16],
							 const char *cmd, char **json, char *err,
							 size_t errlen);
/* The same for a read-only command (`regions`) over a connection kept in pc across calls. */
struct controld_vnode_pmon_conn;
enum controld_pool_ctl_result controld_pool_step_vmm_query(struct controld_vnode_pmon_conn *pc,
							   const char *host, const uint8_t uuid[16],
							   const char *cmd, char **json, char *err,
							   size_t errlen);

/* Under the registry lock: the vNode of that run if a step may touch it now (running and
 * confirmed, not migrating, stopping or short of memory), else NULL. */
struct controld_registry_vnode *controld_pool_step_vnode(const uint8_t uuid[16], int id);
/* Under the lock: v's map changed: its version, lego-vmm's recorded options (a migration's
 * destination starts with them), the run file. */
void controld_pool_step_map_changed(struct controld_registry_vnode *v);

/* Losses of memory servers, servers that registered again, lego-vmms' own view of their
 * copies: act on what changed (the worker, between steps). */
void controld_pool_watch(int64_t now_ms);
/* The graces before a memory server and a processor host that are down count as lost, and
 * how often lego-vmms are asked for their copies. */
void controld_pool_watch_configure(int loss_grace_ms, int reconcile_ms, int host_loss_ms);

#endif
