/* vio_ring.h: driver side of a split virtqueue: descriptor free list, avail publish, used reap. */
#ifndef GUEST_VIO_RING_H
#define GUEST_VIO_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"

#define VIO_RING_MAX_SIZE 128 /* we never use more entries than this, whatever QueueNumMax says */

struct vio_ring_buf {
	uint64_t addr;
	uint32_t len;
	bool write; /* device-writable */
};

struct vio_ring {
	uint16_t num;
	struct virtio_vring_desc *desc;
	struct virtio_vring_avail *avail;
	struct virtio_vring_used *used;
	uint16_t avail_idx; /* our copy of avail->idx */
	uint16_t last_used; /* next used->idx entry to reap */
	uint16_t free_head;
	uint16_t nr_free;
	uint16_t next[VIO_RING_MAX_SIZE];      /* our own copy of each descriptor's next link */
	uint16_t chain_len[VIO_RING_MAX_SIZE]; /* by head: descriptors in the chain, 0 if free */
};

/* Allocate the rings for num entries (a power of two <= VIO_RING_MAX_SIZE) from the heap:
 * descriptor table, avail and used ring in one page-aligned block. 0 or -1. */
int vio_ring_alloc(struct vio_ring *vq, uint16_t num);
/* Zero the rings and make every descriptor free (after a device reset). */
void vio_ring_init(struct vio_ring *vq);

/* Put a chain of n buffers in the ring and publish it (avail->idx, release). Returns
 * the head, or -1 if fewer than n descriptors are free. The caller notifies. */
int vio_ring_add(struct vio_ring *vq, const struct vio_ring_buf *bufs, unsigned n);

/* Reap one used element: 1 with *head and *len set (its descriptors freed), 0 if none,
 * -1 if the device returned a head that was not in flight. */
int vio_ring_get_used(struct vio_ring *vq, uint16_t *head, uint32_t *len);

/* used->idx (acquire) */
uint16_t vio_ring_used_idx(const struct vio_ring *vq);

#endif
