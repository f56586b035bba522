/* net_tap.h: a tap device that exists already, attached with a virtio-net header; its counters
 * through rtnetlink; frames written into it. */
#ifndef LEGO_NET_TAP_H
#define LEGO_NET_TAP_H

#include <stddef.h>
#include <stdint.h>

/* The tap's counters, as the kernel keeps them for the interface (the host's side: what it
 * transmits is what the guest receives). */
struct net_tap_stats {
	uint64_t rx_bytes, rx_packets, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_dropped;
};

/* Attach to the tap named name (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a hdr_bytes-byte
 * virtio-net header): the fd, with its interface index in *ifindex, or -1 with err. A name
 * that is not an existing persistent tap is refused: lego-vmm never creates interfaces. */
int net_tap_open(const char *name, int hdr_bytes, int *ifindex, char *err, size_t errlen);

/* The counters of interface ifindex (RTM_GETLINK, IFLA_STATS64): 0, or -1 with err. */
int net_tap_stats(int ifindex, struct net_tap_stats *st, char *err, size_t errlen);

/* Write one frame (len bytes, Ethernet header first) into the tap as if the guest sent it,
 * behind an all-zero hdr_bytes virtio-net header: 0, or -1 (errno). */
int net_tap_send(int fd, int hdr_bytes, const void *frame, size_t len);

#endif
