/* controld_migrate_watch.h: what the migration's files share (controld_migrate.c starts a
 * migration, controld_migrate_watch.c follows it to its end, controld_migrate_resume.c
 * takes up those a restarted lego-controld finds in its run files). */
#ifndef LEGO_CONTROLD_MIGRATE_WATCH_H
#define LEGO_CONTROLD_MIGRATE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controld_migrate.h"
#include "controld_registry.h"
#include "controlplane/controld/libvirt/rpc_proto.h"
#include "lib/proto/mig_status.h"

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

/* The migration of one run of a vNode. */
struct controld_migrate_job {
	uint8_t uuid[16];
	char name[DOM_NAME_MAX + 1];
	int id;
	char src[CP_NAME_LEN + 1], dest[CP_NAME_LEN + 1];
	int64_t t0_us;
	struct mig_status last; /* the source's last answer */
	bool completed_seen, src_exited_126, cancel_sent;
};

/* How the source's migration ended. */
enum controld_migrate_outcome {
	OUT_MOVED,  /* the vNode runs on the destination (or ran there, then ended) */
	OUT_FAILED, /* it runs on the source as before */
	OUT_LOST,   /* the source ended and the destination never ran it: the vNode is off */
};

/* What asking a host's lego-vmm gave. */
enum controld_migrate_reply { ASK_OK, ASK_GONE, ASK_UNREACHABLE, ASK_BAD };

void controld_migrate_watch_sleep_ms(int ms);
/* A control command to the vNode's lego-vmm on host: its answer (malloc'ed) or why not.
 * GONE: the host has no live lego-vmm for it (it exited, or was never there). */
enum controld_migrate_reply controld_migrate_watch_ask(const char *host, const uint8_t uuid[16],
						       const char *cmd, char **json, char *err,
						       size_t errlen);
/* Its `migration` answer. */
enum controld_migrate_reply controld_migrate_watch_status(const char *host, const uint8_t uuid[16],
							  struct mig_status *st, char *err,
							  size_t errlen);
/* Under the registry lock: the vNode of the job, while it is still that run migrating. */
struct controld_registry_vnode *
controld_migrate_watch_job_vnode(const struct controld_migrate_job *j);
/* The client asked to abort it. */
bool controld_migrate_watch_cancelled(const struct controld_migrate_job *j);
void controld_migrate_watch_set_phase(const struct controld_migrate_job *j, uint32_t phase);
/* The exit status a heartbeat brought for the source (dest false) or the destination,
 * waiting up to EXIT_WAIT_MS for it; -1 if none came. *gone: the source host no longer
 * lists the run at all. */
int controld_migrate_watch_exit_status(const struct controld_migrate_job *j, bool dest, bool *gone);
/* Poll the source until its migration is over (why it failed in err). */
enum controld_migrate_outcome controld_migrate_watch_follow(struct controld_migrate_job *j,
							    char *err, size_t errlen);
/* Where the vNode runs now, in the registry and its run file (the destination stopped
 * unless it moved); src_exit: the source's exit status when lost (-1: unknown); res: the
 * figures of a move, or NULL. */
void controld_migrate_watch_finish(struct controld_migrate_job *j, enum controld_migrate_outcome o,
				   int src_exit, struct controld_migrate_result *res);

#endif
