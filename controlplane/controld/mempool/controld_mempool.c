/* controld_mempool.c: the memory pool's worker: re-replication, drain and rebalance jobs,
 * one step at a time, and their progress. */
#include "controld_mempool.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "controld_pool.h"
#include "controld_pool_stuck.h"
#include "controlplane/controld/controld_metrics.h"
#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_vnode.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "controlplane/controld/placement.h"

#define IDLE_MS		  200	      /* the worker looks again this often with nothing to do */
#define STEP_TRIES	  STUCK_TRIES /* a job ends when one vRegion's step failed so often */
#define JOB_STALL_MS	  60000	      /* a job waits this long for vNodes it cannot touch */
#define IDLE_WAIT_POLL_MS 20
#define MIB		  1048576.0

/* The job and the re-replication, for POOL_STATUS; a leaf lock: nothing else is taken
 * while it is held. */
static pthread_mutex_t plock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pcond = PTHREAD_COND_INITIALIZER;
static struct {
	bool busy;   /* a job is asked for, checked or running */
	bool active; /* the worker runs it */
	bool done, kicked;
	struct cluster_proto_pool_job job;
	int64_t t0_ms, stalled_ms;
	uint32_t copies_total, copies_done, moved;
	uint64_t bytes_total, bytes_done, step_done;
	bool step_is_job;
	char step_vnode[CP_NAME_LEN + 1], step_to[CP_NAME_LEN + 1];
	uint32_t step_region;
	uint32_t spread_before;
	int rc;
	char err[1024];
	uint32_t missing, blocked;
} ps;
static int heartbeat_ms = 1000;

void controld_mempool_step_progress(uint64_t bytes_done)
{
	pthread_mutex_lock(&plock);
	ps.step_done = bytes_done;
	pthread_mutex_unlock(&plock);
}

static void kick(void)
{
	pthread_mutex_lock(&plock);
	ps.kicked = true;
	pthread_cond_broadcast(&pcond);
	pthread_mutex_unlock(&plock);
}

/* ---- a snapshot of the pool for placement ------------------------------------------------ */

struct snap {
	struct placement_mem mems[PL_MAX];
	const struct controld_registry_component *mc[PL_MAX];
	int nm;
};

/* Under the lock. */
static void snapshot(struct snap *s)
{
	controld_vnode_mem_snapshot(s->mems, s->mc, &s->nm);
}

static int snap_index(const struct snap *s, const char *name)
{
	for (int i = 0; i < s->nm; i++)
		if (!strcmp(s->mc[i]->name, name))
			return i;
	return -1;
}

/* Region r of v as placement sees it (copies on servers not registered left out). */
static struct placement_region pl_region_of(const struct snap *s,
					    const struct controld_registry_vnode *v, int r)
{
	struct placement_region pr = {.size = vnode_map_region_bytes(r, v->map.nr_regions,
								     v->def.memory_kib * 1024,
								     v->region_size),
				      .wanted = v->replication};

	for (int k = 0; k < v->map.nr_copies[r]; k++) {
		int i = snap_index(s, v->map.mmon[v->map.copy[r][k]]);

		if (i >= 0)
			pr.server[pr.nr++] = i;
	}
	return pr;
}

/* Run st; a job's step shows in the progress. */
static enum controld_pool_step_result step(const struct controld_pool_step *st, bool for_job,
					   char *err, size_t errlen)
{
	enum controld_pool_step_result r;

	pthread_mutex_lock(&plock);
	ps.step_is_job = for_job;
	ps.step_done = 0;
	if (for_job) {
		snprintf(ps.step_vnode, sizeof(ps.step_vnode), "%s", st->vnode);
		/* A drop alone: where the copy that stays is. */
		snprintf(ps.step_to, sizeof(ps.step_to), "%s", st->to[0] ? st->to : st->src);
		ps.step_region = (uint32_t)st->region;
	}
	pthread_mutex_unlock(&plock);
	r = controld_pool_step_run(st, err, errlen);
	if (r == STEP_DONE)
		controld_pool_stuck_succeeded(st->uuid, st->id, st->region);
	pthread_mutex_lock(&plock);
	if (for_job && r == STEP_DONE) {
		ps.copies_done++;
		if (st->to[0]) {
			ps.moved++;
			ps.bytes_done += st->size;
		}
		if (ps.copies_done > ps.copies_total)
			ps.copies_total = ps.copies_done;
		if (ps.bytes_done > ps.bytes_total)
			ps.bytes_total = ps.bytes_done;
	}
	ps.step_is_job = false;
	ps.step_done = 0;
	ps.step_vnode[0] = ps.step_to[0] = '\0';
	ps.step_region = 0;
	pthread_mutex_unlock(&plock);
	return r;
}

/* ---- re-replication ---------------------------------------------------------------------- */

/* Under the lock: v's vRegions short of copies counted (missing, and blocked: no server has
 * room), a step made for the first one that can take one (if st is not NULL), and why v is
 * stuck, if it is, noted. true if st was made. */
static bool rereplicate_vnode(const struct snap *s, const struct controld_registry_vnode *v,
			      int64_t now, uint32_t *missing, uint32_t *blocked,
			      struct controld_pool_step *st)
{
	char why[STUCK_REASON_MAX] = "";
	bool touchable = controld_pool_step_vnode(v->def.uuid, v->id) != NULL, no_room = false,
	     made = false, short_of = false, down = false;
	int why_region = -1;

	for (int r = 0; r < v->map.nr_regions; r++) {
		int lack = v->replication - v->map.nr_copies[r], t;
		struct placement_region pr;

		if (lack <= 0)
			continue;
		short_of = true;
		*missing += (uint32_t)lack;
		if (!controld_pool_step_source_up(v, r)) {
			if (!why[0])
				snprintf(why, sizeof(why),
					 "its only copy is on memory server %s, which is down: it "
					 "is "
					 "copied again once that server is back (lego-vmm still "
					 "uses "
					 "it)",
					 v->map.mmon[v->map.copy[r][0]]);
			why_region = why_region < 0 ? r : why_region;
			down = true;
			continue;
		}
		pr = pl_region_of(s, v, r);
		t = placement_pick_target(s->mems, s->nm, &pr);
		if (t < 0) {
			*blocked += (uint32_t)lack;
			if (!no_room)
				snprintf(
					why, sizeof(why),
					"no memory server that is up and not draining has room for "
					"it and holds no copy of it (%d of %d copies): waiting for "
					"capacity",
					v->map.nr_copies[r], v->replication);
			why_region = no_room ? why_region : r;
			no_room = true;
			continue;
		}
		if (!why[0] &&
		    controld_pool_stuck_region_why(v->def.uuid, v->id, r, why, sizeof(why)))
			why_region = r;
		if (st && !made && touchable &&
		    !controld_pool_stuck_backing_off(v->def.uuid, v->id, r, now))
			made = controld_pool_step_make(v, r, s->mc[t], NULL, st);
	}
	if (short_of)
		controld_pool_stuck_note(v->def.uuid, v->id, v->def.name, why_region,
					 why[0] ? why : NULL,
					 no_room ? POOL_STUCK_NO_ROOM
					 : down	 ? POOL_STUCK_SERVER_DOWN
						 : POOL_STUCK_STEPS_FAIL,
					 now);
	return made;
}

/* One step towards every vRegion having its factor: true if one ran. */
static bool rereplicate(void)
{
	static uint32_t said_missing;
	struct snap *s = malloc(sizeof(*s));
	struct controld_pool_step st;
	uint32_t missing = 0, blocked = 0;
	bool have = false;
	int64_t now = mono_clock_ms();
	char err[1024];
	int tries;

	if (!s)
		return false;
	controld_pool_stuck_pass_begin();
	controld_registry_lock();
	snapshot(s);
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);

		if (v->id >= 0 && !v->mem_lost)
			have |= rereplicate_vnode(s, v, now, &missing, &blocked, have ? NULL : &st);
	}
	controld_registry_unlock();
	controld_pool_stuck_pass_end(now);
	free(s);
	pthread_mutex_lock(&plock);
	ps.missing = missing;
	ps.blocked = blocked;
	pthread_mutex_unlock(&plock);
	/* A line when re-replication starts and ends; the steps, and controld_pool_stuck.c
	 * when it gets stuck or going again, say the rest. */
	if (!missing != !said_missing) {
		if (!missing)
			log_info("re-replication: every vRegion has the copies its vNode's "
				 "replication factor asks for");
		else
			log_info("re-replication: %u vRegion cop%s missing: restoring them",
				 missing, missing == 1 ? "y" : "ies");
	}
	said_missing = missing;
	if (!have)
		return false;
	if (step(&st, false, err, sizeof(err)) != STEP_FAILED)
		return true;
	/* Each failure in a row is left alone longer; once it is stuck, the stuck line says
	 * why, and the retries go on quietly. */
	tries = controld_pool_stuck_failed(st.uuid, st.id, st.region, err, mono_clock_ms());
	if (tries < STUCK_TRIES)
		log_warn("vNode %s vRegion %d: its new copy on %s failed and was undone: %s",
			 st.vnode, st.region, st.to, err);
	else
		log_debug("vNode %s vRegion %d: its new copy on %s failed again (%d times in a "
			  "row): %s",
			  st.vnode, st.region, st.to, tries, err);
	return true;
}

/* ---- jobs -------------------------------------------------------------------------------- */

static void finish(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finish(int rc, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&plock);
	ps.rc = rc;
	ps.err[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(ps.err, sizeof(ps.err), fmt, ap);
		va_end(ap);
	}
	ps.done = true;
	ps.active = false;
	ps.busy = false;
	pthread_cond_broadcast(&pcond);
	pthread_mutex_unlock(&plock);
}

/* Under the lock: regions of the vNodes that run, for placement; who[i] says whose (vNode
 * index, region), labels[i] names it for messages. */
struct regions {
	struct placement_region *r;
	int (*who)[2];
	const char **labels;
	char (*text)[DOM_NAME_MAX + 48];
	int n;
};

static void regions_free(struct regions *g)
{
	free(g->r);
	free(g->who);
	free(g->labels);
	free(g->text);
	memset(g, 0, sizeof(*g));
}

/* Every region of the running vNodes (those with copies on `only`, if it is not NULL). */
static int regions_collect(const struct snap *s, const char *only, struct regions *g)
{
	int n = 0;

	for (int i = 0; i < controld_registry_nr_vnodes(); i++)
		if (controld_registry_vnode_at(i)->id >= 0)
			n += controld_registry_vnode_at(i)->map.nr_regions;
	memset(g, 0, sizeof(*g));
	g->r = calloc((size_t)n + 1, sizeof(*g->r));
	g->who = calloc((size_t)n + 1, sizeof(*g->who));
	g->labels = calloc((size_t)n + 1, sizeof(*g->labels));
	g->text = calloc((size_t)n + 1, sizeof(*g->text));
	if (!g->r || !g->who || !g->labels || !g->text) {
		regions_free(g);
		return -1;
	}
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);
		int o = only ? vnode_map_find(&v->map, only) : -1;

		for (int r = 0; v->id >= 0 && r < v->map.nr_regions; r++) {
			if (only && (o < 0 || !vnode_map_has_copy(&v->map, r, o)))
				continue;
			g->r[g->n] = pl_region_of(s, v, r);
			g->who[g->n][0] = i;
			g->who[g->n][1] = r;
			snprintf(g->text[g->n], sizeof(g->text[0]), "vNode %s's vRegion %d",
				 v->def.name, r);
			g->labels[g->n] = g->text[g->n];
			g->n++;
		}
	}
	return 0;
}

/* The job's next step, or its end. Under no lock. true if a step ran. */
static bool job_step(void)
{
	struct snap *s = malloc(sizeof(*s));
	struct cluster_proto_pool_job job;
	struct regions g = {0};
	struct controld_pool_step st;
	bool have = false, pending = false, active;
	int64_t now = mono_clock_ms();
	char err[1024];
	int rc;

	pthread_mutex_lock(&plock);
	active = ps.active;
	job = ps.job;
	pthread_mutex_unlock(&plock);
	if (!active || !s) {
		free(s);
		return false;
	}
	controld_registry_lock();
	snapshot(s);
	if (regions_collect(s, job.what == CP_POOL_DRAIN ? job.server : NULL, &g)) {
		controld_registry_unlock();
		free(s);
		return false;
	}
	if (job.what == CP_POOL_DRAIN) {
		const struct controld_registry_component *d =
			controld_registry_find_component(CP_KIND_MMON, job.server);

		for (int i = 0; i < g.n && !have; i++) {
			const struct controld_registry_vnode *v =
				controld_registry_vnode_at(g.who[i][0]);
			int r = g.who[i][1], t = -1;

			if (!controld_pool_step_vnode(v->def.uuid, v->id) ||
			    controld_pool_stuck_backing_off(v->def.uuid, v->id, r, now)) {
				pending = true;
				continue;
			}
			/* A vRegion with a copy more than it wants just loses this one. */
			if (v->map.nr_copies[r] - 1 < v->replication) {
				t = placement_pick_target(s->mems, s->nm, &g.r[i]);
				if (t < 0) {
					controld_registry_unlock();
					finish(CP_ENOSPC,
					       "the drain of %s stopped: %s has no memory server "
					       "left with room that holds no copy of it",
					       job.server, g.labels[i]);
					goto out;
				}
			}
			have = controld_pool_step_make(v, r, t >= 0 ? s->mc[t] : NULL, job.server,
						       &st);
		}
		if (!have && !pending && (!d || !d->alive)) {
			controld_registry_unlock();
			finish(CP_EIO, "the drain of %s stopped: the server is down", job.server);
			goto out;
		}
	} else {
		int reg, from, to;

		/* Only regions of vNodes a step may touch now take part. */
		for (int i = 0; i < g.n; i++) {
			const struct controld_registry_vnode *v =
				controld_registry_vnode_at(g.who[i][0]);

			if (!controld_pool_step_vnode(v->def.uuid, v->id) ||
			    controld_pool_stuck_backing_off(v->def.uuid, v->id, g.who[i][1], now)) {
				g.r[i].nr = 0; /* on no server: never chosen */
				pending = true;
			}
		}
		if (!placement_rebalance_move(s->mems, s->nm, g.r, g.n, &reg, &from, &to))
			have = controld_pool_step_make(controld_registry_vnode_at(g.who[reg][0]),
						       g.who[reg][1], s->mc[to], s->mc[from]->name,
						       &st);
		if (!have)
			pending = false; /* nothing to gain from those either */
	}
	controld_registry_unlock();
	if (have) {
		if (step(&st, true, err, sizeof(err)) == STEP_FAILED) {
			log_warn("vNode %s vRegion %d: a step of the %s failed and was undone: %s",
				 st.vnode, st.region,
				 job.what == CP_POOL_DRAIN ? "drain" : "rebalance", err);
			if (controld_pool_stuck_failed(st.uuid, st.id, st.region, err,
						       mono_clock_ms()) >= STEP_TRIES)
				finish(CP_EIO, "the %s stopped: %s vRegion %d failed %d times: %s",
				       job.what == CP_POOL_DRAIN ? "drain" : "rebalance", st.vnode,
				       st.region, STEP_TRIES, err);
		}
		pthread_mutex_lock(&plock);
		ps.stalled_ms = 0;
		pthread_mutex_unlock(&plock);
		goto out;
	}
	if (pending) {
		pthread_mutex_lock(&plock);
		if (!ps.stalled_ms)
			ps.stalled_ms = now;
		rc = now - ps.stalled_ms > JOB_STALL_MS;
		pthread_mutex_unlock(&plock);
		if (rc)
			finish(CP_EIO,
			       "the %s stopped: for %d s, vNodes with vRegions to move were "
			       "migrating, starting or stopping",
			       job.what == CP_POOL_DRAIN ? "drain" : "rebalance",
			       JOB_STALL_MS / 1000);
		goto out;
	}
	finish(CP_OK, NULL);
out:
	regions_free(&g);
	free(s);
	return have;
}

/* ---- the worker -------------------------------------------------------------------------- */

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts;

		controld_pool_watch(mono_clock_ms());
		if (rereplicate() || job_step())
			continue;
		pthread_mutex_lock(&plock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += IDLE_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!ps.kicked && pthread_cond_timedwait(&pcond, &plock, &ts) == 0)
			;
		ps.kicked = false;
		pthread_mutex_unlock(&plock);
	}
	return NULL;
}

int controld_mempool_start(const struct controld_mempool_options *o)
{
	pthread_t t;

	heartbeat_ms = o->heartbeat_ms;
	controld_pool_watch_configure(o->loss_grace_ms,
				      3 * o->heartbeat_ms > 1000 ? 3 * o->heartbeat_ms : 1000,
				      o->host_loss_ms);
	if (pthread_create(&t, NULL, worker, NULL)) {
		log_error("memory pool: cannot start its worker thread");
		return -1;
	}
	pthread_detach(t);
	return 0;
}

/* ---- legoctl's requests ------------------------------------------------------------------ */

static int refuse(int rc, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int refuse(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	log_warn("memory pool: %s", err);
	return rc;
}

/* Under the lock: can the drain of server start? Its copies and bytes to move. */
static int check_drain(const char *server, uint32_t *copies, uint64_t *bytes, char *err,
		       size_t errlen)
{
	const struct controld_registry_component *c =
		controld_registry_find_component(CP_KIND_MMON, server);
	struct snap *s;
	struct regions g;
	int d, rc = 0;

	if (!c)
		return refuse(CP_ENOENT, err, errlen, "no memory server named '%s'", server);
	if (!c->alive)
		return refuse(CP_EINVAL, err, errlen,
			      "memory server %s is down: nothing can be copied off it (its "
			      "vRegions' other copies are re-replicated once it is lost)",
			      server);
	s = malloc(sizeof(*s));
	if (!s)
		return refuse(CP_EIO, err, errlen, "out of memory");
	snapshot(s);
	d = snap_index(s, server);
	if (regions_collect(s, server, &g)) {
		free(s);
		return refuse(CP_EIO, err, errlen, "out of memory");
	}
	if (placement_plan_drain(s->mems, s->nm, d, g.r, g.n, g.labels, err, errlen)) {
		log_warn("memory pool: %s", err);
		rc = CP_ENOSPC;
	}
	*copies = (uint32_t)g.n;
	*bytes = 0;
	for (int i = 0; i < g.n; i++)
		if (g.r[i].nr - 1 < g.r[i].wanted)
			*bytes += g.r[i].size;
	regions_free(&g);
	free(s);
	return rc;
}

/* Under the lock: the moves a rebalance would make now, on a copy of the pool. */
static int plan_rebalance(uint32_t *copies, uint64_t *bytes, uint32_t *spread, char *err,
			  size_t errlen)
{
	struct snap *s = malloc(sizeof(*s));
	struct regions g;
	int reg, from, to, takers = 0;

	if (s)
		snapshot(s);
	if (!s || regions_collect(s, NULL, &g)) {
		free(s);
		return refuse(CP_EIO, err, errlen, "out of memory");
	}
	for (int i = 0; i < s->nm; i++)
		takers += s->mems[i].alive && !s->mems[i].draining;
	*spread = placement_spread_ppm(s->mems, s->nm);
	*copies = 0;
	*bytes = 0;
	while (takers >= 2 && *copies < 100000 &&
	       !placement_rebalance_move(s->mems, s->nm, g.r, g.n, &reg, &from, &to)) {
		for (int k = 0; k < g.r[reg].nr; k++)
			if (g.r[reg].server[k] == from)
				g.r[reg].server[k] = to;
		s->mems[from].placed -= g.r[reg].size;
		s->mems[to].placed += g.r[reg].size;
		s->mems[to].used += g.r[reg].size;
		(*copies)++;
		*bytes += g.r[reg].size;
	}
	regions_free(&g);
	free(s);
	if (takers < 2)
		return refuse(CP_EINVAL, err, errlen,
			      "nothing to rebalance: %d memory server%s alive and not draining",
			      takers, takers == 1 ? " is" : "s are");
	return 0;
}

/* What a drained server reports in use, once its heartbeats caught up (a few at most). */
static uint64_t drained_use(const char *server)
{
	int64_t deadline = mono_clock_ms() + 3 * heartbeat_ms + 1000;
	uint64_t used = 0;

	for (;;) {
		const struct controld_registry_component *c;

		controld_registry_lock();
		c = controld_registry_find_component(CP_KIND_MMON, server);
		used = c ? c->used_bytes : 0;
		controld_registry_unlock();
		if (!used || mono_clock_ms() > deadline)
			return used;
		usleep(50000);
	}
}

int controld_mempool_job(const struct cluster_proto_pool_job *j, const char *who,
			 struct cluster_proto_pool_report *rep, char *err, size_t errlen)
{
	uint32_t copies = 0, spread = 0;
	uint64_t bytes = 0;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->what = j->what;
	snprintf(rep->server, sizeof(rep->server), "%s", j->server);
	pthread_mutex_lock(&plock);
	if (ps.busy) {
		rc = refuse(CP_EEXIST, err, errlen,
			    "another pool job is under way: the %s%s%s (%u of %u copies moved): "
			    "wait for it (legoctl pool)",
			    cluster_proto_pool_what_name(ps.job.what),
			    ps.job.server[0] ? " of " : "", ps.job.server, ps.copies_done,
			    ps.copies_total);
		pthread_mutex_unlock(&plock);
		return rc;
	}
	ps.busy = true; /* claimed: checked below, released if refused */
	ps.done = false;
	pthread_mutex_unlock(&plock);
	controld_registry_lock();
	if (j->what == CP_POOL_UNDRAIN) {
		const struct controld_registry_component *c =
			controld_registry_find_component(CP_KIND_MMON, j->server);

		rc = !c ? refuse(CP_ENOENT, err, errlen, "no memory server named '%s'", j->server)
		     : !c->draining ? refuse(CP_EINVAL, err, errlen,
					     "memory server %s is not draining", j->server)
		     : controld_registry_set_draining(j->server, false)
			     ? refuse(CP_EIO, err, errlen,
				      "cannot record it in the state directory")
			     : 0;
	} else if (j->what == CP_POOL_DRAIN) {
		rc = check_drain(j->server, &copies, &bytes, err, errlen);
		if (!rc && controld_registry_set_draining(j->server, true))
			rc = refuse(CP_EIO, err, errlen,
				    "cannot record the drain in the state directory");
	} else {
		rc = plan_rebalance(&copies, &bytes, &spread, err, errlen);
	}
	controld_registry_unlock();
	pthread_mutex_lock(&plock);
	if (rc || j->what == CP_POOL_UNDRAIN) {
		ps.busy = false;
		pthread_mutex_unlock(&plock);
		return rc;
	}
	ps.active = true;
	ps.job = *j;
	ps.t0_ms = mono_clock_ms();
	ps.stalled_ms = 0;
	ps.copies_total = copies;
	ps.copies_done = ps.moved = 0;
	ps.bytes_total = bytes;
	ps.bytes_done = 0;
	ps.spread_before = spread;
	pthread_mutex_unlock(&plock);
	if (j->what == CP_POOL_DRAIN)
		log_info("drain of memory server %s asked by %s: %u vRegion cop%s, %.1f MiB to "
			 "move",
			 j->server, who, copies, copies == 1 ? "y" : "ies", (double)bytes / MIB);
	else
		log_info("rebalance of the memory pool asked by %s: %u cop%s (%.1f MiB) to move, "
			 "spread %.1f%%",
			 who, copies, copies == 1 ? "y" : "ies", (double)bytes / MIB,
			 (double)spread / 10000.0);
	kick();
	pthread_mutex_lock(&plock);
	while (!ps.done)
		pthread_cond_wait(&pcond, &plock);
	rc = ps.rc;
	snprintf(err, errlen, "%s", ps.err);
	rep->copies = ps.moved;
	rep->bytes = ps.bytes_done;
	rep->elapsed_us = (uint64_t)(mono_clock_ms() - ps.t0_ms) * 1000;
	pthread_mutex_unlock(&plock);
	controld_metrics_pool_job(j->what, rc == 0, rep->elapsed_us, rep->copies, rep->bytes);
	if (rc) {
		log_warn("memory pool: %s", err);
		return rc;
	}
	if (j->what == CP_POOL_DRAIN) {
		rep->server_used = drained_use(j->server);
		log_info("drain of memory server %s done: %u cop%s (%.1f MiB) moved in %.1f s; it "
			 "reports %.1f MiB in use",
			 j->server, rep->copies, rep->copies == 1 ? "y" : "ies",
			 (double)rep->bytes / MIB, (double)rep->elapsed_us / 1e6,
			 (double)rep->server_used / MIB);
	} else {
		struct snap *s = malloc(sizeof(*s));

		rep->spread_before_ppm = spread;
		controld_registry_lock();
		if (s) {
			snapshot(s);
			rep->spread_after_ppm = placement_spread_ppm(s->mems, s->nm);
		}
		controld_registry_unlock();
		free(s);
		log_info("rebalance of the memory pool done: %u cop%s (%.1f MiB) moved in %.1f s; "
			 "spread %.1f%% -> %.1f%%",
			 rep->copies, rep->copies == 1 ? "y" : "ies", (double)rep->bytes / MIB,
			 (double)rep->elapsed_us / 1e6, (double)rep->spread_before_ppm / 10000.0,
			 (double)rep->spread_after_ppm / 10000.0);
	}
	if (!rep->copies)
		rep->bytes = 0;
	return 0;
}

void controld_mempool_progress(struct cluster_proto_pool_progress *p)
{
	uint32_t missing = 0;

	/* Counted from the map now: the worker's count lags a loss until its next pass. */
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);

		if (v->id < 0 || v->mem_lost)
			continue;
		for (int r = 0; r < v->map.nr_regions; r++)
			if (v->map.nr_copies[r] < v->replication)
				missing += (uint32_t)(v->replication - v->map.nr_copies[r]);
	}
	memset(p, 0, sizeof(*p));
	pthread_mutex_lock(&plock);
	p->missing = missing;
	p->blocked = ps.blocked < missing ? ps.blocked : missing;
	if (ps.active && ps.job.what != CP_POOL_UNDRAIN && ps.t0_ms) {
		p->what = ps.job.what;
		p->elapsed_ms = (uint64_t)(mono_clock_ms() - ps.t0_ms);
		p->copies_total = ps.copies_total;
		p->copies_done = ps.copies_done;
		p->bytes_total = ps.bytes_total;
		p->bytes_done = ps.bytes_done + (ps.step_is_job ? ps.step_done : 0);
		if (p->bytes_done > p->bytes_total)
			p->bytes_total = p->bytes_done;
		if (p->what == CP_POOL_DRAIN)
			snprintf(p->server, sizeof(p->server), "%s", ps.job.server);
		if (ps.step_is_job && ps.step_vnode[0]) {
			snprintf(p->vnode, sizeof(p->vnode), "%s", ps.step_vnode);
			snprintf(p->to, sizeof(p->to), "%s", ps.step_to);
			p->region = ps.step_region;
		}
	}
	pthread_mutex_unlock(&plock);
}

bool controld_mempool_wait_idle(const uint8_t uuid[16], int ms)
{
	int64_t deadline = mono_clock_ms() + ms;

	for (;;) {
		struct controld_registry_vnode *v;
		bool busy;

		controld_registry_lock();
		v = controld_registry_find_uuid(uuid);
		busy = v && v->pool_busy;
		controld_registry_unlock();
		if (!busy)
			return true;
		if (mono_clock_ms() > deadline)
			return false;
		usleep(IDLE_WAIT_POLL_MS * 1000);
	}
}
