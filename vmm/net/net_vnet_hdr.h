/* net_vnet_hdr.h: a virtio-net header (virtio 1.x: little-endian, with num_buffers) checked
 * against its frame before lego-vmm hands the kernel a frame it did not read itself. */
#ifndef LEGO_NET_VNET_HDR_H
#define LEGO_NET_VNET_HDR_H

#include <stddef.h>
#include <stdint.h>

/* struct virtio_net_hdr_mrg_rxbuf: the header on lego's taps. */
#define NET_VNET_HDR_BYTES 12

/* Whether hdr (NET_VNET_HDR_BYTES) describes frame (len bytes from its Ethernet header) as
 * a tap with lego's offloads (checksum, TSO4/6 with ECN: virtio_net.c) would: only the
 * NEEDS_CSUM and DATA_VALID flags; a checksum to fill that lies in the frame, past the
 * Ethernet header; no segmentation, or TCPv4/TCPv6 segmentation (ECN allowed) of an IPv4/
 * IPv6 frame (a VLAN tag looked through) with a non-zero segment size, NEEDS_CSUM and
 * hdr_len within the frame; without segmentation, no segment size. 0, or -1 with why. */
int net_vnet_hdr_check(const uint8_t *hdr, const uint8_t *frame, size_t len, char *why,
		       size_t whylen);

#endif
