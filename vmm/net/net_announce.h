/* net_announce.h: a NIC's self-announcement after a live migration, as QEMU's: a RARP frame
 * (and a gratuitous ARP when the NIC's IPv4 address is known) from the guest's MAC, in
 * several rounds with growing gaps, so that every bridge and switch learns its new port. */
#ifndef LEGO_NET_ANNOUNCE_H
#define LEGO_NET_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/mac_addr.h"

#define NET_ANNOUNCE_FRAME	  60 /* the Ethernet minimum, padding included */
#define NET_ANNOUNCE_ROUNDS	  5
#define NET_ANNOUNCE_FIRST_GAP_MS 50  /* after the first round, sent at once */
#define NET_ANNOUNCE_GAP_STEP_MS  100 /* each gap that much longer: 50, 150, 250, 350 ms */

/* The RARP request (ethertype 0x8035, "reverse request" for mac) into out. */
void net_announce_rarp(const uint8_t mac[MAC_ADDR_LEN], uint8_t out[NET_ANNOUNCE_FRAME]);
/* The gratuitous ARP request for ip (network byte order) from mac into out. */
void net_announce_garp(const uint8_t mac[MAC_ADDR_LEN], uint32_t ip,
		       uint8_t out[NET_ANNOUNCE_FRAME]);

/* One NIC to announce: where its frames go. */
struct net_announce_nic {
	int tap_fd, hdr_bytes;
	uint8_t mac[MAC_ADDR_LEN];
	uint32_t ip; /* 0: unknown, RARP only */
	char name[24];
};

struct net_announce;

/* Announce every NIC, NET_ANNOUNCE_ROUNDS rounds, on a thread of its own (a write that fails
 * is logged, never fatal). NULL if it could not start (logged). */
struct net_announce *net_announce_start(const struct net_announce_nic *nics, int nr);
/* Cut the rounds short, wait for the thread, free (before the taps close). NULL: no-op. */
void net_announce_stop(struct net_announce *a);

#endif
