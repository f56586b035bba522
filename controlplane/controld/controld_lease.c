/* controld_lease.c: the leader's lease on the RADOS state (see controld_lease.h): taking
 * it (a RADOS exclusive lock with a duration, then the epoch incremented), renewing it,
 * and stepping down the moment it cannot be kept. */
#include "controld_lease.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "controld_state_rados.h"
#include "lib/log.h"
#include "lib/mono_clock.h"

#define LOCK_NAME "leader"

static int lease_ms;
static char cookie[40], desc[512];
static uint64_t renewed_ms; /* when the last successful renewal was sent */
static bool standby;

bool controld_lease_standby(void)
{
	return __atomic_load_n(&standby, __ATOMIC_ACQUIRE);
}

void controld_lease_begin_standby(void)
{
	__atomic_store_n(&standby, true, __ATOMIC_RELEASE);
}

void controld_lease_serving(void)
{
	__atomic_store_n(&standby, false, __ATOMIC_RELEASE);
}

void controld_lease_release(void)
{
	int rc;

	if (!cookie[0] || controld_lease_standby())
		return;
	rc = rados_unlock(controld_state_rados_io(), CONTROLD_STATE_RADOS_OBJ, LOCK_NAME, cookie);
	if (rc)
		log_warn("lease: cannot release the lock: %s (a standby takes over when it lapses)",
			 strerror(-rc));
	else
		log_info("lease: released (a standby takes over now)");
}

static void step_down(const char *why)
{
	log_error("lease: %s: stepped down: no more writes nor answers from this lego-controld "
		  "(exit %d; restart it to stand by)",
		  why, CONTROLD_LEASE_EXIT);
	_exit(CONTROLD_LEASE_EXIT);
}

void controld_lease_fenced(const char *what, const char *key)
{
	char why[600];

	snprintf(why, sizeof(why),
		 "the %s of %s failed the epoch guard: another lego-controld took over", what, key);
	step_down(why);
	abort();
}

void controld_lease_leader(char *buf, size_t len)
{
	int n = rados_getxattr(controld_state_rados_io(), CONTROLD_STATE_RADOS_OBJ,
			       CONTROLD_STATE_RADOS_LEADER, buf, len > 1 ? len - 1 : 0);

	if (n <= 0) {
		snprintf(buf, len, "unknown");
		return;
	}
	buf[n] = '\0';
	for (char *c = buf; *c; c++) /* words for a log line or an error: printable only */
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int lock(uint32_t flags)
{
	struct timeval tv = {.tv_sec = lease_ms / 1000, .tv_usec = (lease_ms % 1000) * 1000};

	return rados_lock_exclusive(controld_state_rados_io(), CONTROLD_STATE_RADOS_OBJ, LOCK_NAME,
				    cookie, desc, &tv, (uint8_t)flags);
}

/* Renew at a quarter of the lease; the lock lost means another leads. */
static void *renewer(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t t0;
		int rc;

		sleep_ms(lease_ms / 4);
		t0 = mono_clock_ms();
		rc = lock(LIBRADOS_LOCK_FLAG_MUST_RENEW);
		if (!rc) {
			__atomic_store_n(&renewed_ms, t0, __ATOMIC_RELEASE);
			continue;
		}
		if (rc == -ENOENT || rc == -EBUSY)
			step_down("the lease was lost (another lego-controld holds the lock)");
		log_warn("lease: cannot renew: %s (retrying)", strerror(-rc));
	}
	return NULL;
}

/* Not renewed for three quarters of the lease: stop before the lock can lapse. */
static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t last = __atomic_load_n(&renewed_ms, __ATOMIC_ACQUIRE);
		uint64_t now = mono_clock_ms();
		char why[128];

		if (now - last >= (uint64_t)(lease_ms - lease_ms / 4)) {
			snprintf(why, sizeof(why), "the lease was not renewed for %" PRIu64 " ms",
				 now - last);
			step_down(why);
		}
		sleep_ms(lease_ms / 40 > 10 ? lease_ms / 40 : 10);
	}
	return NULL;
}

/* The lock is ours: the next epoch, so every write of an older leader fails. */
static int take_over(uint64_t *epoch)
{
	char old[CONTROLD_STATE_RADOS_EPOCH_LEN + 1] = "", next[CONTROLD_STATE_RADOS_EPOCH_LEN + 1];
	rados_ioctx_t io = controld_state_rados_io();
	rados_write_op_t op;
	int n, rc;

	n = rados_getxattr(io, CONTROLD_STATE_RADOS_OBJ, CONTROLD_STATE_RADOS_EPOCH, old,
			   sizeof(old) - 1);
	if (n < 0 && n != -ENODATA && n != -ENOENT) {
		log_error("lease: cannot read the epoch: %s", strerror(-n));
		return -1;
	}
	*epoch = n > 0 ? strtoull(old, NULL, 10) + 1 : 1;
	controld_state_rados_epoch_text(*epoch, next);
	op = rados_create_write_op();
	if (!op)
		return -1;
	if (n > 0)
		rados_write_op_cmpxattr(op, CONTROLD_STATE_RADOS_EPOCH, LIBRADOS_CMPXATTR_OP_EQ,
					old, (size_t)n);
	rados_write_op_setxattr(op, CONTROLD_STATE_RADOS_EPOCH, next, strlen(next));
	rados_write_op_setxattr(op, CONTROLD_STATE_RADOS_LEADER, desc, strlen(desc));
	rc = rados_write_op_operate(op, io, CONTROLD_STATE_RADOS_OBJ, NULL, 0);
	rados_release_write_op(op);
	if (rc) {
		log_error("lease: cannot increment the epoch: %s", strerror(-rc));
		return -1;
	}
	controld_state_rados_set_epoch(*epoch);
	return 0;
}

/* How often a standby tries the lock and follows the state: often enough that a lapsed
 * lease is seen within a small share of it (one lock try and one small read each time). */
static int poll_ms(void)
{
	int ms = lease_ms / 80;

	return ms < 20 ? 20 : ms > 250 ? 250 : ms;
}

/* Stand by: the lock tried, the state's copy followed, until the lock is ours (0) or a
 * signal of stop came (1). */
static int stand_by(const sigset_t *stop)
{
	const struct timespec now = {0};
	char leader[512], last[512] = "";
	unsigned tries = 0;

	for (;; tries++) {
		int sig = sigtimedwait(stop, NULL, &now), rc; /* SIGTERM while standing by */
		uint64_t t0;

		if (sig > 0) {
			log_info("signal %d while standing by: stopping", sig);
			return 1;
		}
		t0 = mono_clock_ms();
		rc = lock(0);
		if (!rc) {
			__atomic_store_n(&renewed_ms, t0, __ATOMIC_RELEASE);
			return 0;
		}
		if (rc != -EBUSY && rc != -EEXIST) {
			log_warn("lease: cannot take the lock: %s (retrying)", strerror(-rc));
		} else if (tries % 20 == 0) { /* who leads, now and then: for the log */
			controld_lease_leader(leader, sizeof(leader));
			if (strcmp(leader, last))
				log_info("lease: standing by; the leader is %s", leader);
			snprintf(last, sizeof(last), "%s", leader);
		}
		controld_state_rados_sync(); /* logs its failures; the next try reads again */
		sleep_ms(poll_ms());
	}
}

int controld_lease_acquire(int ms, const char *me, const sigset_t *stop)
{
	uint8_t r[16];
	pthread_t t;
	uint64_t epoch, t0;
	int rc;

	lease_ms = ms;
	snprintf(desc, sizeof(desc), "%s", me);
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return -1;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(cookie + 2 * i, 3, "%02x", r[i]);
	rc = stand_by(stop);
	if (rc)
		return rc;
	if (take_over(&epoch))
		return -1;
	if (pthread_create(&t, NULL, watchdog, NULL) || pthread_detach(t) ||
	    pthread_create(&t, NULL, renewer, NULL) || pthread_detach(t)) {
		log_error("lease: cannot start the renewals");
		return -1;
	}
	log_info("lease: leading with epoch %" PRIu64 " (lease %d ms, renewed every %d ms)", epoch,
		 lease_ms, lease_ms / 4);
	/* No older leader's write lands from now on: what changed since the last look. */
	t0 = mono_clock_ms();
	for (int i = 0; (rc = controld_state_rados_sync()) && i < 2; i++)
		;
	if (rc)
		log_warn("state: no copy of the RADOS state: it is read from RADOS entry by entry");
	else
		log_info("state: caught up with RADOS in %" PRIu64 " ms", mono_clock_ms() - t0);
	return 0;
}
