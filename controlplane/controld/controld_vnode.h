/* controld_vnode.h: a vNode's lifecycle, driven by lego-controld: placement by the global
 * managers (GPM host, GMM vRegion owners, GSM disk servers), then lego-pmon on the chosen
 * host runs lego-vmm with that map; stop, pause and statistics go through the same pmon
 * (the console: controld_console.h).
 *
 * Every call returns 0 or a libvirt error code with err saying what is wrong. */
#ifndef LEGO_CONTROLD_VNODE_H
#define LEGO_CONTROLD_VNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/cluster_proto.h"
#include "lib/tls/tls_pki.h"

struct tls_conn;

struct controld_vnode_options {
	uint64_t region_size; /* preferred vRegion size */
	const char *provider; /* libfabric provider for storage and memory servers */
	int stop_grace_ms;    /* destroy: SIGKILL after this */
	int replication;      /* copies of each vRegion for vNodes whose XML says nothing */
	/* Our certificate for calling processor hosts, each checked to be the lego-pmon of
	 * its registered name; NULL: plain TCP (--insecure). */
	const struct tls_pki *pki;
};
void controld_vnode_configure(const struct controld_vnode_options *o);

int controld_vnode_start(const uint8_t uuid[16], char *err, size_t errlen);
/* force: destroy (waits until the vNode is off); otherwise shutdown (asks, returns). */
int controld_vnode_stop(const uint8_t uuid[16], bool force, char *err, size_t errlen);
int controld_vnode_pause(const uint8_t uuid[16], bool pause, char *err, size_t errlen);
/* The VMM's answer to a control command (e.g. "stats"): a malloc'ed JSON line. */
int controld_vnode_control(const uint8_t uuid[16], const char *cmd, char **json, char *err,
			   size_t errlen);

/* Append "--capability BUNDLE" to a VM_START's argc strings of args_len bytes at args (room
 * for CP_ARGS_MAX): v's capabilities for a new run (nothing when capabilities are off). */
struct controld_registry_vnode;
int controld_vnode_append_capability(const struct controld_registry_vnode *v, uint8_t *args,
				     uint32_t *argc, uint32_t *args_len, char *err, size_t errlen);

/* Call a processor host (by component name): a cluster_io_call over a new connection. */
int controld_vnode_pmon_call(const char *host, uint16_t op, const void *req, size_t len,
			     uint8_t **reply, size_t *rlen, char *err, size_t errlen);

/* A connection kept for read-only calls (a pass of `regions` queries, one per vNode) to one
 * processor host after another: one TLS handshake per host rather than per call. */
struct controld_vnode_pmon_conn {
	struct tls_conn *c; /* NULL: none yet */
	char host[CP_NAME_LEN + 1];
};
/* A call over pc (to host: a connection to another host is closed first), dialled if there
 * is none, and dialled again once if the kept one failed: only for calls that may be sent
 * twice. Returns as controld_vnode_pmon_call. */
int controld_vnode_pmon_query(struct controld_vnode_pmon_conn *pc, const char *host, uint16_t op,
			      const void *req, size_t len, uint8_t **reply, size_t *rlen, char *err,
			      size_t errlen);
void controld_vnode_pmon_release(struct controld_vnode_pmon_conn *pc);

/* What the active vNodes placed by lego-controld use on a component (heartbeats may lag a
 * start or a migration); under the registry lock. */
void controld_vnode_placed_use(const char *name, int kind, uint32_t *cores, uint64_t *bytes);

/* The memory servers as the GMM sees them (under the registry lock): mems[i] for mc[i], used
 * = the larger of the heartbeat's figure and what lego-controld placed there. */
struct placement_mem;
struct controld_registry_component;
void controld_vnode_mem_snapshot(struct placement_mem *mems,
				 const struct controld_registry_component **mc, int *nm);
/* The replication factor of a definition (its own, or lego-controld's default). */
struct domain_xml_def;
int controld_vnode_replication(const struct domain_xml_def *d);
/* The libfabric provider for the memory servers. */
const char *controld_vnode_provider(void);

/* A vNode's name as the cluster protocol carries it (printable ASCII: other bytes of a
 * UTF-8 name become '_'; lego-pmon only logs it). */
void controld_vnode_wire_name(char *out, size_t len, const char *name);

/* A numeric field of the VMM's stats JSON ("key": N); 0 if absent. */
uint64_t controld_vnode_json_u64(const char *json, const char *key);

#endif
