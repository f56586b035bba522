/* migrate.h: live migration of a running vNode to a lego-vmm on another processor host.
 *
 * Guest RAM already lives on the memory servers, so only the dirty ExCache pages go there
 * (written back while the guest runs, then the last ones with the vCPUs paused), and only
 * the vCPU and device state travels to the destination, which attaches to the same
 * vRegions and volumes and starts with an empty ExCache. See mig_proto.h for the stream.
 *
 * The stream is mutual TLS between the two processor hosts' certificates (lego-pmon gives
 * lego-vmm its own): the destination takes only a source presenting a processor host's
 * certificate, the source only a destination whose certificate is valid for the host it
 * dialled. Plain TCP only with --insecure-migration.
 *
 * Source (control command `migrate HOST:PORT`): a thread connects, writes dirty pages back
 * until that converges, pauses the vCPUs, drains block requests, stops the NICs' data paths,
 * flushes, sends the state,
 * and once the destination has loaded it, tells it to run; when it confirms, the source
 * ends with MIG_STATUS_EXIT_MIGRATED. A failure before the destination is told to run resumes the
 * source: nothing is lost. If the connection breaks after, the source cannot know whether
 * the destination runs: it stays paused ("uncertain") until `migrate-resolve`.
 *
 * Destination (--incoming HOST:PORT): listens for one stream, loads and checks everything
 * before any vCPU runs (or any NIC moves a packet), starts the NICs and announces them once
 * it runs, and exits with MIG_STATUS_EXIT_INCOMING_ABORTED if it never ran.
 */
#ifndef LEGO_MIGRATE_H
#define LEGO_MIGRATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/mig_proto.h"
#include "lib/tls/tls_conn.h"
#include "vmm/devices/virtio/virtio_mmio.h"

#define MIGRATE_MAX_DISKS 8
#define MIGRATE_MAX_NICS  8

struct vm;
struct net_nics;
struct pager;
struct remote_mem;
struct serial;

enum migrate_role { MIGRATE_ROLE_NONE, MIGRATE_ROLE_SOURCE, MIGRATE_ROLE_INCOMING };

enum migrate_phase {
	MIGRATE_NONE,
	/* source */
	MIGRATE_CONNECTING,
	MIGRATE_PRECOPY,
	MIGRATE_STOPPING,
	MIGRATE_SENDING,
	MIGRATE_COMMITTING,
	MIGRATE_COMPLETED,
	MIGRATE_UNCERTAIN,
	/* destination */
	MIGRATE_LISTENING,
	MIGRATE_RECEIVING,
	MIGRATE_READY_WAIT,
	MIGRATE_RUNNING_HERE,
	/* both */
	MIGRATE_FAILED,
};

#define MIGRATE_MAX_VCPUS 64 /* the destination's bitmaps of what arrived */
#define MIGRATE_HELD_MSRS 4

struct migrate {
	/* What the vNode is made of (set by main before any command can arrive). */
	struct vm *vm;
	struct pager *pg;
	struct remote_mem *rm;
	struct serial *serial;
	int console_fd;		  /* the console file (destination: where history goes) */
	const char *console_path; /* to read the history back (source); NULL: stdout */
	int nr_disks;
	struct virtio_mmio_dev *disks[MIGRATE_MAX_DISKS];
	bool local_disks;      /* some disk is a local file: it cannot follow the vNode */
	struct net_nics *nics; /* their VIRTIO messages follow the disks' */
	bool ready;	       /* all of the above is set: commands may act */
	uint64_t vnode, mem_bytes, region_size;
	int vcpus;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum migrate_role role;
	enum migrate_phase phase;
	/* The stream: mutual TLS between processor hosts' certificates (pki), or plain TCP
	 * only with insecure (--insecure-migration); neither: no migration in or out. */
	const struct tls_pki *pki;
	bool insecure;
	struct tls_conn *conn;
	int listen_fd;
	pthread_t thread;
	bool thread_started, cancel, resolved, resolve_commit, paused_by_us, user_paused;
	bool nics_paused;
	char dest[300], listen[300];
	char error[512];
	int iteration;
	uint64_t t0_ns, down_t0_ns, elapsed_ns, downtime_ns;
	uint64_t dirty_pages, pages_written, bytes_total, bytes_processed, state_bytes;
	uint32_t msrs_refused;
	/* kvm-clock's MSRs per vCPU: KVM touches guest RAM as soon as one is set (the wall
	 * clock is written, the vCPU's time page mapped), and guest RAM is the source's until
	 * GO, so they are set only once the vNode is ours (migrate_in_running). */
	struct vcpu_state_msr held_msrs[MIGRATE_MAX_VCPUS][MIGRATE_HELD_MSRS];
	uint8_t nr_held_msrs[MIGRATE_MAX_VCPUS];
	uint32_t *hot;
	uint32_t nr_hot;
	struct mig_proto_go src_go; /* destination: the source's figures, sent with GO */
	uint64_t go_ns;
};

void migrate_init(struct migrate *m);
/* Stop a source migration that is still going (the vNode is ending) and free. Returns
 * whether the destination may run the vNode (see migrate_handed_over). */
bool migrate_destroy(struct migrate *m);

/* Source. Each returns NULL, or why it did nothing. */
const char *migrate_start(struct migrate *m, const char *dest);
const char *migrate_cancel(struct migrate *m);
const char *migrate_resolve(struct migrate *m, bool commit);
/* True while a source migration owns the vCPUs' pause state. */
bool migrate_busy(struct migrate *m);
/* True once the destination may run this vNode (told to run, or confirmed): its vRegions
 * are no longer ours to free. */
bool migrate_handed_over(struct migrate *m);

/* What the `migration` control command tells: the role, phase and progress. */
struct migrate_status {
	const char *role, *phase;
	int iteration;
	uint64_t dirty_pages, pages_written, bytes_total, bytes_processed;
	uint64_t elapsed_ns, downtime_ns;
	uint32_t msrs_refused;
	char error[512], listen[300], dest[300]; /* "" when none */
};
void migrate_get_status(struct migrate *m, struct migrate_status *st);

/* Destination: listen on addr (HOST:PORT, port 0 = any), accept the source, load its state
 * and wait to be told to run. 0: start the vCPUs now and then call migrate_in_running;
 * -1: nothing ran here (logged). */
int migrate_in_run(struct migrate *m, const char *addr, int accept_timeout_ms);
void migrate_in_running(struct migrate *m);

/* Send one message and count its bytes in the migration's figures (the source). */
int migrate_send_counted(struct migrate *m, uint16_t type, const void *p, size_t len);

/* Stream helpers shared by both ends (migrate_io.c). */
int migrate_io_send(struct tls_conn *c, uint16_t type, const void *payload, size_t len);
/* Wait up to timeout_ms for one message; *payload is malloc'ed (NULL when empty). 0, or -1
 * with err. */
int migrate_io_recv(struct tls_conn *c, int timeout_ms, uint16_t *type, uint8_t **payload,
		    uint32_t *len, char *err, size_t errlen);

#endif
