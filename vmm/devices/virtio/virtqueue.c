/* virtqueue.c: split-ring mechanics; every guest-controlled value is read once and checked. */
#include "virtqueue.h"

#include <endian.h>
#include <stdio.h>
#include <string.h>

/* Ring sizes for a queue of num entries (virtio 1.1 §2.6): flags, idx, the ring, and a
 * 16-bit event field after it (used_event / avail_event; VIRTIO_RING_F_EVENT_IDX is never
 * offered, but the rings are laid out with it). */
#define DESC_BYTES(num)	 (sizeof(struct vring_desc) * (uint64_t)(num))
#define AVAIL_BYTES(num) (sizeof(struct vring_avail) + sizeof(__virtio16) * ((uint64_t)(num) + 1))
#define USED_BYTES(num)                                                                 \
	(sizeof(struct vring_used) + sizeof(struct vring_used_elem) * (uint64_t)(num) + \
	 sizeof(__virtio16))

/* Guest memory may change under us at any time: load each field exactly once. */
static uint16_t load16(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static uint32_t load32(const void *p)
{
	return le32toh(__atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED));
}

static uint64_t load64(const void *p)
{
	return le64toh(__atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED));
}

static void store32(void *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

static bool inflight_test(const struct virtqueue *vq, uint16_t head)
{
	return vq->inflight_map[head / 64] & (1ULL << (head % 64));
}

static void inflight_set(struct virtqueue *vq, uint16_t head)
{
	vq->inflight_map[head / 64] |= 1ULL << (head % 64);
	vq->inflight++;
}

static void inflight_clear(struct virtqueue *vq, uint16_t head)
{
	if (head >= VIRTQ_NUM_MAX || !inflight_test(vq, head))
		return;
	vq->inflight_map[head / 64] &= ~(1ULL << (head % 64));
	vq->inflight--;
}

void virtqueue_reset(struct virtqueue *vq)
{
	memset(vq, 0, sizeof(*vq));
	vq->num = VIRTQ_NUM_MAX;
}

bool virtqueue_num_valid(uint32_t num)
{
	return num && num <= VIRTQ_NUM_MAX && !(num & (num - 1));
}

static void *ring_ptr(const struct guest_mem *mem, const char *what, uint64_t gpa, uint64_t len,
		      uint64_t align, char *err, size_t errlen)
{
	void *p;

	if (gpa % align) {
		snprintf(err, errlen, "%s at 0x%llx is not %llu-byte aligned", what,
			 (unsigned long long)gpa, (unsigned long long)align);
		return NULL;
	}
	p = guest_mem_ptr(mem, gpa, len);
	if (!p)
		snprintf(err, errlen, "%s [0x%llx, +0x%llx) is not inside guest RAM", what,
			 (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

int virtqueue_enable(struct virtqueue *vq, const struct guest_mem *mem, char *err, size_t errlen)
{
	void *desc, *avail, *used;

	if (!virtqueue_num_valid(vq->num)) {
		snprintf(err, errlen, "queue size %u is invalid", vq->num);
		return -1;
	}
	if (vq->inflight) {
		snprintf(err, errlen, "%u requests still in flight", vq->inflight);
		return -1;
	}
	desc = ring_ptr(mem, "descriptor table", vq->desc_gpa, DESC_BYTES(vq->num),
			VRING_DESC_ALIGN_SIZE, err, errlen);
	if (!desc)
		return -1;
	avail = ring_ptr(mem, "avail ring", vq->avail_gpa, AVAIL_BYTES(vq->num),
			 VRING_AVAIL_ALIGN_SIZE, err, errlen);
	if (!avail)
		return -1;
	used = ring_ptr(mem, "used ring", vq->used_gpa, USED_BYTES(vq->num), VRING_USED_ALIGN_SIZE,
			err, errlen);
	if (!used)
		return -1;
	vq->size = vq->num;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->last_avail = 0;
	vq->avail_end = 0;
	vq->used_idx = 0;
	vq->ready = true;
	return 0;
}

int virtqueue_avail(struct virtqueue *vq, char *err, size_t errlen)
{
	uint16_t idx;
	uint16_t ahead;

	/* Acquire: ring entries and descriptors published before idx are visible. */
	idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	ahead = (uint16_t)(idx - vq->last_avail);
	if (ahead > vq->size) {
		snprintf(err, errlen, "avail idx %u is %u ahead of the device's %u (queue size %u)",
			 idx, ahead, vq->last_avail, vq->size);
		return -1;
	}
	vq->avail_end = idx;
	return ahead;
}

int virtqueue_pop(struct virtqueue *vq, const struct guest_mem *mem, struct virtqueue_chain *chain,
		  char *err, size_t errlen)
{
	uint16_t slot, head, idx;
	bool seen_write = false;

	if (vq->last_avail == vq->avail_end)
		return 0;
	slot = vq->last_avail % vq->size;
	head = load16(&vq->avail->ring[slot]);
	if (head >= vq->size) {
		snprintf(err, errlen, "avail ring entry %u is %u, not below queue size %u", slot,
			 head, vq->size);
		return -1;
	}
	if (inflight_test(vq, head)) {
		snprintf(err, errlen, "chain head %u is already in flight", head);
		return -1;
	}
	chain->head = head;
	chain->nr = 0;
	idx = head;
	for (;;) {
		const struct vring_desc *d = &vq->desc[idx];
		uint64_t addr = load64(&d->addr);
		uint32_t len = load32(&d->len);
		uint16_t flags = load16(&d->flags);
		uint16_t next = load16(&d->next);
		bool write = flags & VRING_DESC_F_WRITE;
		void *hva;

		if (chain->nr == vq->size) {
			snprintf(err, errlen,
				 "chain from head %u is longer than the queue size %u (a loop?)",
				 head, vq->size);
			return -1;
		}
		if (flags & VRING_DESC_F_INDIRECT) {
			snprintf(err, errlen, "descriptor %u is indirect (not negotiated)", idx);
			return -1;
		}
		if (!write && seen_write) {
			snprintf(err, errlen,
				 "descriptor %u is device-readable after a device-writable one",
				 idx);
			return -1;
		}
		hva = guest_mem_ptr(mem, addr, len);
		if (!hva) {
			snprintf(err, errlen,
				 "descriptor %u buffer [0x%llx, +0x%x) is not inside guest RAM",
				 idx, (unsigned long long)addr, len);
			return -1;
		}
		chain->seg[chain->nr].hva = hva;
		chain->seg[chain->nr].len = len;
		chain->seg[chain->nr].write = write;
		chain->nr++;
		seen_write = seen_write || write;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		if (next >= vq->size) {
			snprintf(err, errlen, "descriptor %u: next %u is not below queue size %u",
				 idx, next, vq->size);
			return -1;
		}
		idx = next;
	}
	vq->last_avail++;
	inflight_set(vq, head);
	return 1;
}

void virtqueue_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx % vq->size];

	store32(&e->id, head);
	store32(&e->len, len);
	vq->used_idx++;
	/* Release: the element and every byte written into the buffers come first. */
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
	inflight_clear(vq, head);
}

void virtqueue_drop(struct virtqueue *vq, uint16_t head)
{
	inflight_clear(vq, head);
}
