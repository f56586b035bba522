/* controld_migrate.h: live migration of a running vNode to another processor host, as
 * lego-controld drives it (the lego-vmm side is ../notes/mig_spec.md):
 *
 *   1. refusals: the vNode is not running, not yet confirmed, being stopped or already
 *      migrating; the destination is unknown, down, the vNode's own host, or short of
 *      cores or ExCache memory; the run's lego-vmm options are not known, its RAM is not
 *      on memory servers or a disk is a local file;
 *   2. the run file records the migration (so a restarted lego-controld resumes it), then
 *      the destination's lego-pmon starts lego-vmm with the run's own options and
 *      --incoming ADDR:0 (ADDR: the destination host's address, or migrate_uri's);
 *   3. its `migration` answer is polled until it listens (30 s at most), and the source is
 *      told `migrate LISTEN`;
 *   4. the source's `migration` answer is polled (every 5 ms for the first 500 ms and while
 *      its vCPUs are paused, every 100 ms otherwise) for progress until it completes (or
 *      exits 126: its final figures are then unknown), fails (the destination
 *      is stopped; the source runs on), or is uncertain: then the destination decides --
 *      running, or exited other than 124: `migrate-resolve commit`; exited 124: `abort`;
 *   5. completed: the vNode's host is the destination, confirmed, in its run file.
 *
 * While it runs, the vNode cannot be stopped, paused or redefined; heartbeats only record
 * what the two hosts report (controld_registry_heartbeat.c). A source that dies meanwhile
 * leaves the vNode where the destination says it is (running there: moved; never ran:
 * crashed, its vRegions freed if the source could not). A host that cannot be asked is asked again
 * every second for as long as it takes: an uncertain migration is never guessed. */
#ifndef LEGO_CONTROLD_MIGRATE_H
#define LEGO_CONTROLD_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/proto/cluster_proto.h"

struct controld_registry_vnode;

struct controld_migrate_target {
	char host[CP_NAME_LEN + 1]; /* the destination processor host */
	char listen_host[256];	    /* where its lego-vmm listens ("": the host's address) */
	unsigned listen_port;	    /* 0: any */
};

struct controld_migrate_result {
	uint64_t total_us;
	uint64_t downtime_us; /* CP_MIG_UNKNOWN: the source ended before it said */
	uint64_t bytes;	      /* CP_MIG_UNKNOWN too */
	char from[CP_NAME_LEN + 1], to[CP_NAME_LEN + 1];
};

/* Migrate the vNode and return when it is over: 0 with *res, or a libvirt error code with
 * err (the vNode then runs where it ran, unless err says it is off). */
int controld_migrate_run(const uint8_t uuid[16], const struct controld_migrate_target *t,
			 struct controld_migrate_result *res, char *err, size_t errlen);
/* Ask the vNode's migration to stop (libvirt's abortJob): 0, or a libvirt error code (no
 * migration, or too late: the destination was told to run). */
int controld_migrate_abort(const uint8_t uuid[16], char *err, size_t errlen);
/* A restarted lego-controld: watch every migration its run files record to its end (a
 * thread each). */
void controld_migrate_resume_all(void);
/* The progress of v's migration (CP_MIG_NONE if none); under the registry lock. */
void controld_migrate_progress(const struct controld_registry_vnode *v,
			       struct cluster_proto_mig_progress *p);

#endif
