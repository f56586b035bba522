/* pmon_nft.h: lego-pmon's nftables rules (libnftables), replaced whole and atomically at
 * every change of its networks:
 *   table bridge lego_pmon: each vNode tap may send only from its own MAC and address (DHCP
 *     from 0.0.0.0, ARP for its own address, RARP announces; nothing else: libvirt's
 *     clean-traffic filter); DHCP never crosses the overlay (each host's dnsmasq answers its
 *     own vNodes); nothing from the overlay is for this host, nothing this host sends (its
 *     DHCP server, its gateway address) goes on it;
 *   table inet lego_pmon: VXLAN only from the hosts lego-controld lists; from a network's
 *     bridge this host takes DHCP requests only, and routes nothing in or out (networks never
 *     reach each other, nor anything else, through a host). */
#ifndef LEGO_PMON_NFT_H
#define LEGO_PMON_NFT_H

#include <stddef.h>
#include <stdint.h>

struct pmon_nft_port {
	char tap[16];
	uint8_t mac[6];
	uint32_t ip; /* host order */
};

struct pmon_nft_state {
	int nr_vnis; /* the networks built on this host (0: the tables go) */
	const uint32_t *vnis;
	int nr_ports;
	const struct pmon_nft_port *ports;
	int nr_peers; /* the other hosts' VXLAN addresses */
	const uint32_t *peers;
	uint16_t vxlan_port;
};

/* The rules for state s, in one transaction: 0, or -1 with nft's complaint in err. */
int pmon_nft_apply(const struct pmon_nft_state *s, char *err, size_t errlen);

#endif
