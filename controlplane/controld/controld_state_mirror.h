/* controld_state_mirror.h: the RADOS state's copy in memory, which every lego-controld on
 * RADOS keeps: read whole once (standing by), then kept current by following the change
 * journal the leader writes with each change (controld_state_rados.h), so that a takeover
 * reads only what changed since its last look, and the state is then loaded from memory.
 * The leader's own writes update it as they are sent (only a standby syncs). */
#ifndef LEGO_CONTROLD_STATE_MIRROR_H
#define LEGO_CONTROLD_STATE_MIRROR_H

#include <rados/librados.h>
#include <stdbool.h>
#include <stddef.h>

/* The journal: key CONTROLD_STATE_MIRROR_LOG "EPOCH.SEQ" (both zero-padded decimal, so
 * omap order is their order), value the key that changed. The object's xattrs say the
 * newest entry (SEQ_XATTR: an unchanged state costs that one small read) and below which
 * entries were trimmed (TRIMMED_XATTR: a copy older than that is read whole again). */
#define CONTROLD_STATE_MIRROR_LOG	    "changes/"
#define CONTROLD_STATE_MIRROR_SEQ_XATTR	    "lego.seq"
#define CONTROLD_STATE_MIRROR_TRIMMED_XATTR "lego.trimmed"
#define CONTROLD_STATE_MIRROR_SEQ_LEN	    41 /* "EPOCH.SEQ": 20 + 1 + 20 */

/* Bring the copy up to date with the object: read whole the first time (or when it fell
 * behind the trimmed journal), else only the entries the journal names after the last
 * look. 0, or -1 after logging why (the copy is then read whole the next time). */
int controld_state_mirror_sync(rados_ioctx_t io, const char *obj);
/* Whether a copy was read (sync succeeded at least once). */
bool controld_state_mirror_ready(void);

/* The copy's entries (the leader's writes go through these, in the order they are sent). */
void controld_state_mirror_set(const char *key, const void *val, size_t len);
void controld_state_mirror_del(const char *key);
char *controld_state_mirror_get(const char *key, size_t *len);
void controld_state_mirror_each(const char *sub, const char *suffix,
				void (*fn)(const char *key, char *text, size_t len, void *ctx),
				void *ctx);

#endif
