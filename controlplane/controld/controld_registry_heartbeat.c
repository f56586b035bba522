/* controld_registry_heartbeat.c: a processor host's heartbeat reconciled with what the
 * registry placed on it (confirmed, adopted, exited, lost; while a vNode migrates only its
 * destination's statuses and its source's exit are recorded, for the migration to act on);
 * every run that ended, however it ended, leaves its vRegion copies to be freed
 * (mempool/controld_owed.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controld_autostart.h"
#include "controld_registry.h"
#include "controld_registry_index.h"
#include "controld_registry_store.h"
#include "controlplane/controld/mempool/controld_owed.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/uuid_str.h"

static struct controld_registry_component *by_conn(uint64_t conn)
{
	for (int i = 0; i < controld_registry_nr_components(); i++) {
		struct controld_registry_component *c = controld_registry_component_at(i);

		if (c->conn == conn && c->alive)
			return c;
	}
	return NULL;
}

/* While v migrates: a status from its destination, or its source's exit, is recorded for
 * the migration to act on. true if s was taken so. */
static bool migration_report(struct controld_registry_vnode *v,
			     const struct controld_registry_component *c,
			     const struct cluster_proto_vm_status *s)
{
	struct controld_registry_migration *m = &v->mig;

	if (!m->active || v->id != s->domid)
		return false;
	if (!strcmp(c->name, m->dest)) {
		/* Until its VM_START answered, a record there may be an older run's. */
		if (m->dest_pid > 0 && (uint32_t)m->dest_pid == s->pid) {
			if (s->state == CP_VM_EXITED && m->dest_state != CP_VM_EXITED)
				log_info("vNode %s (id %d): the destination lego-vmm on %s exited "
					 "with status %d",
					 v->def.name, v->id, c->name, s->exit_status);
			m->dest_state = (int)s->state;
			m->dest_exit = s->state == CP_VM_EXITED ? s->exit_status : -1;
		}
		return true;
	}
	if (!strcmp(c->name, v->host) && s->state == CP_VM_EXITED) {
		if (m->src_exit < 0)
			log_info(
				"vNode %s (id %d): the source lego-vmm on %s exited with status %d "
				"while migrating to %s",
				v->def.name, v->id, c->name, s->exit_status, m->dest);
		m->src_exit = s->exit_status;
		return true;
	}
	return false;
}

/* Reconcile one vNode status a processor host reported. */
static bool reconcile(struct controld_registry_component *c,
		      const struct cluster_proto_vm_status *s)
{
	struct controld_registry_vnode *v = controld_registry_find_uuid(s->uuid);
	char u[UUID_STR_LEN];

	uuid_str_format(s->uuid, u);
	if (v && migration_report(v, c, s))
		return false; /* kept until the migration is over: then it is forgotten */
	if (s->state == CP_VM_EXITED) {
		if (v && v->id == s->domid && !strcmp(v->host, c->name)) {
			int reason = v->stopping   ? v->stop_reason
				     : v->starting ? VN_SHUTOFF_FAILED
						   : controld_registry_exit_reason(s->exit_status);

			log_info("vNode %s (id %d) on %s exited with status %d", v->def.name, v->id,
				 c->name, s->exit_status);
			/* lego-vmm frees its copies on a clean exit, not when killed, after a
			 * fatal stop (125: a vRegion lost, pager threads stuck) or a crash: what
			 * is left of them, whatever the status, is freed for it. */
			/* Its <on_poweroff> or <on_crash>, as the run's definition says. */
			bool again = !v->stopping && !v->starting && v->persistent &&
				     ((reason == VN_SHUTOFF_SHUTDOWN &&
				       v->def.on_poweroff == DOM_ACTION_RESTART) ||
				      (reason == VN_SHUTOFF_CRASHED &&
				       v->def.on_crash == DOM_ACTION_RESTART));
			uint8_t uuid[16];

			memcpy(uuid, v->def.uuid, 16);
			controld_owed_run_ended(v);
			controld_registry_mark_stopped(v, reason, s->exit_status);
			if (again)
				controld_autostart_restart(uuid, reason == VN_SHUTOFF_CRASHED
									 ? "on_crash restart"
									 : "on_poweroff restart");
			return false; /* forget it next time: a console reader may want the tail */
		}
		return true;
	}
	if (!v) {
		log_warn("%s runs vNode %s (id %d), which is not defined here", c->name, u,
			 s->domid);
		return false;
	}
	if (v->id < 0) {
		/* Running but unknown to us (a run file lost): adopt it. */
		v->id = s->domid;
		v->uid = s->vnode_uid;
		snprintf(v->host, sizeof(v->host), "%s", c->name);
		controld_registry_store_see_id(s->domid);
		v->started_ms = mono_clock_ms();
		log_warn("vNode %s (id %d) found running on %s: adopted", v->def.name, v->id,
			 c->name);
	} else if (v->id != s->domid || strcmp(v->host, c->name)) {
		log_warn("%s reports vNode %s as id %d, but it runs as id %d on %s", c->name,
			 v->def.name, s->domid, v->id, v->host);
		return false;
	}
	if (!v->confirmed)
		log_info("vNode %s (id %d) confirmed running on %s", v->def.name, v->id, c->name);
	v->confirmed = true;
	if (s->state == CP_VM_PAUSED && v->state != VN_PAUSED) {
		v->state = VN_PAUSED;
		v->reason = VN_PAUSED_USER;
	} else if (s->state == CP_VM_RUNNING && v->state != VN_RUNNING) {
		v->state = VN_RUNNING;
		v->reason = VN_RUNNING_UNPAUSED;
	}
	return false;
}

struct controld_registry_component *
controld_registry_heartbeat(uint64_t conn, const struct cluster_proto_heartbeat *hb,
			    const struct cluster_proto_vm_status *vms, uint8_t (*forget)[16],
			    int *nforget)
{
	/* Under the registry lock, as every caller holds it. */
	static struct controld_registry_vnode *here[REG_MAX_VNODES];
	struct controld_registry_component *c = by_conn(conn);
	int64_t now = mono_clock_ms();
	int n;

	*nforget = 0;
	if (!c)
		return NULL;
	c->used_bytes = hb->used_bytes;
	c->used_cores = hb->used_cores;
	c->last_seen_ms = now;
	if (c->kind != CP_KIND_PMON)
		return c;
	for (uint32_t i = 0; i < hb->nr_vms; i++)
		if (reconcile(c, &vms[i]))
			memcpy(forget[(*nforget)++], vms[i].uuid, 16);
	/* vNodes placed here that the host no longer knows (it restarted): gone. A start in
	 * flight may predate the heartbeat, hence the grace period (which also covers the
	 * index's age). */
	n = controld_registry_index_on_host(c->name, here, REG_MAX_VNODES);
	for (int i = 0; i < n; i++) {
		struct controld_registry_vnode *v = here[i];
		bool listed = false;

		if (v->id < 0 || strcmp(v->host, c->name) || now - v->started_ms < 3000)
			continue;
		for (uint32_t k = 0; k < hb->nr_vms && !listed; k++)
			listed = !memcmp(vms[k].uuid, v->def.uuid, 16);
		if (!listed && v->mig.active) {
			v->mig.src_gone = true; /* the migration finds out where it runs */
			continue;
		}
		if (!listed) {
			log_warn("vNode %s (id %d) is no longer on %s: marking it crashed",
				 v->def.name, v->id, c->name);
			controld_owed_run_ended(v);
			controld_registry_mark_stopped(v, VN_SHUTOFF_CRASHED, -1); /* may free v */
		}
	}
	return c;
}

/* Is host h (a processor host's name) lost: down for grace_ms, or never registered since
 * lego-controld started (then with register_ms more)? */
static bool host_lost(const char *h, int64_t now, int64_t start_ms, int register_ms, int grace_ms)
{
	const struct controld_registry_component *c =
		controld_registry_find_component(CP_KIND_PMON, h);

	if (!c)
		return now - start_ms >= (int64_t)register_ms + grace_ms;
	return !c->alive && c->down_ms && now - c->down_ms >= grace_ms;
}

int controld_registry_heartbeat_hosts_lost(int64_t now, int64_t start_ms, int register_ms,
					   int grace_ms)
{
	int n = 0;

	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		struct controld_registry_vnode *v = controld_registry_vnode_at(i);

		/* A migration decides for itself where its vNode runs. */
		if (v->id < 0 || v->mig.active ||
		    !host_lost(v->host, now, start_ms, register_ms, grace_ms))
			continue;
		log_error(
			"vNode %s (id %d): its processor host %s is lost (down for %d s or more): "
			"the vNode is marked crashed and its vRegions are freed",
			v->def.name, v->id, v->host, grace_ms / 1000);
		controld_owed_run_ended(v);
		controld_registry_mark_stopped(v, VN_SHUTOFF_CRASHED, -1);
		i--; /* the array may have shifted */
		n++;
	}
	return n;
}
