/* controld_query.c: the cluster views legoctl shows (components, vNodes, one
 * vNode's vRegion copies and ExCache statistics), as a table or as JSON. */
#include "controld_query.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controld_migrate.h"
#include "controld_registry.h"
#include "controld_vnode.h"

#define MIB 1048576.0

static const char *kind_word(int kind) {
  return kind == CP_KIND_PMON ? "pmon" : kind == CP_KIND_MMON ? "mmon" : "smon";
}

static const char *state_word(const struct vnode *v) {
  if (v->mig.active)
    return "migrating";
  if (v->id >= 0 && !v->confirmed)
    return "starting";
  return v->state == VN_RUNNING  ? "running"
         : v->state == VN_PAUSED ? "paused"
                                 : "shut off";
}

static void components(struct strbuf *b, bool json) {
  int64_t now = reg_now_ms();

  if (json)
    sb_printf(b, "{\"components\": [");
  else
    sb_printf(b, "%-5s %-16s %-22s %-5s %11s %21s %9s\n", "KIND", "NAME",
              "ADDRESS", "STATE", "CORES", "MEMORY MiB", "SEEN");
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
      sb_printf(b, "%-5s %-16s %-22s %-5s %11s %21s %8.1fs\n",
                kind_word(c->kind), c->name, c->addr,
                !c->alive     ? "down"
                : c->draining ? "drain"
                              : "up",
                cores, mem, ago);
    }
  }
  if (json)
    sb_printf(b, "]}\n");
}

static void vnode_json(struct strbuf *b, const struct vnode *v) {
  char u[37];

  dom_uuid_format(v->def.uuid, u);
  sb_printf(b, "{\"name\": ");
  sb_json_str(b, v->def.name);
  sb_printf(b,
            ", \"uuid\": \"%s\", \"id\": %d, \"state\": \"%s\", \"host\": ", u,
            v->id, state_word(v));
  sb_json_str(b, v->host);
  sb_printf(b,
            ", \"vcpus\": %u, \"memory_bytes\": %" PRIu64
            ", \"excache_bytes\": %" PRIu64
            ", \"persistent\": %s, \"last_exit_status\": %d",
            v->def.vcpus, v->def.memory_kib * 1024,
            (v->def.excache_kib ? v->def.excache_kib : v->def.memory_kib) *
                1024,
            v->persistent ? "true" : "false", v->exit_status);
}

static void vnodes(struct strbuf *b, bool json) {
  if (json)
    sb_printf(b, "{\"vnodes\": [");
  else
    sb_printf(b, "%-20s %5s %-9s %-16s %5s %10s %12s %8s\n", "NAME", "ID",
              "STATE", "HOST", "VCPUS", "MEMORY MiB", "EXCACHE MiB", "REGIONS");
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
static void migration(struct strbuf *b, const struct vnode *v, bool json) {
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

/* Regions with fewer copies than the factor asks for, and the fewest any has.
 */
static int short_regions(const struct vnode *v, int *fewest) {
  int n = 0;

  *fewest = v->map.nr_regions ? VMAP_MAX_COPIES : 0;
  for (int r = 0; r < v->map.nr_regions; r++) {
    n += v->map.nr_copies[r] < v->replication;
    if (v->map.nr_copies[r] < *fewest)
      *fewest = v->map.nr_copies[r];
  }
  return n;
}

/* Each vRegion's copies, the primary first ("mm1+mm2"). */
static void region_map(struct strbuf *b, const struct vnode *v, bool json) {
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
    sb_printf(
        b,
        "vRegions: %d of %.0f MiB, replication factor %d: %s%s\n  %-9s %-34s "
        "%s\n",
        m->nr_regions, (double)v->region_size / MIB, v->replication,
        v->mem_lost ? "a vRegion lost its only copy: the vNode stops"
        : nshort    ? "some vRegions have fewer copies"
                    : "every vRegion has its copies",
        nshort && !v->mem_lost ? " (re-replication under way)" : "", "REGION",
        "COPIES (PRIMARY FIRST)", "RAM RANGE");
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
        snprintf(copies + n, sizeof(copies) - n, " (%d of %d)", m->nr_copies[r],
                 v->replication);
      sb_printf(b, "  %-9d %-34s 0x%" PRIx64 "-0x%" PRIx64 "\n", r, copies,
                start, end);
    }
  }
  if (json)
    sb_printf(b, "]");
}

int query_render(const struct cp_query *q, struct strbuf *b, char *err,
                 size_t errlen) {
  bool json = q->flags & CP_QUERY_JSON;
  uint8_t uuid[16];
  char *stats = NULL, why[512];
  struct vnode *v;
  bool active;

  if (q->what != CP_Q_VNODE) {
    reg_lock();
    if (q->what == CP_Q_COMPONENTS)
      components(b, json);
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
  if (json) {
    vnode_json(b, v);
    migration(b, v, json);
    region_map(b, v, json);
    sb_printf(b, ", \"disks\": [");
    for (int i = 0; i < v->def.nr_disks; i++) {
      sb_printf(b, "%s", i ? ", " : "");
      sb_json_str(b, v->id >= 0 ? v->disk_uri[i] : v->def.disks[i].volume);
    }
    /* The VMM's own JSON line, embedded as is (null when not running). */
    sb_printf(b, "], \"vmm\": %s}\n", stats ? strtok(stats, "\n") : "null");
  } else {
    char u[37];

    dom_uuid_format(v->def.uuid, u);
    sb_printf(b, "vNode %s (%s): %s", v->def.name, u, state_word(v));
    if (v->id >= 0)
      sb_printf(b, ", id %d on %s", v->id, v->host);
    sb_printf(
        b, "\n%u vCPU(s), %.0f MiB RAM, ExCache %.0f MiB\n", v->def.vcpus,
        (double)v->def.memory_kib / 1024.0,
        (double)(v->def.excache_kib ? v->def.excache_kib : v->def.memory_kib) /
            1024.0);
    migration(b, v, json);
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
      sb_printf(
          b,
          "faults: %" PRIu64 " (%" PRIu64 " remote fetches, %" PRIu64
          " pages fetched, %" PRIu64 " zero-filled), %" PRIu64
          " evictions, %" PRIu64 " write-backs\n",
          vn_json_u64(stats, "faults"), vn_json_u64(stats, "remote_fetches"),
          vn_json_u64(stats, "pages_fetched"), vn_json_u64(stats, "zero_fills"),
          vn_json_u64(stats, "evictions"), vn_json_u64(stats, "writebacks"));
    }
  }
  reg_unlock();
  free(stats);
  return 0;
}
