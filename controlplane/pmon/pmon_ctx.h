/* pmon_ctx.h: what every part of lego-pmon shares: its configuration, the vNode table and
 * the ways to wake the event loop and the cluster agent. */
#ifndef LEGO_PMON_CTX_H
#define LEGO_PMON_CTX_H

#include "lib/cluster/cluster_agent.h"
#include "pmon_vms.h"

struct netserver;

struct pmon_ctx {
	const char *name;
	const char *run_dir;
	const char *vmm; /* lego-vmm's path */
	struct pmon_vms vms;
	struct cluster_agent *agent; /* set before any request is served */
	struct netserver *requests;  /* lego-controld's requests (pmon_requests.h) */
	/* lego-vmm's migration stream: TLS with this host's certificate (passed as --pki and
	 * --pki-name), or plain with --insecure-migration when pki_dir is NULL. */
	const char *pki_dir;
	int wake_fd;	   /* eventfd: a SIGKILL deadline changed */
	int start_wait_ms; /* VM_START waits this for "running" (0: not at all) */
};

/* A vNode changed state: tell lego-controld now, not at the next interval. */
void pmon_loop_kick(struct pmon_ctx *p);
/* A SIGKILL deadline was set: the event loop re-reads them. */
void pmon_loop_wake(struct pmon_ctx *p);

#endif
