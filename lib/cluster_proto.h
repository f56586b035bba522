/* cluster_proto.h: the control protocol of a lego cluster, over plain TCP (control traffic
 * needs no RDMA). Three uses:
 *   - every component (lego-pmon, lego-mmon, lego-smon) connects to lego-controld, sends
 *     REGISTER, then a HEARTBEAT every heartbeat_ms on the same connection; controld
 *     forgets a component whose connection drops or who is silent for timeout_ms;
 *   - lego-controld calls a lego-pmon (at the address it registered) to start, stop,
 *     control and read the console of lego-vmm processes: one request -> reply per call;
 *   - legoctl asks lego-controld for cluster views (QUERY).
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
 *   VM_CTL      uuid[16], command[32]                    the VMM's one-line JSON answer
 *   VM_CONSOLE  uuid[16], offset(8), max(4), 0(4)        offset(8), state(4), 0(4), bytes
 *   VM_FORGET   uuid[16]                                -
 *   QUERY       what(4), flags(4), name[64]              text (a table, or JSON)
 */
#ifndef LEGO_CLUSTER_PROTO_H
#define LEGO_CLUSTER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define CP_MAGIC		0x4347454cU /* "LEGC" */
#define CP_VERSION		1
#define CP_HDR_LEN		WIRE_HDR_LEN
#define CP_MAX_PAYLOAD		(1U << 20)
#define CP_MAX_MSG		(CP_HDR_LEN + CP_MAX_PAYLOAD)
#define CP_REPLY		0x8000U
#define CP_ERRTEXT_MAX		512
#define CP_NAME_LEN		64  /* component, vNode names */
#define CP_ADDR_LEN		128 /* "HOST:PORT" */
#define CP_CMD_LEN		32
#define CP_MAX_VMS		1024 /* vNodes one pmon reports */
#define CP_MAX_ARGS		256
#define CP_ARGS_MAX		65536 /* bytes of VM_START strings */
#define CP_CONSOLE_MAX		65536 /* bytes per VM_CONSOLE reply */
#define CP_REGISTER_LEN		208
#define CP_HEARTBEAT_LEN	16
#define CP_VM_STATUS_LEN	48
#define CP_VM_START_LEN		128
#define CP_VM_STOP_LEN		24
#define CP_VM_CTL_LEN		48
#define CP_VM_CONSOLE_LEN	32
#define CP_VM_CONSOLE_REPLY_LEN 16
#define CP_VM_FORGET_LEN	16
#define CP_QUERY_LEN		72

enum cp_op {
	CP_REGISTER = 1,
	CP_HEARTBEAT = 2,
	CP_VM_START = 3,
	CP_VM_STOP = 4,
	CP_VM_CTL = 5,
	CP_VM_CONSOLE = 6,
	CP_VM_FORGET = 7,
	CP_QUERY = 8,
};

enum cp_status {
	CP_OK = 0,
	CP_EPROTO = 1,	/* bad magic, version, reserved bits or length */
	CP_EBADOP = 2,	/* unknown op */
	CP_EINVAL = 3,	/* a field's value is invalid */
	CP_ENOENT = 4,	/* no such vNode / component */
	CP_EEXIST = 5,	/* already there (a vNode already running, a name taken) */
	CP_ENOSPC = 6,	/* not enough cores or memory */
	CP_EIO = 7,	/* the operation failed (e.g. lego-vmm could not be started) */
	CP_ENOTREG = 8, /* REGISTER first */
	CP_STATUS_MAX = 8,
};

enum cp_kind {
	CP_KIND_PMON = 1, /* processor host */
	CP_KIND_MMON = 2, /* memory server */
	CP_KIND_SMON = 3, /* storage server */
};

/* REGISTER: who the component is and what it offers. */
struct cp_register {
	uint32_t kind;
	uint32_t cores;		    /* pmon: cores for vCPUs; others 0 */
	uint64_t capacity_bytes;    /* pmon: memory for ExCaches; mmon: pool; smon: space */
	char name[CP_NAME_LEN + 1]; /* unique among live components */
	char addr[CP_ADDR_LEN + 1]; /* HOST:PORT where it serves (pmon: its request port) */
};

/* HEARTBEAT: what is in use now (controld's view of free resources). */
struct cp_heartbeat {
	uint64_t used_bytes;
	uint32_t used_cores;
	uint32_t nr_vms; /* pmon: cp_vm_status entries that follow (<= CP_MAX_VMS) */
};

enum cp_vm_state {
	CP_VM_RUNNING = 1,
	CP_VM_PAUSED = 2,
	CP_VM_EXITED = 3, /* kept in heartbeats until VM_FORGET */
};

struct cp_vm_status {
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
struct cp_vm_start {
	uint8_t uuid[16];
	uint64_t vnode_uid;
	int32_t domid;
	uint32_t vcpus;
	uint64_t excache_bytes;
	char name[CP_NAME_LEN + 1];
	uint32_t argc;
	uint32_t args_len; /* bytes of strings following the fixed part */
};

enum cp_stop_mode {
	CP_STOP_GRACEFUL = 0, /* SIGTERM: the VMM stops the guest and frees its vRegions */
	CP_STOP_FORCE = 1,    /* SIGTERM, then SIGKILL if still running after grace_ms */
};

struct cp_vm_stop {
	uint8_t uuid[16];
	uint32_t mode;
	uint32_t grace_ms;
};

struct cp_vm_ctl {
	uint8_t uuid[16];
	char cmd[CP_CMD_LEN + 1]; /* a lego-vmm control-socket command: stats, pause, ... */
};

struct cp_vm_console {
	uint8_t uuid[16];
	uint64_t offset; /* console bytes before this were already read */
	uint32_t max;	 /* <= CP_CONSOLE_MAX */
};

/* Reply: the bytes from offset (or from the oldest kept, if offset is older), and the
 * vNode's state, so a reader knows when no more will come. */
struct cp_vm_console_reply {
	uint64_t offset;
	uint32_t state;
};

enum cp_query_what {
	CP_Q_COMPONENTS = 1, /* every component with capacity and use */
	CP_Q_VNODES = 2,     /* every vNode: state, host, memory, ExCache */
	CP_Q_VNODE = 3,	     /* one vNode (name): vRegion map, ExCache and fault statistics */
};
#define CP_QUERY_JSON 1U

struct cp_query {
	uint32_t what;
	uint32_t flags;
	char name[CP_NAME_LEN + 1];
};

/* Header decode as wire_hdr_get with this protocol's magic, version and limit. */
enum cp_status cp_hdr_get(const void *buf, size_t buflen, struct wire_hdr *h, const char **err);
const char *cp_status_name(uint32_t status);

/* Encoders write exactly the *_LEN bytes; decoders check the length and every field and
 * return CP_OK or CP_EINVAL/CP_EPROTO with err saying what is wrong. */
void cp_register_put(void *p, const struct cp_register *m);
enum cp_status cp_register_get(const void *p, size_t len, struct cp_register *m, const char **err);
void cp_heartbeat_put(void *p, const struct cp_heartbeat *m);
/* len is the whole payload: the fixed part and exactly nr_vms statuses. */
enum cp_status cp_heartbeat_get(const void *p, size_t len, struct cp_heartbeat *m,
				const char **err);
void cp_vm_status_put(void *p, const struct cp_vm_status *m);
enum cp_status cp_vm_status_get(const void *p, struct cp_vm_status *m, const char **err);
void cp_vm_start_put(void *p, const struct cp_vm_start *m);
/* Checks the fixed part and that exactly argc NUL-terminated printable strings of
 * args_len bytes follow; *args points at the first. */
enum cp_status cp_vm_start_get(const void *p, size_t len, struct cp_vm_start *m, const char **args,
			       const char **err);
void cp_vm_stop_put(void *p, const struct cp_vm_stop *m);
enum cp_status cp_vm_stop_get(const void *p, size_t len, struct cp_vm_stop *m, const char **err);
void cp_vm_ctl_put(void *p, const struct cp_vm_ctl *m);
enum cp_status cp_vm_ctl_get(const void *p, size_t len, struct cp_vm_ctl *m, const char **err);
void cp_vm_console_put(void *p, const struct cp_vm_console *m);
enum cp_status cp_vm_console_get(const void *p, size_t len, struct cp_vm_console *m,
				 const char **err);
void cp_vm_console_reply_put(void *p, const struct cp_vm_console_reply *m);
enum cp_status cp_vm_console_reply_get(const void *p, size_t len, struct cp_vm_console_reply *m);
/* VM_FORGET's payload is the bare uuid. */
enum cp_status cp_uuid_get(const void *p, size_t len, uint8_t uuid[16], const char **err);
void cp_query_put(void *p, const struct cp_query *m);
enum cp_status cp_query_get(const void *p, size_t len, struct cp_query *m, const char **err);

#endif
