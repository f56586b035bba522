/* controld_netsync.h: the networks as each processor host must know them: a thread sends
 * NET_SET (every network, and the VXLAN addresses of the other live hosts) to every live
 * lego-pmon whose copy is out of date: a host that registers (or registers again after a
 * restart), one that comes or goes (the others' head-end replication lists change), a
 * network added. And the DHCP leases the hosts hand out, gathered for libvirt. */
#ifndef LEGO_CONTROLD_NETSYNC_H
#define LEGO_CONTROLD_NETSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "lib/proto/net_proto.h"

/* The thread (every 200 ms it compares): 0, or -1 if it cannot start. */
int controld_netsync_start(void);
/* Bring host up to date now, if it is not (before a VM_START that attaches interfaces):
 * CP_OK, or another status with err. */
int controld_netsync_host(const char *host, char *err, size_t errlen);
/* Network net's leases on every live host, one per MAC (the latest), only for MACs of its
 * interfaces: *out malloc'ed (*n of them; NULL when none). 0, or -1 with err. */
int controld_netsync_leases(const char *net, struct net_proto_lease **out, uint32_t *n, char *err,
			    size_t errlen);

#endif
