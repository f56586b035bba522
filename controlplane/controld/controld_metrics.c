/* controld_metrics.c: the metrics page's skeleton, the cluster's families (components, the
 * memory pool) and the counts of what ended (migrations, pool jobs and steps). */
#include "controld_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "controld_registry.h"
#include "controld_vnode.h"
#include "controlplane/controld/mempool/controld_mempool.h"
#include "controlplane/controld/mempool/controld_owed.h"
#include "controlplane/controld/mempool/controld_pool_stuck.h"
#include "lib/log.h"
#include "lib/metrics_http.h"
#include "lib/mono_clock.h"
#include "lib/parse.h"
#include "lib/prom_text.h"

#define N_JOBS 2 /* drain, rebalance */

static const char *const mig_outcomes[CM_MIG_N] = {"moved", "failed", "lost"};
static const char *const step_kinds[CM_STEP_N] = {"add", "move", "drop"};
static const char *const job_names[N_JOBS] = {"drain", "rebalance"};
static const char *const results[2] = {"failed", "done"};

static const double mig_le[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
static const double downtime_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				     0.1,   0.25,   0.5,   1,	 2.5,	5};
static const double job_le[] = {1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200};
static const double step_le[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define NB(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* What ended since lego-controld started. */
static struct {
	pthread_mutex_t lock;
	bool ready;
	double start_time; /* the Unix time lego-controld started */
	struct prom_text_hist mig[CM_MIG_N], downtime;
	uint64_t mig_bytes;
	struct prom_text_hist job[N_JOBS][2];
	uint64_t job_copies[N_JOBS], job_bytes[N_JOBS];
	struct prom_text_hist step[CM_STEP_N][2];
} ev = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Under ev.lock. */
static void ev_init(void)
{
	struct timespec ts;

	if (ev.ready)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	for (int i = 0; i < CM_MIG_N; i++)
		prom_text_hist_init(&ev.mig[i], mig_le, NB(mig_le));
	prom_text_hist_init(&ev.downtime, downtime_le, NB(downtime_le));
	for (int i = 0; i < N_JOBS; i++)
		for (int r = 0; r < 2; r++)
			prom_text_hist_init(&ev.job[i][r], job_le, NB(job_le));
	for (int i = 0; i < CM_STEP_N; i++)
		for (int r = 0; r < 2; r++)
			prom_text_hist_init(&ev.step[i][r], step_le, NB(step_le));
	ev.ready = true;
}

void controld_metrics_migration(enum controld_metrics_mig outcome, uint64_t total_us,
				uint64_t downtime_us, uint64_t bytes)
{
	if ((unsigned)outcome >= CM_MIG_N)
		return;
	pthread_mutex_lock(&ev.lock);
	ev_init();
	prom_text_hist_observe(&ev.mig[outcome], (double)total_us / 1e6);
	if (outcome == CM_MIG_MOVED && downtime_us != CP_MIG_UNKNOWN)
		prom_text_hist_observe(&ev.downtime, (double)downtime_us / 1e6);
	if (outcome == CM_MIG_MOVED && bytes != CP_MIG_UNKNOWN)
		ev.mig_bytes += bytes;
	pthread_mutex_unlock(&ev.lock);
}

void controld_metrics_pool_job(uint32_t what, bool done, uint64_t elapsed_us, uint32_t copies,
			       uint64_t bytes)
{
	int j = what == CP_POOL_DRAIN ? 0 : what == CP_POOL_REBALANCE ? 1 : -1;

	if (j < 0)
		return;
	pthread_mutex_lock(&ev.lock);
	ev_init();
	prom_text_hist_observe(&ev.job[j][done], (double)elapsed_us / 1e6);
	ev.job_copies[j] += copies;
	ev.job_bytes[j] += bytes;
	pthread_mutex_unlock(&ev.lock);
}

void controld_metrics_pool_step(enum controld_metrics_step kind, bool done, uint64_t elapsed_us)
{
	if ((unsigned)kind >= CM_STEP_N)
		return;
	pthread_mutex_lock(&ev.lock);
	ev_init();
	prom_text_hist_observe(&ev.step[kind][done], (double)elapsed_us / 1e6);
	pthread_mutex_unlock(&ev.lock);
}

/* ---- components ------------------------------------------------------------------------ */

static const char *kind_word(int kind)
{
	return kind == CP_KIND_PMON ? "pmon" : kind == CP_KIND_MMON ? "mmon" : "smon";
}

/* One gauge family over the components of a kind (0: all), under the registry lock. */
static void component_family(struct strbuf *b, const char *name, const char *help, int kind,
			     double (*value)(const struct controld_registry_component *))
{
	prom_text_family(b, name, "gauge", help);
	for (int i = 0; i < controld_registry_nr_components(); i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);

		if (!kind || c->kind == kind)
			prom_text_f64(b, name,
				      (prom_text_labels){"kind", kind_word(c->kind), "name",
							 c->name, NULL},
				      value(c));
	}
}

static double c_up(const struct controld_registry_component *c)
{
	return c->alive;
}

static double c_seen(const struct controld_registry_component *c)
{
	return (double)(mono_clock_ms() - c->last_seen_ms) / 1000.0;
}

static double c_capacity(const struct controld_registry_component *c)
{
	return (double)c->capacity;
}

static double c_used(const struct controld_registry_component *c)
{
	return (double)c->used_bytes;
}

static double c_cores(const struct controld_registry_component *c)
{
	return c->cores;
}

static double c_used_cores(const struct controld_registry_component *c)
{
	uint32_t placed;
	uint64_t bytes;

	/* As the GPM counts it: the larger of the heartbeat's and what it placed there. */
	controld_vnode_placed_use(c->name, c->kind, &placed, &bytes);
	return c->used_cores > placed ? c->used_cores : placed;
}

static double c_draining(const struct controld_registry_component *c)
{
	return c->draining;
}

static double c_placed(const struct controld_registry_component *c)
{
	uint32_t cores;
	uint64_t bytes;

	controld_vnode_placed_use(c->name, c->kind, &cores, &bytes);
	return (double)bytes;
}

static double c_copies(const struct controld_registry_component *c)
{
	int copies = 0;

	for (int j = 0; j < controld_registry_nr_vnodes(); j++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(j);
		int s = v->id >= 0 ? vnode_map_find(&v->map, c->name) : -1;

		copies += s >= 0 ? vnode_map_copies_on(&v->map, s) : 0;
	}
	return copies;
}

static double c_owed(const struct controld_registry_component *c)
{
	return controld_owed_on(c->name);
}

static void components(struct strbuf *b)
{
	component_family(b, "lego_component_up",
			 "Whether the component is up: registered and heard from within five "
			 "heartbeats (1) or down (0).",
			 0, c_up);
	component_family(b, "lego_component_heartbeat_age_seconds",
			 "Seconds since the component's last registration or heartbeat.", 0,
			 c_seen);
	component_family(b, "lego_component_capacity_bytes",
			 "What the component offers: a processor host's memory for ExCaches, a "
			 "memory server's pool, a storage server's space.",
			 0, c_capacity);
	component_family(b, "lego_component_used_bytes",
			 "What the component reports in use in its heartbeats (same units as "
			 "lego_component_capacity_bytes).",
			 0, c_used);
	component_family(b, "lego_pmon_cores", "Cores a processor host offers for vCPUs.",
			 CP_KIND_PMON, c_cores);
	component_family(b, "lego_pmon_cores_used",
			 "Cores of a processor host given to the vCPUs of its vNodes.",
			 CP_KIND_PMON, c_used_cores);
	component_family(b, "lego_mmon_draining",
			 "Whether a memory server is being drained or was drained (1): nothing "
			 "new is placed on it.",
			 CP_KIND_MMON, c_draining);
	component_family(b, "lego_mmon_placed_bytes",
			 "Bytes of vRegion copies lego-controld placed on a memory server.",
			 CP_KIND_MMON, c_placed);
	component_family(b, "lego_mmon_region_copies",
			 "vRegion copies of running vNodes on a memory server.", CP_KIND_MMON,
			 c_copies);
	component_family(b, "lego_mmon_copies_to_free",
			 "vRegion copies of ended runs or dropped copies still to free on a "
			 "memory server (freed once it is up).",
			 CP_KIND_MMON, c_owed);
}

/* ---- the memory pool --------------------------------------------------------------------- */

static void pool_now(struct strbuf *b)
{
	struct controld_pool_stuck_view sv[64];
	struct cluster_proto_pool_progress p;
	int stuck = controld_pool_stuck_list(sv, 64, mono_clock_ms());

	controld_mempool_progress(&p);
	prom_text_family(b, "lego_pool_copies_missing", "gauge",
			 "vRegion copies missing for the replication factors of running vNodes "
			 "(re-replication restores them).");
	prom_text_u64(b, "lego_pool_copies_missing", NULL, p.missing);
	prom_text_family(b, "lego_pool_copies_blocked", "gauge",
			 "Missing copies with no memory server that has room and holds no copy "
			 "of their vRegion.");
	prom_text_u64(b, "lego_pool_copies_blocked", NULL, p.blocked);
	prom_text_family(b, "lego_pool_rereplication_stuck_vnodes", "gauge",
			 "vNodes whose re-replication is stuck (legoctl pool says why).");
	prom_text_u64(b, "lego_pool_rereplication_stuck_vnodes", NULL, (uint64_t)stuck);
	prom_text_family(b, "lego_pool_job_running", "gauge",
			 "Whether a memory pool job of that kind runs now (1).");
	for (int j = 0; j < N_JOBS; j++)
		prom_text_u64(b, "lego_pool_job_running",
			      (prom_text_labels){"job", job_names[j], NULL},
			      p.what == (uint32_t)(j ? CP_POOL_REBALANCE : CP_POOL_DRAIN));
	if (p.what == CP_POOL_NONE)
		return;
	prom_text_family(b, "lego_pool_job_elapsed_seconds", "gauge",
			 "How long the running pool job has run.");
	prom_text_f64(b, "lego_pool_job_elapsed_seconds", NULL, (double)p.elapsed_ms / 1000.0);
	prom_text_family(b, "lego_pool_job_copies", "gauge",
			 "The running pool job's vRegion copies: planned, and done so far.");
	prom_text_u64(b, "lego_pool_job_copies", (prom_text_labels){"of", "planned", NULL},
		      p.copies_total);
	prom_text_u64(b, "lego_pool_job_copies", (prom_text_labels){"of", "done", NULL},
		      p.copies_done);
	prom_text_family(b, "lego_pool_job_bytes", "gauge",
			 "The running pool job's bytes to copy: planned, and done so far.");
	prom_text_u64(b, "lego_pool_job_bytes", (prom_text_labels){"of", "planned", NULL},
		      p.bytes_total);
	prom_text_u64(b, "lego_pool_job_bytes", (prom_text_labels){"of", "done", NULL},
		      p.bytes_done);
}

/* ---- what ended -------------------------------------------------------------------------- */

static void ended(struct strbuf *b)
{
	pthread_mutex_lock(&ev.lock);
	ev_init();
	prom_text_family(b, "lego_migration_duration_seconds", "histogram",
			 "Live migrations that ended, by outcome (moved: it runs on the "
			 "destination; failed: it runs on the source as before; lost: it is "
			 "off), and how long each took.");
	for (int i = 0; i < CM_MIG_N; i++)
		prom_text_hist(b, "lego_migration_duration_seconds",
			       (prom_text_labels){"outcome", mig_outcomes[i], NULL}, &ev.mig[i]);
	prom_text_family(b, "lego_migration_downtime_seconds", "histogram",
			 "The guest's pause at the hand-over of each completed migration whose "
			 "source reported it.");
	prom_text_hist(b, "lego_migration_downtime_seconds", NULL, &ev.downtime);
	prom_text_family(b, "lego_migration_sent_bytes_total", "counter",
			 "Bytes the sources of completed migrations sent.");
	prom_text_u64(b, "lego_migration_sent_bytes_total", NULL, ev.mig_bytes);
	prom_text_family(b, "lego_pool_job_duration_seconds", "histogram",
			 "Memory pool jobs (legoctl mmon drain, legoctl pool rebalance) that "
			 "ended, done or failed, and how long each ran.");
	for (int j = 0; j < N_JOBS; j++)
		for (int r = 1; r >= 0; r--)
			prom_text_hist(
				b, "lego_pool_job_duration_seconds",
				(prom_text_labels){"job", job_names[j], "result", results[r], NULL},
				&ev.job[j][r]);
	prom_text_family(b, "lego_pool_job_moved_copies_total", "counter",
			 "vRegion copies the memory pool's jobs moved.");
	for (int j = 0; j < N_JOBS; j++)
		prom_text_u64(b, "lego_pool_job_moved_copies_total",
			      (prom_text_labels){"job", job_names[j], NULL}, ev.job_copies[j]);
	prom_text_family(b, "lego_pool_job_moved_bytes_total", "counter",
			 "Bytes the memory pool's jobs copied between memory servers.");
	for (int j = 0; j < N_JOBS; j++)
		prom_text_u64(b, "lego_pool_job_moved_bytes_total",
			      (prom_text_labels){"job", job_names[j], NULL}, ev.job_bytes[j]);
	prom_text_family(b, "lego_pool_step_duration_seconds", "histogram",
			 "Steps on vRegion copies of running vNodes (add: re-replication, move: "
			 "a job's, drop: a copy too many), done or failed, and their durations.");
	for (int k = 0; k < CM_STEP_N; k++)
		for (int r = 1; r >= 0; r--)
			prom_text_hist(b, "lego_pool_step_duration_seconds",
				       (prom_text_labels){"kind", step_kinds[k], "result",
							  results[r], NULL},
				       &ev.step[k][r]);
	pthread_mutex_unlock(&ev.lock);
}

/* ---- the page ---------------------------------------------------------------------------- */

int controld_metrics_render(struct strbuf *b, void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&ev.lock);
	ev_init();
	prom_text_family(b, "lego_controld_start_time_seconds", "gauge",
			 "When lego-controld started, in seconds since the Unix epoch.");
	prom_text_f64(b, "lego_controld_start_time_seconds", NULL, ev.start_time);
	pthread_mutex_unlock(&ev.lock);
	controld_registry_lock();
	components(b);
	pool_now(b);
	controld_registry_unlock();
	controld_metrics_vnodes(b);
	ended(b);
	return 0;
}

int controld_metrics_start(const char *hostport, char *port, size_t plen, char *err, size_t errlen)
{
	pthread_mutex_lock(&ev.lock);
	ev_init(); /* the start time */
	pthread_mutex_unlock(&ev.lock);
	char host[256], any[16], where[300];

	if (metrics_http_start(hostport, controld_metrics_render, NULL, port, plen, err, errlen))
		return -1;
	if (parse_hostport(hostport, 0, host, sizeof(host), any, sizeof(any)) ||
	    parse_hostport_format(where, sizeof(where), host, port))
		snprintf(where, sizeof(where), "%s", hostport);
	log_info(
		"metrics: http://%s/metrics (--metrics %s): plain HTTP, read-only, unauthenticated",
		where, hostport);
	return 0;
}
