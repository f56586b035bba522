/* controld_metrics_vnode.c: the metrics page's vNode families: counts by state, each vNode's
 * definition and placement, a migration under way, and its lego-vmm's pager figures (the
 * `stats` answer `virsh domstats --lego` and `legoctl vnode` show too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controld_metrics.h"
#include "controld_migrate.h"
#include "controld_query.h"
#include "controld_registry.h"
#include "controld_vnode.h"
#include "lib/mono_clock.h"
#include "lib/prom_text.h"
#include "lib/uuid_str.h"

#define STATS_BUDGET_MS 5000 /* lego-vmms asked after this long are left out of the page */
#define VMM_PAGE	4096 /* lego-vmm's ExCache page */

/* What the page says of one vNode outside the registry lock. */
struct vn {
	char name[DOM_NAME_MAX + 1];
	uint8_t uuid[16];
	bool active;
	char *stats; /* its lego-vmm's answer (NULL: none, or not asked) */
};

/* The states legoctl shows, and their label values. */
static const char *const states[][2] = {{"running", "running"},
					{"paused", "paused"},
					{"shut off", "shutoff"},
					{"starting", "starting"},
					{"migrating", "migrating"}};
#define N_STATES ((int)(sizeof(states) / sizeof(states[0])))

/* lego-vmm's figures: its stats key, the family and how to scale it to base units. */
static const struct {
	const char *name, *type, *key, *help;
	uint64_t mult; /* 0: nanoseconds to seconds */
} rows[] = {
	{"lego_vnode_cpu_seconds_total", "counter", "cpu_time_ns",
	 "CPU time the vNode's vCPUs ran (its current run).", 0},
	{"lego_vnode_faults_total", "counter", "faults",
	 "Guest page faults lego-vmm served (pages not in the ExCache).", 1},
	{"lego_vnode_write_faults_total", "counter", "wp_faults",
	 "Write-protect faults (first writes to clean ExCache pages).", 1},
	{"lego_vnode_remote_fetches_total", "counter", "remote_fetches",
	 "Fetches from memory servers (READ requests or RMA reads).", 1},
	{"lego_vnode_fetched_pages_total", "counter", "pages_fetched",
	 "Pages fetched from memory servers.", 1},
	{"lego_vnode_zero_filled_pages_total", "counter", "zero_fills",
	 "Pages never written before, zero-filled without a fetch.", 1},
	{"lego_vnode_prefetched_pages_total", "counter", "prefetched",
	 "Pages fetched ahead of a fault.", 1},
	{"lego_vnode_evictions_total", "counter", "evictions", "Pages evicted from the ExCache.",
	 1},
	{"lego_vnode_writebacks_total", "counter", "writebacks",
	 "Dirty pages written back to memory servers.", 1},
	{"lego_vnode_fetched_bytes_total", "counter", "bytes_in",
	 "Bytes fetched from memory servers.", 1},
	{"lego_vnode_written_back_bytes_total", "counter", "bytes_out",
	 "Bytes written back to memory servers.", 1},
	{"lego_vnode_excache_capacity_bytes", "gauge", "cache_pages",
	 "The ExCache's size: guest memory that may be resident on the processor host.", VMM_PAGE},
	{"lego_vnode_excache_resident_bytes", "gauge", "resident_pages",
	 "Guest memory resident in the ExCache now.", VMM_PAGE},
	{"lego_vnode_excache_dirty_bytes", "gauge", "dirty_pages",
	 "ExCache pages written since their last write-back.", VMM_PAGE},
};
#define N_ROWS ((int)(sizeof(rows) / sizeof(rows[0])))

/* Fault service times lego-vmm reports in microseconds. */
static const char *const latency[][2] = {
	{"0.5", "fault_p50_us"}, {"0.99", "fault_p99_us"}, {"0.999", "fault_p999_us"}};

/* Every vNode's name and uuid, under the registry lock. */
static struct vn *snapshot(int *n)
{
	struct vn *vs;

	controld_registry_lock();
	*n = controld_registry_nr_vnodes();
	vs = calloc((size_t)*n + 1, sizeof(*vs));
	for (int i = 0; vs && i < *n; i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);

		snprintf(vs[i].name, sizeof(vs[i].name), "%s", v->def.name);
		memcpy(vs[i].uuid, v->def.uuid, 16);
		vs[i].active = v->id >= 0;
	}
	controld_registry_unlock();
	if (!vs)
		*n = 0;
	return vs;
}

/* Each active vNode's lego-vmm, through its host, within the page's budget. */
static double ask_vmms(struct vn *vs, int n)
{
	int64_t t0 = mono_clock_ms();
	char err[256];

	for (int i = 0; i < n; i++)
		if (vs[i].active && mono_clock_ms() - t0 < STATS_BUDGET_MS &&
		    controld_vnode_control(vs[i].uuid, "stats", &vs[i].stats, err, sizeof(err)))
			vs[i].stats = NULL; /* it just stopped, or its host cannot be asked */
	return (double)(mono_clock_ms() - t0) / 1000.0;
}

/* The counts by state and each vNode's definition, under the registry lock. */
static void definitions(struct strbuf *b)
{
	int count[N_STATES] = {0}, nv = controld_registry_nr_vnodes(), migrating = 0;

	for (int i = 0; i < nv; i++) {
		const char *st = controld_query_state(controld_registry_vnode_at(i));

		for (int s = 0; s < N_STATES; s++)
			count[s] += !strcmp(st, states[s][0]);
	}
	prom_text_family(b, "lego_vnodes", "gauge",
			 "Defined vNodes by state (starting: not yet confirmed by its host).");
	for (int s = 0; s < N_STATES; s++)
		prom_text_u64(b, "lego_vnodes", (prom_text_labels){"state", states[s][1], NULL},
			      (uint64_t)count[s]);
	prom_text_family(b, "lego_vnode_info", "gauge",
			 "Each vNode (1): its uuid, state and processor host (\"\" if inactive).");
	for (int i = 0; i < nv; i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);
		const char *st = controld_query_state(v);
		char u[UUID_STR_LEN];

		for (int s = 0; s < N_STATES; s++)
			if (!strcmp(st, states[s][0]))
				st = states[s][1];
		uuid_str_format(v->def.uuid, u);
		migrating += v->mig.active;
		prom_text_u64(b, "lego_vnode_info",
			      (prom_text_labels){"vnode", v->def.name, "uuid", u, "state", st,
						 "host", v->id >= 0 ? v->host : "", NULL},
			      1);
	}
	prom_text_family(b, "lego_vnode_vcpus", "gauge", "vCPUs of each vNode's definition.");
	for (int i = 0; i < nv; i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);

		prom_text_u64(b, "lego_vnode_vcpus", (prom_text_labels){"vnode", v->def.name, NULL},
			      v->def.vcpus);
	}
	prom_text_family(b, "lego_vnode_memory_bytes", "gauge",
			 "Guest RAM of each vNode's definition (on memory servers).");
	for (int i = 0; i < nv; i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);

		prom_text_u64(b, "lego_vnode_memory_bytes",
			      (prom_text_labels){"vnode", v->def.name, NULL},
			      v->def.memory_kib * 1024);
	}
	prom_text_family(b, "lego_migrations_running", "gauge", "Live migrations under way.");
	prom_text_u64(b, "lego_migrations_running", NULL, (uint64_t)migrating);
}

/* Running vNodes' placement and migrations under way, under the registry lock. */
static void placements(struct strbuf *b)
{
	int nv = controld_registry_nr_vnodes();

	prom_text_family(b, "lego_vnode_regions", "gauge",
			 "vRegions of each active vNode's guest RAM.");
	for (int i = 0; i < nv; i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);

		if (v->id >= 0)
			prom_text_u64(b, "lego_vnode_regions",
				      (prom_text_labels){"vnode", v->def.name, NULL},
				      (uint64_t)v->map.nr_regions);
	}
	prom_text_family(b, "lego_vnode_region_copies_missing", "gauge",
			 "vRegion copies an active vNode lacks for its replication factor.");
	for (int i = 0; i < nv; i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);
		uint64_t missing = 0;

		for (int r = 0; v->id >= 0 && r < v->map.nr_regions; r++)
			if (v->map.nr_copies[r] < v->replication)
				missing += (uint64_t)(v->replication - v->map.nr_copies[r]);
		if (v->id >= 0)
			prom_text_u64(b, "lego_vnode_region_copies_missing",
				      (prom_text_labels){"vnode", v->def.name, NULL}, missing);
	}
	prom_text_family(b, "lego_vnode_migration_elapsed_seconds", "gauge",
			 "How long the vNode's migration under way has run.");
	for (int i = 0; i < nv; i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);
		struct cluster_proto_mig_progress p;

		controld_migrate_progress(v, &p);
		if (p.phase != CP_MIG_NONE)
			prom_text_f64(b, "lego_vnode_migration_elapsed_seconds",
				      (prom_text_labels){"vnode", v->def.name, "from", p.from, "to",
							 p.to, NULL},
				      (double)p.elapsed_ms / 1000.0);
	}
}

/* A decimal field of the stats answer ("key": 1.5); -1 if absent. */
static double stats_real(const char *json, const char *key)
{
	char pat[80];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = json ? strstr(json, pat) : NULL;
	return p ? strtod(p + strlen(pat), NULL) : -1;
}

/* lego-vmm's figures, from the answers (no lock). */
static void pager(struct strbuf *b, const struct vn *vs, int n, double asked_s)
{
	prom_text_family(b, "lego_vnode_stats_up", "gauge",
			 "Whether the active vNode's lego-vmm answered for this page (1): the "
			 "lego_vnode_ figures below are its.");
	for (int i = 0; i < n; i++)
		if (vs[i].active)
			prom_text_u64(b, "lego_vnode_stats_up",
				      (prom_text_labels){"vnode", vs[i].name, NULL}, !!vs[i].stats);
	for (int r = 0; r < N_ROWS; r++) {
		prom_text_family(b, rows[r].name, rows[r].type, rows[r].help);
		for (int i = 0; i < n; i++) {
			uint64_t v =
				vs[i].stats ? controld_vnode_json_u64(vs[i].stats, rows[r].key) : 0;
			prom_text_labels l = {"vnode", vs[i].name, NULL};

			if (!vs[i].stats)
				continue;
			if (rows[r].mult)
				prom_text_u64(b, rows[r].name, l, v * rows[r].mult);
			else
				prom_text_f64(b, rows[r].name, l, (double)v / 1e9);
		}
	}
	prom_text_family(b, "lego_vnode_fault_latency_seconds", "gauge",
			 "Fault service time quantiles lego-vmm measured over its run.");
	for (int i = 0; i < n; i++)
		for (int q = 0; vs[i].stats && q < 3; q++) {
			double us = stats_real(vs[i].stats, latency[q][1]);

			if (us >= 0)
				prom_text_f64(b, "lego_vnode_fault_latency_seconds",
					      (prom_text_labels){"vnode", vs[i].name, "quantile",
								 latency[q][0], NULL},
					      us / 1e6);
		}
	prom_text_family(b, "lego_metrics_vnode_stats_seconds", "gauge",
			 "How long this page took to ask the active vNodes' lego-vmms.");
	prom_text_f64(b, "lego_metrics_vnode_stats_seconds", NULL, asked_s);
}

void controld_metrics_vnodes(struct strbuf *b)
{
	int n;
	struct vn *vs = snapshot(&n);
	double asked = vs ? ask_vmms(vs, n) : 0;

	controld_registry_lock();
	definitions(b);
	placements(b);
	controld_registry_unlock();
	if (vs)
		pager(b, vs, n, asked);
	for (int i = 0; i < n; i++)
		free(vs[i].stats);
	free(vs);
}
