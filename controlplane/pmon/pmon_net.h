/* pmon_net.h: a processor host's part of lego-controld's virtual networks. For each network
 * one of its vNodes uses: a bridge (lgbrVNI, the network's gateway address, the same MAC on
 * every host), a VXLAN device (lgvxVNI) on it with a head-end replication entry per other
 * host lego-controld lists (NET_SET), dnsmasq for DHCP with a static entry per local vNode
 * interface; a tap per interface (ltDOMIDnI); the nftables rules (pmon_nft.c). Built when a
 * vNode needing it starts here, removed with the last one (and every device at shutdown).
 * Every device is tagged with its owner in its alias ("lego-pmon:NAME:KIND:..."), so a
 * restarted lego-pmon finds what it left: the taps of the vNodes it adopts (pmon_adopt.h:
 * their lego-vmm holds the taps' file descriptors) are kept, with their rules, and go back
 * on their networks' bridges, rebuilt once lego-controld's NET_SET lists the networks; the
 * rest goes, the DHCP servers through their pid files.
 *
 * One lego-pmon per network namespace uses networks. Thread-safe (one lock). */
#ifndef LEGO_PMON_NET_H
#define LEGO_PMON_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/proto/net_proto.h"

struct pmon_net_config {
	const char *name;     /* this processor host's name */
	const char *dhcp_dir; /* dnsmasq's files (pmon_dhcp.h) */
	const char *dnsmasq;  /* its path */
	uint32_t vtep;	      /* this host's VXLAN address (IPv4, host order); 0: none, the
			       * networks stay on this host */
	uint16_t vxlan_port;
};

/* One interface of a vNode: its number, its tap and what it attaches to (a run file's
 * record). */
struct pmon_net_iface {
	int idx; /* 0 .. NET_PROTO_MAX_IFACES - 1 */
	char tap[NET_PROTO_IFNAME_MAX + 1];
	struct net_proto_attach a;
};

/* The configuration kept (its strings must outlive lego-pmon), the underlay device found:
 * 0, or -1 with err. What a previous lego-pmon left is removed by pmon_net_cleanup. */
int pmon_net_init(const struct pmon_net_config *cfg, char *err, size_t errlen);
/* At start, before pmon_net_cleanup: an adopted vNode's interfaces (n of them, in order)
 * kept, each if its tap is there and tagged as this lego-pmon's, with its rules, and
 * reported with the lease its guest holds; each goes back on its bridge when NET_SET lists
 * its network. How many were kept; *gen (0: none) tells this attachment apart. */
int pmon_net_adopt(const uint8_t uuid[16], const char *vnode, const struct pmon_net_iface *ifs,
		   int n, uint64_t *gen);
/* At start, after the adoptions: every device and DHCP server a previous lego-pmon left
 * that no adopted vNode uses removed; the rules made what is kept. */
void pmon_net_cleanup(void);
/* uuid's interfaces as attached now (at most max, in order): how many. */
int pmon_net_ifaces(const uint8_t uuid[16], struct pmon_net_iface *out, int max);
/* NET_SET: the networks and the other hosts; replication entries and rules follow, and the
 * adopted vNodes' taps go back on their bridges. Returns a cluster status; *vtep is this
 * host's VXLAN address. */
int pmon_net_set(const struct net_proto_set *m, uint32_t *vtep, char *err, size_t errlen);
/* A vNode's interfaces (n of them, in order): each network built if needed, each tap made,
 * named into taps[i], on its bridge, with its DHCP entry and rules; incoming (a migration's
 * destination): each keeps the lease the guest brings, reported by pmon_net_leases until
 * this host's dnsmasq has one. Returns a cluster status
 * (CP_EINVAL: an unknown network or a bad address; CP_EEXIST: a MAC or address another
 * vNode here has; CP_EIO: the host refused) with err; *gen tells this attachment apart. */
int pmon_net_attach(const uint8_t uuid[16], int32_t domid, const char *vnode,
		    const struct net_proto_attach *a, int n, bool incoming, uint64_t *gen,
		    char (*taps)[NET_PROTO_IFNAME_MAX + 1], char *err, size_t errlen);
/* Its taps removed (gen 0: any attachment of uuid), and networks no vNode here uses. */
void pmon_net_detach(const uint8_t uuid[16], uint64_t gen);
/* A network's DHCP leases on this host (none if it is not built here). */
int pmon_net_leases(const char *net, struct net_proto_lease **out, uint32_t *n, char *err,
		    size_t errlen);
/* A child exited: true if it was a DHCP server (restarted if it should still run). */
bool pmon_net_reaped(pid_t pid, int status);
/* lego-pmon stops: everything removed. */
void pmon_net_shutdown(void);

#endif
