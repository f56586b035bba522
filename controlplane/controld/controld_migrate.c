/* controld_migrate.c: a vNode's live migration between processor hosts, driven through their
 * lego-pmons: the refusals, the run file first, the destination's lego-vmm --incoming
 * until it listens, the source told to migrate; then controld_migrate_watch.c follows it. */
#include "controld_migrate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controld_migrate_watch.h"
#include "controld_netsync.h"
#include "controld_registry.h"
#include "controld_vnode.h"
#include "controlplane/controld/mempool/controld_mempool.h"
#include "lib/cluster/cluster_io.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/parse.h"

/* ---- the request ---------------------------------------------------------------------- */

/* Refusals, under the lock; 0 when v may go to t's host. */
static int check(const struct controld_registry_vnode *v, const struct controld_migrate_target *t,
		 char *err, size_t errlen)
{
	const struct controld_registry_component *c =
		controld_registry_find_component(CP_KIND_PMON, t->host);
	const struct controld_registry_component *src =
		controld_registry_find_component(CP_KIND_PMON, v->host);
	uint32_t cores, free_cores;
	uint64_t bytes, free_bytes;
	const char *a = v->run_args;
	bool mmon = false;
	int n = 0;

	if (v->id < 0) {
		snprintf(err, errlen, "Requested operation is not valid: domain is not running");
		return RPC_ERR_OPERATION_INVALID;
	}
	if (v->mig.active) {
		snprintf(err, errlen,
			 "Requested operation is not valid: vNode '%s' is already migrating to %s",
			 v->def.name, v->mig.dest);
		return RPC_ERR_OPERATION_INVALID;
	}
	if (v->pool_busy) {
		snprintf(
			err, errlen,
			"Requested operation is not valid: a vRegion copy of vNode '%s' is being "
			"moved by the memory pool (legoctl pool): try again when that step is over",
			v->def.name);
		return RPC_ERR_OPERATION_INVALID;
	}
	if (v->stopping || !v->confirmed) {
		snprintf(err, errlen, "Requested operation is not valid: vNode '%s' is %s on %s",
			 v->def.name, v->stopping ? "being stopped" : "not yet confirmed running",
			 v->host);
		return RPC_ERR_OPERATION_INVALID;
	}
	if (!c) {
		snprintf(err, errlen, "invalid argument: no processor host named '%s'", t->host);
		return RPC_ERR_INVALID_ARG;
	}
	if (!src || !src->alive) {
		snprintf(err, errlen,
			 "operation failed: processor host '%s', where vNode '%s' runs, is down",
			 v->host, v->def.name);
		return RPC_ERR_OPERATION_FAILED;
	}
	if (!c->alive) {
		snprintf(err, errlen, "operation failed: processor host '%s' is down", t->host);
		return RPC_ERR_OPERATION_FAILED;
	}
	if (!strcmp(v->host, t->host)) {
		snprintf(err, errlen,
			 "Requested operation is not valid: vNode '%s' already runs on processor "
			 "host '%s'",
			 v->def.name, t->host);
		return RPC_ERR_OPERATION_INVALID;
	}
	if (!a) {
		snprintf(
			err, errlen,
			"Operation not supported: the lego-vmm options of vNode '%s' are not known "
			"(its run was adopted from a heartbeat, or started by an older "
			"lego-controld): restart it to migrate it",
			v->def.name);
		return RPC_ERR_OPERATION_UNSUPPORTED;
	}
	for (uint32_t i = 0; i < v->run_argc; i++, a += strlen(a) + 1) {
		const char *disk = !strcmp(a, "--disk") && i + 1 < v->run_argc ? a + strlen(a) + 1
				   : !strncmp(a, "--disk=", 7)		       ? a + 7
									       : NULL;

		mmon |= !strcmp(a, "--mmon") || !strncmp(a, "--mmon=", 7);
		if (disk && strncmp(disk, "smon://", 7)) {
			snprintf(
				err, errlen,
				"Operation not supported: vNode '%s' has a local disk (%.200s): it "
				"cannot follow the vNode to another host",
				v->def.name, disk);
			return RPC_ERR_OPERATION_UNSUPPORTED;
		}
	}
	if (!mmon) {
		snprintf(err, errlen,
			 "Operation not supported: vNode '%s' keeps its RAM on its host, not on "
			 "memory servers",
			 v->def.name);
		return RPC_ERR_OPERATION_UNSUPPORTED;
	}
	controld_vnode_placed_use(c->name, CP_KIND_PMON, &cores, &bytes);
	if (c->used_cores > cores)
		cores = c->used_cores;
	if (c->used_bytes > bytes)
		bytes = c->used_bytes;
	free_cores = cores < c->cores ? c->cores - cores : 0;
	free_bytes = bytes < c->capacity ? c->capacity - bytes : 0;
	if (v->run_vcpus <= free_cores && v->run_excache <= free_bytes)
		return 0;
	n = snprintf(err, errlen,
		     "operation failed: processor host '%s' cannot take vNode '%s':", t->host,
		     v->def.name);
	if (v->run_vcpus > free_cores && n > 0 && (size_t)n < errlen)
		n += snprintf(err + n, errlen - (size_t)n,
			      " it needs %u core(s) but only %u of %u are free", v->run_vcpus,
			      free_cores, c->cores);
	if (v->run_excache > free_bytes && n > 0 && (size_t)n < errlen)
		snprintf(err + n, errlen - (size_t)n,
			 "%s it needs %" PRIu64 " MiB of ExCache memory but only %" PRIu64
			 " of %" PRIu64 " MiB are free",
			 v->run_vcpus > free_cores ? ";" : "", v->run_excache >> 20,
			 free_bytes >> 20, c->capacity >> 20);
	return RPC_ERR_OPERATION_FAILED;
}

/* The destination's VM_START: the run's own options and --incoming ADDR. */
static size_t incoming_start(const struct controld_registry_vnode *v,
			     const struct controld_migrate_target *t, const char *dest_addr,
			     uint8_t *req)
{
	struct cluster_proto_vm_start vs = {.vnode_uid = v->uid,
					    .domid = v->id,
					    .vcpus = v->run_vcpus,
					    .excache_bytes = v->run_excache};
	char host[256] = "", port[16], addr[300], err[256];
	const char *lh = t->listen_host;
	size_t n = v->run_args_len;
	int w;

	if (!lh[0]) {
		if (parse_hostport(dest_addr, 1, host, sizeof(host), port, sizeof(port)))
			return 0;
		lh = host;
	}
	snprintf(addr, sizeof(addr), strchr(lh, ':') ? "[%s]:%u" : "%s:%u", lh, t->listen_port);
	w = snprintf((char *)req + CP_VM_START_LEN + n, CP_ARGS_MAX - n, "--incoming%c%s", 0, addr);
	if (w < 0 || (size_t)w + 1 > CP_ARGS_MAX - n)
		return 0;
	memcpy(req + CP_VM_START_LEN, v->run_args, n);
	memcpy(vs.uuid, v->def.uuid, 16);
	controld_vnode_wire_name(vs.name, sizeof(vs.name), v->def.name);
	vs.argc = v->run_argc + 2;
	vs.args_len = (uint32_t)(n + (size_t)w + 1);
	/* The destination's run gets capabilities of its own. */
	if (controld_vnode_append_capability(v, req + CP_VM_START_LEN, &vs.argc, &vs.args_len, err,
					     sizeof(err))) {
		log_error("vNode %s: %s", v->def.name, err);
		return 0;
	}
	cluster_proto_vm_start_put(req, &vs);
	return CP_VM_START_LEN + vs.args_len;
}

/* The destination's lego-vmm, until it listens: 0 with its address, or a libvirt error
 * code with why not. */
static int wait_listening(struct controld_migrate_job *j, char *listen, size_t len, char *err,
			  size_t errlen)
{
	int64_t deadline = mono_clock_us() + (int64_t)LISTEN_WAIT_MS * 1000;

	for (;;) {
		struct mig_status st;
		char last[CP_ERRTEXT_MAX + 128] = ""; /* why the last answer was none */
		enum controld_migrate_reply a;
		int e;

		if (controld_migrate_watch_cancelled(j))
			return RPC_ERR_OPERATION_ABORTED;
		a = controld_migrate_watch_status(j->dest, j->uuid, &st, last, sizeof(last));
		if (a == ASK_OK && st.role == MIG_STATUS_ROLE_INCOMING &&
		    st.phase == MIG_STATUS_LISTENING) {
			snprintf(listen, len, "%s", st.listen);
			return 0;
		}
		if (a == ASK_OK && st.phase == MIG_STATUS_FAILED) {
			snprintf(err, errlen, "its lego-vmm on %s failed: %s", j->dest, st.error);
			return RPC_ERR_OPERATION_FAILED;
		}
		if (a == ASK_GONE) {
			char st_text[32] = "";

			e = controld_migrate_watch_exit_status(j, true, NULL);
			if (e >= 0)
				snprintf(st_text, sizeof(st_text), " with status %d", e);
			snprintf(err, errlen,
				 "its lego-vmm on %s exited%s before it listened (its log is on "
				 "%s)",
				 j->dest, st_text, j->dest);
			return RPC_ERR_OPERATION_FAILED;
		}
		if (mono_clock_us() > deadline) {
			snprintf(err, errlen, "its lego-vmm on %s did not listen within %d s%s%s",
				 j->dest, LISTEN_WAIT_MS / 1000, last[0] ? ": " : "", last);
			return RPC_ERR_OPERATION_FAILED;
		}
		controld_migrate_watch_sleep_ms(LISTEN_POLL_MS);
	}
}

/* Give up before the source was told anything: the destination goes, the run stays. */
static int give_up(struct controld_migrate_job *j, int code, const char *why, char *err,
		   size_t errlen)
{
	controld_migrate_watch_finish(j, OUT_FAILED, -1, NULL);
	if (code == RPC_ERR_OPERATION_ABORTED)
		snprintf(err, errlen, "operation aborted: migration job: canceled by client");
	else
		snprintf(err, errlen, "operation failed: migration of vNode '%s' to %s: %s",
			 j->name, j->dest, why);
	log_warn("vNode %s: migration to %s failed: %s; it runs on %s", j->name, j->dest, why,
		 j->src);
	return code;
}

/* The refusals, then the migration recorded in the run file (a restarted lego-controld
 * must know to look at the destination) and the job filled in; req gets the destination's
 * VM_START (*len bytes). 0, or a libvirt error code with err. */
static int begin(struct controld_migrate_job *j, const uint8_t uuid[16],
		 const struct controld_migrate_target *t, uint8_t *req, size_t *len, char *err,
		 size_t errlen)
{
	const struct controld_registry_component *c;
	struct controld_registry_vnode *v;
	int rc;

	/* A step on its vRegion copies ends in seconds, and no new one starts meanwhile. */
	controld_registry_lock();
	v = controld_registry_find_uuid(uuid);
	if (v)
		v->mig_waiting = true;
	controld_registry_unlock();
	controld_mempool_wait_idle(uuid, POOL_STEP_WAIT_MS);
	controld_registry_ops_lock();
	controld_registry_lock();
	v = controld_registry_find_uuid(uuid);
	rc = v ? check(v, t, err, errlen) : RPC_ERR_NO_DOMAIN;
	if (v)
		v->mig_waiting = false;
	if (!v)
		snprintf(err, errlen, "Domain not found");
	if (!rc) {
		c = controld_registry_find_component(CP_KIND_PMON, t->host);
		*len = incoming_start(v, t, c->addr, req);
		if (!*len) {
			snprintf(err, errlen,
				 "operation failed: cannot give vNode '%s' its options on %s",
				 v->def.name, t->host);
			rc = RPC_ERR_OPERATION_FAILED;
		}
	}
	if (!rc) {
		memcpy(j->uuid, uuid, 16);
		snprintf(j->name, sizeof(j->name), "%s", v->def.name);
		j->id = v->id;
		snprintf(j->src, sizeof(j->src), "%s", v->host);
		snprintf(j->dest, sizeof(j->dest), "%s", t->host);
		v->mig = (struct controld_registry_migration){.active = true,
							      .phase = CP_MIG_STARTING,
							      .started_ms = mono_clock_ms(),
							      .src_exit = -1,
							      .dest_exit = -1};
		snprintf(v->mig.dest, sizeof(v->mig.dest), "%s", t->host);
		if (controld_registry_store_save_run(v)) {
			memset(&v->mig, 0, sizeof(v->mig));
			snprintf(err, errlen,
				 "operation failed: cannot record the migration in the "
				 "state directory");
			rc = RPC_ERR_OPERATION_FAILED;
		}
	}
	controld_registry_unlock();
	controld_registry_ops_unlock();
	return rc;
}

/* The destination's lego-vmm --incoming started, its pid recorded: 0, or why not. */
static int start_dest(struct controld_migrate_job *j, const uint8_t *req, size_t len, char *err,
		      size_t errlen)
{
	uint8_t *reply = NULL;
	struct controld_registry_vnode *v;
	size_t rlen;
	/* Its taps go on the destination's bridges: the host must know the networks. */
	int rc = controld_netsync_host(j->dest, err, errlen);

	if (!rc)
		rc = controld_vnode_pmon_call(j->dest, CP_VM_START, req, len, &reply, &rlen, err,
					      errlen);

	if (rc != CP_OK || rlen != 4) {
		if (rc == CP_OK)
			snprintf(err, errlen, "bad reply");
		free(reply);
		return -1;
	}
	controld_registry_lock();
	v = controld_migrate_watch_job_vnode(j);
	if (v) {
		v->mig.dest_pid = (int32_t)wire_get_le32(reply);
		controld_registry_store_save_run(
			v); /* the pid tells its lego-vmm from an older run's record */
	}
	controld_registry_unlock();
	free(reply);
	return 0;
}

/* Once the destination listens, the source is told `migrate LISTEN`: 0, or a libvirt
 * error code after giving up. */
static int tell_source(struct controld_migrate_job *j, char *err, size_t errlen)
{
	char listen[MIG_STATUS_LISTEN_MAX + 1], why[CP_ERRTEXT_MAX + 256],
		refused[CP_ERRTEXT_MAX + 400];
	char cmd[CP_CMD_MAX + 1], *json = NULL;
	int rc = wait_listening(j, listen, sizeof(listen), why, sizeof(why));

	if (rc)
		return give_up(j, rc, why, err, errlen);
	snprintf(cmd, sizeof(cmd), "migrate %s", listen);
	if (controld_migrate_watch_cancelled(j))
		return give_up(j, RPC_ERR_OPERATION_ABORTED, "canceled by client", err, errlen);
	switch (controld_migrate_watch_ask(j->src, j->uuid, cmd, &json, why, sizeof(why))) {
	case ASK_OK:
		if (mig_status_answer_check(json, "started", why, sizeof(why))) {
			free(json);
			snprintf(refused, sizeof(refused),
				 "the source lego-vmm on %s refused it: %s", j->src, why);
			return give_up(j, RPC_ERR_OPERATION_FAILED, refused, err, errlen);
		}
		break;
	case ASK_GONE:
		break; /* it exited meanwhile: watching finds out how */
	default:
		/* It may have begun all the same: watching finds out. */
		log_warn("vNode %s: no answer to '%s' from %s: %s", j->name, cmd, j->src, why);
	}
	free(json);
	controld_migrate_watch_set_phase(j, CP_MIG_CONNECTING);
	return 0;
}

/* How it ended, for the caller: 0 with res when it moved, else a libvirt error code. */
static int conclude(struct controld_migrate_job *j, enum controld_migrate_outcome o,
		    const char *why, struct controld_migrate_result *res, char *err, size_t errlen)
{
	bool cancel;
	int e;

	if (o == OUT_MOVED) {
		controld_migrate_watch_finish(j, o, -1, res);
		return 0;
	}
	if (o == OUT_LOST) {
		e = controld_migrate_watch_exit_status(j, false, NULL);
		controld_migrate_watch_finish(j, o, e, NULL);
		log_error("vNode %s: %s", j->name, why);
		snprintf(err, errlen, "operation failed: %s", why);
		return RPC_ERR_OPERATION_FAILED;
	}
	cancel = controld_migrate_watch_cancelled(j);
	controld_migrate_watch_finish(j, o, -1, NULL);
	log_warn("vNode %s: migration to %s failed: %s; it runs on %s", j->name, j->dest, why,
		 j->src);
	if (cancel)
		snprintf(err, errlen, "operation aborted: migration job: canceled by client");
	else
		snprintf(
			err, errlen,
			"operation failed: migration of vNode '%s' to %s failed: %s; it runs on %s "
			"as before",
			j->name, j->dest, why, j->src);
	return cancel ? RPC_ERR_OPERATION_ABORTED : RPC_ERR_OPERATION_FAILED;
}

int controld_migrate_run(const uint8_t uuid[16], const struct controld_migrate_target *t,
			 struct controld_migrate_result *res, char *err, size_t errlen)
{
	struct controld_migrate_job j = {.t0_us = mono_clock_us()};
	char why[CP_ERRTEXT_MAX + 256], refused[CP_ERRTEXT_MAX + 300];
	uint8_t *req = malloc(CP_VM_START_LEN + CP_ARGS_MAX);
	size_t len = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!req) {
		snprintf(err, errlen, "out of memory");
		return RPC_ERR_OPERATION_FAILED;
	}
	rc = begin(&j, uuid, t, req, &len, err, errlen);
	if (rc) {
		free(req);
		return rc;
	}
	log_info("migrating vNode %s (id %d) from %s to %s", j.name, j.id, j.src, j.dest);
	rc = start_dest(&j, req, len, why, sizeof(why));
	free(req);
	if (rc) {
		snprintf(refused, sizeof(refused), "the destination refused its lego-vmm: %s", why);
		return give_up(&j, RPC_ERR_OPERATION_FAILED, refused, err, errlen);
	}
	rc = tell_source(&j, err, errlen);
	if (rc)
		return rc;
	why[0] = '\0';
	return conclude(&j, controld_migrate_watch_follow(&j, why, sizeof(why)), why, res, err,
			errlen);
}

int controld_migrate_abort(const uint8_t uuid[16], char *err, size_t errlen)
{
	struct controld_registry_vnode *v;
	int rc = 0;

	controld_registry_lock();
	v = controld_registry_find_uuid(uuid);
	if (!v) {
		snprintf(err, errlen, "Domain not found");
		rc = RPC_ERR_NO_DOMAIN;
	} else if (!v->mig.active) {
		snprintf(err, errlen,
			 "Requested operation is not valid: no job is active on the "
			 "domain");
		rc = RPC_ERR_OPERATION_INVALID;
	} else if (v->mig.phase >= CP_MIG_COMMITTING) {
		snprintf(err, errlen,
			 "Requested operation is not valid: too late to abort the migration of "
			 "vNode '%s': %s was told to run it",
			 v->def.name, v->mig.dest);
		rc = RPC_ERR_OPERATION_INVALID;
	} else {
		v->mig.cancel = true;
		log_info("vNode %s: abort of its migration to %s asked for", v->def.name,
			 v->mig.dest);
	}
	controld_registry_unlock();
	return rc;
}

void controld_migrate_progress(const struct controld_registry_vnode *v,
			       struct cluster_proto_mig_progress *p)
{
	memset(p, 0, sizeof(*p));
	if (!v->mig.active)
		return;
	p->phase = v->mig.phase ? v->mig.phase : CP_MIG_STARTING;
	p->elapsed_ms = (uint64_t)(mono_clock_ms() - v->mig.started_ms);
	p->bytes_total = v->mig.bytes_total;
	p->bytes_processed = v->mig.bytes_processed;
	p->bytes_remaining = v->mig.bytes_remaining;
	snprintf(p->from, sizeof(p->from), "%s", v->host);
	snprintf(p->to, sizeof(p->to), "%s", v->mig.dest);
}
