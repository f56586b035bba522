/* wl_evil_net.c: evil on a virtio-net device: malformed rx and tx rings must leave the device
 * needing a reset with nothing used; malformed packets are dropped; the NIC works after. */
#include <stdbool.h>
#include <stdint.h>

#include "guest-drivers/runtime/alloc.h"
#include "guest-drivers/runtime/console.h"
#include "guest-drivers/runtime/fmt.h"
#include "guest-drivers/runtime/io.h"
#include "guest-drivers/runtime/kstring.h"
#include "guest-drivers/runtime/timing.h"
#include "guest-drivers/virtio/vio_net.h"
#include "lib/proto/lego_guest_abi.h"
#include "wl_evil_net.h"

#define RESET_WAIT_MS 5000 /* vhost-net reports a bad ring asynchronously */
#define USED_WAIT_MS  5000
#define QUIET_MS      50 /* a rejected chain must stay unused this long */
#define FRAME	      60
#define BIG	      (72 * 1024)
#define ITABLE	      4

struct evil_net {
	struct vio_net n;
	uint64_t ram_end;
	uint32_t peer, ip;
	uint8_t *pkt; /* a header and a frame, or a larger buffer for the oversized case */
	struct virtio_vring_desc *itable;
	uint16_t used_tx, used_rx;
	unsigned cases, failed;
};

static uint64_t gpa(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* A broadcast ARP request from our MAC: who has peer, tell ip (RFC 826). */
static void arp_request(const struct evil_net *e, uint8_t *f)
{
	memset(f, 0, FRAME);
	memset(f, 0xff, 6);
	memcpy(f + 6, e->n.mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	f[15] = 1;    /* Ethernet */
	f[16] = 0x08; /* IPv4 */
	f[18] = 6;
	f[19] = 4;
	f[21] = 1; /* request */
	memcpy(f + 22, e->n.mac, 6);
	for (int i = 0; i < 4; i++) {
		f[28 + i] = (uint8_t)(e->ip >> (24 - 8 * i));
		f[38 + i] = (uint8_t)(e->peer >> (24 - 8 * i));
	}
}

static void set_desc(struct vio_ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	r->desc[i] = (struct virtio_vring_desc){addr, len, flags, next};
}

static void publish(struct evil_net *e, unsigned q, struct vio_ring *r, uint16_t head)
{
	r->avail->ring[r->avail_idx % r->num] = head;
	r->avail_idx++;
	__atomic_store_n(&r->avail->idx, r->avail_idx, __ATOMIC_RELEASE);
	vio_mmio_notify(&e->n.dev, q);
}

/* The tx header and a frame at e->pkt: one device-readable descriptor 0. */
static void tx_frame(struct evil_net *e)
{
	memset(e->pkt, 0, VIRTIO_NET_HDR_BYTES);
	arp_request(e, e->pkt + VIRTIO_NET_HDR_BYTES);
	set_desc(&e->n.tx, 0, gpa(e->pkt), VIRTIO_NET_HDR_BYTES + FRAME, 0, 0);
}

/* ---- expected reactions ------------------------------------------------------------------ */

/* DEVICE_NEEDS_RESET within RESET_WAIT_MS, and (after a quiet moment) no chain used on the
 * queues that had nothing valid in them. */
static int expect_rejected(struct evil_net *e, bool tx_used_ok, char *err, size_t errlen)
{
	struct timing_deadline dl;
	uint32_t st;

	timing_deadline_start(&dl, RESET_WAIT_MS);
	while (!((st = vio_mmio_status(&e->n.dev)) & VIRTIO_S_DEVICE_NEEDS_RESET)) {
		if (timing_deadline_passed(&dl)) {
			fmt_snprintf(err, errlen, "DEVICE_NEEDS_RESET not set within %u ms (0x%x)",
				     RESET_WAIT_MS, st);
			return -1;
		}
		timing_delay_ms(1);
	}
	timing_delay_ms(QUIET_MS);
	if (vio_ring_used_idx(&e->n.rx) != e->used_rx ||
	    (!tx_used_ok && vio_ring_used_idx(&e->n.tx) != e->used_tx)) {
		fmt_snprintf(err, errlen, "a malformed chain was used (rx %u -> %u, tx %u -> %u)",
			     e->used_rx, vio_ring_used_idx(&e->n.rx), e->used_tx,
			     vio_ring_used_idx(&e->n.tx));
		return -1;
	}
	return 0;
}

/* A packet vhost-net cannot hand to the tap as it is (a header shorter than virtio-net's, a
 * checksum offset beyond the packet): it puts the chain back and holds the tx queue until
 * the next notify. The guest stalls itself only: neither used nor a reset. */
static int expect_held(struct evil_net *e, char *err, size_t errlen)
{
	timing_delay_ms(QUIET_MS * 4);
	if (vio_ring_used_idx(&e->n.tx) != e->used_tx ||
	    (vio_mmio_status(&e->n.dev) & VIRTIO_S_DEVICE_NEEDS_RESET)) {
		fmt_snprintf(err, errlen, "used (%u -> %u) or a reset asked (status 0x%x)",
			     e->used_tx, vio_ring_used_idx(&e->n.tx), vio_mmio_status(&e->n.dev));
		return -1;
	}
	return 0;
}

/* A well-formed chain the network refuses: used (the packet dropped), no reset. */
static int expect_dropped(struct evil_net *e, char *err, size_t errlen)
{
	struct timing_deadline dl;

	timing_deadline_start(&dl, USED_WAIT_MS);
	while (vio_ring_used_idx(&e->n.tx) == e->used_tx) {
		if (timing_deadline_passed(&dl)) {
			fmt_snprintf(err, errlen, "not used within %u ms (status 0x%x)",
				     USED_WAIT_MS, vio_mmio_status(&e->n.dev));
			return -1;
		}
		io_cpu_relax();
	}
	if (vio_mmio_status(&e->n.dev) & VIRTIO_S_DEVICE_NEEDS_RESET) {
		fmt_snprintf(err, errlen, "device needs reset: the chain was well-formed");
		return -1;
	}
	return 0;
}

/* ---- malformed tx rings ------------------------------------------------------------------- */

static int tx_bad_buffer(struct evil_net *e, uint64_t addr, uint32_t len, char *err, size_t errlen)
{
	set_desc(&e->n.tx, 0, addr, len, 0, 0);
	publish(e, VIRTIO_NET_TXQ, &e->n.tx, 0);
	return expect_rejected(e, false, err, errlen);
}

static int c_tx_beyond_ram(struct evil_net *e, char *err, size_t errlen)
{
	return tx_bad_buffer(e, e->ram_end, 4096, err, errlen);
}

static int c_tx_straddles_ram_end(struct evil_net *e, char *err, size_t errlen)
{
	return tx_bad_buffer(e, e->ram_end - 64, 4096, err, errlen);
}

static int c_tx_in_mmio(struct evil_net *e, char *err, size_t errlen)
{
	return tx_bad_buffer(e, LEGO_MMIO_BASE, 256, err, errlen);
}

static int c_tx_addr_wraps(struct evil_net *e, char *err, size_t errlen)
{
	return tx_bad_buffer(e, 0xfffffffffffff000ULL, 8192, err, errlen);
}

static int c_tx_len_4g(struct evil_net *e, char *err, size_t errlen)
{
	return tx_bad_buffer(e, gpa(e->pkt), 0xffffffffu, err, errlen);
}

static int c_tx_loop(struct evil_net *e, char *err, size_t errlen)
{
	set_desc(&e->n.tx, 0, gpa(e->pkt), VIRTIO_NET_HDR_BYTES, VRING_DESC_F_NEXT, 1);
	set_desc(&e->n.tx, 1, gpa(e->pkt) + 64, FRAME, VRING_DESC_F_NEXT, 0);
	publish(e, VIRTIO_NET_TXQ, &e->n.tx, 0);
	return expect_rejected(e, false, err, errlen);
}

static int c_tx_next_out_of_range(struct evil_net *e, char *err, size_t errlen)
{
	set_desc(&e->n.tx, 0, gpa(e->pkt), VIRTIO_NET_HDR_BYTES, VRING_DESC_F_NEXT, e->n.tx.num);
	publish(e, VIRTIO_NET_TXQ, &e->n.tx, 0);
	return expect_rejected(e, false, err, errlen);
}

static int c_tx_avail_idx_jump(struct evil_net *e, char *err, size_t errlen)
{
	tx_frame(e);
	e->n.tx.avail->ring[0] = 0;
	__atomic_store_n(&e->n.tx.avail->idx, (uint16_t)(e->n.tx.num + 1), __ATOMIC_RELEASE);
	vio_mmio_notify(&e->n.dev, VIRTIO_NET_TXQ);
	return expect_rejected(e, false, err, errlen);
}

static int c_tx_avail_entry_out_of_range(struct evil_net *e, char *err, size_t errlen)
{
	tx_frame(e);
	publish(e, VIRTIO_NET_TXQ, &e->n.tx, e->n.tx.num);
	return expect_rejected(e, false, err, errlen);
}

static int c_tx_device_writable(struct evil_net *e, char *err, size_t errlen)
{
	tx_frame(e);
	e->n.tx.desc[0].flags = VRING_DESC_F_WRITE;
	publish(e, VIRTIO_NET_TXQ, &e->n.tx, 0);
	return expect_rejected(e, false, err, errlen);
}

static int c_tx_indirect_beyond_ram(struct evil_net *e, char *err, size_t errlen)
{
	set_desc(&e->n.tx, 0, e->ram_end, 16 * ITABLE, VRING_DESC_F_INDIRECT, 0);
	publish(e, VIRTIO_NET_TXQ, &e->n.tx, 0);
	return expect_rejected(e, false, err, errlen);
}

static int c_tx_indirect_nested(struct evil_net *e, char *err, size_t errlen)
{
	tx_frame(e);
	e->itable[0] =
		(struct virtio_vring_desc){gpa(e->itable), 16 * ITABLE, VRING_DESC_F_INDIRECT, 0};
	set_desc(&e->n.tx, 0, gpa(e->itable), 16 * ITABLE, VRING_DESC_F_INDIRECT, 0);
	publish(e, VIRTIO_NET_TXQ, &e->n.tx, 0);
	return expect_rejected(e, false, err, errlen);
}

static int c_tx_indirect_bad_len(struct evil_net *e, char *err, size_t errlen)
{
	tx_frame(e);
	e->itable[0] = (struct virtio_vring_desc){gpa(e->pkt), VIRTIO_NET_HDR_BYTES + FRAME, 0, 0};
	set_desc(&e->n.tx, 0, gpa(e->itable), 17, VRING_DESC_F_INDIRECT, 0);
	publish(e, VIRTIO_NET_TXQ, &e->n.tx, 0);
	return expect_rejected(e, false, err, errlen);
}

/* ---- malformed rx rings: a frame must arrive for the device to look at them ------------------ */

/* rx descriptor 0 as given, then an ARP request out, whose answer lands in rx. */
static int rx_bad_buffer(struct evil_net *e, uint64_t addr, uint32_t len, uint16_t flags, char *err,
			 size_t errlen)
{
	set_desc(&e->n.rx, 0, addr, len, flags, 0);
	publish(e, VIRTIO_NET_RXQ, &e->n.rx, 0);
	tx_frame(e);
	publish(e, VIRTIO_NET_TXQ, &e->n.tx, 0);
	return expect_rejected(e, true, err, errlen);
}

static int c_rx_beyond_ram(struct evil_net *e, char *err, size_t errlen)
{
	return rx_bad_buffer(e, e->ram_end, 2048, VRING_DESC_F_WRITE, err, errlen);
}

static int c_rx_straddles_ram_end(struct evil_net *e, char *err, size_t errlen)
{
	volatile uint8_t *tail = (volatile uint8_t *)(uintptr_t)(e->ram_end - 4096);

	/* The in-RAM part of the buffer must stay as it was. */
	for (unsigned i = 0; i < 4096; i++)
		tail[i] = (uint8_t)(i * 31 + 7);
	if (rx_bad_buffer(e, e->ram_end - 1024, 4096, VRING_DESC_F_WRITE, err, errlen))
		return -1;
	for (unsigned i = 0; i < 4096; i++) {
		if (tail[i] != (uint8_t)(i * 31 + 7)) {
			fmt_snprintf(err, errlen, "the in-RAM part was written at 0x%lx",
				     e->ram_end - 4096 + i);
			return -1;
		}
	}
	return 0;
}

static int c_rx_device_readable(struct evil_net *e, char *err, size_t errlen)
{
	return rx_bad_buffer(e, gpa(e->pkt) + 4096, 2048, 0, err, errlen);
}

/* ---- well-formed rings, packets the network does not take: the device stays usable ------ */

static int c_tx_header_only(struct evil_net *e, char *err, size_t errlen)
{
	tx_frame(e);
	e->n.tx.desc[0].len = 8;
	publish(e, VIRTIO_NET_TXQ, &e->n.tx, 0);
	return expect_held(e, err, errlen);
}

static int c_tx_bad_gso(struct evil_net *e, char *err, size_t errlen)
{
	tx_frame(e);
	e->pkt[0] = 1;			 /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
	e->pkt[1] = 1;			 /* GSO TCPv4 */
	e->pkt[6] = 0xff, e->pkt[7] = 1; /* csum_start beyond the frame */
	publish(e, VIRTIO_NET_TXQ, &e->n.tx, 0);
	return expect_held(e, err, errlen);
}

static int c_tx_oversized(struct evil_net *e, char *err, size_t errlen)
{
	tx_frame(e);
	e->n.tx.desc[0].len = BIG;
	publish(e, VIRTIO_NET_TXQ, &e->n.tx, 0);
	return expect_dropped(e, err, errlen);
}

struct evil_net_case {
	const char *name;
	int (*fn)(struct evil_net *e, char *err, size_t errlen);
	bool needs_peer;
};

static const struct evil_net_case cases[] = {
	{"net-tx-desc-beyond-ram-end", c_tx_beyond_ram, false},
	{"net-tx-desc-straddles-ram-end", c_tx_straddles_ram_end, false},
	{"net-tx-desc-in-mmio-window", c_tx_in_mmio, false},
	{"net-tx-desc-addr-wraps", c_tx_addr_wraps, false},
	{"net-tx-desc-len-4g", c_tx_len_4g, false},
	{"net-tx-desc-loop", c_tx_loop, false},
	{"net-tx-next-out-of-range", c_tx_next_out_of_range, false},
	{"net-tx-avail-idx-jump", c_tx_avail_idx_jump, false},
	{"net-tx-avail-entry-out-of-range", c_tx_avail_entry_out_of_range, false},
	{"net-tx-device-writable", c_tx_device_writable, false},
	{"net-tx-indirect-beyond-ram", c_tx_indirect_beyond_ram, false},
	{"net-tx-indirect-nested", c_tx_indirect_nested, false},
	{"net-tx-indirect-bad-length", c_tx_indirect_bad_len, false},
	{"net-rx-desc-beyond-ram-end", c_rx_beyond_ram, true},
	{"net-rx-desc-straddles-ram-end", c_rx_straddles_ram_end, true},
	{"net-rx-device-readable", c_rx_device_readable, true},
	{"net-tx-header-only", c_tx_header_only, false},
	{"net-tx-bad-gso-header", c_tx_bad_gso, false},
	{"net-tx-oversized-frame", c_tx_oversized, false},
};

/* ---- driver ------------------------------------------------------------------------------- */

static void report(struct evil_net *e, const char *name, int r, const char *why)
{
	e->cases++;
	if (!r) {
		console_printf("evil: %s: ok\n", name);
		return;
	}
	e->failed++;
	console_printf("evil: %s: FAIL %s\n", name, why);
}

/* After a case: reset, and a frame (and with a peer, its answer) goes through. */
static int recover(struct evil_net *e, char *err, size_t errlen)
{
	uint8_t f[FRAME], in[128];
	uint32_t len;
	int r;

	if (vio_mmio_reset(&e->n.dev) || vio_net_reinit(&e->n, true, err, errlen))
		return -1;
	arp_request(e, f);
	if (vio_net_send(&e->n, f, FRAME, err, errlen))
		return -1;
	if (!e->peer)
		return 0;
	/* The answer (skipping anything else that arrives). */
	for (int tries = 0; tries < 16; tries++) {
		r = vio_net_recv(&e->n, in, sizeof(in), &len, USED_WAIT_MS, err, errlen);
		if (r < 0)
			return -1;
		if (!r)
			break;
		if (len >= 42 && in[12] == 0x08 && in[13] == 0x06 && in[21] == 2 &&
		    !memcmp(in, e->n.mac, 6))
			return 0;
	}
	fmt_snprintf(err, errlen, "no ARP answer from the peer within %u ms", USED_WAIT_MS);
	return -1;
}

static void run_case(struct evil_net *e, const struct evil_net_case *c)
{
	char why[200] = "", rwhy[200] = "";
	int r = 0;

	if (vio_mmio_reset(&e->n.dev) || vio_net_reinit(&e->n, false, why, sizeof(why))) {
		report(e, c->name, -1, why);
		return;
	}
	e->used_tx = vio_ring_used_idx(&e->n.tx);
	e->used_rx = vio_ring_used_idx(&e->n.rx);
	r = c->fn(e, why, sizeof(why));
	if (recover(e, rwhy, sizeof(rwhy))) {
		if (!r)
			fmt_snprintf(why, sizeof(why), "the NIC did not recover: %s", rwhy);
		r = -1;
	}
	report(e, c->name, r, why);
}

bool wl_evil_net(const struct workloads_ctx *ctx, uint64_t base, unsigned *nr_cases,
		 unsigned *nr_failed)
{
	static struct evil_net ev;
	struct evil_net *e = &ev;
	char err[200];
	unsigned skipped = 0;

	memset(e, 0, sizeof(*e));
	e->ram_end = ram_end(ctx->bi);
	e->peer = ctx->opts->evil_peer;
	e->ip = ctx->opts->evil_ip;
	e->pkt = alloc_bytes(BIG + 8192, 4096);
	e->itable = alloc_bytes(16 * ITABLE, 16);
	if (alloc_top() > e->ram_end - 64 * 1024)
		e->pkt = NULL; /* the RAM-end cases need the last 64 KiB free */
	if (!e->pkt || !e->itable || vio_net_init(&e->n, base, true, err, sizeof(err)) ||
	    recover(e, err, sizeof(err))) {
		report(e, "net-setup", -1, e->pkt ? err : "out of guest memory");
		goto out;
	}
	console_printf("evil: virtio-net@0x%lx, MAC %02x:%02x:%02x:%02x:%02x:%02x, peer %s\n", base,
		       e->n.mac[0], e->n.mac[1], e->n.mac[2], e->n.mac[3], e->n.mac[4], e->n.mac[5],
		       e->peer ? "set" : "none (rx cases skipped)");
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].needs_peer && !e->peer) {
			skipped++;
			continue;
		}
		run_case(e, &cases[i]);
	}
	if (skipped)
		console_printf("evil: %u net case(s) skipped: no evil.peer\n", skipped);
out:
	vio_net_shutdown(&e->n);
	*nr_cases += e->cases;
	*nr_failed += e->failed;
	return !e->failed;
}
