/* vio_net.c: virtio-net frames over two polled split virtqueues (rx 0, tx 1). */
#include "vio_net.h"

#include "guest-drivers/runtime/alloc.h"
#include "guest-drivers/runtime/fmt.h"
#include "guest-drivers/runtime/io.h"
#include "guest-drivers/runtime/kstring.h"
#include "guest-drivers/runtime/timing.h"

int vio_net_find(const struct boot_info *bi, uint64_t *base)
{
	for (int i = 0; i < bi->nr_virtio; i++) {
		struct vio_mmio_dev d;
		char why[128];

		if (vio_mmio_probe(&d, bi->virtio[i].base, why, sizeof(why)))
			continue;
		if (d.device_id == VIRTIO_ID_NET) {
			*base = bi->virtio[i].base;
			return 0;
		}
	}
	return -1;
}

static void post_rx(struct vio_net *n, unsigned i)
{
	struct vio_ring_buf b = {(uint64_t)(uintptr_t)(n->rx_bufs + i * VIO_NET_BUF), VIO_NET_BUF,
				 true};

	vio_ring_add(&n->rx, &b, 1);
}

static int enable(struct vio_net *n, unsigned q, struct vio_ring *r, char *err, size_t errlen)
{
	vio_ring_init(r);
	if (vio_mmio_queue_max(&n->dev, q) < r->num ||
	    vio_mmio_queue_enable(&n->dev, q, r->num, (uint64_t)(uintptr_t)r->desc,
				  (uint64_t)(uintptr_t)r->avail, (uint64_t)(uintptr_t)r->used)) {
		fmt_snprintf(err, errlen, "virtio-net@0x%lx: queue %u not ready", n->dev.base, q);
		return -1;
	}
	return 0;
}

static int setup(struct vio_net *n, bool post, char *err, size_t errlen)
{
	if (vio_mmio_negotiate(&n->dev, 1ULL << VIRTIO_NET_F_MAC, err, errlen))
		return -1;
	for (int i = 0; i < 6; i++)
		n->mac[i] = (uint8_t)(vio_mmio_config32(&n->dev, VIRTIO_NET_CFG_MAC + (i & ~3)) >>
				      (8 * (i & 3)));
	if (enable(n, VIRTIO_NET_RXQ, &n->rx, err, errlen) ||
	    enable(n, VIRTIO_NET_TXQ, &n->tx, err, errlen)) {
		vio_mmio_set_status(&n->dev, VIRTIO_S_FAILED);
		return -1;
	}
	n->rx_posted = post;
	for (unsigned i = 0; post && i < VIO_NET_RX_BUFS; i++)
		post_rx(n, i);
	vio_mmio_driver_ok(&n->dev);
	if (post)
		vio_mmio_notify(&n->dev, VIRTIO_NET_RXQ);
	if (vio_mmio_status(&n->dev) & VIRTIO_S_DEVICE_NEEDS_RESET) {
		fmt_snprintf(err, errlen, "virtio-net@0x%lx: device needs reset right after init",
			     n->dev.base);
		return -1;
	}
	return 0;
}

int vio_net_init(struct vio_net *n, uint64_t base, bool post, char *err, size_t errlen)
{
	if (vio_mmio_probe(&n->dev, base, err, errlen))
		return -1;
	if (n->dev.device_id != VIRTIO_ID_NET) {
		fmt_snprintf(err, errlen, "virtio-mmio@0x%lx is device %u, not a NIC", base,
			     n->dev.device_id);
		return -1;
	}
	if (!n->rx_bufs) {
		vio_mmio_reg_write(&n->dev, VIRTIO_STATUS, 0);
		n->rx_bufs = alloc_bytes(VIO_NET_RX_BUFS * VIO_NET_BUF, 4096);
		n->tx_buf = alloc_bytes(VIO_NET_BUF, 4096);
		if (!n->rx_bufs || !n->tx_buf || vio_ring_alloc(&n->rx, VIO_NET_QUEUE_SIZE) ||
		    vio_ring_alloc(&n->tx, VIO_NET_QUEUE_SIZE)) {
			fmt_snprintf(err, errlen, "virtio-net@0x%lx: out of guest memory", base);
			return -1;
		}
	}
	return setup(n, post, err, errlen);
}

int vio_net_reinit(struct vio_net *n, bool post, char *err, size_t errlen)
{
	return setup(n, post, err, errlen);
}

void vio_net_shutdown(struct vio_net *n)
{
	if (n->dev.base)
		vio_mmio_reset(&n->dev);
}

/* Wait for the next used element of r: 1, 0 on timeout, -1 with err. */
static int wait_used(struct vio_net *n, struct vio_ring *r, uint64_t timeout_ms, uint16_t *head,
		     uint32_t *len, char *err, size_t errlen)
{
	struct timing_deadline dl;
	unsigned polls = 0;

	timing_deadline_start(&dl, timeout_ms);
	for (;;) {
		int got = vio_ring_get_used(r, head, len);

		if (got > 0)
			return 1;
		if (got < 0) {
			fmt_snprintf(err, errlen, "virtio-net: device used a chain not in flight");
			return -1;
		}
		if (++polls % 1024 == 0 &&
		    (vio_mmio_status(&n->dev) & VIRTIO_S_DEVICE_NEEDS_RESET)) {
			fmt_snprintf(err, errlen, "virtio-net: device needs reset (status 0x%x)",
				     vio_mmio_status(&n->dev));
			return -1;
		}
		if (timing_deadline_passed(&dl))
			return 0;
		io_cpu_relax();
	}
}

int vio_net_send(struct vio_net *n, const void *frame, uint32_t len, char *err, size_t errlen)
{
	struct vio_ring_buf b = {(uint64_t)(uintptr_t)n->tx_buf, VIRTIO_NET_HDR_BYTES + len, false};
	uint16_t head;
	uint32_t used;
	int r;

	if (len > VIO_NET_BUF - VIRTIO_NET_HDR_BYTES || vio_ring_add(&n->tx, &b, 1) < 0) {
		fmt_snprintf(err, errlen, "virtio-net: frame too long or tx ring full");
		return -1;
	}
	memset(n->tx_buf, 0, VIRTIO_NET_HDR_BYTES);
	memcpy(n->tx_buf + VIRTIO_NET_HDR_BYTES, frame, len);
	vio_mmio_notify(&n->dev, VIRTIO_NET_TXQ);
	r = wait_used(n, &n->tx, VIO_NET_TIMEOUT_MS, &head, &used, err, errlen);
	if (r == 0)
		fmt_snprintf(err, errlen, "virtio-net: frame not sent within %u ms (status 0x%x)",
			     VIO_NET_TIMEOUT_MS, vio_mmio_status(&n->dev));
	return r > 0 ? 0 : -1;
}

int vio_net_recv(struct vio_net *n, void *out, uint32_t cap, uint32_t *len, uint64_t timeout_ms,
		 char *err, size_t errlen)
{
	uint16_t head;
	uint32_t used;
	uint8_t *buf;
	int r;

	if (!n->rx_posted) {
		fmt_snprintf(err, errlen, "virtio-net: no rx buffers posted");
		return -1;
	}
	r = wait_used(n, &n->rx, timeout_ms, &head, &used, err, errlen);
	if (r <= 0)
		return r;
	buf = (uint8_t *)(uintptr_t)n->rx.desc[head].addr;
	if (used < VIRTIO_NET_HDR_BYTES || used > VIO_NET_BUF) {
		fmt_snprintf(err, errlen, "virtio-net: rx used length %u", used);
		return -1;
	}
	*len = used - VIRTIO_NET_HDR_BYTES;
	if (*len > cap)
		*len = cap;
	memcpy(out, buf + VIRTIO_NET_HDR_BYTES, *len);
	post_rx(n, (unsigned)((buf - n->rx_bufs) / VIO_NET_BUF));
	vio_mmio_notify(&n->dev, VIRTIO_NET_RXQ);
	return 1;
}
