/* virtio_net.h: virtio-net device model (one rx/tx queue pair) whose data path is the
 * kernel's vhost-net on a tap device. */
#ifndef LEGO_VIRTIO_NET_H
#define LEGO_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vmm/kvm/bus.h"
#include "vmm/kvm/guest_mem.h"
#include "virtio_mmio.h"

#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1
/* The virtio-net header on the tap (struct virtio_net_hdr_mrg_rxbuf: virtio 1.x's). */
#define VIRTIO_NET_HDR_BYTES 12

/* What the device offers the driver besides VIRTIO_F_VERSION_1 (virtio 1.1 §5.1.3): its MAC,
 * a link that is always up, mergeable rx buffers, notification suppression and indirect
 * descriptors (vhost-net's: a 64 KiB TSO frame is then one ring entry, not ~18, as QEMU's
 * device offers it), checksum and TCP segmentation offload both ways (through the tap's
 * virtio-net header). */
#define VIRTIO_NET_OFFERED                                                       \
	((1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |            \
	 (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |  \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_NET_F_CSUM) |   \
	 (1ULL << VIRTIO_NET_F_GUEST_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4) |  \
	 (1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_HOST_ECN) |    \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) | \
	 (1ULL << VIRTIO_NET_F_GUEST_ECN))

struct virtio_net_params {
	uint8_t mac[6];
	int tap_fd; /* attached with a VIRTIO_NET_HDR_BYTES virtio-net header; not ours */
	bool held;  /* a vNode migrating in: no data path until virtio_net_release */
};

/* Create the device (its vhost-net opened, guest RAM its memory table) and register its
 * window at base. NULL, with err, on failure. */
struct virtio_mmio_dev *virtio_net_create(struct bus *bus, struct guest_mem *mem, uint64_t base,
					  const struct virtio_net_params *p, char *err,
					  size_t errlen);
/* Stop the data path and free. Call after the vCPUs stopped and the device was unhooked from
 * KVM, before the pager stops (vhost-net's worker may be inside guest RAM). */
void virtio_net_destroy(struct virtio_mmio_dev *dev);

/* Live migration. pause: the data path stops (after the vCPUs paused, before the final
 * write-back: vhost-net writes guest RAM) and the rings' positions go into the queues' state
 * for virtio_mmio_save. resume: the migration failed, carry on. release: the vNode runs here
 * now (a destination): start what the driver had started, with an interrupt and a kick each,
 * for anything that happened in between. */
void virtio_net_pause(struct virtio_mmio_dev *dev);
void virtio_net_resume(struct virtio_mmio_dev *dev);
void virtio_net_release(struct virtio_mmio_dev *dev);

const uint8_t *virtio_net_mac(const struct virtio_mmio_dev *dev);

/* Why a queue's next chains are malformed for a virtio-net device (rx: device-writable
 * buffers only; tx: device-readable only), checked on a copy from vq's last_avail (from the
 * chain before it if that one was taken but never used), or "" if they look well-formed.
 * For the log line of a ring vhost-net refused. */
void virtio_net_describe(const struct virtqueue *vq, const struct guest_mem *mem, int q, char *out,
			 size_t len);

#endif
