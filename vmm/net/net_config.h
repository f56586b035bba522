/* net_config.h: the vNode's NICs as the command line names them (net_options.h's row, read by
 * net_config.c). */
#ifndef LEGO_NET_CONFIG_H
#define LEGO_NET_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/mac_addr.h"

#define NET_CONFIG_MAX_NICS 8

struct vmm_options;

struct net_config_nic {
	char tap[IFNAMSIZ];
	uint8_t mac[MAC_ADDR_LEN];
	bool has_mac; /* given; otherwise made up by net_config_finish */
	uint32_t ip;  /* IPv4, network byte order; 0: not known */
};

struct net_config {
	int nr_nics;
	struct net_config_nic nics[NET_CONFIG_MAX_NICS];
};

void net_config_init(struct vmm_options *c);
/* After --vnode-id is known: every NIC has a MAC; no tap or MAC twice. */
int net_config_finish(struct vmm_options *c, char *err, size_t errlen);
/* The parsing of one --net value into nic (for tests): 0, or -1 with err. */
int net_config_parse(const char *arg, struct net_config_nic *nic, char *err, size_t errlen);

#endif
