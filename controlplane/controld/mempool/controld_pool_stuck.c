/* controld_pool_stuck.c: failed steps left alone for a while, and vNodes whose
 * re-replication is stuck (controld_pool_stuck.h). */
#include "controld_pool_stuck.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"

#define RETRY_MS     2000  /* a vRegion whose step failed is left alone this long, */
#define RETRY_MAX_MS 16000 /* twice as long after each failure in a row, up to this */
#define WAIT_MS	     5000  /* a wait (for room, for a server) this long is worth an error */
#define MAX_FAILURES 64
#define MAX_STUCK    64

/* A leaf lock: the registry lock may be held when it is taken. */
static pthread_mutex_t slock = PTHREAD_MUTEX_INITIALIZER;

static struct failure {
	uint8_t uuid[16];
	int id, region, tries;
	int64_t until_ms;
	char why[STUCK_REASON_MAX];
} failures[MAX_FAILURES];

static struct stuck {
	bool used, seen, logged;
	uint8_t uuid[16];
	int id;
	struct controld_pool_stuck_view v; /* since_ms: when it began (monotonic) */
} stuck[MAX_STUCK];

static struct failure *failure_of(const uint8_t uuid[16], int id, int region)
{
	for (int i = 0; i < MAX_FAILURES; i++)
		if (failures[i].tries && failures[i].id == id && failures[i].region == region &&
		    !memcmp(failures[i].uuid, uuid, 16))
			return &failures[i];
	return NULL;
}

bool controld_pool_stuck_backing_off(const uint8_t uuid[16], int id, int region, int64_t now)
{
	struct failure *f;
	bool off;

	pthread_mutex_lock(&slock);
	f = failure_of(uuid, id, region);
	off = f && now < f->until_ms;
	pthread_mutex_unlock(&slock);
	return off;
}

int controld_pool_stuck_failed(const uint8_t uuid[16], int id, int region, const char *why,
			       int64_t now)
{
	struct failure *f;
	int64_t wait = RETRY_MS;
	int tries;

	pthread_mutex_lock(&slock);
	f = failure_of(uuid, id, region);
	if (!f) {
		f = &failures[0];
		for (int i = 0; i < MAX_FAILURES; i++)
			if (failures[i].until_ms < f->until_ms)
				f = &failures[i]; /* an empty one, or the one left alone longest */
		*f = (struct failure){.id = id, .region = region};
		memcpy(f->uuid, uuid, 16);
	}
	tries = ++f->tries;
	for (int i = 1; i < tries && wait < RETRY_MAX_MS; i++)
		wait *= 2;
	f->until_ms = now + (wait < RETRY_MAX_MS ? wait : RETRY_MAX_MS);
	snprintf(f->why, sizeof(f->why), "%s", why);
	pthread_mutex_unlock(&slock);
	return tries;
}

void controld_pool_stuck_succeeded(const uint8_t uuid[16], int id, int region)
{
	struct failure *f;

	pthread_mutex_lock(&slock);
	f = failure_of(uuid, id, region);
	if (f)
		memset(f, 0, sizeof(*f));
	pthread_mutex_unlock(&slock);
}

bool controld_pool_stuck_region_why(const uint8_t uuid[16], int id, int region, char *why,
				    size_t len)
{
	struct failure *f;
	bool is;

	pthread_mutex_lock(&slock);
	f = failure_of(uuid, id, region);
	is = f && f->tries >= STUCK_TRIES;
	if (is)
		snprintf(why, len, "%s", f->why);
	pthread_mutex_unlock(&slock);
	return is;
}

/* ---- vNodes --------------------------------------------------------------------------- */

static struct stuck *stuck_of(const uint8_t uuid[16], int id)
{
	for (int i = 0; i < MAX_STUCK; i++)
		if (stuck[i].used && stuck[i].id == id && !memcmp(stuck[i].uuid, uuid, 16))
			return &stuck[i];
	return NULL;
}

/* It is going again (or gone): a line if its being stuck was said. */
static void unstick(struct stuck *s, const char *how)
{
	if (s->logged)
		log_info("vNode %s: re-replication is no longer stuck (%s)", s->v.vnode, how);
	memset(s, 0, sizeof(*s));
}

void controld_pool_stuck_pass_begin(void)
{
	pthread_mutex_lock(&slock);
	for (int i = 0; i < MAX_STUCK; i++)
		stuck[i].seen = false;
	pthread_mutex_unlock(&slock);
}

void controld_pool_stuck_note(const uint8_t uuid[16], int id, const char *vnode, int region,
			      const char *why, enum controld_pool_stuck_cause cause, int64_t now)
{
	struct stuck *s;

	pthread_mutex_lock(&slock);
	s = stuck_of(uuid, id);
	if (!why) {
		if (s)
			unstick(s, "its vRegions are being restored");
		pthread_mutex_unlock(&slock);
		return;
	}
	for (int i = 0; !s && i < MAX_STUCK; i++)
		if (!stuck[i].used) {
			s = &stuck[i];
			*s = (struct stuck){.used = true, .id = id};
			memcpy(s->uuid, uuid, 16);
			snprintf(s->v.vnode, sizeof(s->v.vnode), "%s", vnode);
			s->v.since_ms = now;
		}
	if (s) {
		s->seen = true;
		s->v.region = region;
		s->v.cause = cause;
		snprintf(s->v.why, sizeof(s->v.why), "%s", why);
		/* Said once (a wait once it lasted): not at every retry. */
		if (!s->logged &&
		    (cause == POOL_STUCK_STEPS_FAIL || now - s->v.since_ms >= WAIT_MS)) {
			log_error("vNode %s: re-replication is stuck: vRegion %d: %s", vnode,
				  region, why);
			s->logged = true;
		}
	}
	pthread_mutex_unlock(&slock);
}

void controld_pool_stuck_pass_end(int64_t now)
{
	(void)now;
	pthread_mutex_lock(&slock);
	for (int i = 0; i < MAX_STUCK; i++)
		if (stuck[i].used && !stuck[i].seen)
			unstick(&stuck[i], "every vRegion has its copies, or it stopped");
	pthread_mutex_unlock(&slock);
}

static void view(const struct stuck *s, struct controld_pool_stuck_view *out, int64_t now)
{
	*out = s->v;
	out->since_ms = now - s->v.since_ms;
}

int controld_pool_stuck_list(struct controld_pool_stuck_view *out, int max, int64_t now)
{
	int n = 0;

	pthread_mutex_lock(&slock);
	for (int i = 0; i < MAX_STUCK && n < max; i++)
		if (stuck[i].used)
			view(&stuck[i], &out[n++], now);
	pthread_mutex_unlock(&slock);
	return n;
}

bool controld_pool_stuck_of(const uint8_t uuid[16], int id, struct controld_pool_stuck_view *out,
			    int64_t now)
{
	struct stuck *s;

	pthread_mutex_lock(&slock);
	s = stuck_of(uuid, id);
	if (s)
		view(s, out, now);
	pthread_mutex_unlock(&slock);
	return s != NULL;
}
