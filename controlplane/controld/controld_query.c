/* controld_query.c: the cluster views legoctl shows (components, vNodes, one vNode's
 * vRegion copies and ExCache statistics, the memory pool), as a table or as JSON. */
#include "controld_query.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/controld/mempool/controld_mempool.h"
#include "controld_migrate.h"
#include "controld_registry.h"
#include "controld_vnode.h"
#include "lib/mono_clock.h"
#include "lib/uuid_str.h"

#define MIB 1048576.0

static const char *kind_word(int kind)
{
	return kind == CP_KIND_PMON ? "pmon" : kind == CP_KIND_MMON ? "mmon" : "smon";
}

static const char *state_word(const struct vnode *v)
{
	if (v->mig.active)
		return "migrating";
	if (v->id >= 0 && !v->confirmed)
		return "starting";
	return v->state == VN_RUNNING ? "running" : v->state == VN_PAUSED ? "paused" : "shut off";
}

static void components(struct strbuf *b, bool json)
{
	int64_t now = mono_ms();

	if (json)
		sb_printf(b, "{\"components\": [");
	else
		sb_printf(b, "%-5s %-16s %-22s %-5s %11s %21s %9s\n", "KIND", "NAME", "ADDRESS",
			  "STATE", "CORES", "MEMORY MiB", "SEEN");
	for (int i = 0; i < reg_nr_components(); i++) {
		const struct component *c = reg_component_at(i);
		double ago = (double)(now - c->last_seen_ms) / 1000.0;

		if (json) {
			sb_printf(b, "%s{\"kind\": \"%s\", \"name\": ", i ? ", " : "",
				  kind_word(c->kind));
			sb_json_str(b, c->name);
			sb_printf(b, ", \"addr\": ");
			sb_json_str(b, c->addr);
			sb_printf(b,
				  ", \"alive\": %s, \"draining\": %s, \"cores\": %u, "
				  "\"used_cores\": %u, \"capacity_bytes\": %" PRIu64
				  ", \"used_bytes\": %" PRIu64 ", \"last_seen_s\": %.1f}",
				  c->alive ? "true" : "false", c->draining ? "true" : "false",
				  c->cores, c->used_cores, c->capacity, c->used_bytes, ago);
		} else {
			char cores[24] = "-", mem[32];

			if (c->kind == CP_KIND_PMON)
				snprintf(cores, sizeof(cores), "%u/%u", c->used_cores, c->cores);
			snprintf(mem, sizeof(mem), "%.0f/%.0f", (double)c->used_bytes / MIB,
				 (double)c->capacity / MIB);
			sb_printf(b, "%-5s %-16s %-22s %-5s %11s %21s %8.1fs\n", kind_word(c->kind),
				  c->name, c->addr,
				  !c->alive	? "down"
				  : c->draining ? "drain"
						: "up",
				  cores, mem, ago);
		}
	}
	if (json)
		sb_printf(b, "]}\n");
}

static void vnode_json(struct strbuf *b, const struct vnode *v)
{
	char u[UUID_STR_LEN];

	uuid_str_format(v->def.uuid, u);
	sb_printf(b, "{\"name\": ");
	sb_json_str(b, v->def.name);
	sb_printf(b, ", \"uuid\": \"%s\", \"id\": %d, \"state\": \"%s\", \"host\": ", u, v->id,
		  state_word(v));
	sb_json_str(b, v->host);
	sb_printf(b,
		  ", \"vcpus\": %u, \"memory_bytes\": %" PRIu64 ", \"excache_bytes\": %" PRIu64
		  ", \"persistent\": %s, \"last_exit_status\": %d",
		  v->def.vcpus, v->def.memory_kib * 1024,
		  (v->def.excache_kib ? v->def.excache_kib : v->def.memory_kib) * 1024,
		  v->persistent ? "true" : "false", v->exit_status);
}

static void vnodes(struct strbuf *b, bool json)
{
	if (json)
		sb_printf(b, "{\"vnodes\": [");
	else
		sb_printf(b, "%-20s %5s %-9s %-16s %5s %10s %12s %8s\n", "NAME", "ID", "STATE",
			  "HOST", "VCPUS", "MEMORY MiB", "EXCACHE MiB", "REGIONS");
	for (int i = 0; i < reg_nr_vnodes(); i++) {
		const struct vnode *v = reg_vnode_at(i);

		if (json) {
			sb_printf(b, "%s", i ? ", " : "");
			vnode_json(b, v);
			sb_printf(b, ", \"regions\": %d}", v->map.nr_regions);
		} else {
			char id[16] = "-";

			if (v->id >= 0)
				snprintf(id, sizeof(id), "%d", v->id);
			sb_printf(b, "%-20s %5s %-9s %-16s %5u %10.0f %12.0f %8d\n", v->def.name,
				  id, state_word(v), v->host[0] ? v->host : "-", v->def.vcpus,
				  (double)v->def.memory_kib / 1024.0,
				  (double)(v->def.excache_kib ? v->def.excache_kib
							      : v->def.memory_kib) /
					  1024.0,
				  v->map.nr_regions);
		}
	}
	if (json)
		sb_printf(b, "]}\n");
}

/* A migration under way: where to, how far. */
static void migration(struct strbuf *b, const struct vnode *v, bool json)
{
	struct cp_mig_progress p;

	vn_migrate_progress(v, &p);
	if (json && p.phase == CP_MIG_NONE) {
		sb_printf(b, ", \"migration\": null");
	} else if (json) {
		sb_printf(b, ", \"migration\": {\"from\": ");
		sb_json_str(b, p.from);
		sb_printf(b, ", \"to\": ");
		sb_json_str(b, p.to);
		sb_printf(b,
			  ", \"phase\": \"%s\", \"elapsed_ms\": %" PRIu64
			  ", \"bytes_total\": %" PRIu64 ", \"bytes_processed\": %" PRIu64
			  ", \"bytes_remaining\": %" PRIu64 "}",
			  cp_mig_phase_name(p.phase), p.elapsed_ms, p.bytes_total,
			  p.bytes_processed, p.bytes_remaining);
	} else if (p.phase != CP_MIG_NONE) {
		sb_printf(b, "migrating from %s to %s: %s, %.1f s", p.from, p.to,
			  cp_mig_phase_name(p.phase), (double)p.elapsed_ms / 1000.0);
		if (p.bytes_total)
			sb_printf(b, ", %.0f%% (%.1f of %.1f MiB)",
				  100.0 * (double)p.bytes_processed / (double)p.bytes_total,
				  (double)p.bytes_processed / MIB, (double)p.bytes_total / MIB);
		sb_printf(b, "\n");
	}
}

/* Regions with fewer copies than the factor asks for, and the fewest any has. */
static int short_regions(const struct vnode *v, int *fewest)
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

/* A pool step on v under way (the job's): "moving vRegion 3 to mem-c, 40%". */
static void pool_step(struct strbuf *b, const struct vnode *v, const struct cp_pool_progress *p,
		      bool json)
{
	bool mine = p->vnode[0] && !strcmp(p->vnode, v->def.name);

	if (json && !mine) {
		sb_printf(b, ", \"pool_step\": null");
	} else if (json) {
		sb_printf(b, ", \"pool_step\": {\"job\": \"%s\", \"region\": %u, \"to\": ",
			  cp_pool_what_name(p->what), p->region);
		sb_json_str(b, p->to);
		sb_printf(b, "}");
	} else if (mine) {
		sb_printf(b, "memory pool: the %s%s%s is moving vRegion %u (to %s)\n",
			  cp_pool_what_name(p->what), p->server[0] ? " of " : "", p->server,
			  p->region, p->to);
	}
}

/* Each vRegion's copies, the primary first ("mm1+mm2"). */
static void region_map(struct strbuf *b, const struct vnode *v, bool json)
{
	uint64_t ram = v->def.memory_kib * 1024;
	const struct vn_map *m = &v->map;
	int fewest, nshort = short_regions(v, &fewest);

	if (json)
		sb_printf(b,
			  ", \"replication\": {\"factor\": %d, \"fewest_copies\": %d, "
			  "\"short_regions\": %d}, \"map_version\": %" PRIu64
			  ", \"region_size\": %" PRIu64 ", \"regions\": [",
			  v->replication, fewest, nshort, v->map_version, v->region_size);
	else
		sb_printf(b,
			  "vRegions: %d of %.0f MiB, replication factor %d: %s%s\n  %-9s %-34s "
			  "%s\n",
			  m->nr_regions, (double)v->region_size / MIB, v->replication,
			  v->mem_lost ? "a vRegion lost its only copy: the vNode stops"
			  : nshort    ? "some vRegions have fewer copies"
				      : "every vRegion has its copies",
			  nshort && !v->mem_lost ? " (re-replication under way, legoctl pool)" : "",
			  "REGION", "COPIES (PRIMARY FIRST)", "RAM RANGE");
	for (int r = 0; r < m->nr_regions; r++) {
		uint64_t start = (uint64_t)r * v->region_size,
			 end = r == m->nr_regions - 1 ? ram : start + v->region_size;
		int o = m->copy[r][0];

		if (json) {
			sb_printf(b, "%s{\"index\": %d, \"server\": ", r ? ", " : "", r);
			sb_json_str(b, m->mmon[o]);
			sb_printf(b, ", \"addr\": ");
			sb_json_str(b, m->mmon_addr[o]);
			sb_printf(b, ", \"copies\": [");
			for (int k = 0; k < m->nr_copies[r]; k++) {
				sb_printf(b, "%s", k ? ", " : "");
				sb_json_str(b, m->mmon[m->copy[r][k]]);
			}
			sb_printf(b, "], \"start\": %" PRIu64 ", \"size\": %" PRIu64 "}", start,
				  end - start);
		} else {
			char copies[VMAP_MAX_COPIES * (CP_NAME_LEN + 1) + 8];
			size_t n = 0;

			copies[0] = '\0';
			for (int k = 0; k < m->nr_copies[r]; k++)
				n += (size_t)snprintf(copies + n, sizeof(copies) - n, "%s%s",
						      k ? "+" : "", m->mmon[m->copy[r][k]]);
			if (m->nr_copies[r] < v->replication)
				snprintf(copies + n, sizeof(copies) - n, " (%d of %d)",
					 m->nr_copies[r], v->replication);
			sb_printf(b, "  %-9d %-34s 0x%" PRIx64 "-0x%" PRIx64 "\n", r, copies, start,
				  end);
		}
	}
	if (json)
		sb_printf(b, "]");
}

/* The memory pool: each server's capacity and use, the job and re-replication. */
static void pool(struct strbuf *b, bool json)
{
	struct cp_pool_progress p;
	int n = 0;

	pool_progress(&p);
	if (json)
		sb_printf(b, "{\"servers\": [");
	else
		sb_printf(b, "%-16s %-22s %-8s %12s %9s %11s %5s %7s\n", "MEMORY SERVER", "ADDRESS",
			  "STATE", "CAPACITY MiB", "USED MiB", "PLACED MiB", "USE", "COPIES");
	for (int i = 0; i < reg_nr_components(); i++) {
		const struct component *c = reg_component_at(i);
		uint32_t cores;
		uint64_t placed;
		int copies = 0;
		const char *state = !c->alive ? "down" : c->draining ? "draining" : "up";

		if (c->kind != CP_KIND_MMON)
			continue;
		vn_placed_use(c->name, c->kind, &cores, &placed);
		for (int j = 0; j < reg_nr_vnodes(); j++) {
			const struct vnode *v = reg_vnode_at(j);
			int s = v->id >= 0 ? vmap_find(&v->map, c->name) : -1;

			copies += s >= 0 ? vmap_copies_on(&v->map, s) : 0;
		}
		if (json) {
			sb_printf(b, "%s{\"name\": ", n ? ", " : "");
			sb_json_str(b, c->name);
			sb_printf(b, ", \"addr\": ");
			sb_json_str(b, c->addr);
			sb_printf(b,
				  ", \"state\": \"%s\", \"alive\": %s, \"draining\": %s, "
				  "\"capacity_bytes\": %" PRIu64 ", \"used_bytes\": %" PRIu64
				  ", \"placed_bytes\": %" PRIu64 ", \"copies\": %d}",
				  state, c->alive ? "true" : "false",
				  c->draining ? "true" : "false", c->capacity, c->used_bytes,
				  placed, copies);
		} else {
			sb_printf(b, "%-16s %-22s %-8s %12.0f %9.1f %11.1f %4.0f%% %7d\n", c->name,
				  c->addr, state, (double)c->capacity / MIB,
				  (double)c->used_bytes / MIB, (double)placed / MIB,
				  c->capacity ? 100.0 * (double)placed / (double)c->capacity : 0.0,
				  copies);
		}
		n++;
	}
	if (json) {
		sb_printf(b, "], \"job\": ");
		if (p.what == CP_POOL_NONE) {
			sb_printf(b, "null");
		} else {
			sb_printf(b, "{\"what\": \"%s\", \"server\": ", cp_pool_what_name(p.what));
			sb_json_str(b, p.server);
			sb_printf(b,
				  ", \"elapsed_ms\": %" PRIu64 ", \"copies_total\": %u, "
				  "\"copies_done\": %u, \"bytes_total\": %" PRIu64
				  ", \"bytes_done\": %" PRIu64 ", \"vnode\": ",
				  p.elapsed_ms, p.copies_total, p.copies_done, p.bytes_total,
				  p.bytes_done);
			sb_json_str(b, p.vnode);
			sb_printf(b, ", \"region\": %u, \"to\": ", p.region);
			sb_json_str(b, p.to);
			sb_printf(b, "}");
		}
		sb_printf(b, ", \"rereplication\": {\"missing\": %u, \"blocked\": %u}}\n",
			  p.missing, p.blocked);
		return;
	}
	if (p.what != CP_POOL_NONE) {
		sb_printf(b, "job: %s%s%s: %u of %u copies, %.1f of %.1f MiB, %.1f s",
			  cp_pool_what_name(p.what), p.server[0] ? " of " : "", p.server,
			  p.copies_done, p.copies_total, (double)p.bytes_done / MIB,
			  (double)p.bytes_total / MIB, (double)p.elapsed_ms / 1000.0);
		if (p.vnode[0])
			sb_printf(b, "; moving vNode %s's vRegion %u (to %s)", p.vnode, p.region,
				  p.to);
		sb_printf(b, "\n");
	}
	if (!p.missing)
		sb_printf(b, "re-replication: every vRegion has its copies\n");
	else if (p.blocked)
		sb_printf(b,
			  "re-replication: %u cop%s missing, %u with no memory server that has "
			  "room and holds no copy of its vRegion: waiting for capacity\n",
			  p.missing, p.missing == 1 ? "y" : "ies", p.blocked);
	else
		sb_printf(b, "re-replication: %u cop%s missing: being restored\n", p.missing,
			  p.missing == 1 ? "y" : "ies");
}

int query_render(const struct cp_query *q, struct strbuf *b, char *err, size_t errlen)
{
	bool json = q->flags & CP_QUERY_JSON;
	struct cp_pool_progress pp;
	uint8_t uuid[16];
	char *stats = NULL, why[512];
	struct vnode *v;
	bool active;

	if (q->what != CP_Q_VNODE) {
		reg_lock();
		if (q->what == CP_Q_COMPONENTS)
			components(b, json);
		else if (q->what == CP_Q_POOL)
			pool(b, json);
		else
			vnodes(b, json);
		reg_unlock();
		return 0;
	}
	reg_lock();
	v = reg_find_name(q->name);
	if (v) {
		memcpy(uuid, v->def.uuid, 16);
		active = v->id >= 0;
	}
	reg_unlock();
	if (!v) {
		snprintf(err, errlen, "no vNode named '%s'", q->name);
		return CP_ENOENT;
	}
	/* The VMM's figures first: the call must not hold the registry lock. */
	if (active && vn_control(uuid, "stats", &stats, why, sizeof(why)))
		stats = NULL;
	reg_lock();
	v = reg_find_uuid(uuid);
	if (!v) {
		reg_unlock();
		free(stats);
		snprintf(err, errlen, "vNode '%s' was undefined meanwhile", q->name);
		return CP_ENOENT;
	}
	pool_progress(&pp);
	if (json) {
		vnode_json(b, v);
		migration(b, v, json);
		pool_step(b, v, &pp, json);
		region_map(b, v, json);
		sb_printf(b, ", \"disks\": [");
		for (int i = 0; i < v->def.nr_disks; i++) {
			sb_printf(b, "%s", i ? ", " : "");
			sb_json_str(b, v->id >= 0 ? v->disk_uri[i] : v->def.disks[i].volume);
		}
		/* The VMM's own JSON line, embedded as is (null when not running). */
		sb_printf(b, "], \"vmm\": %s}\n", stats ? strtok(stats, "\n") : "null");
	} else {
		char u[UUID_STR_LEN];

		uuid_str_format(v->def.uuid, u);
		sb_printf(b, "vNode %s (%s): %s", v->def.name, u, state_word(v));
		if (v->id >= 0)
			sb_printf(b, ", id %d on %s", v->id, v->host);
		sb_printf(b, "\n%u vCPU(s), %.0f MiB RAM, ExCache %.0f MiB\n", v->def.vcpus,
			  (double)v->def.memory_kib / 1024.0,
			  (double)(v->def.excache_kib ? v->def.excache_kib : v->def.memory_kib) /
				  1024.0);
		migration(b, v, json);
		pool_step(b, v, &pp, json);
		if (v->id >= 0)
			region_map(b, v, json);
		for (int i = 0; i < v->def.nr_disks; i++)
			sb_printf(b, "disk %s: %s\n", v->def.disks[i].target,
				  v->id >= 0 ? v->disk_uri[i] : v->def.disks[i].volume);
		if (stats) {
			sb_printf(b,
				  "ExCache: %" PRIu64 " of %" PRIu64 " pages resident, %" PRIu64
				  " dirty\n",
				  vn_json_u64(stats, "resident_pages"),
				  vn_json_u64(stats, "cache_pages"),
				  vn_json_u64(stats, "dirty_pages"));
			sb_printf(b,
				  "faults: %" PRIu64 " (%" PRIu64 " remote fetches, %" PRIu64
				  " pages fetched, %" PRIu64 " zero-filled), %" PRIu64
				  " evictions, %" PRIu64 " write-backs\n",
				  vn_json_u64(stats, "faults"),
				  vn_json_u64(stats, "remote_fetches"),
				  vn_json_u64(stats, "pages_fetched"),
				  vn_json_u64(stats, "zero_fills"), vn_json_u64(stats, "evictions"),
				  vn_json_u64(stats, "writebacks"));
		}
	}
	reg_unlock();
	free(stats);
	return 0;
}
