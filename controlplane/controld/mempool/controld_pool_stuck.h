/* controld_pool_stuck.h: when the memory pool's steps cannot make progress, and why.
 *
 * Each vRegion whose step failed is left alone for a while, longer after each failure in a
 * row, and forgotten once a step on it succeeds. A vNode whose re-replication cannot go on
 * (no server has room for a vRegion's missing copy, or a vRegion's step failed STUCK_TRIES
 * times in a row: lego-vmm refused, a fill failed, ...) is stuck: one error line says why when
 * it gets stuck (a lack of room only once it lasted a few seconds: a server may be joining),
 * one line when it gets going again, and the views (legoctl pool, legoctl vnode) show the
 * reason meanwhile. Called by the pool's worker, and by the views under the registry lock. */
#ifndef LEGO_CONTROLD_POOL_STUCK_H
#define LEGO_CONTROLD_POOL_STUCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controlplane/controld/libvirt/domain_xml.h"

#define STUCK_TRIES	 3 /* failures in a row of one vRegion's step */
#define STUCK_REASON_MAX 600

/* ---- steps that failed ------------------------------------------------------------------- */

/* Is (vNode run, region) left alone now after a failure? */
bool controld_pool_stuck_backing_off(const uint8_t uuid[16], int id, int region, int64_t now);
/* Its step failed (why): the failures in a row, counting this one. */
int controld_pool_stuck_failed(const uint8_t uuid[16], int id, int region, const char *why,
			       int64_t now);
/* Its step succeeded: its failures are forgotten. */
void controld_pool_stuck_succeeded(const uint8_t uuid[16], int id, int region);
/* Its last failure if it failed STUCK_TRIES times in a row or more: true and why. */
bool controld_pool_stuck_region_why(const uint8_t uuid[16], int id, int region, char *why,
				    size_t len);

/* ---- vNodes whose re-replication is stuck ----------------------------------------------- */

/* Why re-replication cannot go on: its steps fail (said at once), or it waits for capacity
 * or for a server holding the only copy to come back (said only once that lasted: a
 * restarted lego-controld waits a moment for servers to register again). */
enum controld_pool_stuck_cause {
	POOL_STUCK_STEPS_FAIL,
	POOL_STUCK_NO_ROOM,
	POOL_STUCK_SERVER_DOWN,
};

/* A pass over the vNodes begins; each vNode with vRegions short of copies is noted: why it is
 * stuck (region: the vRegion it is about; cause), or why NULL; the pass ends (a vNode not
 * noted is no longer stuck). */
void controld_pool_stuck_pass_begin(void);
void controld_pool_stuck_note(const uint8_t uuid[16], int id, const char *vnode, int region,
			      const char *why, enum controld_pool_stuck_cause cause, int64_t now);
void controld_pool_stuck_pass_end(int64_t now);

struct controld_pool_stuck_view {
	char vnode[DOM_NAME_MAX + 1];
	int region;
	enum controld_pool_stuck_cause cause;
	int64_t since_ms; /* how long it has been stuck */
	char why[STUCK_REASON_MAX];
};
/* The stuck vNodes (at most max): how many. */
int controld_pool_stuck_list(struct controld_pool_stuck_view *out, int max, int64_t now);
/* Why v's re-replication is stuck: true and the view, or false. */
bool controld_pool_stuck_of(const uint8_t uuid[16], int id, struct controld_pool_stuck_view *out,
			    int64_t now);

#endif
