/* controld_state_rados.h: the state in one object of a Ceph RADOS pool (its omap: one
 * key per entry), shared by several lego-controld; every change is one write operation
 * guarded by the leader's epoch (an xattr of the same object that each takeover
 * increments), so a leader that lost its lease cannot change anything. */
#ifndef LEGO_CONTROLD_STATE_RADOS_H
#define LEGO_CONTROLD_STATE_RADOS_H

#include <rados/librados.h>
#include <stdint.h>

#include "controld_state.h"

#define CONTROLD_STATE_RADOS_OBJ       "lego-controld.state"
#define CONTROLD_STATE_RADOS_EPOCH     "lego.epoch"  /* the current leader's epoch */
#define CONTROLD_STATE_RADOS_LEADER    "lego.leader" /* who leads, in words */
#define CONTROLD_STATE_RADOS_EPOCH_LEN 20	     /* zero-padded decimal: compared exactly */

/* Connect to the cluster and open pool (no entry is read: lead first). 0, or -1 logged. */
int controld_state_rados_open(const char *pool, const struct controld_state_options *o);
rados_ioctx_t controld_state_rados_io(void);
/* The copy in memory brought up to date (controld_state_mirror.h): standing by, and once
 * more after taking over (then reads are served from it). 0, or -1 after logging why. */
int controld_state_rados_sync(void);
/* The epoch every write is guarded by from now on (set once leading). */
void controld_state_rados_set_epoch(uint64_t epoch);
/* Epoch text as stored. */
void controld_state_rados_epoch_text(uint64_t epoch, char out[CONTROLD_STATE_RADOS_EPOCH_LEN + 1]);

#endif
