/* controld_migrate.c: a vNode's live migration between processor hosts, driven through their
 * lego-pmons: checks, the destination's lego-vmm --incoming, the source's progress, and
 * where the vNode runs in the end. */
#include "controld_migrate.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cluster/cluster_io.h"
#include "controlplane/controld/mempool/controld_mempool.h"
#include "controld_registry.h"
#include "controld_vnode.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/proto/mig_status.h"
#include "lib/parse.h"

/* The source's progress: every POLL_FAST_MS for the first FAST_START_MS and while its
 * vCPUs are paused (a vNode with few dirty pages is across in milliseconds, and the final
 * figures go with the source lego-vmm when it exits), else every POLL_MS. */
#define POLL_MS		  100
#define POLL_FAST_MS	  5
#define FAST_START_MS	  500
#define LISTEN_WAIT_MS	  30000 /* the destination's lego-vmm connects to the memory servers */
#define LISTEN_POLL_MS	  50
#define EXIT_WAIT_MS	  5000	/* for a heartbeat to bring an exit status */
#define DEST_RUN_WAIT_MS  10000 /* for a destination told to run to say whether it does */
#define NOT_STARTED_MS	  5000	/* a source that was told to migrate but says it does not */
#define RETRY_MS	  1000	/* a host that cannot be asked */
#define STOP_GRACE_MS	  3000
#define HOSTS_WAIT_LOG_MS 30000
#define SOURCE_LOST_MS	  60000 /* a source that cannot be asked while its destination gave up */
#define POOL_STEP_WAIT_MS 10000 /* for the memory pool's step on the vNode to end */

/* lego-vmm's exit statuses for migration (vmm/vm.h, ../notes/mig_spec.md). */
#define VMM_EXIT_INCOMING_ABORTED 124
#define VMM_EXIT_MIGRATED	  126

#define ERR_INVALID_ARG		  8
#define ERR_OPERATION_FAILED	  9
#define ERR_NO_DOMAIN		  42
#define ERR_OPERATION_INVALID	  55
#define ERR_OPERATION_ABORTED	  78
#define ERR_OPERATION_UNSUPPORTED 84

struct job {
	uint8_t uuid[16];
	char name[DOM_NAME_MAX + 1];
	int id;
	char src[CP_NAME_LEN + 1], dest[CP_NAME_LEN + 1];
	int64_t t0_us;
	struct mig_status last; /* the source's last answer */
	bool completed_seen, src_exited_126, cancel_sent;
};

/* How the source's migration ended. */
enum outcome {
	OUT_MOVED,  /* the vNode runs on the destination (or ran there, then ended) */
	OUT_FAILED, /* it runs on the source as before */
	OUT_LOST,   /* the source ended and the destination never ran it: the vNode is off */
};

/* A verdict from the destination. */
enum dest_verdict { D_RUNS, D_NEVER_RAN, D_RAN_AND_ENDED };

enum ask { ASK_OK, ASK_GONE, ASK_UNREACHABLE, ASK_BAD };

static void sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* ---- talking to the two lego-vmms -------------------------------------------------- */

/* A control command to the vNode's lego-vmm on host: its answer (malloc'ed) or why not.
 * GONE: the host has no live lego-vmm for it (it exited, or was never there). */
static enum ask ask(const char *host, const uint8_t uuid[16], const char *cmd, char **json,
		    char *err, size_t errlen)
{
	struct cp_vm_ctl c = {0};
	uint8_t req[CP_VM_CTL_LONG_LEN], *reply = NULL;
	size_t rlen, len;
	int rc;

	*json = NULL;
	memcpy(c.uuid, uuid, 16);
	snprintf(c.cmd, sizeof(c.cmd), "%s", cmd);
	len = cp_vm_ctl_put(req, &c);
	rc = vn_pmon_call(host, CP_VM_CTL, req, len, &reply, &rlen, err, errlen);
	if (rc == CP_OK) {
		*json = (char *)reply; /* cio payloads are NUL-terminated */
		return ASK_OK;
	}
	free(reply);
	return rc == CP_ENOENT ? ASK_GONE : ASK_UNREACHABLE;
}

static enum ask status(const char *host, const uint8_t uuid[16], struct mig_status *st, char *err,
		       size_t errlen)
{
	char *json;
	enum ask a = ask(host, uuid, "migration", &json, err, errlen);

	if (a == ASK_OK && mig_status_parse(json, st, err, errlen))
		a = ASK_BAD;
	free(json);
	return a;
}

/* Stop the destination's lego-vmm (SIGTERM; SIGKILL after a grace period). An --incoming
 * lego-vmm that never ran leaves the vRegions alone. */
static void stop_dest(const struct job *j)
{
	uint8_t req[CP_VM_STOP_LEN];
	char err[CP_ERRTEXT_MAX + 64];
	int rc;

	cp_vm_stop_put(req, &(struct cp_vm_stop){.mode = CP_STOP_FORCE, .grace_ms = STOP_GRACE_MS});
	memcpy(req, j->uuid, 16);
	rc = vn_pmon_call(j->dest, CP_VM_STOP, req, sizeof(req), NULL, NULL, err, sizeof(err));
	if (rc != CP_OK && rc != CP_ENOENT)
		log_warn("vNode %s: cannot stop its lego-vmm on %s (the migration's destination): "
			 "%s",
			 j->name, j->dest, err);
}

/* ---- what the registry knows -------------------------------------------------------- */

/* Under the lock: the vNode of the job, while it is still that run migrating. */
static struct vnode *job_vnode(const struct job *j)
{
	struct vnode *v = reg_find_uuid(j->uuid);

	return v && v->id == j->id && v->mig.active ? v : NULL;
}

static bool cancelled(const struct job *j)
{
	struct vnode *v;
	bool c;

	reg_lock();
	v = job_vnode(j);
	c = v && v->mig.cancel;
	reg_unlock();
	return c;
}

static uint32_t cp_phase(enum mig_vphase p)
{
	switch (p) {
	case MIG_CONNECTING:
		return CP_MIG_CONNECTING;
	case MIG_PRECOPY:
		return CP_MIG_PRECOPY;
	case MIG_STOPPING:
		return CP_MIG_STOPPING;
	case MIG_SENDING:
		return CP_MIG_SENDING;
	case MIG_COMMITTING:
	case MIG_COMPLETED:
		return CP_MIG_COMMITTING;
	case MIG_UNCERTAIN:
		return CP_MIG_UNCERTAIN;
	default:
		return CP_MIG_CONNECTING;
	}
}

static void set_phase(const struct job *j, uint32_t phase)
{
	struct vnode *v;

	reg_lock();
	v = job_vnode(j);
	if (v)
		v->mig.phase = phase;
	reg_unlock();
}

/* The source's figures, for job info and MIG_STATUS (they never go down). */
static void record_progress(const struct job *j, const struct mig_status *st)
{
	struct vnode *v;

	reg_lock();
	v = job_vnode(j);
	if (v) {
		v->mig.phase = cp_phase(st->phase);
		if (st->bytes_total >= v->mig.bytes_total)
			v->mig.bytes_total = st->bytes_total;
		if (st->bytes_processed >= v->mig.bytes_processed)
			v->mig.bytes_processed = st->bytes_processed;
		v->mig.bytes_remaining = v->mig.bytes_total - v->mig.bytes_processed;
	}
	reg_unlock();
}

/* The exit status a heartbeat brought for the source (dest false) or the destination,
 * waiting up to EXIT_WAIT_MS for it; -1 if none came. *gone: the source host no longer
 * lists the run at all. */
static int exit_status(const struct job *j, bool dest, bool *gone)
{
	int64_t deadline = mono_us() + (int64_t)EXIT_WAIT_MS * 1000;

	for (;;) {
		struct vnode *v;
		int st = -1;
		bool g = false;

		reg_lock();
		v = job_vnode(j);
		if (v && dest && v->mig.dest_state == CP_VM_EXITED)
			st = v->mig.dest_exit;
		if (v && !dest) {
			st = v->mig.src_exit;
			g = v->mig.src_gone;
		}
		reg_unlock();
		if (gone)
			*gone = g;
		if (st >= 0 || g || !v || mono_us() > deadline)
			return st;
		sleep_ms(50);
	}
}

/* ---- deciding where the vNode runs ------------------------------------------------- */

/* Ask the destination whether it runs the vNode. Alive and running: it does. Exited 124:
 * it never ran. Exited otherwise: it ran. Alive but not (yet) running for longer than
 * DEST_RUN_WAIT_MS: it is stopped, and its exit says which. A destination that cannot be
 * asked is asked again: this is never guessed. */
static enum dest_verdict ask_dest(const struct job *j)
{
	int64_t deadline = mono_us() + (int64_t)DEST_RUN_WAIT_MS * 1000, logged = 0;
	bool stopped = false;

	for (;;) {
		struct mig_status st;
		char err[CP_ERRTEXT_MAX + 128];
		enum ask a = status(j->dest, j->uuid, &st, err, sizeof(err));
		int e;

		if (a == ASK_OK && st.role == MIG_ROLE_INCOMING && st.phase == MIG_RUNNING)
			return D_RUNS;
		if (a == ASK_GONE) {
			e = exit_status(j, true, NULL);
			if (e == VMM_EXIT_INCOMING_ABORTED)
				return D_NEVER_RAN;
			if (e >= 0)
				return D_RAN_AND_ENDED;
			snprintf(err, sizeof(err), "%s has no lego-vmm for it and reported no exit",
				 j->dest);
		} else if ((a == ASK_OK || a == ASK_BAD) && !stopped && mono_us() > deadline) {
			log_warn(
				"vNode %s: its destination lego-vmm on %s does not run it after %d "
				"s: stopping it, its exit tells whether it ever ran",
				j->name, j->dest, DEST_RUN_WAIT_MS / 1000);
			stop_dest(j);
			stopped = true;
		}
		if (a == ASK_OK || (a == ASK_BAD && !stopped)) {
			sleep_ms(POLL_MS);
			continue;
		}
		if (mono_us() - logged > (int64_t)HOSTS_WAIT_LOG_MS * 1000) {
			log_warn("vNode %s: cannot ask its migration's destination whether it runs "
				 "it (%s): asking again",
				 j->name, err);
			logged = mono_us();
		}
		sleep_ms(RETRY_MS);
	}
}

/* The source ended (status src_exit, -1 unknown) before it said the migration completed:
 * the destination tells where the vNode is. */
static enum outcome after_source_ended(struct job *j, int src_exit, char *err, size_t errlen)
{
	enum dest_verdict d;

	if (src_exit == VMM_EXIT_MIGRATED) {
		j->src_exited_126 = true;
		return OUT_MOVED;
	}
	d = ask_dest(j);
	if (d == D_NEVER_RAN) {
		if (src_exit >= 0)
			snprintf(err, errlen,
				 "the source lego-vmm on %s exited with status %d before the "
				 "destination ran vNode '%s': it is off",
				 j->src, src_exit, j->name);
		else
			snprintf(
				err, errlen,
				"the source host %s lost vNode '%s' before the destination ran it: "
				"it is off",
				j->src, j->name);
		return OUT_LOST;
	}
	log_warn("vNode %s: its source lego-vmm on %s ended (status %d) but the destination %s "
		 "%s it: it is there now",
		 j->name, j->src, src_exit, j->dest, d == D_RUNS ? "runs" : "ran");
	return OUT_MOVED;
}

/* The connection broke after the destination was told to run: it decides. */
static void resolve(struct job *j)
{
	enum dest_verdict d = ask_dest(j);
	const char *cmd = d == D_NEVER_RAN ? "migrate-resolve abort" : "migrate-resolve commit";
	char *json = NULL, err[CP_ERRTEXT_MAX + 128];

	log_warn("vNode %s: its migration to %s is uncertain; the destination %s it: '%s'", j->name,
		 j->dest,
		 d == D_RUNS	    ? "runs"
		 : d == D_NEVER_RAN ? "never ran"
				    : "ran",
		 cmd);
	/* If this does not reach the source, the next poll finds it uncertain again. */
	if (ask(j->src, j->uuid, cmd, &json, err, sizeof(err)) == ASK_OK &&
	    mig_answer_check(json, NULL, err, sizeof(err)))
		log_warn("vNode %s: the source lego-vmm refused '%s': %s", j->name, cmd, err);
	free(json);
}

/* Poll the source until its migration is over. */
static enum outcome watch(struct job *j, char *err, size_t errlen)
{
	int64_t idle_since = 0, unreachable_since = 0, logged = 0, t0 = mono_us();

	for (;;) {
		struct mig_status st;
		char why[CP_ERRTEXT_MAX + 128];
		enum ask a;
		int delay = mono_us() - t0 < FAST_START_MS * 1000 ? POLL_FAST_MS : POLL_MS;

		if (cancelled(j) && !j->cancel_sent) {
			char *json = NULL;

			j->cancel_sent = true;
			if (ask(j->src, j->uuid, "migrate-cancel", &json, why, sizeof(why)) ==
				    ASK_OK &&
			    mig_answer_check(json, NULL, why, sizeof(why)))
				log_warn("vNode %s: the source refused to cancel its migration: %s",
					 j->name, why);
			free(json);
		}
		a = status(j->src, j->uuid, &st, why, sizeof(why));
		if (a == ASK_OK) {
			unreachable_since = 0;
			if (st.role != MIG_ROLE_SOURCE) {
				/* Told to migrate, yet not migrating: the command was lost. */
				if (!idle_since)
					idle_since = mono_us();
				if (mono_us() - idle_since > (int64_t)NOT_STARTED_MS * 1000) {
					snprintf(err, errlen,
						 "the source lego-vmm on %s is not migrating "
						 "(role %s)",
						 j->src,
						 st.role == MIG_ROLE_NONE ? "none" : "incoming");
					return OUT_FAILED;
				}
			} else {
				j->last = st;
				record_progress(j, &st);
				if (st.phase == MIG_COMPLETED) {
					bool gone = false;

					/* It exits 126 at once: wait for that, so that the
					 * vNode is in one place when this returns. */
					j->completed_seen = true;
					j->src_exited_126 =
						exit_status(j, false, &gone) == VMM_EXIT_MIGRATED;
					if (!j->src_exited_126 && !gone)
						log_warn(
							"vNode %s: its old lego-vmm on %s has not "
							"exited %d s after the migration completed",
							j->name, j->src, EXIT_WAIT_MS / 1000);
					return OUT_MOVED;
				}
				if (st.phase == MIG_FAILED) {
					snprintf(err, errlen, "%s", st.error);
					return OUT_FAILED;
				}
				if (st.phase == MIG_UNCERTAIN)
					resolve(j);
				if (st.phase >= MIG_STOPPING && st.phase <= MIG_COMMITTING)
					delay = POLL_FAST_MS;
			}
		} else if (a == ASK_GONE) {
			bool gone = false;
			int e = exit_status(j, false, &gone);

			if (e < 0 && !gone) {
				/* No exit reported yet: the heartbeat will come. */
				sleep_ms(POLL_MS);
				continue;
			}
			return after_source_ended(j, e, err, errlen);
		} else {
			/* Unreachable, or an answer that does not parse: ask again; meanwhile
			 * the destination may already say how it ended. */
			if (!unreachable_since)
				unreachable_since = mono_us();
			if (mono_us() - logged > (int64_t)HOSTS_WAIT_LOG_MS * 1000) {
				log_warn("vNode %s: cannot follow its migration on the source %s: "
					 "%s",
					 j->name, j->src, why);
				logged = mono_us();
			}
			if (mono_us() - unreachable_since > 3000000) {
				struct mig_status d;
				char dwhy[CP_ERRTEXT_MAX + 128];
				enum ask da = status(j->dest, j->uuid, &d, dwhy, sizeof(dwhy));

				if (da == ASK_OK && d.role == MIG_ROLE_INCOMING &&
				    d.phase == MIG_RUNNING) {
					log_warn("vNode %s: the source %s cannot be asked, but the "
						 "destination %s runs it",
						 j->name, j->src, j->dest);
					return OUT_MOVED;
				}
				/* The destination gave up, so nothing can complete; the source
				 * resumes by itself unless it waits, uncertain, to be told. */
				if (da == ASK_GONE &&
				    exit_status(j, true, NULL) == VMM_EXIT_INCOMING_ABORTED &&
				    mono_us() - unreachable_since >
					    (int64_t)SOURCE_LOST_MS * 1000) {
					snprintf(err, errlen,
						 "the source host %s could not be asked for %d s "
						 "and "
						 "the destination gave up (exit 124): the vNode "
						 "stays "
						 "on %s",
						 j->src, SOURCE_LOST_MS / 1000, j->src);
					return OUT_FAILED;
				}
			}
			delay = RETRY_MS;
		}
		sleep_ms(delay);
	}
}

/* ---- the outcome ------------------------------------------------------------------------ */

static void finish(struct job *j, enum outcome o, int src_exit, struct vn_mig_result *res)
{
	struct vn_leftover left = {0};
	bool reclaim = false;
	struct vnode *v;
	int64_t total = mono_us() - j->t0_us;

	if (o != OUT_MOVED)
		stop_dest(j);
	if (o == OUT_MOVED && !j->completed_seen) {
		/* The source ended before its last answer was read; the destination got the
		 * source's figures with GO and reports the whole migration. */
		struct mig_status st;
		char why[CP_ERRTEXT_MAX + 128];

		if (status(j->dest, j->uuid, &st, why, sizeof(why)) == ASK_OK &&
		    st.role == MIG_ROLE_INCOMING && st.phase == MIG_RUNNING) {
			j->last = st;
			j->completed_seen = true;
		}
	}
	if (o == OUT_MOVED && !j->src_exited_126) {
		/* The destination runs it, but the source was not seen ending: if it still
		 * waits, paused, to learn the outcome, this tells it. */
		char *json = NULL, why[CP_ERRTEXT_MAX + 128];

		if (ask(j->src, j->uuid, "migrate-resolve commit", &json, why, sizeof(why)) ==
		    ASK_UNREACHABLE)
			log_warn(
				"vNode %s: could not tell its old lego-vmm on %s that it moved: %s",
				j->name, j->src, why);
		free(json);
	}
	reg_lock();
	v = job_vnode(j);
	if (v && o == OUT_MOVED) {
		snprintf(v->host, sizeof(v->host), "%s", j->dest);
		v->confirmed = true;
		v->started_ms = mono_ms();
		if (v->state == VN_RUNNING)
			v->reason = VN_RUNNING_MIGRATED;
	}
	if (v && o == OUT_LOST) {
		/* The vNode is off; its lego-vmm freed its vRegions unless it was killed. */
		reclaim = src_exit < 0 || !reg_frees_regions(src_exit);
		if (reclaim)
			reg_leftover(v, &left);
		memset(&v->mig, 0, sizeof(v->mig));
		reg_mark_stopped(v,
				 src_exit >= 0 && src_exit < 125 ? VN_SHUTOFF_SHUTDOWN
								 : VN_SHUTOFF_CRASHED,
				 src_exit);
		v = NULL;
	}
	if (v) {
		memset(&v->mig, 0, sizeof(v->mig));
		reg_save_run(v);
	}
	reg_unlock();
	if (reclaim && left.map.nr_regions)
		vn_reclaim(&left);
	if (o == OUT_MOVED && res) {
		res->total_us = (uint64_t)total;
		res->downtime_us = j->completed_seen ? (uint64_t)(j->last.downtime_ms * 1000.0)
						     : CP_MIG_UNKNOWN;
		if (res->downtime_us != CP_MIG_UNKNOWN && res->downtime_us > res->total_us)
			res->downtime_us = res->total_us;
		res->bytes = j->completed_seen ? j->last.bytes_processed : CP_MIG_UNKNOWN;
		snprintf(res->from, sizeof(res->from), "%s", j->src);
		snprintf(res->to, sizeof(res->to), "%s", j->dest);
	}
	if (o == OUT_MOVED && j->completed_seen)
		log_info("vNode %s (id %d) migrated from %s to %s: %.1f ms, downtime %.1f ms, "
			 "%" PRIu64 " bytes",
			 j->name, j->id, j->src, j->dest, (double)total / 1000.0,
			 j->last.downtime_ms, j->last.bytes_processed);
	else if (o == OUT_MOVED)
		log_info("vNode %s (id %d) migrated from %s to %s: %.1f ms (the source ended "
			 "before reporting its downtime)",
			 j->name, j->id, j->src, j->dest, (double)total / 1000.0);
}

/* Give up before the source was told anything: the destination goes, the run stays. */
static int give_up(struct job *j, int code, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int give_up(struct job *j, int code, char *err, size_t errlen, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	finish(j, OUT_FAILED, -1, NULL);
	if (code == ERR_OPERATION_ABORTED)
		snprintf(err, errlen, "operation aborted: migration job: canceled by client");
	else
		snprintf(err, errlen, "operation failed: migration of vNode '%s' to %s: %s",
			 j->name, j->dest, why);
	log_warn("vNode %s: migration to %s failed: %s; it runs on %s", j->name, j->dest, why,
		 j->src);
	return code;
}

/* ---- the request -------------------------------------------------------------------------- */

/* Refusals, under the lock; 0 when v may go to t's host. */
static int check(const struct vnode *v, const struct vn_mig_target *t, char *err, size_t errlen)
{
	const struct component *c = reg_find_component(CP_KIND_PMON, t->host);
	const struct component *src = reg_find_component(CP_KIND_PMON, v->host);
	uint32_t cores, free_cores;
	uint64_t bytes, free_bytes;
	const char *a = v->run_args;
	bool mmon = false;
	int n = 0;

	if (v->id < 0) {
		snprintf(err, errlen, "Requested operation is not valid: domain is not running");
		return ERR_OPERATION_INVALID;
	}
	if (v->mig.active) {
		snprintf(err, errlen,
			 "Requested operation is not valid: vNode '%s' is already migrating to %s",
			 v->def.name, v->mig.dest);
		return ERR_OPERATION_INVALID;
	}
	if (v->pool_busy) {
		snprintf(
			err, errlen,
			"Requested operation is not valid: a vRegion copy of vNode '%s' is being "
			"moved by the memory pool (legoctl pool): try again when that step is over",
			v->def.name);
		return ERR_OPERATION_INVALID;
	}
	if (v->stopping || !v->confirmed) {
		snprintf(err, errlen, "Requested operation is not valid: vNode '%s' is %s on %s",
			 v->def.name, v->stopping ? "being stopped" : "not yet confirmed running",
			 v->host);
		return ERR_OPERATION_INVALID;
	}
	if (!c) {
		snprintf(err, errlen, "invalid argument: no processor host named '%s'", t->host);
		return ERR_INVALID_ARG;
	}
	if (!src || !src->alive) {
		snprintf(err, errlen,
			 "operation failed: processor host '%s', where vNode '%s' runs, is down",
			 v->host, v->def.name);
		return ERR_OPERATION_FAILED;
	}
	if (!c->alive) {
		snprintf(err, errlen, "operation failed: processor host '%s' is down", t->host);
		return ERR_OPERATION_FAILED;
	}
	if (!strcmp(v->host, t->host)) {
		snprintf(err, errlen,
			 "Requested operation is not valid: vNode '%s' already runs on processor "
			 "host '%s'",
			 v->def.name, t->host);
		return ERR_OPERATION_INVALID;
	}
	if (!a) {
		snprintf(
			err, errlen,
			"Operation not supported: the lego-vmm options of vNode '%s' are not known "
			"(its run was adopted from a heartbeat, or started by an older "
			"lego-controld): restart it to migrate it",
			v->def.name);
		return ERR_OPERATION_UNSUPPORTED;
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
			return ERR_OPERATION_UNSUPPORTED;
		}
	}
	if (!mmon) {
		snprintf(err, errlen,
			 "Operation not supported: vNode '%s' keeps its RAM on its host, not on "
			 "memory servers",
			 v->def.name);
		return ERR_OPERATION_UNSUPPORTED;
	}
	vn_placed_use(c->name, CP_KIND_PMON, &cores, &bytes);
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
	return ERR_OPERATION_FAILED;
}

/* The destination's VM_START: the run's own options and --incoming ADDR. */
static size_t incoming_start(const struct vnode *v, const struct vn_mig_target *t,
			     const char *dest_addr, uint8_t *req)
{
	struct cp_vm_start vs = {.vnode_uid = v->uid,
				 .domid = v->id,
				 .vcpus = v->run_vcpus,
				 .excache_bytes = v->run_excache};
	char host[256] = "", port[16], addr[300];
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
	snprintf(vs.name, sizeof(vs.name), "%s", v->def.name);
	vs.argc = v->run_argc + 2;
	vs.args_len = (uint32_t)(n + (size_t)w + 1);
	cp_vm_start_put(req, &vs);
	return CP_VM_START_LEN + vs.args_len;
}

/* The destination's lego-vmm, until it listens: 0 with its address, or why not. */
static int wait_listening(struct job *j, char *listen, size_t len, char *why, size_t wlen)
{
	int64_t deadline = mono_us() + (int64_t)LISTEN_WAIT_MS * 1000;

	for (;;) {
		struct mig_status st;
		char err[CP_ERRTEXT_MAX + 128] = "";
		enum ask a;
		int e;

		if (cancelled(j))
			return ERR_OPERATION_ABORTED;
		a = status(j->dest, j->uuid, &st, err, sizeof(err));
		if (a == ASK_OK && st.role == MIG_ROLE_INCOMING && st.phase == MIG_LISTENING) {
			snprintf(listen, len, "%s", st.listen);
			return 0;
		}
		if (a == ASK_OK && st.phase == MIG_FAILED) {
			snprintf(why, wlen, "its lego-vmm on %s failed: %s", j->dest, st.error);
			return ERR_OPERATION_FAILED;
		}
		if (a == ASK_GONE) {
			char st_text[32] = "";

			e = exit_status(j, true, NULL);
			if (e >= 0)
				snprintf(st_text, sizeof(st_text), " with status %d", e);
			snprintf(why, wlen,
				 "its lego-vmm on %s exited%s before it listened (its log is on "
				 "%s)",
				 j->dest, st_text, j->dest);
			return ERR_OPERATION_FAILED;
		}
		if (mono_us() > deadline) {
			snprintf(why, wlen, "its lego-vmm on %s did not listen within %d s%s%s",
				 j->dest, LISTEN_WAIT_MS / 1000, err[0] ? ": " : "", err);
			return ERR_OPERATION_FAILED;
		}
		sleep_ms(LISTEN_POLL_MS);
	}
}

int vn_migrate(const uint8_t uuid[16], const struct vn_mig_target *t, struct vn_mig_result *res,
	       char *err, size_t errlen)
{
	struct job j = {.t0_us = mono_us()};
	char dest_addr[CP_ADDR_LEN + 1], listen[MIG_LISTEN_MAX + 1], why[CP_ERRTEXT_MAX + 256];
	char cmd[CP_CMD_MAX + 1], *json = NULL;
	uint8_t *req = malloc(CP_VM_START_LEN + CP_ARGS_MAX), *reply = NULL;
	const struct component *c;
	struct vnode *v;
	size_t len = 0, rlen;
	enum outcome o;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!req) {
		snprintf(err, errlen, "out of memory");
		return ERR_OPERATION_FAILED;
	}
	/* A step on its vRegion copies ends in seconds, and no new one starts meanwhile. */
	reg_lock();
	v = reg_find_uuid(uuid);
	if (v)
		v->mig_waiting = true;
	reg_unlock();
	pool_wait_idle(uuid, POOL_STEP_WAIT_MS);
	reg_ops_lock();
	reg_lock();
	v = reg_find_uuid(uuid);
	rc = v ? check(v, t, err, errlen) : ERR_NO_DOMAIN;
	if (v)
		v->mig_waiting = false;
	if (!v)
		snprintf(err, errlen, "Domain not found");
	if (!rc) {
		c = reg_find_component(CP_KIND_PMON, t->host);
		snprintf(dest_addr, sizeof(dest_addr), "%s", c->addr);
		len = incoming_start(v, t, dest_addr, req);
		if (!len) {
			snprintf(err, errlen,
				 "operation failed: cannot give vNode '%s' its options on %s",
				 v->def.name, t->host);
			rc = ERR_OPERATION_FAILED;
		}
	}
	if (!rc) {
		memcpy(j.uuid, uuid, 16);
		snprintf(j.name, sizeof(j.name), "%s", v->def.name);
		j.id = v->id;
		snprintf(j.src, sizeof(j.src), "%s", v->host);
		snprintf(j.dest, sizeof(j.dest), "%s", t->host);
		v->mig = (struct vn_migration){.active = true,
					       .phase = CP_MIG_STARTING,
					       .started_ms = mono_ms(),
					       .src_exit = -1,
					       .dest_exit = -1};
		snprintf(v->mig.dest, sizeof(v->mig.dest), "%s", t->host);
		/* Recorded first: a restarted lego-controld must know to look there. */
		if (reg_save_run(v)) {
			memset(&v->mig, 0, sizeof(v->mig));
			snprintf(err, errlen,
				 "operation failed: cannot record the migration in the "
				 "state directory");
			rc = ERR_OPERATION_FAILED;
		}
	}
	reg_unlock();
	reg_ops_unlock();
	if (rc) {
		free(req);
		return rc;
	}
	log_info("migrating vNode %s (id %d) from %s to %s", j.name, j.id, j.src, j.dest);

	rc = vn_pmon_call(j.dest, CP_VM_START, req, len, &reply, &rlen, why, sizeof(why));
	free(req);
	if (rc != CP_OK || rlen != 4) {
		free(reply);
		return give_up(&j, ERR_OPERATION_FAILED, err, errlen,
			       "the destination refused its lego-vmm: %s",
			       rc == CP_OK ? "bad reply" : why);
	}
	reg_lock();
	v = job_vnode(&j);
	if (v) {
		v->mig.dest_pid = (int32_t)get_le32(reply);
		reg_save_run(v); /* the pid tells its lego-vmm from an older run's record */
	}
	reg_unlock();
	free(reply);

	rc = wait_listening(&j, listen, sizeof(listen), why, sizeof(why));
	if (rc)
		return give_up(&j, rc, err, errlen, "%s", why);
	snprintf(cmd, sizeof(cmd), "migrate %s", listen);
	if (cancelled(&j))
		return give_up(&j, ERR_OPERATION_ABORTED, err, errlen, "canceled by client");
	switch (ask(j.src, j.uuid, cmd, &json, why, sizeof(why))) {
	case ASK_OK:
		if (mig_answer_check(json, "started", why, sizeof(why))) {
			free(json);
			return give_up(&j, ERR_OPERATION_FAILED, err, errlen,
				       "the source lego-vmm on %s refused it: %s", j.src, why);
		}
		break;
	case ASK_GONE:
		break; /* it exited meanwhile: watching finds out how */
	default:
		/* It may have begun all the same: watching finds out. */
		log_warn("vNode %s: no answer to '%s' from %s: %s", j.name, cmd, j.src, why);
	}
	free(json);
	set_phase(&j, CP_MIG_CONNECTING);

	why[0] = '\0';
	o = watch(&j, why, sizeof(why));
	if (o == OUT_FAILED) {
		bool cancel = cancelled(&j);

		finish(&j, o, -1, NULL);
		log_warn("vNode %s: migration to %s failed: %s; it runs on %s", j.name, j.dest, why,
			 j.src);
		if (cancel)
			snprintf(err, errlen,
				 "operation aborted: migration job: canceled by client");
		else
			snprintf(err, errlen,
				 "operation failed: migration of vNode '%s' to %s failed: %s; it "
				 "runs on %s as before",
				 j.name, j.dest, why, j.src);
		return cancel ? ERR_OPERATION_ABORTED : ERR_OPERATION_FAILED;
	}
	if (o == OUT_LOST) {
		int e = exit_status(&j, false, NULL);

		finish(&j, o, e, NULL);
		log_error("vNode %s: %s", j.name, why);
		snprintf(err, errlen, "operation failed: %s", why);
		return ERR_OPERATION_FAILED;
	}
	finish(&j, o, -1, res);
	return 0;
}

int vn_migrate_abort(const uint8_t uuid[16], char *err, size_t errlen)
{
	struct vnode *v;
	int rc = 0;

	reg_lock();
	v = reg_find_uuid(uuid);
	if (!v) {
		snprintf(err, errlen, "Domain not found");
		rc = ERR_NO_DOMAIN;
	} else if (!v->mig.active) {
		snprintf(err, errlen,
			 "Requested operation is not valid: no job is active on the "
			 "domain");
		rc = ERR_OPERATION_INVALID;
	} else if (v->mig.phase >= CP_MIG_COMMITTING) {
		snprintf(err, errlen,
			 "Requested operation is not valid: too late to abort the migration of "
			 "vNode '%s': %s was told to run it",
			 v->def.name, v->mig.dest);
		rc = ERR_OPERATION_INVALID;
	} else {
		v->mig.cancel = true;
		log_info("vNode %s: abort of its migration to %s asked for", v->def.name,
			 v->mig.dest);
	}
	reg_unlock();
	return rc;
}

void vn_migrate_progress(const struct vnode *v, struct cp_mig_progress *p)
{
	memset(p, 0, sizeof(*p));
	if (!v->mig.active)
		return;
	p->phase = v->mig.phase ? v->mig.phase : CP_MIG_STARTING;
	p->elapsed_ms = (uint64_t)(mono_ms() - v->mig.started_ms);
	p->bytes_total = v->mig.bytes_total;
	p->bytes_processed = v->mig.bytes_processed;
	p->bytes_remaining = v->mig.bytes_remaining;
	snprintf(p->from, sizeof(p->from), "%s", v->host);
	snprintf(p->to, sizeof(p->to), "%s", v->mig.dest);
}

/* ---- a restarted lego-controld --------------------------------------------------------- */

static bool hosts_alive(const struct job *j)
{
	const struct component *s, *d;
	bool up;

	reg_lock();
	s = reg_find_component(CP_KIND_PMON, j->src);
	d = reg_find_component(CP_KIND_PMON, j->dest);
	up = s && s->alive && d && d->alive;
	reg_unlock();
	return up;
}

static void *resume_thread(void *arg)
{
	struct job *j = arg;
	char why[CP_ERRTEXT_MAX + 256] = "";
	int64_t logged = mono_us();
	bool began;
	enum outcome o;

	/* Both hosts register again by themselves; until then nothing can be asked. */
	while (!hosts_alive(j)) {
		if (mono_us() - logged > (int64_t)HOSTS_WAIT_LOG_MS * 1000) {
			log_warn("vNode %s: waiting for %s and %s to register to resume its "
				 "migration",
				 j->name, j->src, j->dest);
			logged = mono_us();
		}
		sleep_ms(RETRY_MS);
	}
	reg_lock();
	began = job_vnode(j) && job_vnode(j)->mig.dest_pid > 0;
	reg_unlock();
	if (!began) {
		/* The source was told nothing (its destination's pid is recorded first). */
		finish(j, OUT_FAILED, -1, NULL);
		log_warn("vNode %s: its migration to %s had not begun when lego-controld stopped: "
			 "the destination is stopped, it runs on %s",
			 j->name, j->dest, j->src);
		free(j);
		return NULL;
	}
	o = watch(j, why, sizeof(why));
	if (o == OUT_FAILED)
		log_warn("vNode %s: migration to %s failed: %s; it runs on %s", j->name, j->dest,
			 why, j->src);
	if (o == OUT_LOST)
		log_error("vNode %s: %s", j->name, why);
	finish(j, o, o == OUT_LOST ? exit_status(j, false, NULL) : -1, NULL);
	free(j);
	return NULL;
}

void vn_migrate_resume_all(void)
{
	reg_lock();
	for (int i = 0; i < reg_nr_vnodes(); i++) {
		struct vnode *v = reg_vnode_at(i);
		struct job *j;
		pthread_t t;

		if (!v->mig.active || !v->mig.restored)
			continue;
		j = calloc(1, sizeof(*j));
		if (!j) {
			log_error("vNode %s: out of memory: its migration is not resumed",
				  v->def.name);
			continue;
		}
		memcpy(j->uuid, v->def.uuid, 16);
		snprintf(j->name, sizeof(j->name), "%s", v->def.name);
		j->id = v->id;
		snprintf(j->src, sizeof(j->src), "%s", v->host);
		snprintf(j->dest, sizeof(j->dest), "%s", v->mig.dest);
		j->t0_us = mono_us();
		v->mig.started_ms = mono_ms();
		v->mig.src_exit = v->mig.dest_exit = -1;
		if (pthread_create(&t, NULL, resume_thread, j)) {
			log_error("vNode %s: out of threads: its migration is not resumed",
				  v->def.name);
			free(j);
			continue;
		}
		pthread_detach(t);
	}
	reg_unlock();
}
