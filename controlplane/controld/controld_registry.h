/* controld_registry.h: what lego-controld knows: the registered components (with their
 * capacity, use and liveness) and the vNodes (definition, state, placement).
 *
 * controld_registry.c holds the tables, controld_registry_store.c the state directory,
 * controld_registry_heartbeat.c what processor hosts report.
 *
 * One lock guards it all (controld_registry_lock); pointers returned by the lookups stay valid
 * while it is held, and vNodes are only freed by reg_remove_vnode under the lock and the lifecycle
 * mutex (controld_registry_ops_lock), so code holding the lifecycle mutex may drop the registry
 * lock around network calls and keep its pointer.
 *
 * Persistence, in the state directory (as libvirtd keeps /etc/libvirt/qemu and
 * /run/libvirt/qemu):
 *   domains/NAME.xml   each persistent definition, as `virsh dumpxml --inactive` shows it
 *   run/UUID.xml       each active vNode's live definition (the one it was started with)
 *   run/UUID.run       each active vNode's placement (host, id, vRegion map with every
 *                      region's copies, replication factor, lego-vmm's options, and a
 *                      migration under way with its destination)
 *   next-id            the next domain id, so ids are not reused across restarts
 *   draining           the memory servers being drained or drained (one name a line):
 *                      nothing new is placed there until `legoctl mmon undrain`
 *   owed               the vRegion copies still to free, per run and memory server
 *                      (mempool/controld_owed.c)
 *   networks/NAME.net  each virtual network: uuid, range, VNI (controld_net.c)
 * Every file is replaced atomically (write, fsync, rename, fsync the directory). */
#ifndef LEGO_CONTROLD_REGISTRY_H
#define LEGO_CONTROLD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/cluster_proto.h"
#include "lib/proto/net_proto.h"
#include "controlplane/controld/libvirt/domain_xml.h"
#include "vnode_map.h"

#define REG_MAX_COMPONENTS 2048
#define REG_MAX_VNODES	   16384
#define REG_MAX_REGIONS	   VMAP_MAX_REGIONS
#define REG_MAX_MMONS	   VMAP_MAX_SERVERS /* memory servers one vNode's map names */

/* libvirt's virDomainState and reasons that lego uses. */
enum controld_registry_vnode_state {
	VN_RUNNING = 1,
	VN_PAUSED = 3,
	VN_SHUTOFF = 5,
};
enum controld_registry_vnode_reason {
	VN_RUNNING_BOOTED = 1,
	VN_RUNNING_MIGRATED = 2,
	VN_RUNNING_UNPAUSED = 5,
	VN_PAUSED_USER = 1,
	VN_SHUTOFF_UNKNOWN = 0,
	VN_SHUTOFF_SHUTDOWN = 1,
	VN_SHUTOFF_DESTROYED = 2,
	VN_SHUTOFF_CRASHED = 3,
	VN_SHUTOFF_FAILED = 6,
};

struct controld_registry_component {
	int kind; /* cp_kind */
	char name[CP_NAME_LEN + 1];
	char addr[CP_ADDR_LEN + 1];
	uint32_t cores, used_cores;
	uint64_t capacity, used_bytes;
	bool alive;
	bool draining; /* a memory server the GMM places nothing new on */
	uint64_t conn; /* the connection that registered it (0: none) */
	int64_t registered_ms, last_seen_ms;
	int64_t down_ms;	/* when it went down (0: never, since registered) */
	uint32_t registrations; /* REGISTERs seen: a new one after being down may be a restart */
	/* A processor host's networks (controld_netsync.c): its VXLAN address, as its last
	 * NET_SET answer gave it (0: none), and what it was last sent. */
	uint32_t vtep;
	uint64_t net_sig;     /* the state it has (0: nothing sent yet) */
	uint32_t net_sig_reg; /* ... as of this registration */
};

/* A migration of a vNode's run to another processor host, driven by controld_migrate.c;
 * heartbeats (controld_registry_heartbeat) record what the two hosts report meanwhile, and decide
 * nothing themselves. The run file says a migration is under way, so a restarted lego-controld
 * resumes watching it. */
struct controld_registry_migration {
	bool active;
	bool restored; /* read back from a run file: no client waits for it */
	bool cancel;   /* the client asked to abort it */
	char dest[CP_NAME_LEN + 1];
	int32_t dest_pid;   /* the destination's lego-vmm (0 until its VM_START answered) */
	uint32_t phase;	    /* cp_mig_phase */
	int64_t started_ms; /* monotonic */
	uint64_t bytes_total, bytes_processed, bytes_remaining;
	int src_exit;	/* the source's exit status, -1 while not seen */
	bool src_gone;	/* the source host no longer lists the run at all */
	int dest_state; /* 0 not seen, else the destination's cp_vm_state */
	int dest_exit;
};

struct controld_registry_vnode {
	/* The live definition while it runs (the one it was started with: what dominfo,
	 * dumpxml and legoctl show), else the persistent one. */
	struct domain_xml_def def;
	/* A running vNode redefined: the persistent definition its next start takes (`virsh
	 * dumpxml --inactive`); malloc'ed, NULL when def is both. */
	struct domain_xml_def *next_def;
	bool persistent; /* has domains/NAME.xml */
	bool autostart;	 /* started when lego-controld starts (controld_autostart.c) */
	int id;		 /* -1 when inactive */
	int state, reason;
	int exit_status; /* of the last run, -1 if none */
	/* Placement of the active run. */
	char host[CP_NAME_LEN + 1];
	bool confirmed; /* its host reported it since it started or controld restarted */
	uint64_t uid;	/* id on the memory servers */
	uint64_t region_size;
	struct vnode_map
		map;	 /* every vRegion's copies (the GMM's; changed by controld_mempool.c) */
	int replication; /* the copies each vRegion should have */
	uint64_t map_version; /* counts the map's changes while it runs (moves, promotions) */
	bool pool_busy;	      /* a pool step changes its copies: no migration meanwhile */
	bool mig_waiting;     /* a migration waits for that step: no new one starts */
	char step_to[CP_NAME_LEN + 1]; /* the server that step adds a copy on ("": none) */
	uint64_t step_bytes;	       /* and its size, counted there as placed */
	bool mem_lost; /* a vRegion lost its last copy: its lego-vmm stops (exit 125) */
	/* Its lego-vmm's copies were compared with the map (the pool's reconcile) since this
	 * lego-controld learned of the run: until then a step cut short by a restart may have
	 * left copies the map does not know, and no new step touches it. */
	bool reconciled;
	char disk_uri[DOM_MAX_DISKS][CP_ADDR_LEN + DOM_VOLUME_MAX + 16];
	/* lego-vmm's options of this run, as VM_START carried them (NULL if not known: the
	 * run was adopted, or recorded by an older lego-controld), and what it holds. */
	char *run_args;
	uint32_t run_argc, run_args_len, run_vcpus;
	uint64_t run_excache;
	/* Its interfaces on this run (the --net-attach options of run_args). */
	int run_nr_net;
	struct net_proto_attach run_net[DOM_MAX_IFACES];
	struct controld_registry_migration mig;
	int64_t started_ms;
	bool stopping; /* a stop was asked for: its exit is a shutdown/destroy, not a crash */
	bool starting; /* its start is not answered yet: an exit meanwhile is a failed start */
	char last_exit[CP_ERRTEXT_MAX];	 /* how the last run ended, in words ("": none yet) */
	char last_host[CP_NAME_LEN + 1]; /* where the last run was: its console is kept there
					  * until the host is told to forget it */
	int stop_reason;
};

/* Load the state (controld_state_open first). 0, or -1 after logging why. */
int controld_registry_store_init(void);
void controld_registry_lock(void);
void controld_registry_unlock(void);
/* Serialises lifecycle operations (define, undefine, start, stop, ...). */
void controld_registry_ops_lock(void);
void controld_registry_ops_unlock(void);

/* vNodes (under controld_registry_lock). */
int controld_registry_nr_vnodes(void);
struct controld_registry_vnode *controld_registry_vnode_at(int i);
struct controld_registry_vnode *controld_registry_find_name(const char *name);
struct controld_registry_vnode *controld_registry_find_uuid(const uint8_t uuid[16]);
struct controld_registry_vnode *controld_registry_find_id(int id);
/* Copy n bytes from src (NULL: zeros) to dst, writing only the 512-byte pieces that
 * differ: for a vNode's definition and map, whose pages that stay zero are never resident. */
void controld_registry_copy_sparse(void *dst, const void *src, size_t n);
/* Add or replace a definition (d->has_uuid set by the caller) and persist it; its
 * interfaces get their MACs and addresses (controld_net_assign). A running vNode keeps its
 * live definition and takes the new one when it stops (as libvirtd does). Returns 0, or a
 * libvirt error code with err filled (DOM_EXIST for a name or uuid already used by another
 * vNode). */
int controld_registry_define(struct domain_xml_def *d, struct controld_registry_vnode **out,
			     char *err, size_t errlen);
/* The definition the next start takes (`dumpxml --inactive`). */
const struct domain_xml_def *controld_registry_next_def(const struct controld_registry_vnode *v);
/* Forget the definition file; an inactive vNode is removed (v is freed), an active one
 * becomes transient and goes when it stops. */
int controld_registry_undefine(struct controld_registry_vnode *v, char *err, size_t errlen);
/* Give an inactive vNode a new id and uid for a start. */
void controld_registry_assign_id(struct controld_registry_vnode *v);
/* Persist an active vNode's run file. */
int controld_registry_store_save_run(const struct controld_registry_vnode *v);
/* Persist a started vNode's live definition (run/UUID.xml, gone with its run file). */
int controld_registry_store_save_live(const struct controld_registry_vnode *v);
/* A file of the state directory that another part keeps there (name: no '/'): replaced
 * atomically (0, or -1 after logging why), or read back (malloc'ed, NUL-terminated; NULL if
 * it is missing or too large). */
int controld_registry_store_put_file(const char *name, const char *data, size_t len);
char *controld_registry_store_get_file(const char *name, size_t *len);
/* Record the lego-vmm options (argc NUL-terminated strings, len bytes) of v's run; 0, or
 * -1 when out of memory. */
int controld_registry_set_run_args(struct controld_registry_vnode *v, const char *args,
				   uint32_t argc, uint32_t len, uint32_t vcpus, uint64_t excache);
/* The SHUTOFF reason of a run whose lego-vmm exited by itself with status: a guest's own
 * shutdown (below 64), a crash (125, lego-vmm's fatal stop, or a signal: 128 + N), or a
 * failure to run it (anything else: a bad command line, 64). */
int controld_registry_exit_reason(int status);
/* A reason's word, as virsh prints it ("shutdown", "crashed", "failed", ...). */
const char *controld_registry_reason_name(int state, int reason);
/* The vNode is now inactive: state SHUTOFF with reason; a transient one is removed. */
void controld_registry_mark_stopped(struct controld_registry_vnode *v, int reason, int exit_status);

/* Components (under controld_registry_lock). */
int controld_registry_nr_components(void);
struct controld_registry_component *controld_registry_component_at(int i);
struct controld_registry_component *controld_registry_find_component(int kind, const char *name);
/* How many components the table holds (1..REG_MAX_COMPONENTS; before serving). */
void controld_registry_set_max_components(int n);
/* A REGISTER on connection conn: CP_OK, or CP_EEXIST with err when the name is alive on
 * another connection. */
int controld_registry_register(const struct cluster_proto_register *r, uint64_t conn, char *err,
			       size_t errlen);
/* Mark a memory server draining (or not), in the state directory too: 0, or -1. */
int controld_registry_set_draining(const char *name, bool draining);
/* The connection ended: its component is down. */
void controld_registry_connection_lost(uint64_t conn);
/* A heartbeat from conn's component; a processor host's vNode statuses reconcile the
 * vNodes placed on it. While a vNode migrates, what its destination reports and the
 * source's exit are only recorded in v->mig (the migration decides where it runs). The uuids of
 * exited runs it may now forget are written to forget (*nforget of them, at most
 * hb->nr_vms); the vRegion copies of runs that ended are owed (mempool/controld_owed.h).
 * Returns the component, or NULL if conn registered none. */
struct controld_registry_component *
controld_registry_heartbeat(uint64_t conn, const struct cluster_proto_heartbeat *hb,
			    const struct cluster_proto_vm_status *vms, uint8_t (*forget)[16],
			    int *nforget);

/* Processor hosts down for grace_ms (those lego-controld, started at start_ms, has not seen
 * register within register_ms, since then): their vNodes are lost with them, marked crashed,
 * their vRegion copies owed. How many; under the lock. */
int controld_registry_heartbeat_hosts_lost(int64_t now, int64_t start_ms, int register_ms,
					   int grace_ms);

#endif
