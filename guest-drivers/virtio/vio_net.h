/* vio_net.h: polling virtio-net driver: one frame sent at a time, a few rx buffers posted. */
#ifndef GUEST_VIO_NET_H
#define GUEST_VIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-drivers/runtime/boot_info.h"
#include "vio_mmio.h"
#include "vio_ring.h"

#define VIO_NET_QUEUE_SIZE 16
#define VIO_NET_RX_BUFS	   8
#define VIO_NET_BUF	   2048 /* a header and a 1514-byte frame fit */
#define VIO_NET_TIMEOUT_MS 5000

struct vio_net {
	struct vio_mmio_dev dev;
	struct vio_ring rx, tx;
	uint8_t mac[6];
	uint8_t *rx_bufs; /* VIO_NET_RX_BUFS x VIO_NET_BUF, posted in the rx queue */
	uint8_t *tx_buf;  /* VIO_NET_BUF: the frame in flight, its header first */
	bool rx_posted;
};

/* The MMIO base of the first virtio-net device in bi; 0 if found, -1 if none. */
int vio_net_find(const struct boot_info *bi, uint64_t *base);

/* Allocate rings and buffers (first call only), negotiate (VIRTIO_F_VERSION_1, the MAC),
 * enable both queues and set DRIVER_OK; post_rx: fill the rx queue. 0, or -1 with err. */
int vio_net_init(struct vio_net *n, uint64_t base, bool post_rx, char *err, size_t errlen);
/* Reset and set up again on the same memory. */
int vio_net_reinit(struct vio_net *n, bool post_rx, char *err, size_t errlen);
/* Reset the device (it stops using our memory). */
void vio_net_shutdown(struct vio_net *n);

/* Send one Ethernet frame (len bytes) behind a zero header and wait for it to be used:
 * 0, or -1 with err (timeout, a device that needs a reset, a bogus used element). */
int vio_net_send(struct vio_net *n, const void *frame, uint32_t len, char *err, size_t errlen);
/* Wait up to timeout_ms for a received frame: 1 with it copied to out (*len bytes, header
 * removed), 0 on timeout, -1 with err. The buffer goes back to the rx queue. */
int vio_net_recv(struct vio_net *n, void *out, uint32_t cap, uint32_t *len, uint64_t timeout_ms,
		 char *err, size_t errlen);

#endif
