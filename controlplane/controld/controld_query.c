/* controld_query.c: the cluster views legoctl shows (components, vNodes, one vNode's
 * vRegion copies and ExCache statistics, the memory pool), as a table or as JSON (built
 * with jansson: every string escaped). */
#include "controld_query.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controld_migrate.h"
#include "controld_registry.h"
#include "controld_vnode.h"
#include "controlplane/controld/mempool/controld_mempool.h"
#include "controlplane/controld/mempool/controld_owed.h"
#include "controlplane/controld/mempool/controld_pool_stuck.h"
#include "lib/mono_clock.h"
#include "lib/uuid_str.h"

#define MIB 1048576.0

static const char *kind_word(int kind)
{
	return kind == CP_KIND_PMON ? "pmon" : kind == CP_KIND_MMON ? "mmon" : "smon";
}

const char *controld_query_state(const struct controld_registry_vnode *v)
{
	if (v->mig.active)
		return "migrating";
	if (v->id >= 0 && !v->confirmed)
		return "starting";
	return v->state == VN_RUNNING ? "running" : v->state == VN_PAUSED ? "paused" : "shut off";
}

/* Regions with fewer copies than the factor asks for, and the fewest any has. */
static int short_regions(const struct controld_registry_vnode *v, int *fewest)
{
	int n = 0;

	*fewest = v->map.nr_regions ? VMAP_MAX_COPIES : 0;
	for (int r = 0; r < v->map.nr_regions; r++) {
		n += v->map.nr_copies[r] < v->replication;
		if (v->map.nr_copies[r] < *fewest)
			*fewest = v->map.nr_copies[r];
	}
	return n;
}

/* ---- JSON values ----------------------------------------------------------------------- */

/* A string (bytes that are not UTF-8 become '?': jansson takes UTF-8 only). */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	for (char *c = copy; c && *c; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	j = copy ? json_string(copy) : NULL;
	free(copy);
	return j;
}

static json_t *ju64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* v as "%.1f" shows it (printed without trailing zeros). */
static json_t *jreal1(double v)
{
	char text[64];

	snprintf(text, sizeof(text), "%.1f", v);
	return json_real(strtod(text, NULL));
}

static void set(json_t *o, const char *key, json_t *value)
{
	json_object_set_new(o, key, value);
}

/* ---- components ------------------------------------------------------------------------ */

static json_t *components_json(void)
{
	json_t *list = json_array(), *o = json_object();
	int64_t now = mono_clock_ms();

	for (int i = 0; i < controld_registry_nr_components(); i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);
		json_t *e = json_object();

		set(e, "kind", json_string(kind_word(c->kind)));
		set(e, "name", jstr(c->name));
		set(e, "addr", jstr(c->addr));
		set(e, "alive", json_boolean(c->alive));
		set(e, "draining", json_boolean(c->draining));
		set(e, "cores", json_integer(c->cores));
		set(e, "used_cores", json_integer(c->used_cores));
		set(e, "capacity_bytes", ju64(c->capacity));
		set(e, "used_bytes", ju64(c->used_bytes));
		set(e, "last_seen_s", jreal1((double)(now - c->last_seen_ms) / 1000.0));
		json_array_append_new(list, e);
	}
	set(o, "components", list);
	return o;
}

static void components_table(struct strbuf *b)
{
	int64_t now = mono_clock_ms();

	strbuf_printf(b, "%-5s %-16s %-22s %-5s %11s %21s %9s\n", "KIND", "NAME", "ADDRESS",
		      "STATE", "CORES", "MEMORY MiB", "SEEN");
	for (int i = 0; i < controld_registry_nr_components(); i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);
		char cores[24] = "-", mem[32];

		if (c->kind == CP_KIND_PMON)
			snprintf(cores, sizeof(cores), "%u/%u", c->used_cores, c->cores);
		snprintf(mem, sizeof(mem), "%.0f/%.0f", (double)c->used_bytes / MIB,
			 (double)c->capacity / MIB);
		strbuf_printf(b, "%-5s %-16s %-22s %-5s %11s %21s %8.1fs\n", kind_word(c->kind),
			      c->name, c->addr,
			      !c->alive	    ? "down"
			      : c->draining ? "drain"
					    : "up",
			      cores, mem, (double)(now - c->last_seen_ms) / 1000.0);
	}
}

/* ---- vNodes ---------------------------------------------------------------------------- */

static uint64_t excache_kib(const struct controld_registry_vnode *v)
{
	return v->def.excache_kib ? v->def.excache_kib : v->def.memory_kib;
}

/* What every JSON view of a vNode starts with. */
static json_t *vnode_json(const struct controld_registry_vnode *v)
{
	json_t *o = json_object();
	char u[UUID_STR_LEN];

	uuid_str_format(v->def.uuid, u);
	set(o, "name", jstr(v->def.name));
	set(o, "uuid", json_string(u));
	set(o, "id", json_integer(v->id));
	set(o, "state", json_string(controld_query_state(v)));
	set(o, "host", jstr(v->host));
	set(o, "vcpus", json_integer(v->def.vcpus));
	set(o, "memory_bytes", ju64(v->def.memory_kib * 1024));
	set(o, "excache_bytes", ju64(excache_kib(v) * 1024));
	set(o, "persistent", json_boolean(v->persistent));
	set(o, "last_exit_status", json_integer(v->exit_status));
	if (v->last_exit[0])
		set(o, "last_exit", jstr(v->last_exit));
	if (v->next_def) /* redefined while running: what the next start takes */
		set(o, "next_start",
		    json_pack("{s:i, s:I}", "vcpus", (int)v->next_def->vcpus, "memory_bytes",
			      (json_int_t)(v->next_def->memory_kib * 1024)));
	return o;
}

static json_t *vnodes_json(void)
{
	json_t *list = json_array(), *o = json_object();

	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);
		json_t *e = vnode_json(v);

		set(e, "regions", json_integer(v->map.nr_regions));
		json_array_append_new(list, e);
	}
	set(o, "vnodes", list);
	return o;
}

static void vnodes_table(struct strbuf *b)
{
	strbuf_printf(b, "%-20s %5s %-9s %-16s %5s %10s %12s %8s\n", "NAME", "ID", "STATE", "HOST",
		      "VCPUS", "MEMORY MiB", "EXCACHE MiB", "REGIONS");
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);
		char id[16] = "-";

		if (v->id >= 0)
			snprintf(id, sizeof(id), "%d", v->id);
		strbuf_printf(b, "%-20s %5s %-9s %-16s %5u %10.0f %12.0f %8d\n", v->def.name, id,
			      controld_query_state(v), v->host[0] ? v->host : "-", v->def.vcpus,
			      (double)v->def.memory_kib / 1024.0, (double)excache_kib(v) / 1024.0,
			      v->map.nr_regions);
	}
}

/* ---- one vNode ------------------------------------------------------------------------- */

/* A migration under way: where to, how far. */
static json_t *migration_json(const struct controld_registry_vnode *v)
{
	struct cluster_proto_mig_progress p;
	json_t *o;

	controld_migrate_progress(v, &p);
	if (p.phase == CP_MIG_NONE)
		return json_null();
	o = json_object();
	set(o, "from", jstr(p.from));
	set(o, "to", jstr(p.to));
	set(o, "phase", json_string(cluster_proto_mig_phase_name(p.phase)));
	set(o, "elapsed_ms", ju64(p.elapsed_ms));
	set(o, "bytes_total", ju64(p.bytes_total));
	set(o, "bytes_processed", ju64(p.bytes_processed));
	set(o, "bytes_remaining", ju64(p.bytes_remaining));
	return o;
}

static void migration_table(struct strbuf *b, const struct controld_registry_vnode *v)
{
	struct cluster_proto_mig_progress p;

	controld_migrate_progress(v, &p);
	if (p.phase == CP_MIG_NONE)
		return;
	strbuf_printf(b, "migrating from %s to %s: %s, %.1f s", p.from, p.to,
		      cluster_proto_mig_phase_name(p.phase), (double)p.elapsed_ms / 1000.0);
	if (p.bytes_total)
		strbuf_printf(b, ", %.0f%% (%.1f of %.1f MiB)",
			      100.0 * (double)p.bytes_processed / (double)p.bytes_total,
			      (double)p.bytes_processed / MIB, (double)p.bytes_total / MIB);
	strbuf_printf(b, "\n");
}

/* A pool step on v under way (the job's): "moving vRegion 3 to mem-c". */
static bool pool_step_mine(const struct controld_registry_vnode *v,
			   const struct cluster_proto_pool_progress *p)
{
	return p->vnode[0] && !strcmp(p->vnode, v->def.name);
}

static json_t *pool_step_json(const struct controld_registry_vnode *v,
			      const struct cluster_proto_pool_progress *p)
{
	json_t *o;

	if (!pool_step_mine(v, p))
		return json_null();
	o = json_object();
	set(o, "job", json_string(cluster_proto_pool_what_name(p->what)));
	set(o, "region", json_integer(p->region));
	set(o, "to", jstr(p->to));
	return o;
}

static const char *stuck_cause_name(enum controld_pool_stuck_cause c)
{
	return c == POOL_STUCK_NO_ROOM	     ? "no_room"
	       : c == POOL_STUCK_SERVER_DOWN ? "server_down"
					     : "steps_fail";
}

/* Why v's re-replication cannot go on, or null. */
static json_t *stuck_json(const struct controld_registry_vnode *v)
{
	struct controld_pool_stuck_view sv;
	json_t *o;

	if (v->id < 0 || !controld_pool_stuck_of(v->def.uuid, v->id, &sv, mono_clock_ms()))
		return json_null();
	o = json_object();
	set(o, "region", json_integer(sv.region));
	set(o, "reason", jstr(sv.why));
	set(o, "no_room", json_boolean(sv.cause == POOL_STUCK_NO_ROOM));
	set(o, "cause", jstr(stuck_cause_name(sv.cause)));
	set(o, "since_ms", json_integer(sv.since_ms));
	return o;
}

/* Each vRegion's copies, the primary first, and the replication behind them. */
static void region_map_json(json_t *o, const struct controld_registry_vnode *v)
{
	uint64_t ram = v->def.memory_kib * 1024;
	const struct vnode_map *m = &v->map;
	int fewest, nshort = short_regions(v, &fewest);
	json_t *rep = json_object(), *regions = json_array();

	set(rep, "factor", json_integer(v->replication));
	set(rep, "fewest_copies", json_integer(fewest));
	set(rep, "short_regions", json_integer(nshort));
	set(rep, "stuck", stuck_json(v));
	set(o, "replication", rep);
	set(o, "map_version", ju64(v->map_version));
	set(o, "region_size", ju64(v->region_size));
	for (int r = 0; r < m->nr_regions; r++) {
		uint64_t start = (uint64_t)r * v->region_size,
			 end = r == m->nr_regions - 1 ? ram : start + v->region_size;
		json_t *e = json_object(), *copies = json_array();

		set(e, "index", json_integer(r));
		set(e, "server", jstr(m->mmon[m->copy[r][0]]));
		set(e, "addr", jstr(m->mmon_addr[m->copy[r][0]]));
		for (int k = 0; k < m->nr_copies[r]; k++)
			json_array_append_new(copies, jstr(m->mmon[m->copy[r][k]]));
		set(e, "copies", copies);
		set(e, "start", ju64(start));
		set(e, "size", ju64(end - start));
		json_array_append_new(regions, e);
	}
	set(o, "regions", regions);
}

static void region_map_table(struct strbuf *b, const struct controld_registry_vnode *v)
{
	uint64_t ram = v->def.memory_kib * 1024;
	const struct vnode_map *m = &v->map;
	int fewest, nshort = short_regions(v, &fewest);
	struct controld_pool_stuck_view sv;
	bool stuck = nshort && !v->mem_lost &&
		     controld_pool_stuck_of(v->def.uuid, v->id, &sv, mono_clock_ms());

	strbuf_printf(b, "vRegions: %d of %.0f MiB, replication factor %d: %s", m->nr_regions,
		      (double)v->region_size / MIB, v->replication,
		      v->mem_lost ? "a vRegion lost its only copy: the vNode stops"
		      : nshort	  ? "some vRegions have fewer copies"
				  : "every vRegion has its copies");
	if (stuck)
		strbuf_printf(b, " (re-replication stuck: vRegion %d: %s)", sv.region, sv.why);
	else if (nshort && !v->mem_lost)
		strbuf_printf(b, " (re-replication under way, legoctl pool)");
	strbuf_printf(b, "\n  %-9s %-34s %s\n", "REGION", "COPIES (PRIMARY FIRST)", "RAM RANGE");
	for (int r = 0; r < m->nr_regions; r++) {
		uint64_t start = (uint64_t)r * v->region_size,
			 end = r == m->nr_regions - 1 ? ram : start + v->region_size;
		char copies[VMAP_MAX_COPIES * (CP_NAME_LEN + 1) + 8];
		size_t n = 0;

		copies[0] = '\0';
		for (int k = 0; k < m->nr_copies[r]; k++)
			n += (size_t)snprintf(copies + n, sizeof(copies) - n, "%s%s", k ? "+" : "",
					      m->mmon[m->copy[r][k]]);
		if (m->nr_copies[r] < v->replication)
			snprintf(copies + n, sizeof(copies) - n, " (%d of %d)", m->nr_copies[r],
				 v->replication);
		strbuf_printf(b, "  %-9d %-34s 0x%" PRIx64 "-0x%" PRIx64 "\n", r, copies, start,
			      end);
	}
}

static json_t *vnode_detail_json(const struct controld_registry_vnode *v,
				 const struct cluster_proto_pool_progress *pp)
{
	json_t *o = vnode_json(v), *disks = json_array();

	set(o, "migration", migration_json(v));
	set(o, "pool_step", pool_step_json(v, pp));
	region_map_json(o, v);
	for (int i = 0; i < v->def.nr_disks; i++)
		json_array_append_new(disks,
				      jstr(v->id >= 0 ? v->disk_uri[i] : v->def.disks[i].volume));
	set(o, "disks", disks);
	return o;
}

static void vnode_detail_table(struct strbuf *b, const struct controld_registry_vnode *v,
			       const struct cluster_proto_pool_progress *pp, const char *stats)
{
	char u[UUID_STR_LEN];

	uuid_str_format(v->def.uuid, u);
	strbuf_printf(b, "vNode %s (%s): %s", v->def.name, u, controld_query_state(v));
	if (v->id >= 0)
		strbuf_printf(b, ", id %d on %s", v->id, v->host);
	strbuf_printf(b, "\n%u vCPU(s), %.0f MiB RAM, ExCache %.0f MiB\n", v->def.vcpus,
		      (double)v->def.memory_kib / 1024.0, (double)excache_kib(v) / 1024.0);
	if (v->last_exit[0])
		strbuf_printf(b, "last exit: %s\n", v->last_exit);
	if (v->next_def)
		strbuf_printf(b, "redefined: the next start takes %u vCPU(s), %.0f MiB RAM\n",
			      v->next_def->vcpus, (double)v->next_def->memory_kib / 1024.0);
	migration_table(b, v);
	if (pool_step_mine(v, pp))
		strbuf_printf(b, "memory pool: the %s%s%s is moving vRegion %u (to %s)\n",
			      cluster_proto_pool_what_name(pp->what), pp->server[0] ? " of " : "",
			      pp->server, pp->region, pp->to);
	if (v->id >= 0)
		region_map_table(b, v);
	for (int i = 0; i < v->def.nr_disks; i++)
		strbuf_printf(b, "disk %s: %s\n", v->def.disks[i].target,
			      v->id >= 0 ? v->disk_uri[i] : v->def.disks[i].volume);
	if (!stats)
		return;
	strbuf_printf(b, "ExCache: %" PRIu64 " of %" PRIu64 " pages resident, %" PRIu64 " dirty\n",
		      controld_vnode_json_u64(stats, "resident_pages"),
		      controld_vnode_json_u64(stats, "cache_pages"),
		      controld_vnode_json_u64(stats, "dirty_pages"));
	strbuf_printf(b,
		      "faults: %" PRIu64 " (%" PRIu64 " remote fetches, %" PRIu64
		      " pages fetched, %" PRIu64 " zero-filled), %" PRIu64 " evictions, %" PRIu64
		      " write-backs\n",
		      controld_vnode_json_u64(stats, "faults"),
		      controld_vnode_json_u64(stats, "remote_fetches"),
		      controld_vnode_json_u64(stats, "pages_fetched"),
		      controld_vnode_json_u64(stats, "zero_fills"),
		      controld_vnode_json_u64(stats, "evictions"),
		      controld_vnode_json_u64(stats, "writebacks"));
}

/* ---- the memory pool ------------------------------------------------------------------- */

/* A memory server's vRegion copies and what lego-controld placed there. */
static int server_copies(const struct controld_registry_component *c, uint64_t *placed)
{
	uint32_t cores;
	int copies = 0;

	controld_vnode_placed_use(c->name, c->kind, &cores, placed);
	for (int j = 0; j < controld_registry_nr_vnodes(); j++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(j);
		int s = v->id >= 0 ? vnode_map_find(&v->map, c->name) : -1;

		copies += s >= 0 ? vnode_map_copies_on(&v->map, s) : 0;
	}
	return copies;
}

static const char *server_state(const struct controld_registry_component *c)
{
	return !c->alive ? "down" : c->draining ? "draining" : "up";
}

static json_t *pool_job_json(const struct cluster_proto_pool_progress *p)
{
	json_t *o;

	if (p->what == CP_POOL_NONE)
		return json_null();
	o = json_object();
	set(o, "what", json_string(cluster_proto_pool_what_name(p->what)));
	set(o, "server", jstr(p->server));
	set(o, "elapsed_ms", ju64(p->elapsed_ms));
	set(o, "copies_total", json_integer(p->copies_total));
	set(o, "copies_done", json_integer(p->copies_done));
	set(o, "bytes_total", ju64(p->bytes_total));
	set(o, "bytes_done", ju64(p->bytes_done));
	set(o, "vnode", jstr(p->vnode));
	set(o, "region", json_integer(p->region));
	set(o, "to", jstr(p->to));
	return o;
}

/* The vNodes whose re-replication is stuck, and why. */
static json_t *stuck_list_json(void)
{
	struct controld_pool_stuck_view sv[16];
	int n = controld_pool_stuck_list(sv, 16, mono_clock_ms());
	json_t *a = json_array();

	for (int i = 0; i < n; i++) {
		json_t *e = json_object();

		set(e, "vnode", jstr(sv[i].vnode));
		set(e, "region", json_integer(sv[i].region));
		set(e, "reason", jstr(sv[i].why));
		set(e, "no_room", json_boolean(sv[i].cause == POOL_STUCK_NO_ROOM));
		set(e, "cause", jstr(stuck_cause_name(sv[i].cause)));
		set(e, "since_ms", json_integer(sv[i].since_ms));
		json_array_append_new(a, e);
	}
	return a;
}

static json_t *pool_json(void)
{
	json_t *o = json_object(), *servers = json_array(), *rerep = json_object();
	struct cluster_proto_pool_progress p;

	controld_mempool_progress(&p);
	for (int i = 0; i < controld_registry_nr_components(); i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);
		json_t *e;
		uint64_t placed;
		int copies;

		if (c->kind != CP_KIND_MMON)
			continue;
		copies = server_copies(c, &placed);
		e = json_object();
		set(e, "name", jstr(c->name));
		set(e, "addr", jstr(c->addr));
		set(e, "state", json_string(server_state(c)));
		set(e, "alive", json_boolean(c->alive));
		set(e, "draining", json_boolean(c->draining));
		set(e, "capacity_bytes", ju64(c->capacity));
		set(e, "used_bytes", ju64(c->used_bytes));
		set(e, "placed_bytes", ju64(placed));
		set(e, "copies", json_integer(copies));
		set(e, "owed_copies", json_integer(controld_owed_on(c->name)));
		json_array_append_new(servers, e);
	}
	set(o, "servers", servers);
	set(o, "job", pool_job_json(&p));
	set(rerep, "missing", json_integer(p.missing));
	set(rerep, "blocked", json_integer(p.blocked));
	set(rerep, "stuck", stuck_list_json());
	set(o, "rereplication", rerep);
	set(o, "owed_copies", json_integer(controld_owed_total()));
	return o;
}

/* Re-replication: nothing to do, under way, or why not. */
static void pool_rerep_table(struct strbuf *b, const struct cluster_proto_pool_progress *p)
{
	struct controld_pool_stuck_view sv[8];
	int n = controld_pool_stuck_list(sv, 8, mono_clock_ms()), failing = 0, down = 0;
	uint32_t owed = controld_owed_total();

	for (int i = 0; i < n; i++) {
		failing += sv[i].cause == POOL_STUCK_STEPS_FAIL;
		down += sv[i].cause == POOL_STUCK_SERVER_DOWN;
	}
	if (!p->missing)
		strbuf_printf(b, "re-replication: every vRegion has its copies\n");
	else if (p->blocked)
		strbuf_printf(b,
			      "re-replication: %u cop%s missing, %u with no memory server that has "
			      "room and holds no copy of its vRegion: waiting for capacity\n",
			      p->missing, p->missing == 1 ? "y" : "ies", p->blocked);
	else if (failing)
		strbuf_printf(b, "re-replication: %u cop%s missing: stuck, its steps fail:\n",
			      p->missing, p->missing == 1 ? "y" : "ies");
	else if (down)
		strbuf_printf(b,
			      "re-replication: %u cop%s missing: waiting for a memory server "
			      "holding the only copy to come back:\n",
			      p->missing, p->missing == 1 ? "y" : "ies");
	else
		strbuf_printf(b, "re-replication: %u cop%s missing: being restored\n", p->missing,
			      p->missing == 1 ? "y" : "ies");
	for (int i = 0; p->missing && i < n; i++)
		if (sv[i].cause != POOL_STUCK_NO_ROOM)
			strbuf_printf(b, "  vNode %s vRegion %d (for %.0f s): %s\n", sv[i].vnode,
				      sv[i].region, (double)sv[i].since_ms / 1000.0, sv[i].why);
	if (owed)
		strbuf_printf(b,
			      "%u vRegion cop%s of ended runs or dropped copies still to free: "
			      "each is freed once its server is up\n",
			      owed, owed == 1 ? "y" : "ies");
}

static void pool_table(struct strbuf *b)
{
	struct cluster_proto_pool_progress p;

	controld_mempool_progress(&p);
	strbuf_printf(b, "%-16s %-22s %-8s %12s %9s %11s %5s %7s\n", "MEMORY SERVER", "ADDRESS",
		      "STATE", "CAPACITY MiB", "USED MiB", "PLACED MiB", "USE", "COPIES");
	for (int i = 0; i < controld_registry_nr_components(); i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);
		uint64_t placed;
		int copies;

		if (c->kind != CP_KIND_MMON)
			continue;
		copies = server_copies(c, &placed);
		strbuf_printf(b, "%-16s %-22s %-8s %12.0f %9.1f %11.1f %4.0f%% %7d\n", c->name,
			      c->addr, server_state(c), (double)c->capacity / MIB,
			      (double)c->used_bytes / MIB, (double)placed / MIB,
			      c->capacity ? 100.0 * (double)placed / (double)c->capacity : 0.0,
			      copies);
	}
	if (p.what != CP_POOL_NONE) {
		strbuf_printf(b, "job: %s%s%s: %u of %u copies, %.1f of %.1f MiB, %.1f s",
			      cluster_proto_pool_what_name(p.what), p.server[0] ? " of " : "",
			      p.server, p.copies_done, p.copies_total, (double)p.bytes_done / MIB,
			      (double)p.bytes_total / MIB, (double)p.elapsed_ms / 1000.0);
		if (p.vnode[0])
			strbuf_printf(b, "; moving vNode %s's vRegion %u (to %s)", p.vnode,
				      p.region, p.to);
		strbuf_printf(b, "\n");
	}
	pool_rerep_table(b, &p);
}

/* ---- the answer ------------------------------------------------------------------------ */

/* The object (taken over) as one line appended to b; vmm: a JSON object's text to embed as
 * its last member "vmm" as it is (NULL: none). 0, or CP_EIO with err. */
static int dump(struct strbuf *b, json_t *o, const char *vmm, char *err, size_t errlen)
{
	char *text = o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) : NULL;
	size_t n = text ? strlen(text) : 0;

	json_decref(o);
	if (!text) {
		snprintf(err, errlen, "out of memory for the answer");
		return CP_EIO;
	}
	if (vmm) /* "{...}" less its "}", the member, then the "}" */
		strbuf_printf(b, "%.*s, \"vmm\": %s}\n", (int)(n - 1), text, vmm);
	else
		strbuf_printf(b, "%s\n", text);
	free(text);
	return 0;
}

/* The VMM's own JSON line, to be embedded as it is if it is one JSON object (integers
 * beyond jansson's range allowed: the vNode's uid may be one); NULL otherwise. */
static const char *vmm_line(char *stats)
{
	char *line = stats ? strtok(stats, "\n") : NULL;
	json_t *j = line ? json_loads(line, JSON_DECODE_INT_AS_REAL, NULL) : NULL;
	bool object = json_is_object(j);

	json_decref(j);
	return object ? line : NULL;
}

/* One vNode: the VMM's figures first, as the call must not hold the registry lock. */
static int one_vnode(const struct cluster_proto_query *q, struct strbuf *b, char *err,
		     size_t errlen)
{
	bool json = q->flags & CP_QUERY_JSON, active = false;
	struct cluster_proto_pool_progress pp;
	uint8_t uuid[16];
	char *stats = NULL, why[512];
	struct controld_registry_vnode *v;
	int rc = 0;

	controld_registry_lock();
	v = controld_registry_find_name(q->name);
	if (v) {
		memcpy(uuid, v->def.uuid, 16);
		active = v->id >= 0;
	}
	controld_registry_unlock();
	if (!v) {
		snprintf(err, errlen, "no vNode named '%s'", q->name);
		return CP_ENOENT;
	}
	if (active && controld_vnode_control(uuid, "stats", &stats, why, sizeof(why)))
		stats = NULL;
	controld_registry_lock();
	v = controld_registry_find_uuid(uuid);
	if (!v) {
		controld_registry_unlock();
		free(stats);
		snprintf(err, errlen, "vNode '%s' was undefined meanwhile", q->name);
		return CP_ENOENT;
	}
	controld_mempool_progress(&pp);
	if (json) {
		const char *vmm = vmm_line(stats);
		json_t *o = vnode_detail_json(v, &pp);

		if (!vmm)
			set(o, "vmm", json_null());
		rc = dump(b, o, vmm, err, errlen);
	} else {
		vnode_detail_table(b, v, &pp, stats);
	}
	controld_registry_unlock();
	free(stats);
	return rc;
}

int controld_query_render(const struct cluster_proto_query *q, struct strbuf *b, char *err,
			  size_t errlen)
{
	bool json = q->flags & CP_QUERY_JSON;
	int rc = 0;

	if (q->what == CP_Q_VNODE)
		return one_vnode(q, b, err, errlen);
	controld_registry_lock();
	if (q->what == CP_Q_COMPONENTS && json)
		rc = dump(b, components_json(), NULL, err, errlen);
	else if (q->what == CP_Q_COMPONENTS)
		components_table(b);
	else if (q->what == CP_Q_POOL && json)
		rc = dump(b, pool_json(), NULL, err, errlen);
	else if (q->what == CP_Q_POOL)
		pool_table(b);
	else if (json)
		rc = dump(b, vnodes_json(), NULL, err, errlen);
	else
		vnodes_table(b);
	controld_registry_unlock();
	return rc;
}
