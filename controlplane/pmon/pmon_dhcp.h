/* pmon_dhcp.h: a network's DHCP server on one host: dnsmasq (as libvirt's networks run it)
 * on the network's bridge, answering only the MACs in its hosts file (one static address
 * each: every request gets one answer, the same everywhere), no DNS, no router; it drops to
 * the unprivileged user nobody, so its directory must be reachable by nobody. Files in
 * DIR: NET.conf, NET.hosts, NET.leases, NET.pid. */
#ifndef LEGO_PMON_DHCP_H
#define LEGO_PMON_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/proto/net_proto.h"

#define PMON_DHCP_PATH_MAX 512

/* How long a lease lasts (a guest renews it after half of it). */
#define PMON_DHCP_LEASE_SECONDS 3600

struct pmon_dhcp {
	pid_t pid; /* 0: not running */
	int64_t started_ms;
	char net[CP_NAME_LEN + 1], bridge[16];
	char conf[PMON_DHCP_PATH_MAX], hosts[PMON_DHCP_PATH_MAX], leases[PMON_DHCP_PATH_MAX],
		pidfile[PMON_DHCP_PATH_MAX];
};

struct pmon_dhcp_host {
	uint8_t mac[6];
	uint32_t ip;
	const char *name; /* the vNode's name: its host name if it is one */
};

/* The directory, created 0755 (and each of its parents checked reachable by nobody). */
int pmon_dhcp_dir(const char *dir, char *err, size_t errlen);
/* dnsmasq (the program at path) for network net on bridge with hosts (n of them), its
 * address the gateway of range: 0, or -1 with err. */
int pmon_dhcp_start(struct pmon_dhcp *d, const char *path, const char *dir,
		    const struct net_proto_net *net, const char *bridge, unsigned mtu,
		    const struct pmon_dhcp_host *hosts, int n, char *err, size_t errlen);
/* The hosts file rewritten and dnsmasq told to read it (SIGHUP). */
int pmon_dhcp_hosts(struct pmon_dhcp *d, const struct pmon_dhcp_host *hosts, int n, char *err,
		    size_t errlen);
/* SIGTERM; its exit is reaped by lego-pmon's loop (pid forgotten here); files removed. */
void pmon_dhcp_stop(struct pmon_dhcp *d);
/* The leases dnsmasq gave (its lease file): *out malloc'ed, *n of them. */
int pmon_dhcp_leases(const struct pmon_dhcp *d, struct net_proto_lease **out, uint32_t *n,
		     char *err, size_t errlen);
/* A restarted lego-pmon: every dnsmasq a pid file in dir names, and that runs one of dir's
 * configurations, stopped; dir's files removed. Returns how many were stopped. */
int pmon_dhcp_cleanup(const char *dir);

#endif
