/* controld_pool_step.c: one step on a running vNode's vRegion copies, made from its map and
 * run: a new copy joins through lego-vmm (region-add: every write-back goes there too from
 * then on), its server fills it from a live copy server to server (FILL, followed with
 * RSTAT), it goes live, the map records it; for a move the old copy is dropped by lego-vmm and
 * RELEASEd on its server (later requests there are redirected to the new one). Anything that
 * fails before the map records the new copy is undone: lego-vmm drops it and its server
 * frees it. */
#include "controld_pool.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controld_memctl.h"
#include "controlplane/controld/controld_metrics.h"
#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_vnode.h"
#include "lib/json_flat.h"
#include "lib/log.h"
#include "lib/mono_clock.h"

#define MEM_TIMEOUT_MS 5000
#define RSTAT_POLL_MS  50    /* a fill is followed this often; the first looks come sooner (a */
#define RSTAT_FIRST_MS 5     /* vRegion of a few MiB fills in milliseconds) */
#define FILL_STALL_MS  30000 /* a fill that copies nothing for this long has failed */

bool controld_pool_step_make(const struct controld_registry_vnode *v, int r,
			     const struct controld_registry_component *to, const char *drop,
			     struct controld_pool_step *st)
{
	const struct vnode_map *m = &v->map;
	int src = -1;

	memset(st, 0, sizeof(*st));
	for (int pass = 0; pass < 2 && src < 0; pass++)
		for (int k = 0; k < m->nr_copies[r] && src < 0; k++) {
			const char *name = m->mmon[m->copy[r][k]];
			const struct controld_registry_component *c =
				controld_registry_find_component(CP_KIND_MMON, name);

			if (c && c->alive && (pass || !drop || strcmp(name, drop)))
				src = m->copy[r][k];
		}
	if (src < 0 && to)
		return false;
	memcpy(st->uuid, v->def.uuid, 16);
	st->id = v->id;
	controld_owed_run_of(v, &st->run);
	snprintf(st->vnode, sizeof(st->vnode), "%s", v->def.name);
	snprintf(st->host, sizeof(st->host), "%s", v->host);
	st->uid = v->uid;
	st->region = r;
	st->size =
		vnode_map_region_bytes(r, m->nr_regions, v->def.memory_kib * 1024, v->region_size);
	if (src >= 0) {
		snprintf(st->src, sizeof(st->src), "%s", m->mmon[src]);
		snprintf(st->src_addr, sizeof(st->src_addr), "%s", m->mmon_addr[src]);
	}
	if (to) {
		snprintf(st->to, sizeof(st->to), "%s", to->name);
		snprintf(st->to_addr, sizeof(st->to_addr), "%s", to->addr);
	}
	if (drop) {
		int d = vnode_map_find(m, drop);

		snprintf(st->drop, sizeof(st->drop), "%s", drop);
		snprintf(st->drop_addr, sizeof(st->drop_addr), "%s", d >= 0 ? m->mmon_addr[d] : "");
	}
	return true;
}

bool controld_pool_step_source_up(const struct controld_registry_vnode *v, int r)
{
	for (int k = 0; k < v->map.nr_copies[r]; k++) {
		const struct controld_registry_component *c = controld_registry_find_component(
			CP_KIND_MMON, v->map.mmon[v->map.copy[r][k]]);

		if (c && c->alive)
			return true;
	}
	return false;
}

enum controld_pool_ctl_result controld_pool_step_vmm_ctl(const char *host, const uint8_t uuid[16],
							 const char *cmd, char **json, char *err,
							 size_t errlen)
{
	return controld_pool_step_vmm_query(NULL, host, uuid, cmd, json, err, errlen);
}

enum controld_pool_ctl_result controld_pool_step_vmm_query(struct controld_vnode_pmon_conn *pc,
							   const char *host, const uint8_t uuid[16],
							   const char *cmd, char **json, char *err,
							   size_t errlen)
{
	struct cluster_proto_vm_ctl c = {0};
	uint8_t req[CP_VM_CTL_LONG_LEN], *reply = NULL;
	size_t rlen, len;
	int rc;

	if (json)
		*json = NULL;
	memcpy(c.uuid, uuid, 16);
	snprintf(c.cmd, sizeof(c.cmd), "%s", cmd);
	len = cluster_proto_vm_ctl_put(req, &c);
	rc = pc ? controld_vnode_pmon_query(pc, host, CP_VM_CTL, req, len, &reply, &rlen, err,
					    errlen)
		: controld_vnode_pmon_call(host, CP_VM_CTL, req, len, &reply, &rlen, err, errlen);
	if (rc == CP_OK && json)
		*json = (char *)reply; /* cio payloads are NUL-terminated */
	else
		free(reply);
	return rc == CP_OK ? CTL_OK : rc == CP_ENOENT ? CTL_GONE : CTL_UNREACHABLE;
}

struct controld_registry_vnode *controld_pool_step_vnode(const uint8_t uuid[16], int id)
{
	struct controld_registry_vnode *v = controld_registry_find_uuid(uuid);

	if (!v || v->id < 0 || v->id != id || !v->confirmed || !v->reconciled || v->mig.active ||
	    v->stopping || v->pool_busy || v->mig_waiting || v->mem_lost || v->state == VN_SHUTOFF)
		return NULL;
	return v;
}

void controld_pool_step_map_changed(struct controld_registry_vnode *v)
{
	char *args;
	uint32_t argc, len;

	vnode_map_compact(&v->map);
	v->map_version++;
	if (v->run_args) {
		if (vnode_map_rewrite_args(&v->map, v->run_args, v->run_argc, v->run_args_len,
					   &args, &argc, &len) ||
		    controld_registry_set_run_args(v, args, argc, len, v->run_vcpus,
						   v->run_excache))
			log_error(
				"vNode %s: cannot rewrite its lego-vmm options for the new vRegion "
				"map: a migration would start it with the old one",
				v->def.name);
		else
			free(args);
	}
	if (controld_registry_store_save_run(v))
		log_error("vNode %s: its new vRegion map is not in its run file", v->def.name);
}

/* `region-VERB IDX@ADDR` to the vNode's lego-vmm: CTL_OK once it says it did it. */
static enum controld_pool_ctl_result region_cmd(const struct controld_pool_step *st,
						const char *verb, const char *addr, char *err,
						size_t errlen)
{
	char cmd[CP_CMD_MAX + 1], *json = NULL, why[512];
	struct json_flat_object *o = malloc(sizeof(*o));
	const struct json_flat_member *m;
	enum controld_pool_ctl_result r;

	snprintf(cmd, sizeof(cmd), "region-%s %d@%s", verb, st->region, addr);
	r = o ? controld_pool_step_vmm_ctl(st->host, st->uuid, cmd, &json, err, errlen)
	      : CTL_UNREACHABLE;
	if (!o)
		snprintf(err, errlen, "out of memory");
	if (r == CTL_OK) {
		if (json_flat_parse(json, o, why, sizeof(why))) {
			snprintf(err, errlen, "lego-vmm's answer to '%s' does not parse: %s", cmd,
				 why);
			r = CTL_REFUSED;
		} else if ((m = json_flat_get(o, "error")) && m->type == JF_STRING) {
			snprintf(err, errlen, "lego-vmm refused '%s': %s", cmd, m->str);
			r = CTL_REFUSED;
		} else if (!(m = json_flat_get(o, "done")) || m->type != JF_STRING ||
			   strcmp(m->str, verb) || !(m = json_flat_get(o, "region")) ||
			   !m->is_uint || m->num != (uint64_t)st->region) {
			snprintf(err, errlen,
				 "lego-vmm's answer to '%s' does not say it was done: %s", cmd,
				 json);
			r = CTL_REFUSED;
		}
	}
	free(json);
	free(o);
	return r;
}

/* Is the step's vNode still that run? */
static bool same_run(const struct controld_pool_step *st)
{
	struct controld_registry_vnode *v;
	bool same;

	controld_registry_lock();
	v = controld_registry_find_uuid(st->uuid);
	same = v && v->id == st->id;
	controld_registry_unlock();
	return same;
}

/* The new copy on `to` filled from `src`: 0, or -1 with err. */
static int fill(const struct controld_pool_step *st, char *err, size_t errlen)
{
	struct controld_memctl s, t;
	struct mem_proto_rstat_reply r;
	uint64_t handle, epoch, last_done = 0;
	int64_t progress_ms = mono_clock_ms();
	int rc;

	rc = controld_memctl_connect(&s, controld_vnode_provider(), st->src_addr, st->uid,
				     MEM_TIMEOUT_MS);
	if (!rc) {
		rc = controld_memctl_open(&s, (uint32_t)st->region, st->size, &handle, &epoch);
		controld_memctl_close(&s);
	}
	if (rc) {
		snprintf(err, errlen, "the source copy: %s", s.err);
		return -1;
	}
	if (controld_memctl_connect(&t, controld_vnode_provider(), st->to_addr, st->uid,
				    MEM_TIMEOUT_MS) ||
	    controld_memctl_fill(&t, (uint32_t)st->region, handle, epoch, st->src_addr)) {
		snprintf(err, errlen, "%s", t.err);
		controld_memctl_close(&t);
		return -1;
	}
	for (int poll_ms = RSTAT_FIRST_MS;;
	     poll_ms = poll_ms * 2 > RSTAT_POLL_MS ? RSTAT_POLL_MS : poll_ms * 2) {
		usleep((useconds_t)poll_ms * 1000);
		if (controld_memctl_rstat(&t, (uint32_t)st->region, &r)) {
			snprintf(err, errlen, "%s", t.err);
			break;
		}
		if (r.state == MP_RS_LIVE) {
			controld_mempool_step_progress(st->size);
			controld_memctl_close(&t);
			return 0;
		}
		if (r.state == MP_RS_FAILED) {
			snprintf(err, errlen, "the fill on %s failed: %s", st->to, r.error);
			break;
		}
		if (r.fill_total)
			controld_mempool_step_progress(st->size / r.fill_total * r.fill_done +
						       st->size % r.fill_total * r.fill_done /
							       r.fill_total);
		if (r.fill_done != last_done) {
			last_done = r.fill_done;
			progress_ms = mono_clock_ms();
		} else if (mono_clock_ms() - progress_ms > FILL_STALL_MS) {
			snprintf(err, errlen, "the fill on %s copied nothing for %d s", st->to,
				 FILL_STALL_MS / 1000);
			break;
		}
		if (!same_run(st)) {
			snprintf(err, errlen, "the vNode stopped meanwhile");
			break;
		}
	}
	controld_memctl_close(&t);
	return -1;
}

/* A copy on `to` that must not stay: lego-vmm forgets it, its server frees it (now, or the
 * sweep once it answers). */
static void undo(const struct controld_pool_step *st, bool told_vmm)
{
	struct controld_memctl t;
	char err[512];

	if (told_vmm && region_cmd(st, "drop", st->to_addr, err, sizeof(err)) == CTL_REFUSED)
		log_warn("vNode %s vRegion %d: dropping the new copy on %s: %s", st->vnode,
			 st->region, st->to, err);
	if (controld_memctl_connect(&t, controld_vnode_provider(), st->to_addr, st->uid,
				    MEM_TIMEOUT_MS) ||
	    controld_memctl_free(&t, (uint32_t)st->region, st->size, NULL)) {
		log_warn("vNode %s vRegion %d: its copy on %s is freed later: %s", st->vnode,
			 st->region, st->to, t.err);
		controld_owed_add(&st->run, st->to, st->to_addr, &st->region, 1);
	}
	controld_memctl_close(&t);
}

/* The copy joins, is filled, goes live and is recorded: 0, or -1 (undone) with err. */
static int add_copy(const struct controld_pool_step *st, char *err, size_t errlen)
{
	enum controld_pool_ctl_result r;
	struct controld_registry_vnode *v;
	int s;

	/* An old copy still there (its server was lost, then came back) would refuse the
	 * new one: it is freed first. */
	if (controld_owed_settle(&st->run, st->to, st->to_addr, st->region, err, errlen))
		return -1;
	r = region_cmd(st, "add", st->to_addr, err, errlen);
	if (r != CTL_OK) {
		undo(st, r != CTL_GONE);
		return -1;
	}
	if (fill(st, err, errlen)) {
		undo(st, true);
		return -1;
	}
	r = region_cmd(st, "live", st->to_addr, err, errlen);
	if (r != CTL_OK) {
		undo(st, r != CTL_GONE);
		return -1;
	}
	controld_registry_lock();
	v = controld_registry_find_uuid(st->uuid);
	s = v && v->id == st->id ? vnode_map_server(&v->map, st->to, st->to_addr) : -2;
	if (s >= 0 && vnode_map_add_copy(&v->map, st->region, s) == 0)
		controld_pool_step_map_changed(v);
	else if (s != -2)
		snprintf(err, errlen, "the vNode's map cannot name another copy on %s", st->to);
	else
		snprintf(err, errlen, "the vNode stopped meanwhile");
	controld_registry_unlock();
	if (s < 0) {
		undo(st, s != -2);
		return -1;
	}
	return 0;
}

/* The copy on `drop` goes: lego-vmm forgets it, the map too, its server RELEASEs it naming
 * the region's new home (owner). 0, or -1 with err (the map unchanged if lego-vmm kept it). */
static int drop_copy(const struct controld_pool_step *st, const char *owner, char *err,
		     size_t errlen)
{
	struct controld_memctl d;
	struct controld_registry_vnode *v;
	uint64_t handle, epoch;
	int rc;

	if (region_cmd(st, "drop", st->drop_addr, err, errlen) != CTL_OK)
		return -1;
	controld_registry_lock();
	v = controld_registry_find_uuid(st->uuid);
	if (v && v->id == st->id &&
	    !vnode_map_drop_copy(&v->map, st->region, vnode_map_find(&v->map, st->drop)))
		controld_pool_step_map_changed(v);
	controld_registry_unlock();
	rc = controld_memctl_connect(&d, controld_vnode_provider(), st->drop_addr, st->uid,
				     MEM_TIMEOUT_MS);
	if (!rc)
		rc = controld_memctl_open(&d, (uint32_t)st->region, st->size, &handle, &epoch);
	if (!rc)
		rc = controld_memctl_release(&d, handle, epoch, owner);
	if (rc && rc != MP_ENOENT) {
		snprintf(err, errlen, "lego-vmm dropped it, but RELEASE failed: %s", d.err);
		controld_memctl_close(&d);
		/* No longer in the map nor in lego-vmm: its server frees it once it answers. */
		controld_owed_add(&st->run, st->drop, st->drop_addr, &st->region, 1);
		return -1;
	}
	controld_memctl_close(&d);
	return 0;
}

/* Claim the vNode for the step (no migration starts meanwhile); false if it cannot be
 * touched now. */
static bool claim(const struct controld_pool_step *st)
{
	struct controld_registry_vnode *v;

	controld_registry_lock();
	v = controld_pool_step_vnode(st->uuid, st->id);
	if (v) {
		v->pool_busy = true;
		snprintf(v->step_to, sizeof(v->step_to), "%s", st->to);
		v->step_bytes = st->to[0] ? st->size : 0;
	}
	controld_registry_unlock();
	return v != NULL;
}

static void unclaim(const struct controld_pool_step *st)
{
	struct controld_registry_vnode *v;

	controld_registry_lock();
	v = controld_registry_find_uuid(st->uuid);
	if (v && v->id == st->id) {
		v->pool_busy = false;
		v->step_to[0] = '\0';
		v->step_bytes = 0;
	}
	controld_registry_unlock();
}

/* For a drop alone: the region's first copy other than the dropped one, as
 * "NAME@HOST:PORT" (its primary once the drop is done). */
static void primary_owner(const struct controld_pool_step *st, char *owner, size_t len)
{
	struct controld_registry_vnode *v;

	snprintf(owner, len, "%s@%s", st->src, st->src_addr);
	controld_registry_lock();
	v = controld_registry_find_uuid(st->uuid);
	for (int k = 0; v && v->id == st->id && st->region < v->map.nr_regions &&
			k < v->map.nr_copies[st->region];
	     k++) {
		int p = v->map.copy[st->region][k];

		if (strcmp(v->map.mmon[p], st->drop)) {
			snprintf(owner, len, "%s@%s", v->map.mmon[p], v->map.mmon_addr[p]);
			break;
		}
	}
	controld_registry_unlock();
}

static enum controld_pool_step_result run(const struct controld_pool_step *st, char *err,
					  size_t errlen)
{
	char owner[CP_NAME_LEN + CP_ADDR_LEN + 2];
	int64_t t0 = mono_clock_ms();

	if (!claim(st))
		return STEP_SKIPPED;
	if (st->to[0]) {
		log_info("vNode %s vRegion %d: a new copy on %s, filled from %s%s%s", st->vnode,
			 st->region, st->to, st->src, st->drop[0] ? ", to replace the one on " : "",
			 st->drop);
		if (add_copy(st, err, errlen)) {
			unclaim(st); /* the caller says what failed, as often as it is worth */
			return STEP_FAILED;
		}
		log_info("vNode %s vRegion %d: its copy on %s is live (%.1f MiB in %" PRId64 " ms)",
			 st->vnode, st->region, st->to, (double)st->size / 1048576.0,
			 mono_clock_ms() - t0);
	}
	if (st->drop[0]) {
		if (st->to[0])
			snprintf(owner, sizeof(owner), "%s@%s", st->to, st->to_addr);
		else
			primary_owner(st, owner, sizeof(owner));
		if (drop_copy(st, owner, err, errlen)) {
			char why[1024];

			snprintf(why, sizeof(why), "its copy on %s stays: %s", st->drop, err);
			snprintf(err, errlen, "%s", why);
			unclaim(st);
			return STEP_FAILED;
		}
		log_info("vNode %s vRegion %d: its copy on %s is dropped and released (moved to "
			 "%s)",
			 st->vnode, st->region, st->drop, owner);
	}
	unclaim(st);
	return STEP_DONE;
}

enum controld_pool_step_result controld_pool_step_run(const struct controld_pool_step *st,
						      char *err, size_t errlen)
{
	int64_t t0 = mono_clock_us();
	enum controld_pool_step_result r = run(st, err, errlen);

	if (r != STEP_SKIPPED)
		controld_metrics_pool_step(!st->to[0]	 ? CM_STEP_DROP
					   : st->drop[0] ? CM_STEP_MOVE
							 : CM_STEP_ADD,
					   r == STEP_DONE, (uint64_t)(mono_clock_us() - t0));
	return r;
}
