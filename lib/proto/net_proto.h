/* net_proto.h: the cluster protocol's virtual networks (ops in cluster_proto.h): what
 * lego-controld tells each lego-pmon about the networks and the other processor hosts, the
 * DHCP leases a pmon reports, how a vNode's interface is asked for in VM_START, and the names
 * both sides give the host interfaces.
 *
 *   op          request payload                         reply payload
 *   NET_SET     nr_nets(4), nr_peers(4), 0(8),          vtep(4), 0(4): the pmon's own
 *               nr_nets x network (80),                 VXLAN address (0: none)
 *               nr_peers x peer (8)
 *   NET_LEASES  name[64]                                nr(4), 0(4), nr x lease (88)
 *
 * NET_SET is the whole desired state, idempotent: every network (name, VNI, IPv4 range) and
 * the VXLAN addresses of the other processor hosts (head-end replication: each network's
 * broadcast and unknown traffic is sent to every one of them). A pmon builds a network's data
 * path on its host when a vNode there first uses it, and removes it with the last one.
 * IPv4 addresses travel as 4 bytes in network order. The first host address of a network
 * (its gateway) belongs to the hosts: each one's bridge carries it and its DHCP server
 * answers from it; vNodes get the others.
 *
 * An interface in VM_START: the pmon-only option `--net-attach VALUE`, VALUE =
 * "network=NAME,mac=XX:XX:XX:XX:XX:XX,ip=A.B.C.D/PREFIX" (one per interface, in order);
 * the pmon creates the tap and hands lego-vmm `--net tap=TAP,mac=MAC,ip=ADDR` instead. */
#ifndef LEGO_NET_PROTO_H
#define LEGO_NET_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster_proto.h"

#define NET_PROTO_MAX_NETS	   64
#define NET_PROTO_MAX_PEERS	   256
#define NET_PROTO_MAX_LEASES	   4096
#define NET_PROTO_MAX_IFACES	   8 /* interfaces of one vNode */
#define NET_PROTO_SET_LEN	   16
#define NET_PROTO_NET_LEN	   80
#define NET_PROTO_PEER_LEN	   8
#define NET_PROTO_SET_REPLY_LEN	   8
#define NET_PROTO_LEASES_LEN	   CP_NAME_LEN
#define NET_PROTO_LEASES_REPLY_LEN 8
#define NET_PROTO_LEASE_LEN	   88
#define NET_PROTO_HOSTNAME_LEN	   63
#define NET_PROTO_VNI_MAX	   16777215U
#define NET_PROTO_VXLAN_PORT	   4789 /* IANA's VXLAN port */
#define NET_PROTO_IFNAME_MAX	   15	/* Linux's IFNAMSIZ - 1 */
#define NET_PROTO_ATTACH_MAX	   128	/* the longest --net-attach value */

struct net_proto_net {
	char name[CP_NAME_LEN + 1];
	uint32_t vni;	 /* 1..NET_PROTO_VNI_MAX */
	uint32_t addr;	 /* the network's address, host order, no host bits */
	uint32_t prefix; /* 8..30 */
};

struct net_proto_set {
	uint32_t nr_nets, nr_peers;
	struct net_proto_net nets[NET_PROTO_MAX_NETS];
	uint32_t peers[NET_PROTO_MAX_PEERS]; /* IPv4, host order */
};

struct net_proto_lease {
	int64_t expiry; /* unix seconds; 0: never */
	uint8_t mac[6];
	uint32_t ip;				   /* host order */
	char hostname[NET_PROTO_HOSTNAME_LEN + 1]; /* "" if none */
};

struct net_proto_attach {
	char network[CP_NAME_LEN + 1];
	uint8_t mac[6];
	uint32_t ip; /* host order */
	uint32_t prefix;
};

/* A network's first address, last address and gateway (the first host address). */
uint32_t net_proto_net_mask(uint32_t prefix);
uint32_t net_proto_gateway(const struct net_proto_net *n);
/* Whether ip may be a vNode's on n: inside, and neither the network's address, its
 * broadcast address nor the gateway. */
bool net_proto_host_ok(const struct net_proto_net *n, uint32_t ip);

/* "10.77.0.0/16" (no host bits allowed) -> addr, prefix 8..30; 0 or -1. */
int net_proto_cidr_parse(const char *text, uint32_t *addr, uint32_t *prefix);
/* An IPv4 address as text (16 bytes). */
void net_proto_ip_format(uint32_t ip, char out[16]);
int net_proto_ip_parse(const char *text, uint32_t *ip);
/* "52:54:00:ab:cd:ef" (case-insensitive; exactly that form) -> 6 bytes; 0 or -1. */
int net_proto_mac_parse(const char *text, uint8_t mac[6]);
void net_proto_mac_format(const uint8_t mac[6], char out[18]);
/* A MAC a vNode may own: unicast, not all zero. */
bool net_proto_mac_ok(const uint8_t mac[6]);

/* --net-attach's value, strictly: 0, or -1 with err. */
int net_proto_attach_parse(const char *text, struct net_proto_attach *a, char *err, size_t errlen);
/* Its text (at most NET_PROTO_ATTACH_MAX bytes with the NUL). */
void net_proto_attach_format(const struct net_proto_attach *a, char out[NET_PROTO_ATTACH_MAX]);

/* The host interfaces' names (at most NET_PROTO_IFNAME_MAX characters): interface i of the
 * vNode running with domain id domid (unique in the cluster, kept by a migration) is tap
 * "lt" + domid + "n" + i; network vni's bridge "lgbr" + vni, its VXLAN device "lgvx" + vni. */
void net_proto_tap_name(int32_t domid, int i, char out[NET_PROTO_IFNAME_MAX + 1]);
void net_proto_bridge_name(uint32_t vni, char out[NET_PROTO_IFNAME_MAX + 1]);
void net_proto_vxlan_name(uint32_t vni, char out[NET_PROTO_IFNAME_MAX + 1]);
/* The bridge's MAC, the same on every host (02:4c:47 and the VNI): a guest's view of the
 * gateway does not change when it migrates. */
void net_proto_bridge_mac(uint32_t vni, uint8_t mac[6]);

/* NET_SET: the payload's length, written into p (which has room for it); and its checked
 * reading (names valid and unique, VNIs unique, ranges valid, peers unicast and unique). */
size_t net_proto_set_len(const struct net_proto_set *m);
void net_proto_set_put(void *p, const struct net_proto_set *m);
enum cluster_proto_status net_proto_set_get(const void *p, size_t len, struct net_proto_set *m,
					    char *err, size_t errlen);
void net_proto_set_reply_put(void *p, uint32_t vtep);
enum cluster_proto_status net_proto_set_reply_get(const void *p, size_t len, uint32_t *vtep,
						  char *err, size_t errlen);
/* NET_LEASES: the network's name; the reply's length for nr leases. */
void net_proto_leases_put(void *p, const char *name);
enum cluster_proto_status net_proto_leases_get(const void *p, size_t len,
					       char name[CP_NAME_LEN + 1], char *err,
					       size_t errlen);
size_t net_proto_leases_reply_len(uint32_t nr);
void net_proto_leases_reply_put(void *p, const struct net_proto_lease *l, uint32_t nr);
/* *l is malloc'ed (*nr of them, NULL when none). */
enum cluster_proto_status net_proto_leases_reply_get(const void *p, size_t len,
						     struct net_proto_lease **l, uint32_t *nr,
						     char *err, size_t errlen);

#endif
