/* cluster_agent.h: how a component (lego-pmon, lego-mmon, lego-smon) joins a cluster: a
 * thread that connects to lego-controld, REGISTERs, and sends a HEARTBEAT every interval
 * the controller asked for; when the connection drops it reconnects with back-off and
 * registers again, so a restarted lego-controld relearns the cluster by itself. */
#ifndef LEGO_CLUSTER_AGENT_H
#define LEGO_CLUSTER_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/proto/cluster_proto.h"
#include "lib/tls/tls_pki.h"

struct cluster_agent;

struct cluster_agent_config {
	const char *controld; /* "HOST:PORT", or every lego-controld's: "H1:P1,H2:P2,..." */
	/* Our certificate (it must grant reg's kind and name), and lego-controld's checked
	 * against the CA; NULL: plain TCP (--insecure). Must outlive the agent. */
	const struct tls_pki *pki;
	struct cluster_proto_register reg;
	/* Write the heartbeat payload (cp_heartbeat, then for a pmon its cp_vm_status
	 * entries) to buf, at most cap bytes; return its length. Called on the agent
	 * thread. */
	size_t (*heartbeat)(void *ctx, uint8_t *buf, size_t cap);
	void *ctx;
};

#define CLUSTER_AGENT_ADDRS_MAX 8 /* lego-controld addresses in a list */

/* Whether text is HOST:PORT or a comma-separated list of them (at most
 * CLUSTER_AGENT_ADDRS_MAX): 0, or -1. The agent registers with the first that leads, and
 * follows the leader from address to address (a standby refuses with CP_ESTANDBY). */
int cluster_agent_addrs_ok(const char *text);

/* Start the agent thread (the config is copied). 0, or -1 if the thread cannot start. */
int cluster_agent_start(struct cluster_agent **out, const struct cluster_agent_config *cfg);
/* The usual start for a server: register name (kind, capacity) serving at host:port over
 * the libfabric provider. */
int cluster_agent_join(struct cluster_agent **out, const char *controld, const struct tls_pki *pki,
		       int kind, const char *name, const char *host, const char *port,
		       const char *provider, uint32_t cores, uint64_t capacity,
		       size_t (*heartbeat)(void *ctx, uint8_t *buf, size_t cap), void *ctx);
/* A heartbeat payload without vNode statuses; returns its length. */
size_t cluster_agent_heartbeat_put(uint8_t *buf, uint64_t used_bytes, uint32_t used_cores);
/* Send a heartbeat now rather than at the next interval (e.g. a vNode exited). */
void cluster_agent_kick(struct cluster_agent *a);
/* Stop the thread and close the connection (controld then forgets the component). */
void cluster_agent_stop(struct cluster_agent *a);

#endif
