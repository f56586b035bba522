/* controld_migrate_watch.c: a migration followed to its end: the two lego-vmms asked
 * through their lego-pmons, the source's progress recorded, an uncertain hand-over
 * resolved by what the destination says, and where the vNode runs in the end. */
#include "controld_migrate_watch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controld_vnode.h"
#include "controld_metrics.h"
#include "controlplane/controld/mempool/controld_owed.h"
#include "lib/log.h"
#include "lib/mono_clock.h"

/* A verdict from the destination. */
enum dest_verdict { D_RUNS, D_NEVER_RAN, D_RAN_AND_ENDED };

void controld_migrate_watch_sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* A control command to the vNode's lego-vmm on host: its answer (malloc'ed) or why not.
 * GONE: the host has no live lego-vmm for it (it exited, or was never there). */
enum controld_migrate_reply controld_migrate_watch_ask(const char *host, const uint8_t uuid[16],
						       const char *cmd, char **json, char *err,
						       size_t errlen)
{
	struct cluster_proto_vm_ctl c = {0};
	uint8_t req[CP_VM_CTL_LONG_LEN], *reply = NULL;
	size_t rlen, len;
	int rc;

	*json = NULL;
	memcpy(c.uuid, uuid, 16);
	snprintf(c.cmd, sizeof(c.cmd), "%s", cmd);
	len = cluster_proto_vm_ctl_put(req, &c);
	rc = controld_vnode_pmon_call(host, CP_VM_CTL, req, len, &reply, &rlen, err, errlen);
	if (rc == CP_OK) {
		*json = (char *)reply; /* cio payloads are NUL-terminated */
		return ASK_OK;
	}
	free(reply);
	return rc == CP_ENOENT ? ASK_GONE : ASK_UNREACHABLE;
}

enum controld_migrate_reply controld_migrate_watch_status(const char *host, const uint8_t uuid[16],
							  struct mig_status *st, char *err,
							  size_t errlen)
{
	char *json;
	enum controld_migrate_reply a =
		controld_migrate_watch_ask(host, uuid, "migration", &json, err, errlen);

	if (a == ASK_OK && mig_status_parse(json, st, err, errlen))
		a = ASK_BAD;
	free(json);
	return a;
}

/* Stop the destination's lego-vmm (SIGTERM; SIGKILL after a grace period). An --incoming
 * lego-vmm that never ran leaves the vRegions alone. */
static void stop_dest(const struct controld_migrate_job *j)
{
	uint8_t req[CP_VM_STOP_LEN];
	char err[CP_ERRTEXT_MAX + 64];
	int rc;

	cluster_proto_vm_stop_put(req, &(struct cluster_proto_vm_stop){.mode = CP_STOP_FORCE,
								       .grace_ms = STOP_GRACE_MS});
	memcpy(req, j->uuid, 16);
	rc = controld_vnode_pmon_call(j->dest, CP_VM_STOP, req, sizeof(req), NULL, NULL, err,
				      sizeof(err));
	if (rc != CP_OK && rc != CP_ENOENT)
		log_warn("vNode %s: cannot stop its lego-vmm on %s (the migration's destination): "
			 "%s",
			 j->name, j->dest, err);
}

/* ---- what the registry knows -------------------------------------------------------- */

/* Under the lock: the vNode of the job, while it is still that run migrating. */
struct controld_registry_vnode *
controld_migrate_watch_job_vnode(const struct controld_migrate_job *j)
{
	struct controld_registry_vnode *v = controld_registry_find_uuid(j->uuid);

	return v && v->id == j->id && v->mig.active ? v : NULL;
}

bool controld_migrate_watch_cancelled(const struct controld_migrate_job *j)
{
	struct controld_registry_vnode *v;
	bool c;

	controld_registry_lock();
	v = controld_migrate_watch_job_vnode(j);
	c = v && v->mig.cancel;
	controld_registry_unlock();
	return c;
}

static uint32_t cp_phase(enum mig_status_phase p)
{
	switch (p) {
	case MIG_STATUS_CONNECTING:
		return CP_MIG_CONNECTING;
	case MIG_STATUS_PRECOPY:
		return CP_MIG_PRECOPY;
	case MIG_STATUS_STOPPING:
		return CP_MIG_STOPPING;
	case MIG_STATUS_SENDING:
		return CP_MIG_SENDING;
	case MIG_STATUS_COMMITTING:
	case MIG_STATUS_COMPLETED:
		return CP_MIG_COMMITTING;
	case MIG_STATUS_UNCERTAIN:
		return CP_MIG_UNCERTAIN;
	default:
		return CP_MIG_CONNECTING;
	}
}

void controld_migrate_watch_set_phase(const struct controld_migrate_job *j, uint32_t phase)
{
	struct controld_registry_vnode *v;

	controld_registry_lock();
	v = controld_migrate_watch_job_vnode(j);
	if (v)
		v->mig.phase = phase;
	controld_registry_unlock();
}

/* The source's figures, for job info and MIG_STATUS (they never go down). */
static void record_progress(const struct controld_migrate_job *j, const struct mig_status *st)
{
	struct controld_registry_vnode *v;

	controld_registry_lock();
	v = controld_migrate_watch_job_vnode(j);
	if (v) {
		v->mig.phase = cp_phase(st->phase);
		if (st->bytes_total >= v->mig.bytes_total)
			v->mig.bytes_total = st->bytes_total;
		if (st->bytes_processed >= v->mig.bytes_processed)
			v->mig.bytes_processed = st->bytes_processed;
		v->mig.bytes_remaining = v->mig.bytes_total - v->mig.bytes_processed;
	}
	controld_registry_unlock();
}

/* The exit status a heartbeat brought for the source (dest false) or the destination,
 * waiting up to EXIT_WAIT_MS for it; -1 if none came. *gone: the source host no longer
 * lists the run at all. */
int controld_migrate_watch_exit_status(const struct controld_migrate_job *j, bool dest, bool *gone)
{
	int64_t deadline = mono_clock_us() + (int64_t)EXIT_WAIT_MS * 1000;

	for (;;) {
		struct controld_registry_vnode *v;
		int st = -1;
		bool g = false;

		controld_registry_lock();
		v = controld_migrate_watch_job_vnode(j);
		if (v && dest && v->mig.dest_state == CP_VM_EXITED)
			st = v->mig.dest_exit;
		if (v && !dest) {
			st = v->mig.src_exit;
			g = v->mig.src_gone;
		}
		controld_registry_unlock();
		if (gone)
			*gone = g;
		if (st >= 0 || g || !v || mono_clock_us() > deadline)
			return st;
		controld_migrate_watch_sleep_ms(50);
	}
}

/* ---- deciding where the vNode runs ------------------------------------------------- */

/* Ask the destination whether it runs the vNode. Alive and running: it does. Exited 124:
 * it never ran. Exited otherwise: it ran. Alive but not (yet) running for longer than
 * DEST_RUN_WAIT_MS: it is stopped, and its exit says which. A destination that cannot be
 * asked is asked again: this is never guessed. */
static enum dest_verdict ask_dest(const struct controld_migrate_job *j)
{
	int64_t deadline = mono_clock_us() + (int64_t)DEST_RUN_WAIT_MS * 1000, logged = 0;
	bool stopped = false;

	for (;;) {
		struct mig_status st;
		char err[CP_ERRTEXT_MAX + 128];
		enum controld_migrate_reply a =
			controld_migrate_watch_status(j->dest, j->uuid, &st, err, sizeof(err));
		int e;

		if (a == ASK_OK && st.role == MIG_STATUS_ROLE_INCOMING &&
		    st.phase == MIG_STATUS_RUNNING)
			return D_RUNS;
		if (a == ASK_GONE) {
			e = controld_migrate_watch_exit_status(j, true, NULL);
			if (e == MIG_STATUS_EXIT_INCOMING_ABORTED)
				return D_NEVER_RAN;
			if (e >= 0)
				return D_RAN_AND_ENDED;
			snprintf(err, sizeof(err), "%s has no lego-vmm for it and reported no exit",
				 j->dest);
		} else if ((a == ASK_OK || a == ASK_BAD) && !stopped &&
			   mono_clock_us() > deadline) {
			log_warn(
				"vNode %s: its destination lego-vmm on %s does not run it after %d "
				"s: stopping it, its exit tells whether it ever ran",
				j->name, j->dest, DEST_RUN_WAIT_MS / 1000);
			stop_dest(j);
			stopped = true;
		}
		if (a == ASK_OK || (a == ASK_BAD && !stopped)) {
			controld_migrate_watch_sleep_ms(POLL_MS);
			continue;
		}
		if (mono_clock_us() - logged > (int64_t)HOSTS_WAIT_LOG_MS * 1000) {
			log_warn("vNode %s: cannot ask its migration's destination whether it runs "
				 "it (%s): asking again",
				 j->name, err);
			logged = mono_clock_us();
		}
		controld_migrate_watch_sleep_ms(RETRY_MS);
	}
}

/* The source ended (status src_exit, -1 unknown) before it said the migration completed:
 * the destination tells where the vNode is. */
static enum controld_migrate_outcome after_source_ended(struct controld_migrate_job *j,
							int src_exit, char *err, size_t errlen)
{
	enum dest_verdict d;

	if (src_exit == MIG_STATUS_EXIT_MIGRATED) {
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
static void resolve(struct controld_migrate_job *j)
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
	if (controld_migrate_watch_ask(j->src, j->uuid, cmd, &json, err, sizeof(err)) == ASK_OK &&
	    mig_status_answer_check(json, NULL, err, sizeof(err)))
		log_warn("vNode %s: the source lego-vmm refused '%s': %s", j->name, cmd, err);
	free(json);
}

/* Poll the source until its migration is over. */
enum controld_migrate_outcome controld_migrate_watch_follow(struct controld_migrate_job *j,
							    char *err, size_t errlen)
{
	int64_t idle_since = 0, unreachable_since = 0, logged = 0, t0 = mono_clock_us();

	for (;;) {
		struct mig_status st;
		char why[CP_ERRTEXT_MAX + 128];
		enum controld_migrate_reply a;
		int delay = mono_clock_us() - t0 < FAST_START_MS * 1000 ? POLL_FAST_MS : POLL_MS;

		if (controld_migrate_watch_cancelled(j) && !j->cancel_sent) {
			char *json = NULL;

			j->cancel_sent = true;
			if (controld_migrate_watch_ask(j->src, j->uuid, "migrate-cancel", &json,
						       why, sizeof(why)) == ASK_OK &&
			    mig_status_answer_check(json, NULL, why, sizeof(why)))
				log_warn("vNode %s: the source refused to cancel its migration: %s",
					 j->name, why);
			free(json);
		}
		a = controld_migrate_watch_status(j->src, j->uuid, &st, why, sizeof(why));
		if (a == ASK_OK) {
			unreachable_since = 0;
			if (st.role != MIG_STATUS_ROLE_SOURCE) {
				/* Told to migrate, yet not migrating: the command was lost. */
				if (!idle_since)
					idle_since = mono_clock_us();
				if (mono_clock_us() - idle_since > (int64_t)NOT_STARTED_MS * 1000) {
					snprintf(err, errlen,
						 "the source lego-vmm on %s is not migrating "
						 "(role %s)",
						 j->src,
						 st.role == MIG_STATUS_ROLE_NONE ? "none"
										 : "incoming");
					return OUT_FAILED;
				}
			} else {
				j->last = st;
				record_progress(j, &st);
				if (st.phase == MIG_STATUS_COMPLETED) {
					bool gone = false;

					/* It exits 126 at once: wait for that, so that the
					 * vNode is in one place when this returns. */
					j->completed_seen = true;
					j->src_exited_126 = controld_migrate_watch_exit_status(
								    j, false, &gone) ==
							    MIG_STATUS_EXIT_MIGRATED;
					if (!j->src_exited_126 && !gone)
						log_warn(
							"vNode %s: its old lego-vmm on %s has not "
							"exited %d s after the migration completed",
							j->name, j->src, EXIT_WAIT_MS / 1000);
					return OUT_MOVED;
				}
				if (st.phase == MIG_STATUS_FAILED) {
					snprintf(err, errlen, "%s", st.error);
					return OUT_FAILED;
				}
				if (st.phase == MIG_STATUS_UNCERTAIN)
					resolve(j);
				if (st.phase >= MIG_STATUS_STOPPING &&
				    st.phase <= MIG_STATUS_COMMITTING)
					delay = POLL_FAST_MS;
			}
		} else if (a == ASK_GONE) {
			bool gone = false;
			int e = controld_migrate_watch_exit_status(j, false, &gone);

			if (e < 0 && !gone) {
				/* No exit reported yet: the heartbeat will come. */
				controld_migrate_watch_sleep_ms(POLL_MS);
				continue;
			}
			return after_source_ended(j, e, err, errlen);
		} else {
			/* Unreachable, or an answer that does not parse: ask again; meanwhile
			 * the destination may already say how it ended. */
			if (!unreachable_since)
				unreachable_since = mono_clock_us();
			if (mono_clock_us() - logged > (int64_t)HOSTS_WAIT_LOG_MS * 1000) {
				log_warn("vNode %s: cannot follow its migration on the source %s: "
					 "%s",
					 j->name, j->src, why);
				logged = mono_clock_us();
			}
			if (mono_clock_us() - unreachable_since > 3000000) {
				struct mig_status d;
				char dwhy[CP_ERRTEXT_MAX + 128];
				enum controld_migrate_reply da = controld_migrate_watch_status(
					j->dest, j->uuid, &d, dwhy, sizeof(dwhy));

				if (da == ASK_OK && d.role == MIG_STATUS_ROLE_INCOMING &&
				    d.phase == MIG_STATUS_RUNNING) {
					log_warn("vNode %s: the source %s cannot be asked, but the "
						 "destination %s runs it",
						 j->name, j->src, j->dest);
					return OUT_MOVED;
				}
				/* The destination gave up, so nothing can complete; the source
				 * resumes by itself unless it waits, uncertain, to be told. */
				if (da == ASK_GONE &&
				    controld_migrate_watch_exit_status(j, true, NULL) ==
					    MIG_STATUS_EXIT_INCOMING_ABORTED &&
				    mono_clock_us() - unreachable_since >
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
		controld_migrate_watch_sleep_ms(delay);
	}
}

/* ---- the outcome ------------------------------------------------------------------------ */

void controld_migrate_watch_finish(struct controld_migrate_job *j, enum controld_migrate_outcome o,
				   int src_exit, struct controld_migrate_result *res)
{
	struct controld_registry_vnode *v;
	int64_t total = mono_clock_us() - j->t0_us;

	if (o != OUT_MOVED)
		stop_dest(j);
	if (o == OUT_MOVED && !j->completed_seen) {
		/* The source ended before its last answer was read; the destination got the
		 * source's figures with GO and reports the whole migration. */
		struct mig_status st;
		char why[CP_ERRTEXT_MAX + 128];

		if (controld_migrate_watch_status(j->dest, j->uuid, &st, why, sizeof(why)) ==
			    ASK_OK &&
		    st.role == MIG_STATUS_ROLE_INCOMING && st.phase == MIG_STATUS_RUNNING) {
			j->last = st;
			j->completed_seen = true;
		}
	}
	if (o == OUT_MOVED && !j->src_exited_126) {
		/* The destination runs it, but the source was not seen ending: if it still
		 * waits, paused, to learn the outcome, this tells it. */
		char *json = NULL, why[CP_ERRTEXT_MAX + 128];

		if (controld_migrate_watch_ask(j->src, j->uuid, "migrate-resolve commit", &json,
					       why, sizeof(why)) == ASK_UNREACHABLE)
			log_warn(
				"vNode %s: could not tell its old lego-vmm on %s that it moved: %s",
				j->name, j->src, why);
		free(json);
	}
	controld_registry_lock();
	v = controld_migrate_watch_job_vnode(j);
	if (v && o == OUT_MOVED) {
		snprintf(v->host, sizeof(v->host), "%s", j->dest);
		v->confirmed = true;
		v->started_ms = mono_clock_ms();
		if (v->state == VN_RUNNING)
			v->reason = VN_RUNNING_MIGRATED;
	}
	if (v && o == OUT_LOST) {
		/* The vNode is off (the destination never ran it): what its source's lego-vmm
		 * did not free is freed for it. */
		controld_owed_run_ended(v);
		memset(&v->mig, 0, sizeof(v->mig));
		controld_registry_mark_stopped(v,
					       src_exit >= 0 && src_exit < 125 ? VN_SHUTOFF_SHUTDOWN
									       : VN_SHUTOFF_CRASHED,
					       src_exit);
		v = NULL;
	}
	if (v) {
		memset(&v->mig, 0, sizeof(v->mig));
		controld_registry_store_save_run(v);
	}
	controld_registry_unlock();
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
	controld_metrics_migration(
		(enum controld_metrics_mig)o, (uint64_t)total,
		o == OUT_MOVED && j->completed_seen ? (uint64_t)(j->last.downtime_ms * 1000.0)
						    : CP_MIG_UNKNOWN,
		o == OUT_MOVED && j->completed_seen ? j->last.bytes_processed : CP_MIG_UNKNOWN);
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
