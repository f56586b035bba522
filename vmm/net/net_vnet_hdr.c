/* net_vnet_hdr.c: a frame's virtio-net header checked against the frame itself. */
#include "net_vnet_hdr.h"

#include <linux/if_ether.h>
#include <linux/virtio_net.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static unsigned le16(const uint8_t *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* The frame's network protocol (host order), past one VLAN tag; 0 if too short. */
static unsigned ethertype(const uint8_t *frame, size_t len)
{
	unsigned t;

	if (len < ETH_HLEN)
		return 0;
	t = (unsigned)frame[12] << 8 | frame[13];
	if (t == ETH_P_8021Q || t == ETH_P_8021AD)
		t = len < ETH_HLEN + 4 ? 0 : ((unsigned)frame[16] << 8 | frame[17]);
	return t;
}

__attribute__((format(printf, 3, 4))) static int bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

int net_vnet_hdr_check(const uint8_t *hdr, const uint8_t *frame, size_t len, char *why,
		       size_t whylen)
{
	const unsigned known = VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	unsigned flags = hdr[0], gso = hdr[1], hdr_len = le16(hdr + 2), gso_size = le16(hdr + 4);
	unsigned start = le16(hdr + 6), off = le16(hdr + 8);
	unsigned type = gso & ~(unsigned)VIRTIO_NET_HDR_GSO_ECN;
	bool csum = flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;

	if (len < ETH_HLEN)
		return bad(why, whylen, "a frame of %zu bytes (less than an Ethernet header)", len);
	if (flags & ~known)
		return bad(why, whylen, "flags 0x%x has unknown bits 0x%x", flags, flags & ~known);
	if (csum && (start < ETH_HLEN || (size_t)start + off + 2 > len))
		return bad(why, whylen, "a checksum at %u+%u outside the frame's payload", start,
			   off);
	if (type == VIRTIO_NET_HDR_GSO_NONE) {
		if (gso & VIRTIO_NET_HDR_GSO_ECN)
			return bad(why, whylen, "ECN without segmentation");
		if (gso_size)
			return bad(why, whylen, "segment size %u without segmentation", gso_size);
		return 0;
	}
	if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6)
		return bad(why, whylen, "segmentation type %u (lego's taps offer TCPv4/v6 only)",
			   type);
	if (ethertype(frame, len) != (type == VIRTIO_NET_HDR_GSO_TCPV4 ? ETH_P_IP : ETH_P_IPV6))
		return bad(why, whylen, "TCPv%u segmentation of a frame of protocol 0x%04x",
			   type == VIRTIO_NET_HDR_GSO_TCPV4 ? 4 : 6, ethertype(frame, len));
	if (!gso_size)
		return bad(why, whylen, "segmentation with segment size 0");
	if (!csum)
		return bad(why, whylen, "segmentation without NEEDS_CSUM");
	if (hdr_len > len)
		return bad(why, whylen, "headers of %u bytes in a frame of %zu", hdr_len, len);
	return 0;
}
