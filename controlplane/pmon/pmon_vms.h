/* pmon_vms.h: lego-pmon's table of vNodes (lego-vmm processes), shared by the request
 * threads, the child reaper and the heartbeat callback under one mutex. A record stays,
 * EXITED, until VM_FORGET, so lego-controld learns every exit status. */
#ifndef LEGO_PMON_VMS_H
#define LEGO_PMON_VMS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/proto/cluster_proto.h"
#include "lib/uuid_str.h"

#define PMON_VMS_MAX CP_MAX_VMS
/* An adopted lego-vmm that ended leaving no exit status (killed by a signal it cannot catch,
 * or crashed): what is reported (the heartbeat carries 0..255; lego-controld: crashed). */
#define PMON_VMS_EXIT_UNKNOWN 255

struct pmon_vms_entry {
	bool used;
	uint8_t uuid[16];
	char id[UUID_STR_LEN]; /* the uuid as text: file names and log lines */
	char name[CP_NAME_LEN + 1];
	uint64_t vnode_uid;
	int32_t domid;
	uint32_t vcpus;
	uint64_t excache_bytes;
	pid_t pid;
	uint32_t state; /* cp_vm_state */
	int32_t exit_status;
	int exec_errno;	  /* lego-vmm could not be executed: why */
	int64_t kill_at;  /* monotonic ms at which SIGKILL follows, 0: none */
	bool incoming;	  /* started with --incoming: a migration's destination */
	bool migrating;	  /* its lego-vmm accepted a 'migrate': exit 126 means it moved */
	uint64_t net_gen; /* its taps (pmon_net_attach), 0: none */
	bool stop_asked;  /* a stop came while it was starting (no pid yet) */
	uint8_t nr_taps;  /* its interfaces (for its run file) */
	/* The process's start time (/proc/PID/stat, clock ticks since boot): with the pid, it
	 * names this process and no later one that reuses the pid (its run file keeps both). */
	uint64_t start_time;
	/* Started by an earlier lego-pmon and adopted (pmon_adopt.h): not our child, so its
	 * exit comes through pidfd (signals too: never to a reused pid), its status from the
	 * exit file lego-vmm leaves. */
	bool adopted;
	int pidfd;
	int last_signal; /* the last signal we sent it (an adopted one that leaves no status) */
};

struct pmon_vms {
	pthread_mutex_t lock;
	uint32_t cores;
	uint64_t capacity;
	bool closing; /* shutting down: no new vNodes */
	struct pmon_vms_entry vm[PMON_VMS_MAX];
};

void pmon_vms_init(struct pmon_vms *t, uint32_t cores, uint64_t capacity);

/* These need t->lock held. */
static inline bool pmon_vms_live(const struct pmon_vms_entry *v)
{
	return v->state != CP_VM_EXITED;
}
struct pmon_vms_entry *pmon_vms_find(struct pmon_vms *t, const uint8_t uuid[16]);
/* Cores and ExCache bytes held by live vNodes. */
void pmon_vms_used(struct pmon_vms *t, uint32_t *cores, uint64_t *bytes);
/* A record for a vNode about to start (RUNNING, pid 0), replacing an EXITED one with the
 * same uuid; or CP_EEXIST / CP_ENOSPC / CP_EIO with err saying why not. */
enum cluster_proto_status pmon_vms_admit(struct pmon_vms *t, const struct cluster_proto_vm_start *m,
					 struct pmon_vms_entry **out, char *err, size_t errlen);
void pmon_vms_drop(struct pmon_vms_entry *v);

/* These take t->lock themselves. */
/* Child pid (or an adopted process) ended with status (exit code or 128 + signal, or
 * PMON_VMS_EXIT_UNKNOWN with unknown set): the record becomes EXITED (the exit is logged; an
 * adopted one's pidfd closed); its uuid and net_gen are written out (for its taps to go). false if
 * no live vNode has that pid. */
bool pmon_vms_reaped(struct pmon_vms *t, pid_t pid, int status, bool signalled, bool unknown,
		     uint8_t uuid[16], uint64_t *net_gen);
/* Send sig to v's process (through its pidfd if adopted); 0, or -1 with errno. */
int pmon_vms_signal(struct pmon_vms_entry *v, int sig);
/* A record for a vNode found running or ended (pmon_adopt.c), as given: 0, or -1 if the table
 * is full or has that uuid already. */
int pmon_vms_insert(struct pmon_vms *t, const struct pmon_vms_entry *e);
/* The pidfds of live adopted vNodes (at most max): how many. */
int pmon_vms_pidfds(struct pmon_vms *t, int *fds, int max);

/* SIGKILL every vNode whose deadline passed; the next deadline, or -1 if none. */
int64_t pmon_vms_kill_due(struct pmon_vms *t, int64_t now);
/* Shutdown: no more admissions; SIGTERM each live vNode, SIGKILL at kill_at. Returns how
 * many are live. */
int pmon_vms_stop_all(struct pmon_vms *t, int64_t kill_at);
int pmon_vms_live_count(struct pmon_vms *t);
/* The HEARTBEAT payload: usage, then every record. */
size_t pmon_vms_heartbeat(struct pmon_vms *t, uint8_t *buf, size_t cap);

#endif
