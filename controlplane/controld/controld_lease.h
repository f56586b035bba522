/* controld_lease.h: leadership among lego-controld sharing one RADOS state: the leader
 * holds a RADOS lock with a duration (the lease), renewed at a quarter of it; standbys
 * poll the lock and take over once it lapses, incrementing the epoch that guards every
 * write (controld_state_rados.h). A leader that cannot renew in time, or whose write finds
 * a newer epoch, stops at once (exit 75: its supervisor restarts it as a standby). */
#ifndef LEGO_CONTROLD_LEASE_H
#define LEGO_CONTROLD_LEASE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#define CONTROLD_LEASE_EXIT 75 /* stepped down (EX_TEMPFAIL) */

/* Stand by until this process leads (me: who we are, in words, shown to the standbys),
 * then take over: the epoch incremented and renewals started. 0; 1 when a signal of stop
 * (blocked, taken here) came first; -1 after logging. */
int controld_lease_acquire(int lease_ms, const char *me, const sigset_t *stop);
/* Whether this lego-controld stands by (a RADOS state not led by us or not loaded yet). */
bool controld_lease_standby(void);
/* Called once the state is loaded: requests are served from now on. */
void controld_lease_serving(void);
/* Mark this process as one that stands by until it leads (before any listener starts). */
void controld_lease_begin_standby(void);
/* The leader's words as stored ("unknown" when there is none). */
void controld_lease_leader(char *buf, size_t len);
/* A clean stop: the lock released so that a standby takes over at once. */
void controld_lease_release(void);
/* A guarded write found a newer epoch: another lego-controld leads. Does not return. */
void controld_lease_fenced(const char *what, const char *key) __attribute__((noreturn));

#endif
