/* pmon_nl.h: the host interfaces lego-pmon builds a network's data path from, through
 * rtnetlink (libmnl) and the tun driver: bridges, VXLAN devices and their head-end
 * replication entries (`bridge fdb append 00:00:00:00:00:00 dev VXLAN dst PEER`), taps,
 * addresses. Every call returns 0, or -1 with err naming the interface and the kernel's
 * reason. Not thread-safe: one user at a time (pmon_net.c holds its lock). */
#ifndef LEGO_PMON_NL_H
#define LEGO_PMON_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PMON_NL_IFNAME 16
#define PMON_NL_ALIAS  128
#define PMON_NL_KIND   16

struct pmon_nl;

struct pmon_nl_link {
	int index;
	char name[PMON_NL_IFNAME];
	char kind[PMON_NL_KIND];   /* "bridge", "vxlan", "tun", ... ("" for plain devices) */
	char alias[PMON_NL_ALIAS]; /* IFLA_IFALIAS ("" if none) */
	unsigned mtu;
	int master; /* 0: none */
	bool up, carrier;
};

int pmon_nl_open(struct pmon_nl **out, char *err, size_t errlen);
void pmon_nl_close(struct pmon_nl *nl);

/* Every link of this network namespace: *out malloc'ed, *n of them. */
int pmon_nl_links(struct pmon_nl *nl, struct pmon_nl_link **out, int *n, char *err, size_t errlen);
/* A link's index by name: 0 if there is none. */
int pmon_nl_index(const char *name);

/* New devices (an existing one of that name is an error: remove it first). */
int pmon_nl_bridge_add(struct pmon_nl *nl, const char *name, const uint8_t mac[6], char *err,
		       size_t errlen);
/* A VXLAN device: vni, local IPv4 address (host order) on underlay device dev, UDP port,
 * learning on (a migrated vNode's announce moves its MAC to its new host). */
int pmon_nl_vxlan_add(struct pmon_nl *nl, const char *name, uint32_t vni, uint32_t local, int dev,
		      uint16_t port, unsigned mtu, char *err, size_t errlen);
/* A persistent tap with virtio-net headers, as lego-vmm attaches to it. */
int pmon_nl_tap_add(const char *name, char *err, size_t errlen);

/* Set what is given: alias (NULL: keep), master (-1: keep, 0: none), mtu (0: keep), up. */
int pmon_nl_link_set(struct pmon_nl *nl, int index, const char *alias, int master, unsigned mtu,
		     bool up, char *err, size_t errlen);
int pmon_nl_link_del(struct pmon_nl *nl, int index, char *err, size_t errlen);
/* IPv4 ip/prefix on the link (already there: fine). */
int pmon_nl_addr_add(struct pmon_nl *nl, int index, uint32_t ip, unsigned prefix, char *err,
		     size_t errlen);
/* The link holding IPv4 address ip: *index (0 if none) and its MTU. */
int pmon_nl_addr_link(struct pmon_nl *nl, uint32_t ip, int *index, unsigned *mtu, char *err,
		      size_t errlen);
/* A head-end replication entry of VXLAN device vxlan for peer (IPv4, host order), added or
 * removed. */
int pmon_nl_fdb_peer(struct pmon_nl *nl, int vxlan, uint32_t peer, bool add, char *err,
		     size_t errlen);
/* The peers vxlan replicates to: at most max into peers, *n of them. */
int pmon_nl_fdb_peers(struct pmon_nl *nl, int vxlan, uint32_t *peers, int max, int *n, char *err,
		      size_t errlen);
/* No IPv6 on a link lego-pmon made (no link-local chatter from the host's side); best effort. */
void pmon_nl_no_ipv6(const char *name);

#endif
