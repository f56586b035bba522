/* virtio_net_vhost.h: the kernel's vhost-net (/dev/vhost-net) as a virtio-net device's data
 * path: guest RAM as its memory table, a queue's rings, eventfds and tap as its backend. */
#ifndef LEGO_VIRTIO_NET_VHOST_H
#define LEGO_VIRTIO_NET_VHOST_H

#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "virtqueue.h"
#include "vmm/kvm/guest_mem.h"

/* The virtio features vhost-net itself implements (of those lego offers): the others
 * (checksum and segmentation offloads) travel in the virtio-net header to the tap. */
#define VIRTIO_NET_VHOST_FEATURES                                               \
	((1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_RING_F_EVENT_IDX) | \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_F_VERSION_1))

struct virtio_net_vhost {
	int fd;
	uint64_t features; /* what this kernel's vhost-net offers (VHOST_GET_FEATURES) */
};

/* Open /dev/vhost-net, make this process its owner (its worker then uses our memory
 * through our page tables, so the userfaultfd pager serves its faults) and give it guest
 * RAM's slots. 0, or -1 with err. */
int virtio_net_vhost_open(struct virtio_net_vhost *vh, const struct guest_mem *mem, char *err,
			  size_t errlen);
void virtio_net_vhost_close(struct virtio_net_vhost *vh);

/* The features the driver accepted, as far as vhost-net implements them. 0 or -1 (err). */
int virtio_net_vhost_set_features(struct virtio_net_vhost *vh, uint64_t acked, char *err,
				  size_t errlen);

/* Queue q (0 rx, 1 tx) from vq's validated rings and its ring position (last_avail), with
 * its eventfds (kick: the driver's notify; call: the interrupt; error: vhost found the ring
 * malformed), then the tap as backend: from here vhost-net moves the queue's packets. */
int virtio_net_vhost_start(struct virtio_net_vhost *vh, int q, const struct virtqueue *vq,
			   int kick_fd, int call_fd, int err_fd, int tap_fd, char *err,
			   size_t errlen);

/* Detach queue q's backend (vhost-net finishes what it was doing first) and read back
 * where it stands in the avail ring. 0, or -1 with err. */
int virtio_net_vhost_stop(struct virtio_net_vhost *vh, int q, uint16_t *last_avail, char *err,
			  size_t errlen);

#endif
