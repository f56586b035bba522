/* cluster_proto.h: the control protocol of a lego cluster, over plain TCP (control traffic
 * needs no RDMA). Three uses:
 *   - every component (lego-pmon, lego-mmon, lego-smon) connects to lego-controld, sends
 *     REGISTER, then a HEARTBEAT every heartbeat_ms on the same connection; controld
 *     forgets a component whose connection drops or who is silent for timeout_ms;
 *   - lego-controld calls a lego-pmon (at the address it registered) to start, stop,
 *     control and read the console of lego-vmm processes: one request -> reply per call;
 *   - legoctl asks lego-controld for cluster views (QUERY), to migrate a vNode to another
 *     processor host (MIGRATE, answered when it is over; MIG_STATUS meanwhile, on another
 *     connection, for its progress), and to drain a memory server or rebalance the memory
 *     pool (POOL_JOB, answered when it is over; POOL_STATUS meanwhile).
 *
 * Messages use the 32-byte header of wire.h with magic "LEGC". A reply carries the
 * request's op with CP_REPLY set, its id and a status; an error reply's payload is a
 * NUL-free text (<= CP_ERRTEXT_MAX) saying what was wrong. All integers little-endian;
 * names are NUL-padded printable ASCII fields (wire_name_get).
 *
 *   op          request payload                         reply payload
 *   REGISTER    cp_register (208)                       heartbeat_ms(4), timeout_ms(4)
 *   HEARTBEAT   cp_heartbeat (16) + nr_vms x            -
 *               cp_vm_status (48)
 *   VM_START    cp_vm_start (128) + argc NUL-terminated pid(4)
 *               strings (lego-vmm options)
 *   VM_STOP     uuid[16], mode(4), grace_ms(4)          -
 *   VM_CTL      uuid[16], command[32] (short form) or     the VMM's one-line JSON answer
 *               uuid[16], command[272] (long form: only
 *               for commands longer than 32 bytes)
 *   VM_CONSOLE  uuid[16], offset(8), max(4), 0(4)        offset(8), state(4), 0(4), bytes
 *   VM_CONSOLE_IN  uuid[16], len(4), 0(4), len bytes     accepted(4), queued(4)
 *   VM_FORGET   uuid[16]                                -
 *   QUERY       what(4), flags(4), name[64]              text (a table, or JSON)
 *   MIGRATE     vnode[64], host[64]                      cp_mig_report (152)
 *   MIG_STATUS  vnode[64]                                cp_mig_progress (168)
 *   POOL_JOB    what(4), 0(4), server[64]                cp_pool_report (104)
 *   POOL_STATUS -                                        cp_pool_progress (240)
 *   NET_SET, NET_LEASES: the virtual networks, in net_proto.h
 */
#ifndef LEGO_CLUSTER_PROTO_H
#define LEGO_CLUSTER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define CP_MAGIC		   0x4347454cU /* "LEGC" */
#define CP_VERSION		   1
#define CP_HDR_LEN		   WIRE_HDR_LEN
#define CP_MAX_PAYLOAD		   (1U << 20)
#define CP_MAX_MSG		   (CP_HDR_LEN + CP_MAX_PAYLOAD)
#define CP_REPLY		   0x8000U
#define CP_ERRTEXT_MAX		   512
#define CP_NAME_LEN		   64  /* component, vNode names */
#define CP_ADDR_LEN		   128 /* "HOST:PORT" */
#define CP_CMD_LEN		   32  /* VM_CTL's short command field */
#define CP_CMD_MAX		   272 /* its long field: "migrate " and a 253-byte host, [], :port */
#define CP_MAX_VMS		   1024 /* vNodes one pmon reports */
#define CP_MAX_ARGS		   256
#define CP_ARGS_MAX		   65536 /* bytes of VM_START strings */
#define CP_CONSOLE_MAX		   65536 /* bytes per VM_CONSOLE reply */
#define CP_CONSOLE_IN_MAX	   4096	 /* bytes per VM_CONSOLE_IN request */
#define CP_REGISTER_LEN		   240	 /* with the provider; 208 without (older senders) */
#define CP_REGISTER_V1_LEN	   208
#define CP_PROVIDER_LEN		   32 /* a libfabric provider's name */
#define CP_HEARTBEAT_LEN	   16
#define CP_VM_STATUS_LEN	   48
#define CP_VM_START_LEN		   128
#define CP_VM_STOP_LEN		   24
#define CP_VM_CTL_LEN		   48
#define CP_VM_CTL_LONG_LEN	   (16 + CP_CMD_MAX)
#define CP_VM_CONSOLE_LEN	   32
#define CP_VM_CONSOLE_REPLY_LEN	   16
#define CP_VM_CONSOLE_IN_LEN	   24 /* the fixed part; the bytes follow */
#define CP_VM_CONSOLE_IN_REPLY_LEN 8
#define CP_VM_FORGET_LEN	   16
#define CP_QUERY_LEN		   72
#define CP_MIGRATE_LEN		   128
#define CP_MIG_REPORT_LEN	   152
#define CP_MIG_STATUS_LEN	   64
#define CP_MIG_PROGRESS_LEN	   168
#define CP_POOL_JOB_LEN		   72
#define CP_POOL_REPORT_LEN	   104
#define CP_POOL_PROGRESS_LEN	   240

enum cluster_proto_op {
	CP_REGISTER = 1,
	CP_HEARTBEAT = 2,
	CP_VM_START = 3,
	CP_VM_STOP = 4,
	CP_VM_CTL = 5,
	CP_VM_CONSOLE = 6,
	CP_VM_FORGET = 7,
	CP_QUERY = 8,
	CP_MIGRATE = 9,
	CP_MIG_STATUS = 10,
	CP_POOL_JOB = 11,
	CP_POOL_STATUS = 12,
	CP_NET_SET = 13,    /* controld -> pmon: the networks and the other hosts (net_proto.h) */
	CP_NET_LEASES = 14, /* controld -> pmon: a network's DHCP leases on that host */
	CP_VM_CONSOLE_IN = 15,
};

enum cluster_proto_status {
	CP_OK = 0,
	CP_EPROTO = 1,	  /* bad magic, version, reserved bits or length */
	CP_EBADOP = 2,	  /* unknown op */
	CP_EINVAL = 3,	  /* a field's value is invalid */
	CP_ENOENT = 4,	  /* no such vNode / component */
	CP_EEXIST = 5,	  /* already there (a vNode already running, a name taken) */
	CP_ENOSPC = 6,	  /* not enough cores or memory */
	CP_EIO = 7,	  /* the operation failed (e.g. lego-vmm could not be started) */
	CP_ENOTREG = 8,	  /* REGISTER first */
	CP_EPERM = 9,	  /* the peer's certificate does not grant this */
	CP_ESTANDBY = 10, /* a standby lego-controld: the text names the leader; try the next */
	CP_STATUS_MAX = 10,
};

enum cluster_proto_kind {
	CP_KIND_PMON = 1, /* processor host */
	CP_KIND_MMON = 2, /* memory server */
	CP_KIND_SMON = 3, /* storage server */
};

/* REGISTER: who the component is and what it offers. */
struct cluster_proto_register {
	uint32_t kind;
	uint32_t cores;		    /* pmon: cores for vCPUs; others 0 */
	uint64_t capacity_bytes;    /* pmon: memory for ExCaches; mmon: pool; smon: space */
	char name[CP_NAME_LEN + 1]; /* unique among live components */
	char addr[CP_ADDR_LEN + 1]; /* HOST:PORT where it serves (pmon: its request port) */
	/* mmon, smon: the libfabric provider it serves on ("tcp", "verbs"); "" from a pmon
	 * or a sender that does not say (a 208-byte REGISTER). */
	char provider[CP_PROVIDER_LEN + 1];
};

/* HEARTBEAT: what is in use now (controld's view of free resources). */
struct cluster_proto_heartbeat {
	uint64_t used_bytes;
	uint32_t used_cores;
	uint32_t nr_vms; /* pmon: cp_vm_status entries that follow (<= CP_MAX_VMS) */
};

enum cluster_proto_vm_state {
	CP_VM_RUNNING = 1,
	CP_VM_PAUSED = 2,
	CP_VM_EXITED = 3, /* kept in heartbeats until VM_FORGET */
};

struct cluster_proto_vm_status {
	uint8_t uuid[16];
	uint64_t vnode_uid; /* the vNode's id on the memory servers (lego-vmm --vnode-id) */
	int32_t domid;
	uint32_t pid;
	uint32_t state;	     /* cp_vm_state */
	int32_t exit_status; /* EXITED: lego-vmm's exit code, or 128 + signal */
	uint32_t vcpus;
	uint32_t reserved; /* 0 */
};

/* VM_START: run lego-vmm with these options (pmon adds --vnode-id, --control and --console
 * and refuses options that name those itself). */
struct cluster_proto_vm_start {
	uint8_t uuid[16];
	uint64_t vnode_uid;
	int32_t domid;
	uint32_t vcpus;
	uint64_t excache_bytes;
	char name[CP_NAME_LEN + 1];
	uint32_t argc;
	uint32_t args_len; /* bytes of strings following the fixed part */
};

enum cluster_proto_stop_mode {
	CP_STOP_GRACEFUL = 0, /* SIGTERM: the VMM stops the guest and frees its vRegions */
	CP_STOP_FORCE = 1,    /* SIGTERM, then SIGKILL if still running after grace_ms */
};

struct cluster_proto_vm_stop {
	uint8_t uuid[16];
	uint32_t mode;
	uint32_t grace_ms;
};

/* A lego-vmm control-socket command: a word of lowercase letters and inner hyphens
 * ("stats", "migrate-resolve"), then optionally one space and one argument of printable
 * non-space ASCII ("migrate 10.0.0.2:41234"). Up to CP_CMD_LEN bytes it travels in the
 * short form (what every pmon understands), longer ones in the long form. */
struct cluster_proto_vm_ctl {
	uint8_t uuid[16];
	char cmd[CP_CMD_MAX + 1];
};

struct cluster_proto_vm_console {
	uint8_t uuid[16];
	uint64_t offset; /* console bytes before this were already read */
	uint32_t max;	 /* <= CP_CONSOLE_MAX */
};

/* Reply: the bytes from offset (or from the oldest kept, if offset is older), and the
 * vNode's state, so a reader knows when no more will come. */
struct cluster_proto_vm_console_reply {
	uint64_t offset;
	uint32_t state;
};

/* VM_CONSOLE_IN: input for the guest's console (1..CP_CONSOLE_IN_MAX bytes). The reply says
 * how many the guest's UART took, in order from the first (the sender keeps the rest for
 * later: the UART's receive FIFO is bounded), and how many then wait for the guest. */
struct cluster_proto_vm_console_in {
	uint8_t uuid[16];
	uint32_t len;
	const uint8_t *data; /* decoded: points into the payload */
};

struct cluster_proto_vm_console_in_reply {
	uint32_t accepted, queued;
};

enum cluster_proto_query_what {
	CP_Q_COMPONENTS = 1, /* every component with capacity and use */
	CP_Q_VNODES = 2,     /* every vNode: state, host, memory, ExCache */
	CP_Q_VNODE = 3,	     /* one vNode (name): vRegion map, ExCache and fault statistics */
	CP_Q_POOL = 4,	     /* the memory pool: each server's use, draining, jobs under way */
};
#define CP_QUERY_JSON 1U

struct cluster_proto_query {
	uint32_t what;
	uint32_t flags;
	char name[CP_NAME_LEN + 1];
};

/* MIGRATE (legoctl -> lego-controld): move a running vNode to another processor host. The
 * reply comes when the migration is over: its report, or an error saying why it did not
 * happen (the vNode then runs where it ran). */
struct cluster_proto_migrate {
	char vnode[CP_NAME_LEN + 1];
	char host[CP_NAME_LEN + 1]; /* the destination processor host */
};

#define CP_MIG_UNKNOWN UINT64_MAX /* downtime_us, bytes: the source ended before it said */

struct cluster_proto_mig_report {
	uint64_t total_us;    /* from the request to the vNode running on the destination */
	uint64_t downtime_us; /* vCPUs paused (as the source lego-vmm measured it) */
	uint64_t bytes;	      /* dirty ExCache pages and state the source sent */
	char from[CP_NAME_LEN + 1], to[CP_NAME_LEN + 1];
};

/* Where a migration is (MIG_STATUS's answer; NONE: no migration of that vNode runs). */
enum cluster_proto_mig_phase {
	CP_MIG_NONE = 0,
	CP_MIG_STARTING = 1,   /* the destination's lego-vmm is starting to listen */
	CP_MIG_CONNECTING = 2, /* the source connects to it */
	CP_MIG_PRECOPY = 3,    /* dirty ExCache pages written back while the guest runs */
	CP_MIG_STOPPING = 4,   /* vCPUs paused, block I/O drained, last pages flushed */
	CP_MIG_SENDING = 5,    /* vCPU and device state */
	CP_MIG_COMMITTING = 6, /* the destination was told to run */
	CP_MIG_UNCERTAIN = 7,  /* the connection broke while committing: being resolved */
	CP_MIG_PHASE_MAX = 7,
};

struct cluster_proto_mig_progress {
	uint32_t phase; /* cp_mig_phase */
	uint64_t elapsed_ms;
	uint64_t bytes_total, bytes_processed, bytes_remaining;
	char from[CP_NAME_LEN + 1], to[CP_NAME_LEN + 1];
};

/* The memory pool's jobs (legoctl -> lego-controld), one at a time: move every vRegion copy
 * off a memory server (DRAIN; it then stays draining: nothing new is placed there), even out
 * the servers' use (REBALANCE), or let a drained server take vRegions again (UNDRAIN). The
 * reply comes when the job is over: its report, or an error saying why it was refused or
 * where it stopped. */
enum cluster_proto_pool_what {
	CP_POOL_NONE = 0, /* progress: no job runs */
	CP_POOL_DRAIN = 1,
	CP_POOL_REBALANCE = 2,
	CP_POOL_UNDRAIN = 3,
	CP_POOL_WHAT_MAX = 3,
};

struct cluster_proto_pool_job {
	uint32_t what;
	char server[CP_NAME_LEN + 1]; /* DRAIN, UNDRAIN: the memory server; REBALANCE: "" */
};

#define CP_PPM 1000000U /* parts per million: a fraction of a server's capacity */

struct cluster_proto_pool_report {
	uint32_t what;
	uint32_t copies;	      /* vRegion copies moved */
	uint64_t bytes;		      /* their size */
	uint64_t elapsed_us;	      /* from the request to the last copy's switch */
	uint64_t server_used;	      /* DRAIN: what the server reports in use afterwards */
	uint32_t spread_before_ppm;   /* REBALANCE: fullest minus emptiest server's use, */
	uint32_t spread_after_ppm;    /* as fractions of their capacity */
	char server[CP_NAME_LEN + 1]; /* DRAIN, UNDRAIN: the server */
};

/* POOL_STATUS's answer: the job under way (what NONE: none; then its figures are zero and
 * its names empty), its current step (vnode "" between steps), and the re-replication of
 * vRegions that lost a copy, which runs by itself in the background. */
struct cluster_proto_pool_progress {
	uint32_t what;
	uint32_t region; /* the current step's vRegion index */
	uint64_t elapsed_ms;
	uint32_t copies_total, copies_done; /* copies to move, moved */
	uint64_t bytes_total, bytes_done;   /* their bytes; done counts the step's fill */
	uint32_t missing;		    /* copies vRegions lack for their replication factor */
	uint32_t blocked;		    /* of those, copies no server has room for */
	char server[CP_NAME_LEN + 1];	    /* DRAIN: the server drained */
	char vnode[CP_NAME_LEN + 1];	    /* the current step's vNode */
	char to[CP_NAME_LEN + 1];	    /* and the memory server its copy goes to */
};

/* Header decode as wire_hdr_get with this protocol's magic, version and limit. */
enum cluster_proto_status cluster_proto_hdr_get(const void *buf, size_t buflen, struct wire_hdr *h,
						char *err, size_t errlen);
const char *cluster_proto_status_name(uint32_t status);

/* Encoders write exactly the *_LEN bytes; decoders check the length and every field and
 * return CP_OK or CP_EINVAL/CP_EPROTO with err saying what is wrong. */
void cluster_proto_register_put(void *p, const struct cluster_proto_register *m);
enum cluster_proto_status cluster_proto_register_get(const void *p, size_t len,
						     struct cluster_proto_register *m, char *err,
						     size_t errlen);
void cluster_proto_heartbeat_put(void *p, const struct cluster_proto_heartbeat *m);
/* len is the whole payload: the fixed part and exactly nr_vms statuses. */
enum cluster_proto_status cluster_proto_heartbeat_get(const void *p, size_t len,
						      struct cluster_proto_heartbeat *m, char *err,
						      size_t errlen);
void cluster_proto_vm_status_put(void *p, const struct cluster_proto_vm_status *m);
enum cluster_proto_status cluster_proto_vm_status_get(const void *p,
						      struct cluster_proto_vm_status *m, char *err,
						      size_t errlen);
void cluster_proto_vm_start_put(void *p, const struct cluster_proto_vm_start *m);
/* Checks the fixed part and that exactly argc NUL-terminated printable strings of
 * args_len bytes follow; *args points at the first. */
enum cluster_proto_status cluster_proto_vm_start_get(const void *p, size_t len,
						     struct cluster_proto_vm_start *m,
						     const char **args, char *err, size_t errlen);
void cluster_proto_vm_stop_put(void *p, const struct cluster_proto_vm_stop *m);
enum cluster_proto_status cluster_proto_vm_stop_get(const void *p, size_t len,
						    struct cluster_proto_vm_stop *m, char *err,
						    size_t errlen);
/* Writes the short form (CP_VM_CTL_LEN) or, for a command longer than CP_CMD_LEN, the
 * long one (CP_VM_CTL_LONG_LEN; p must have room for it): returns the length written. */
size_t cluster_proto_vm_ctl_put(void *p, const struct cluster_proto_vm_ctl *m);
/* Either form; a command that fits the short form must use it. */
enum cluster_proto_status cluster_proto_vm_ctl_get(const void *p, size_t len,
						   struct cluster_proto_vm_ctl *m, char *err,
						   size_t errlen);
/* Is cmd a well-formed control command (the grammar above, at most CP_CMD_MAX bytes)? */
bool cluster_proto_vm_cmd_ok(const char *cmd);
void cluster_proto_vm_console_put(void *p, const struct cluster_proto_vm_console *m);
enum cluster_proto_status cluster_proto_vm_console_get(const void *p, size_t len,
						       struct cluster_proto_vm_console *m,
						       char *err, size_t errlen);
void cluster_proto_vm_console_reply_put(void *p, const struct cluster_proto_vm_console_reply *m);
enum cluster_proto_status
cluster_proto_vm_console_reply_get(const void *p, size_t len,
				   struct cluster_proto_vm_console_reply *m);
/* Writes CP_VM_CONSOLE_IN_LEN + m->len bytes. */
void cluster_proto_vm_console_in_put(void *p, const struct cluster_proto_vm_console_in *m);
enum cluster_proto_status cluster_proto_vm_console_in_get(const void *p, size_t len,
							  struct cluster_proto_vm_console_in *m,
							  char *err, size_t errlen);
void cluster_proto_vm_console_in_reply_put(void *p,
					   const struct cluster_proto_vm_console_in_reply *m);
enum cluster_proto_status
cluster_proto_vm_console_in_reply_get(const void *p, size_t len,
				      struct cluster_proto_vm_console_in_reply *m);
/* VM_FORGET's payload is the bare uuid. */
enum cluster_proto_status cluster_proto_uuid_get(const void *p, size_t len, uint8_t uuid[16],
						 char *err, size_t errlen);
void cluster_proto_query_put(void *p, const struct cluster_proto_query *m);
enum cluster_proto_status cluster_proto_query_get(const void *p, size_t len,
						  struct cluster_proto_query *m, char *err,
						  size_t errlen);
void cluster_proto_migrate_put(void *p, const struct cluster_proto_migrate *m);
enum cluster_proto_status cluster_proto_migrate_get(const void *p, size_t len,
						    struct cluster_proto_migrate *m, char *err,
						    size_t errlen);
void cluster_proto_mig_report_put(void *p, const struct cluster_proto_mig_report *m);
enum cluster_proto_status cluster_proto_mig_report_get(const void *p, size_t len,
						       struct cluster_proto_mig_report *m,
						       char *err, size_t errlen);
/* MIG_STATUS's request is the vNode's name field. */
void cluster_proto_mig_status_put(void *p, const char *vnode);
enum cluster_proto_status cluster_proto_mig_status_get(const void *p, size_t len,
						       char vnode[CP_NAME_LEN + 1], char *err,
						       size_t errlen);
void cluster_proto_mig_progress_put(void *p, const struct cluster_proto_mig_progress *m);
enum cluster_proto_status cluster_proto_mig_progress_get(const void *p, size_t len,
							 struct cluster_proto_mig_progress *m,
							 char *err, size_t errlen);
const char *cluster_proto_mig_phase_name(uint32_t phase);
void cluster_proto_pool_job_put(void *p, const struct cluster_proto_pool_job *m);
enum cluster_proto_status cluster_proto_pool_job_get(const void *p, size_t len,
						     struct cluster_proto_pool_job *m, char *err,
						     size_t errlen);
void cluster_proto_pool_report_put(void *p, const struct cluster_proto_pool_report *m);
enum cluster_proto_status cluster_proto_pool_report_get(const void *p, size_t len,
							struct cluster_proto_pool_report *m,
							char *err, size_t errlen);
/* POOL_STATUS's request carries nothing. */
enum cluster_proto_status cluster_proto_pool_status_get(size_t len, char *err, size_t errlen);
void cluster_proto_pool_progress_put(void *p, const struct cluster_proto_pool_progress *m);
enum cluster_proto_status cluster_proto_pool_progress_get(const void *p, size_t len,
							  struct cluster_proto_pool_progress *m,
							  char *err, size_t errlen);
/* "drain", "rebalance", "undrain" ("none" for CP_POOL_NONE). */
const char *cluster_proto_pool_what_name(uint32_t what);

/* A component (processor host, memory or storage server) name as operators type it:
 * 1..CP_NAME_LEN of [A-Za-z0-9._-]. */
bool cluster_proto_name_ok(const char *name);

#endif
