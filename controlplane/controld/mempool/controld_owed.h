/* controld_owed.h: the vRegion copies lego-controld still has to free on memory servers, and
 * the sweep that frees them.
 *
 * A copy is owed once nothing will free it otherwise: every copy of a run that ended (however
 * it ended: lego-vmm frees its own on a clean exit, but not when killed, on a fatal stop or
 * with its host; freeing what is already gone costs an OPEN), and a copy a running vNode's
 * map let go without its server freeing it (the server was lost, lego-vmm lost or failed
 * the copy, a step could not undo its new copy). The pool's worker frees each one as that
 * run's vNode (OPEN, CLOSE) once its server is up; a server that is down keeps its debt until
 * it is back, across restarts of lego-controld (the state directory's file `owed`). Before a
 * new copy of a vRegion goes on a server, what is owed there for that vRegion is freed first
 * (the server may still hold the old one), and a copy that comes back into a map is no longer
 * owed. */
#ifndef LEGO_CONTROLD_OWED_H
#define LEGO_CONTROLD_OWED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controlplane/controld/libvirt/domain_xml.h"

struct controld_registry_vnode;

/* One run's vRegions, as a server knows them: its uid and their sizes. */
struct controld_owed_run {
	uint64_t uid;
	char vnode[DOM_NAME_MAX + 1];
	uint64_t ram, region_size;
	int nr_regions;
};

/* Read what is owed from the state directory (after controld_registry_store_init). */
void controld_owed_init(void);
/* Under the registry lock: v's run as the servers know it. */
void controld_owed_run_of(const struct controld_registry_vnode *v, struct controld_owed_run *run);
/* Regions r[0..n) of run are owed on the memory server name (at addr). */
void controld_owed_add(const struct controld_owed_run *run, const char *server, const char *addr,
		       const int *r, int n);
/* Under the registry lock: v's run ended: every copy its map names is owed. */
void controld_owed_run_ended(const struct controld_registry_vnode *v);
/* Region r of run uid is on server again (a copy its map records): not owed there. */
void controld_owed_cancel(uint64_t uid, const char *server, int r);
/* Before a new copy of region r of run goes on server (at addr): what is owed there for it
 * is freed now. 0, or -1 with err (the server still holds it, or could not be asked). */
int controld_owed_settle(const struct controld_owed_run *run, const char *server, const char *addr,
			 int r, char *err, size_t errlen);
/* The pool's worker: free what is owed on the servers that are up (a server that failed is
 * tried again later). No lock held. */
void controld_owed_sweep(int64_t now_ms);
/* Copies owed on server (for legoctl pool), and in all. */
uint32_t controld_owed_on(const char *server);
uint32_t controld_owed_total(void);

#endif
