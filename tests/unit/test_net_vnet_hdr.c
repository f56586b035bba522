/* test_net_vnet_hdr.c: the virtio-net header of a frame lego-vmm did not read itself (the
 * frames a migration carries) checked against the frame: every rule, and a held frame with a
 * bad header refused by the backlog (added from a stream) or dropped (read from a tap). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <linux/if_ether.h>
#include <linux/virtio_net.h>

#include "vmm/net/net_backlog.h"
#include "vmm/net/net_vnet_hdr.h"

#define FRAME 1514

struct pkt {
	uint8_t hdr[NET_VNET_HDR_BYTES];
	uint8_t frame[FRAME];
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* A TCPv4 (or v6) frame with a header as a tap gives it for a TSO frame of mss gso_size. */
static void tso(struct pkt *p, bool v6)
{
	memset(p, 0, sizeof(*p));
	p->frame[12] = v6 ? 0x86 : 0x08;
	p->frame[13] = v6 ? 0xdd : 0x00;
	p->hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->hdr[1] = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	put16(p->hdr + 2, v6 ? 74 : 54); /* hdr_len */
	put16(p->hdr + 4, 1448);	 /* gso_size */
	put16(p->hdr + 6, v6 ? 54 : 34); /* csum_start: the TCP header */
	put16(p->hdr + 8, 16);		 /* csum_offset: TCP's checksum */
}

static int check(const struct pkt *p, size_t len, char *why)
{
	return net_vnet_hdr_check(p->hdr, p->frame, len, why, 160);
}

static void test_good(void **state)
{
	struct pkt p;
	char why[160];

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(check(&p, FRAME, why), 0); /* no offload at all */
	assert_int_equal(check(&p, ETH_HLEN, why), 0);
	p.hdr[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	assert_int_equal(check(&p, FRAME, why), 0);
	tso(&p, false);
	assert_int_equal(check(&p, FRAME, why), 0);
	p.hdr[1] |= VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(check(&p, FRAME, why), 0);
	tso(&p, true);
	assert_int_equal(check(&p, FRAME, why), 0);
	/* Behind a VLAN tag. */
	tso(&p, false);
	p.frame[12] = 0x81;
	p.frame[16] = 0x08;
	assert_int_equal(check(&p, FRAME, why), 0);
	/* A checksum to fill without segmentation; its last byte the frame's last. */
	memset(&p, 0, sizeof(p));
	p.hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	put16(p.hdr + 6, 34);
	put16(p.hdr + 8, 6);
	assert_int_equal(check(&p, 42, why), 0);
}

static void expect_bad(const struct pkt *p, size_t len, const char *words)
{
	char why[160] = "";

	assert_int_equal(check(p, len, why), -1);
	if (!strstr(why, words))
		fail_msg("'%s' does not say '%s'", why, words);
}

static void test_bad(void **state)
{
	struct pkt p;

	(void)state;
	memset(&p, 0, sizeof(p));
	expect_bad(&p, ETH_HLEN - 1, "less than an Ethernet header");
	p.hdr[0] = 0x80;
	expect_bad(&p, FRAME, "unknown bits 0x80");
	/* The checksum: in the Ethernet header, past the end, or wrapping 16 bits. */
	memset(&p, 0, sizeof(p));
	p.hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	put16(p.hdr + 6, 4);
	expect_bad(&p, FRAME, "outside the frame");
	put16(p.hdr + 6, 34);
	put16(p.hdr + 8, 7);
	expect_bad(&p, 42, "outside the frame");
	put16(p.hdr + 6, 0xffff);
	put16(p.hdr + 8, 0xffff);
	expect_bad(&p, FRAME, "outside the frame");
	/* No segmentation, but its fields. */
	memset(&p, 0, sizeof(p));
	p.hdr[1] = VIRTIO_NET_HDR_GSO_ECN;
	expect_bad(&p, FRAME, "ECN without segmentation");
	p.hdr[1] = 0;
	put16(p.hdr + 4, 1448);
	expect_bad(&p, FRAME, "without segmentation");
	/* Types lego's taps never offer, and unknown ones. */
	tso(&p, false);
	p.hdr[1] = VIRTIO_NET_HDR_GSO_UDP;
	expect_bad(&p, FRAME, "segmentation type 3");
	p.hdr[1] = 5; /* VIRTIO_NET_HDR_GSO_UDP_L4, newer than these headers */
	expect_bad(&p, FRAME, "segmentation type 5");
	p.hdr[1] = 0x7f;
	expect_bad(&p, FRAME, "segmentation type 127");
	/* The type against the frame's protocol: v4 of an IPv6 frame, v6 of ARP, short VLAN. */
	tso(&p, true);
	p.hdr[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	expect_bad(&p, FRAME, "TCPv4 segmentation of a frame of protocol 0x86dd");
	tso(&p, true);
	p.frame[13] = 0x06;
	p.frame[12] = 0x08;
	expect_bad(&p, FRAME, "TCPv6 segmentation of a frame of protocol 0x0806");
	tso(&p, false);
	p.frame[12] = 0x81;
	p.frame[13] = 0x00;
	put16(p.hdr + 6, ETH_HLEN);
	put16(p.hdr + 8, 0);
	expect_bad(&p, ETH_HLEN + 2, "protocol 0x0000");
	/* Segment size 0, no NEEDS_CSUM, headers longer than the frame. */
	tso(&p, false);
	put16(p.hdr + 4, 0);
	expect_bad(&p, FRAME, "segment size 0");
	tso(&p, false);
	p.hdr[0] = 0;
	expect_bad(&p, FRAME, "without NEEDS_CSUM");
	tso(&p, false);
	put16(p.hdr + 2, FRAME + 1);
	expect_bad(&p, FRAME, "headers of 1515 bytes");
}

/* The backlog: a frame from a stream with a bad header is refused with why; one read from a
 * tap with a bad header is left out, the good ones around it kept in order. */
static void test_backlog_headers(void **state)
{
	struct net_backlog b;
	struct pkt p;
	char err[200];
	int sv[2];

	(void)state;
	net_backlog_init(&b);
	tso(&p, false);
	assert_int_equal(net_backlog_add(&b, p.hdr, sizeof(p), err, sizeof(err)), 0);
	p.hdr[1] = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(net_backlog_add(&b, p.hdr, sizeof(p), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "virtio-net header: segmentation type 3"));
	assert_int_equal(b.nr, 1);
	net_backlog_free(&b);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	for (int i = 0; i < 3; i++) {
		tso(&p, false);
		p.frame[100] = (uint8_t)('a' + i);
		if (i == 1)
			put16(p.hdr + 4, 0);
		assert_int_equal(write(sv[1], &p, sizeof(p)), (ssize_t)sizeof(p));
	}
	assert_int_equal(net_backlog_read(&b, sv[0]), 2);
	assert_int_equal(b.head->data[NET_VNET_HDR_BYTES + 100], 'a');
	assert_int_equal(b.head->next->data[NET_VNET_HDR_BYTES + 100], 'c');
	net_backlog_free(&b);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_backlog_headers),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("net_vnet_hdr", tests, NULL, NULL);
}
