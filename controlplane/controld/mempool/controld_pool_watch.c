/* controld_pool_watch.c: the memory pool's watch, run by the pool's worker between steps:
 *   - a memory server down for longer than the grace is lost: each running vNode with
 *     copies there is told `server-lost ADDR` (lego-vmm drops them at once and fails over,
 *     or stops naming the server when a vRegion had no other copy), and the map drops them
 *     (the next copy of each region becomes its primary); re-replication then restores the
 *     factor;
 *   - a memory server that registers (again, or for the first time since lego-controld
 *     started) is asked, as each vNode, whether it still holds the copies the maps put there
 *     (RSTAT): one that restarted holds nothing, and is lost for those vNodes;
 *   - every few seconds each running vNode's lego-vmm is asked for its copies (`regions`):
 *     copies it lost or failed leave the map, live copies the map does not know are recorded,
 *     joining copies the map does not know (a step cut short by a restart of lego-controld)
 *     are dropped and freed. */
#include "controld_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controld_memctl.h"
#include "controld_owed.h"
#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_vnode.h"
#include "lib/json_flat.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/proto/vmm_regions.h"

#define VERIFY_MIN_AGE_MS 10000 /* a vNode started later may not have opened its copies yet */
#define MAX_WORK	  256	/* (vNode, server) pairs looked at per pass */
/* After lego-controld starts, how long a memory server or processor host has to register
 * again before it counts as down: its agent retries at least every 2 s. */
#define REGISTER_GRACE_MS 3000

static int loss_grace_ms = 2000, reconcile_ms = 3000, host_loss_ms = 30000;
static int64_t last_reconcile_ms, started_ms;

/* The registrations of each memory server whose copies were verified. */
static struct {
	char name[CP_NAME_LEN + 1];
	uint32_t registrations;
} verified[REG_MAX_COMPONENTS];
static int nr_verified;

void controld_pool_watch_configure(int grace_ms, int every_ms, int host_grace_ms)
{
	loss_grace_ms = grace_ms;
	reconcile_ms = every_ms;
	host_loss_ms = host_grace_ms;
	started_ms = mono_clock_ms();
}

/* A vNode and a memory server it has copies on. */
struct pair {
	uint8_t uuid[16];
	int id;
	uint64_t uid, ram, region_size;
	int nr_regions;
	char vnode[DOM_NAME_MAX + 1], host[CP_NAME_LEN + 1];
	char server[CP_NAME_LEN + 1], addr[CP_ADDR_LEN + 1];
	bool later;   /* it cannot be told now (migrating, starting, ...): a later pass */
	bool fresh;   /* started too recently to verify its copies */
	bool unknown; /* the server never registered since lego-controld started */
};

/* v may be told about its servers now (running, confirmed, not migrating or stopping). */
static bool watchable(const struct controld_registry_vnode *v)
{
	return v->id >= 0 && v->confirmed && !v->mig.active && !v->stopping && !v->pool_busy &&
	       !v->mem_lost && v->state != VN_SHUTOFF;
}

/* p for v and the memory server c (NULL: none). */
static void pair_of(const struct controld_registry_vnode *v,
		    const struct controld_registry_component *c, struct pair *p)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->uuid, v->def.uuid, 16);
	p->id = v->id;
	p->uid = v->uid;
	p->ram = v->def.memory_kib * 1024;
	p->region_size = v->region_size;
	p->nr_regions = v->map.nr_regions;
	snprintf(p->vnode, sizeof(p->vnode), "%s", v->def.name);
	snprintf(p->host, sizeof(p->host), "%s", v->host);
	if (c) {
		snprintf(p->server, sizeof(p->server), "%s", c->name);
		snprintf(p->addr, sizeof(p->addr), "%s", c->addr);
	}
	p->later = !watchable(v);
	p->fresh = mono_clock_ms() - v->started_ms < VERIFY_MIN_AGE_MS;
}

static void run_of_pair(const struct pair *p, struct controld_owed_run *run)
{
	memset(run, 0, sizeof(*run));
	run->uid = p->uid;
	snprintf(run->vnode, sizeof(run->vnode), "%s", p->vnode);
	run->ram = p->ram;
	run->region_size = p->region_size;
	run->nr_regions = p->nr_regions;
}

/* The losses already acted on: (vNode run, server, that server's registrations). A loss
 * leaves in the map the copies lego-vmm keeps (the last live ones): it is not acted on again
 * until the server registers anew. */
#define MAX_TOLD 256
static struct told {
	uint8_t uuid[16];
	int id;
	char server[CP_NAME_LEN + 1];
	uint32_t registrations;
} told[MAX_TOLD];
static int next_told;

static bool was_told(const struct pair *p, uint32_t registrations)
{
	for (int i = 0; i < MAX_TOLD; i++)
		if (told[i].id == p->id && told[i].registrations == registrations &&
		    !memcmp(told[i].uuid, p->uuid, 16) && !strcmp(told[i].server, p->server))
			return true;
	return false;
}

static void now_told(const struct pair *p, uint32_t registrations)
{
	struct told *t = &told[next_told++ % MAX_TOLD];

	memcpy(t->uuid, p->uuid, 16);
	t->id = p->id;
	snprintf(t->server, sizeof(t->server), "%s", p->server);
	t->registrations = registrations;
}

/* After `server-lost`, the vRegions whose copy on p's server lego-vmm still counts on (the
 * last live copy: it keeps it, its own requests decide): stays[r]. 0, or -1 if it could not
 * be asked. */
static int copies_kept(const struct pair *p, bool *stays)
{
	struct vmm_regions_answer *a = malloc(sizeof(*a));
	char err[CP_ERRTEXT_MAX + 64], *json = NULL;
	int rc = -1;

	if (a &&
	    controld_pool_step_vmm_ctl(p->host, p->uuid, "regions", &json, err, sizeof(err)) ==
		    CTL_OK &&
	    !vmm_regions_parse(json, a, err, sizeof(err))) {
		for (int r = 0; r < a->nr_regions && r < VMAP_MAX_REGIONS; r++)
			for (int k = 0; k < a->regions[r].nr; k++) {
				const struct vmm_regions_copy *c = &a->regions[r].c[k];

				stays[r] |= !strcmp(a->servers[c->server].addr, p->addr) &&
					    !c->failed && !a->servers[c->server].lost;
			}
		rc = 0;
	}
	free(json);
	free(a);
	return rc;
}

/* p's server is lost for p's vNode (certain: its copies are gone, it restarted): its lego-vmm
 * is told, and the map drops the copies there but those lego-vmm keeps (a vRegion's last live
 * copy: lego-controld may have lost the server while lego-vmm still reaches it, so lego-vmm's
 * own requests decide; a server really gone fails them and the vNode stops). true when done
 * (or the vNode is gone), false to try again later. */
static bool lose(const struct pair *p, const char *why, bool certain)
{
	char cmd[CP_CMD_MAX + 1], err[CP_ERRTEXT_MAX + 64], *json = NULL;
	struct json_flat_object *o = malloc(sizeof(*o));
	const struct json_flat_member *m;
	enum controld_pool_ctl_result r;
	int dropped = 0, promoted = 0, kept = 0, *gone = calloc(VMAP_MAX_REGIONS, sizeof(int));
	bool *stays = calloc(VMAP_MAX_REGIONS, sizeof(bool));
	struct controld_owed_run run;
	struct controld_registry_vnode *v;

	snprintf(cmd, sizeof(cmd), "server-lost %s", p->addr);
	r = o && gone && stays
		    ? controld_pool_step_vmm_ctl(p->host, p->uuid, cmd, &json, err, sizeof(err))
		    : CTL_UNREACHABLE;
	if (r == CTL_OK && !json_flat_parse(json, o, err, sizeof(err)) &&
	    (m = json_flat_get(o, "error")) && m->type == JF_STRING)
		log_warn("vNode %s: lego-vmm refused '%s': %s", p->vnode, cmd, m->str);
	if (r == CTL_UNREACHABLE || (r == CTL_OK && copies_kept(p, stays))) {
		log_warn("vNode %s: cannot tell its lego-vmm that memory server %s is lost (%s): "
			 "trying again",
			 p->vnode, p->server, o && gone && stays ? err : "out of memory");
		free(json);
		free(o);
		free(gone);
		free(stays);
		return false;
	}
	free(json);
	free(o);
	controld_registry_lock();
	v = controld_registry_find_uuid(p->uuid);
	if (v && v->id == p->id) {
		int s = vnode_map_find(&v->map, p->server);

		for (int i = 0; s >= 0 && i < v->map.nr_regions; i++) {
			bool primary = v->map.nr_copies[i] && v->map.copy[i][0] == s;

			if (!vnode_map_has_copy(&v->map, i, s))
				continue;
			/* lego-vmm counts on it (or the map has no other): the map keeps it. */
			if (stays[i] || vnode_map_drop_copy(&v->map, i, s)) {
				kept++;
				continue;
			}
			promoted += primary;
			gone[dropped++] = i;
		}
		/* A server that is lost may come back with them (it was cut off, not
		 * restarted): they are owed there until it is swept. */
		run_of_pair(p, &run);
		controld_owed_add(&run, p->server, p->addr, gone, dropped);
		if (dropped)
			controld_pool_step_map_changed(v);
		if (certain && kept)
			v->mem_lost = true;
	}
	controld_registry_unlock();
	free(gone);
	free(stays);
	if (r == CTL_GONE)
		return true;
	log_warn("vNode %s: memory server %s (%s) is lost (%s): %d vRegion cop%s dropped, %d "
		 "replica%s promoted to primary",
		 p->vnode, p->server, p->addr, why, dropped, dropped == 1 ? "y" : "ies", promoted,
		 promoted == 1 ? "" : "s");
	if (kept && certain)
		log_error("vNode %s: %d vRegion(s) had their only copy on memory server %s (%s): "
			  "that memory is lost, its lego-vmm stops",
			  p->vnode, kept, p->server, p->addr);
	else if (kept)
		log_error("vNode %s: memory server %s (%s) holds the only live copy of %d "
			  "vRegion(s): lego-vmm keeps using it (it stops if it cannot reach the "
			  "server "
			  "either); they are copied again once the server is back",
			  p->vnode, p->server, p->addr, kept);
	return true;
}

/* Does p's server still hold every copy p's map puts there? 1 yes, 0 no, -1 cannot say. */
static int holds_copies(const struct pair *p)
{
	struct controld_memctl mc;
	struct vnode_map *map = malloc(sizeof(*map));
	struct controld_registry_vnode *v;
	int s, rc = 1;

	if (!map)
		return -1;
	controld_registry_lock();
	v = controld_registry_find_uuid(p->uuid);
	if (v && v->id == p->id)
		*map = v->map;
	else
		map->nr_regions = 0;
	controld_registry_unlock();
	s = vnode_map_find(map, p->server);
	if (s < 0 ||
	    controld_memctl_connect(&mc, controld_vnode_provider(), p->addr, p->uid, 5000)) {
		free(map);
		return s < 0 ? 1 : -1;
	}
	for (int i = 0; i < map->nr_regions && rc == 1; i++) {
		struct mem_proto_rstat_reply r;
		int st;

		if (!vnode_map_has_copy(map, i, s))
			continue;
		st = controld_memctl_rstat(&mc, (uint32_t)i, &r);
		if (st == MP_ENOENT)
			rc = 0;
		else if (st)
			rc = -1;
	}
	controld_memctl_close(&mc);
	free(map);
	return rc;
}

/* Under the lock: the verified registrations of servers no longer registered forgotten (the
 * registry forgets components that are long gone): how many are left. */
static int forget_verified(void)
{
	int n = 0;

	for (int k = 0; k < nr_verified; k++)
		if (controld_registry_find_component(CP_KIND_MMON, verified[k].name))
			verified[n++] = verified[k];
	return n;
}

/* Under the lock: servers the maps name that never registered since lego-controld started
 * (it restarted while they were down) are down since then: lost after the grace, as any.
 * Appended to work from n: the new count. */
static int unknown_servers(int64_t now, struct pair *work, bool *verify, int n)
{
	if (now - started_ms < REGISTER_GRACE_MS + loss_grace_ms)
		return n;
	for (int j = 0; j < controld_registry_nr_vnodes() && n < MAX_WORK; j++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(j);

		for (int s = 0; v->id >= 0 && s < v->map.nr_mmons && n < MAX_WORK; s++) {
			if (!vnode_map_copies_on(&v->map, s) ||
			    controld_registry_find_component(CP_KIND_MMON, v->map.mmon[s]))
				continue;
			pair_of(v, NULL, &work[n]);
			snprintf(work[n].server, sizeof(work[n].server), "%s", v->map.mmon[s]);
			snprintf(work[n].addr, sizeof(work[n].addr), "%s", v->map.mmon_addr[s]);
			work[n].unknown = true;
			verify[n++] = false;
		}
	}
	return n;
}

/* Servers down past the grace, and servers whose new registration is not verified yet. */
static void losses_and_registrations(int64_t now)
{
	struct pair *work = malloc(MAX_WORK * sizeof(*work));
	bool *verify = calloc(MAX_WORK, sizeof(*verify));
	uint32_t *regs = calloc(MAX_WORK, sizeof(*regs));
	int n = 0;

	if (!work || !verify || !regs)
		goto out;
	controld_registry_lock();
	for (int i = 0; i < controld_registry_nr_components(); i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);
		int k;
		bool lost = !c->alive && c->down_ms && now - c->down_ms >= loss_grace_ms, check;

		if (c->kind != CP_KIND_MMON)
			continue;
		for (k = 0; k < nr_verified && strcmp(verified[k].name, c->name); k++)
			;
		check = c->alive &&
			(k == nr_verified || verified[k].registrations != c->registrations);
		if (!lost && !check)
			continue;
		for (int j = 0; j < controld_registry_nr_vnodes() && n < MAX_WORK; j++) {
			const struct controld_registry_vnode *v = controld_registry_vnode_at(j);
			int s = vnode_map_find(&v->map, c->name);

			if (v->id < 0 || s < 0 || !vnode_map_copies_on(&v->map, s))
				continue;
			pair_of(v, c, &work[n]);
			verify[n] = check;
			regs[n] = c->registrations;
			n++;
		}
		if (check && k == nr_verified && k == REG_MAX_COMPONENTS)
			k = nr_verified = forget_verified();
		if (check && k == nr_verified && k < REG_MAX_COMPONENTS) {
			snprintf(verified[k].name, sizeof(verified[k].name), "%s", c->name);
			verified[k].registrations = 0;
			nr_verified++;
		}
	}
	n = unknown_servers(now, work, verify, n);
	controld_registry_unlock();
	for (int i = 0; i < n; i++) {
		int h;

		if (work[i].later)
			continue; /* tried again on a later pass */
		if (!verify[i]) {
			if (!was_told(&work[i], regs[i]) &&
			    lose(&work[i],
				 work[i].unknown ? "not registered since lego-controld started"
						 : "down for longer than the grace",
				 false))
				now_told(&work[i], regs[i]);
			continue;
		}
		if (work[i].fresh)
			continue;
		h = holds_copies(&work[i]);
		if (h == 0)
			lose(&work[i], "it registered again without the copies: it restarted",
			     true);
		if (h < 0)
			work[i].later = true; /* asked again on a later pass */
	}
	/* A server's registration is verified once each of its vNodes was. */
	for (int k = 0; k < nr_verified; k++) {
		const struct controld_registry_component *c;
		bool done = true;

		controld_registry_lock();
		c = controld_registry_find_component(CP_KIND_MMON, verified[k].name);
		for (int i = 0; i < n && c; i++)
			if (verify[i] && !strcmp(work[i].server, c->name) &&
			    (work[i].later || work[i].fresh || regs[i] != c->registrations))
				done = false;
		if (c && c->alive && done)
			verified[k].registrations = c->registrations;
		controld_registry_unlock();
	}
out:
	free(work);
	free(verify);
	free(regs);
}

/* ---- reconciling with lego-vmm's own view ---------------------------------------------- */

/* Under the lock: the memory server registered at addr, or NULL. */
static const struct controld_registry_component *mmon_at(const char *addr)
{
	for (int i = 0; i < controld_registry_nr_components(); i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);

		if (c->kind == CP_KIND_MMON && !strcmp(c->addr, addr))
			return c;
	}
	return NULL;
}

static int vmm_copy(const struct vmm_regions_answer *a, int r, const char *addr)
{
	for (int k = 0; k < a->regions[r].nr; k++)
		if (!strcmp(a->servers[a->regions[r].c[k].server].addr, addr))
			return k;
	return -1;
}

static bool usable(const struct vmm_regions_answer *a, const struct vmm_regions_copy *c)
{
	return !c->failed && !a->servers[c->server].lost;
}

/* A copy lego-vmm has that the map does not (a joining one no step runs for, or a failed
 * one): lego-vmm drops it, and its server (name, at addr) frees it: a joining one now, a
 * failed one (its server may be unreachable) by the sweep, unless the map names it. */
static void drop_stray(const struct pair *p, int r, const char *name, const char *addr,
		       bool joining)
{
	char cmd[CP_CMD_MAX + 1], err[CP_ERRTEXT_MAX + 64];
	struct controld_memctl mc;
	struct controld_owed_run run;
	struct controld_registry_vnode *v;
	bool named;
	int rc;

	snprintf(cmd, sizeof(cmd), "region-drop %d@%s", r, addr);
	if (controld_pool_step_vmm_ctl(p->host, p->uuid, cmd, NULL, err, sizeof(err)) != CTL_OK)
		return;
	run_of_pair(p, &run);
	if (!joining) {
		controld_registry_lock();
		v = controld_registry_find_uuid(p->uuid);
		named = !v || v->id != p->id ||
			vnode_map_has_copy(&v->map, r, vnode_map_find(&v->map, name));
		if (!named && cluster_proto_name_ok(name))
			controld_owed_add(&run, name, addr, &r, 1);
		controld_registry_unlock();
		return;
	}
	rc = controld_memctl_connect(&mc, controld_vnode_provider(), addr, p->uid, 5000);
	if (!rc)
		rc = controld_memctl_free(
			&mc, (uint32_t)r,
			vnode_map_region_bytes(r, p->nr_regions, p->ram, p->region_size), NULL);
	controld_memctl_close(&mc);
	if (rc && cluster_proto_name_ok(name))
		controld_owed_add(&run, name, addr, &r, 1);
	log_warn("vNode %s vRegion %d: lego-vmm had a joining copy on %s that no step is filling "
		 "(one cut short by a restart of lego-controld): dropped and %s",
		 p->vnode, r, addr, rc ? "to be freed once its server answers" : "freed");
}

/* Bring v's map (a pair naming no server) in line with its lego-vmm's answer a. */
static void reconcile_one(const struct pair *p, const struct vmm_regions_answer *a)
{
	struct controld_registry_vnode *v;
	struct controld_owed_run run;
	int changed = 0;

	run_of_pair(p, &run);
	/* What lego-vmm has and the map does not: strays to drop, live copies to record. */
	for (int r = 0; r < a->nr_regions; r++)
		for (int k = 0; k < a->regions[r].nr; k++) {
			const struct vmm_regions_copy *c = &a->regions[r].c[k];
			const char *addr = a->servers[c->server].addr;
			const struct controld_registry_component *m;
			bool known;

			controld_registry_lock();
			v = controld_registry_find_uuid(p->uuid);
			m = mmon_at(addr);
			known = v && v->id == p->id && m && r < v->map.nr_regions &&
				vnode_map_has_copy(&v->map, r, vnode_map_find(&v->map, m->name));
			if (!known && v && v->id == p->id && m && c->live && usable(a, c) &&
			    r < v->map.nr_regions) {
				int s = vnode_map_server(&v->map, m->name, m->addr);

				if (s >= 0 && !vnode_map_add_copy(&v->map, r, s)) {
					changed++;
					controld_owed_cancel(p->uid, m->name, r);
					log_warn("vNode %s vRegion %d: lego-vmm has a live copy on "
						 "%s "
						 "that its map did not record: recorded",
						 p->vnode, r, m->name);
				}
				known = true;
			}
			controld_registry_unlock();
			if (!known && !c->live && usable(a, c))
				drop_stray(p, r, a->servers[c->server].name, addr, true);
		}
	/* What the map has and lego-vmm lost, failed or does not have. Copies on a server that
	 * is down are left to the loss (after its grace: server-lost, then the map). */
	controld_registry_lock();
	v = controld_registry_find_uuid(p->uuid);
	for (int r = 0; v && v->id == p->id && r < v->map.nr_regions && r < a->nr_regions; r++)
		for (int k = v->map.nr_copies[r] - 1; k >= 0; k--) {
			int s = v->map.copy[r][k], j = vmm_copy(a, r, v->map.mmon_addr[s]);
			const struct controld_registry_component *m =
				controld_registry_find_component(CP_KIND_MMON, v->map.mmon[s]);

			if ((j >= 0 && usable(a, &a->regions[r].c[j])) || (m && !m->alive))
				continue;
			if (vnode_map_drop_copy(&v->map, r, s))
				continue; /* its last: lego-vmm stops on its own */
			changed++;
			/* Its server (up) may still hold it. */
			controld_owed_add(&run, v->map.mmon[s], v->map.mmon_addr[s], &r, 1);
			log_warn(
				"vNode %s vRegion %d: lego-vmm %s its copy on %s: dropped from the "
				"map (re-replication restores it)",
				p->vnode, r, j < 0 ? "no longer has" : "lost", v->map.mmon[s]);
		}
	if (changed && v && v->id == p->id)
		controld_pool_step_map_changed(v);
	controld_registry_unlock();
	/* Failed copies lego-vmm still lists: it forgets them. */
	for (int r = 0; r < a->nr_regions; r++)
		for (int k = 0; k < a->regions[r].nr; k++)
			if (!usable(a, &a->regions[r].c[k]))
				drop_stray(p, r, a->servers[a->regions[r].c[k].server].name,
					   a->servers[a->regions[r].c[k].server].addr, false);
}

/* Under the lock: v's lego-vmm has been asked for its copies since this lego-controld
 * learned of the run (or it has none to ask for). */
static void mark_reconciled(const struct pair *p)
{
	struct controld_registry_vnode *v = controld_registry_find_uuid(p->uuid);

	if (v && v->id == p->id && !v->reconciled) {
		v->reconciled = true;
		log_debug("vNode %s: its copies and its map agree: steps may touch it", p->vnode);
	}
}

/* Every watchable vNode (only those not reconciled yet if !all), MAX_WORK at a time: each
 * pass over all of them goes on where the last one stopped, so that with more vNodes than
 * that every one is still asked in turn. */
static int by_host(const void *a, const void *b)
{
	return strcmp(((const struct pair *)a)->host, ((const struct pair *)b)->host);
}

static void reconcile_all(bool all)
{
	static int cursor;
	struct controld_vnode_pmon_conn pc = {0};
	struct pair *work = malloc(MAX_WORK * sizeof(*work));
	struct vmm_regions_answer *a = malloc(sizeof(*a));
	int n = 0, nr;

	if (!work || !a)
		goto out;
	controld_registry_lock();
	nr = controld_registry_nr_vnodes();
	if (cursor >= nr)
		cursor = 0;
	for (int k = 0; k < nr && n < MAX_WORK; k++) {
		int j = all ? (cursor + k) % nr : k;
		struct controld_registry_vnode *v = controld_registry_vnode_at(j);

		if (all)
			cursor = (j + 1) % nr;

		if (!watchable(v) || (!all && v->reconciled))
			continue;
		if (!v->map.nr_regions) {
			v->reconciled = true; /* no remote memory: nothing to compare */
			continue;
		}
		pair_of(v, NULL, &work[n++]);
	}
	controld_registry_unlock();
	/* Host by host, over one connection to each. */
	qsort(work, (size_t)n, sizeof(*work), by_host);
	for (int i = 0; i < n; i++) {
		char err[CP_ERRTEXT_MAX + 64], *json = NULL;
		struct controld_registry_vnode *v;
		bool ok;

		if (controld_pool_step_vmm_query(&pc, work[i].host, work[i].uuid, "regions", &json,
						 err, sizeof(err)) != CTL_OK) {
			free(json);
			continue;
		}
		/* A lego-vmm without remote memory, or one that does not know the command. */
		if (vmm_regions_parse(json, a, err, sizeof(err))) {
			log_debug("vNode %s: no vRegion copies to reconcile: %s", work[i].vnode,
				  err);
			free(json);
			controld_registry_lock();
			mark_reconciled(&work[i]);
			controld_registry_unlock();
			continue;
		}
		free(json);
		controld_registry_lock();
		v = controld_registry_find_uuid(work[i].uuid);
		ok = v && v->id == work[i].id && watchable(v) && v->map.nr_regions == a->nr_regions;
		if (v && v->id == work[i].id && v->map.nr_regions != a->nr_regions)
			log_warn("vNode %s: lego-vmm has %d vRegions, its map %d: not reconciled",
				 work[i].vnode, a->nr_regions, v->map.nr_regions);
		controld_registry_unlock();
		if (!ok)
			continue;
		reconcile_one(&work[i], a);
		controld_registry_lock();
		mark_reconciled(&work[i]);
		controld_registry_unlock();
	}
out:
	controld_vnode_pmon_release(&pc);
	free(work);
	free(a);
}

void controld_pool_watch(int64_t now_ms)
{
	controld_registry_lock();
	controld_registry_heartbeat_hosts_lost(now_ms, started_ms, REGISTER_GRACE_MS, host_loss_ms);
	controld_registry_unlock();
	losses_and_registrations(now_ms);
	controld_owed_sweep(now_ms);
	/* Every few seconds; and a run lego-controld just learned of (it restarted) at once,
	 * as no step touches it until then. */
	if (now_ms - last_reconcile_ms >= reconcile_ms) {
		last_reconcile_ms = now_ms;
		reconcile_all(true);
	} else {
		reconcile_all(false);
	}
}
