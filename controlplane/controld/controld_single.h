/* controld_single.h: one lego-controld per state directory and per libvirt socket: a second
 * one on either is refused before it touches anything, rather than silently taking over the
 * first's socket or editing its state under it (split brain). */
#ifndef LEGO_CONTROLD_SINGLE_H
#define LEGO_CONTROLD_SINGLE_H

#include <sys/types.h>

/* Lock DIR/lock (held until exit; our pid written in it): 0, or -1 after logging who
 * holds it. */
int controld_single_lock_state(const char *dir);
/* Listen on the UNIX socket path with mode: refused (-1, logged) while another server
 * holds path's lock (PATH.lock) or answers on it; a stale socket file is replaced. */
int controld_single_unix_listen(const char *path, mode_t mode);

#endif
