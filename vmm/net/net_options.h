/* net_options.h: lego-vmm's network option (a row of vmm/options.h): virtio-net NICs on tap
 * devices that exist already; handled in net_config.c. No code. */
#ifndef LEGO_NET_OPTIONS_H
#define LEGO_NET_OPTIONS_H

#define NET_OPTIONS(X)                                                                           \
	X(net_config_net, "net", 0, "tap=IFNAME[,mac=MAC][,ip=ADDR]", 0,                         \
	  "a virtio-net NIC on the existing tap device IFNAME (lego-vmm attaches to it, with "   \
	  "vhost-net as its data path, and never creates or configures interfaces); MAC is "     \
	  "the guest's address (default: a locally administered one made from the vNode id "     \
	  "and the NIC's index); ADDR, its IPv4 address if known, is announced with "            \
	  "gratuitous ARP after a migration (RARP always). Repeat for eth1, eth2, ... (max %d)", \
	  NET_CONFIG_MAX_NICS)

#endif
