/* vio_ring.c: split-ring bookkeeping for the polling drivers (virtio 1.1 §2.6). */
#include "vio_ring.h"

#include "guest-drivers/runtime/alloc.h"
#include "guest-drivers/runtime/kstring.h"

#define AVAIL_BYTES(num) (6u + 2u * (num))
#define USED_BYTES(num)	 (6u + 8u * (num))

int vio_ring_alloc(struct vio_ring *vq, uint16_t num)
{
	uint32_t avail_off = 16u * num;
	uint32_t used_off = (avail_off + AVAIL_BYTES(num) + VRING_USED_ALIGN - 1) &
			    ~(uint32_t)(VRING_USED_ALIGN - 1);
	uint8_t *mem;

	if (!num || num > VIO_RING_MAX_SIZE || (num & (num - 1)))
		return -1;
	mem = alloc_bytes(used_off + USED_BYTES(num), 4096);
	if (!mem)
		return -1;
	vq->num = num;
	vq->desc = (struct virtio_vring_desc *)mem;
	vq->avail = (struct virtio_vring_avail *)(mem + avail_off);
	vq->used = (struct virtio_vring_used *)(mem + used_off);
	vio_ring_init(vq);
	return 0;
}

void vio_ring_init(struct vio_ring *vq)
{
	memset(vq->desc, 0, 16u * vq->num);
	memset(vq->avail, 0, AVAIL_BYTES(vq->num));
	memset(vq->used, 0, USED_BYTES(vq->num));
	vq->avail_idx = 0;
	vq->last_used = 0;
	vq->free_head = 0;
	vq->nr_free = vq->num;
	for (uint16_t i = 0; i < vq->num; i++) {
		vq->next[i] = (uint16_t)(i + 1);
		vq->chain_len[i] = 0;
	}
}

int vio_ring_add(struct vio_ring *vq, const struct vio_ring_buf *bufs, unsigned n)
{
	uint16_t head = vq->free_head, idx = head, last = head;

	if (!n || n > vq->nr_free)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		struct virtio_vring_desc *d = &vq->desc[idx];

		d->addr = bufs[i].addr;
		d->len = bufs[i].len;
		d->flags = (uint16_t)((bufs[i].write ? VRING_DESC_F_WRITE : 0) |
				      (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		d->next = i + 1 < n ? vq->next[idx] : 0;
		last = idx;
		idx = vq->next[idx];
	}
	vq->free_head = vq->next[last];
	vq->nr_free = (uint16_t)(vq->nr_free - n);
	vq->chain_len[head] = (uint16_t)n;
	vq->avail->ring[vq->avail_idx % vq->num] = head;
	vq->avail_idx++;
	/* Release: descriptors and the ring entry are visible before the new index. */
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	return head;
}

uint16_t vio_ring_used_idx(const struct vio_ring *vq)
{
	return __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
}

int vio_ring_get_used(struct vio_ring *vq, uint16_t *head, uint32_t *len)
{
	const struct virtio_vring_used_elem *e;
	uint32_t id;
	uint16_t idx, n;

	/* Acquire: the element and the data the device wrote are read after the index. */
	if (vio_ring_used_idx(vq) == vq->last_used)
		return 0;
	e = &vq->used->ring[vq->last_used % vq->num];
	id = __atomic_load_n(&e->id, __ATOMIC_RELAXED);
	*len = __atomic_load_n(&e->len, __ATOMIC_RELAXED);
	if (id >= vq->num || !vq->chain_len[id])
		return -1;
	vq->last_used++;
	*head = (uint16_t)id;
	/* Return the chain to the free list, following our own copy of the links. */
	n = vq->chain_len[id];
	vq->chain_len[id] = 0;
	idx = (uint16_t)id;
	for (uint16_t i = 1; i < n; i++)
		idx = vq->next[idx];
	vq->next[idx] = vq->free_head;
	vq->free_head = (uint16_t)id;
	vq->nr_free = (uint16_t)(vq->nr_free + n);
	return 1;
}
