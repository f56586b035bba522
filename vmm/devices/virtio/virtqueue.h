/* virtqueue.h: device side of a split virtqueue: validated ring setup, chain pop, used push. */
#ifndef LEGO_VIRTQUEUE_H
#define LEGO_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "vmm/kvm/guest_mem.h"

/* Largest queue any lego device offers (QueueNumMax); chains are at most this long. */
#define VIRTQ_NUM_MAX 256

/* One guest buffer of a chain, already checked to lie entirely inside guest RAM. */
struct virtqueue_seg {
	uint8_t *hva;
	uint32_t len;
	bool write; /* device-writable (VRING_DESC_F_WRITE) */
};

/* A popped descriptor chain: a copy of what the guest published, taken once. All
 * device-readable segments come before all device-writable ones. */
struct virtqueue_chain {
	uint16_t head;
	uint16_t nr;
	struct virtqueue_seg seg[VIRTQ_NUM_MAX];
};

/* One split virtqueue. The transport owns the configuration fields and serialises
 * every call below with its device lock. */
struct virtqueue {
	/* Driver-written configuration (QueueNum, QueueDesc/Driver/Device). */
	uint16_t num;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	bool ready;

	/* The validated rings: size and host views, valid from virtqueue_enable() until reset
	 * (completions of in-flight chains still land here after the queue stops). */
	uint16_t size;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;

	uint16_t last_avail; /* next avail ring slot the device will consume */
	uint16_t avail_end;  /* avail->idx as read by the last virtqueue_avail() */
	uint16_t used_idx;   /* the device's own copy of used->idx (never read back) */

	/* Chains popped but not yet pushed, by head: a head cannot be reused while live. */
	uint32_t inflight;
	uint64_t inflight_map[VIRTQ_NUM_MAX / 64];
};

/* Forget everything: not ready, num = VIRTQ_NUM_MAX, addresses and indices 0.
 * Only call with no chain in flight. */
void virtqueue_reset(struct virtqueue *vq);

/* True if num is a queue size the device accepts (nonzero power of two <= max). */
bool virtqueue_num_valid(uint32_t num);

/* Check the configured rings (alignment, entirely inside guest RAM) and make the
 * queue ready with indices 0. Returns 0, or -1 with err filled in. */
int virtqueue_enable(struct virtqueue *vq, const struct guest_mem *mem, char *err, size_t errlen);

/* Read avail->idx (acquire) and remember it as the end of this batch. Returns the
 * number of chains published since the last pop, or -1 (with err) if the driver
 * claims more than the queue size. */
int virtqueue_avail(struct virtqueue *vq, char *err, size_t errlen);

/* Take the next chain of the current batch: 1 with chain filled and the head marked
 * in flight, 0 if the batch is exhausted, -1 (with err) if the chain is malformed, in
 * which case nothing is consumed. Every descriptor is read from guest memory once. */
int virtqueue_pop(struct virtqueue *vq, const struct guest_mem *mem, struct virtqueue_chain *chain,
		  char *err, size_t errlen);

/* Complete an in-flight chain: write used element {head, len}, then publish used->idx
 * with release ordering. */
void virtqueue_push(struct virtqueue *vq, uint16_t head, uint32_t len);

/* Forget an in-flight chain without completing it (the device found it malformed). */
void virtqueue_drop(struct virtqueue *vq, uint16_t head);

#endif
