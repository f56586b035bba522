/* vio_blk.c: virtio-blk requests (header, data, status) over one polled split virtqueue. */
#include "vio_blk.h"

#include "guest-drivers/runtime/alloc.h"
#include "guest-drivers/runtime/fmt.h"
#include "guest-drivers/runtime/io.h"
#include "guest-drivers/runtime/kstring.h"
#include "guest-drivers/runtime/timing.h"

#define STATUS_POLL_EVERY 4096 /* used-ring polls between Status register reads (exits) */

int vio_blk_find(const struct boot_info *bi, uint64_t *base, char *err, size_t errlen)
{
	for (int i = 0; i < bi->nr_virtio; i++) {
		struct vio_mmio_dev d;
		char why[128];

		if (vio_mmio_probe(&d, bi->virtio[i].base, why, sizeof(why)))
			continue;
		if (d.device_id == VIRTIO_ID_BLOCK) {
			*base = bi->virtio[i].base;
			return 0;
		}
	}
	fmt_snprintf(err, errlen,
		     "no virtio-blk device (%d virtio-mmio node(s) in the device tree)",
		     bi->nr_virtio);
	return -1;
}

static int setup(struct vio_blk *b, char *err, size_t errlen)
{
	uint64_t want = (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |
			(1ULL << VIRTIO_BLK_F_RO) | (1ULL << VIRTIO_BLK_F_SEG_MAX);
	uint32_t max;

	b->inflight = 0;
	if (vio_mmio_negotiate(&b->dev, want, err, errlen))
		return -1;
	b->capacity = vio_mmio_config64(&b->dev, VIRTIO_BLK_CFG_CAPACITY);
	b->read_only = b->dev.features & (1ULL << VIRTIO_BLK_F_RO);
	b->has_flush = b->dev.features & (1ULL << VIRTIO_BLK_F_FLUSH);
	b->blk_size = VIRTIO_BLK_SECTOR;
	if (b->dev.features & (1ULL << VIRTIO_BLK_F_BLK_SIZE))
		b->blk_size = vio_mmio_config32(&b->dev, VIRTIO_BLK_CFG_BLK_SIZE);
	b->seg_max = 0;
	if (b->dev.features & (1ULL << VIRTIO_BLK_F_SEG_MAX))
		b->seg_max = vio_mmio_config32(&b->dev, VIRTIO_BLK_CFG_SEG_MAX);
	max = vio_mmio_queue_max(&b->dev, 0);
	if (max < b->vq.num) {
		fmt_snprintf(err, errlen, "virtio-blk@0x%lx: QueueNumMax %u, need %u", b->dev.base,
			     max, b->vq.num);
		goto failed;
	}
	vio_ring_init(&b->vq);
	if (vio_mmio_queue_enable(&b->dev, 0, b->vq.num, (uint64_t)(uintptr_t)b->vq.desc,
				  (uint64_t)(uintptr_t)b->vq.avail,
				  (uint64_t)(uintptr_t)b->vq.used)) {
		fmt_snprintf(err, errlen, "virtio-blk@0x%lx: queue 0 not ready after QueueReady=1",
			     b->dev.base);
		goto failed;
	}
	vio_mmio_driver_ok(&b->dev);
	if (vio_mmio_status(&b->dev) & VIRTIO_S_DEVICE_NEEDS_RESET) {
		fmt_snprintf(err, errlen, "virtio-blk@0x%lx: device needs reset right after init",
			     b->dev.base);
		goto failed;
	}
	return 0;
failed:
	vio_mmio_set_status(&b->dev, VIRTIO_S_FAILED);
	return -1;
}

int vio_blk_init(struct vio_blk *b, uint64_t base, char *err, size_t errlen)
{
	uint32_t max;

	if (vio_mmio_probe(&b->dev, base, err, errlen))
		return -1;
	if (b->dev.device_id != VIRTIO_ID_BLOCK) {
		fmt_snprintf(err, errlen, "virtio-mmio@0x%lx is device %u, not a block device",
			     base, b->dev.device_id);
		return -1;
	}
	if (!b->slots) {
		uint16_t num = VIO_BLK_QUEUE_SIZE;

		vio_mmio_reg_write(&b->dev, VIRTIO_STATUS, 0);
		max = vio_mmio_queue_max(&b->dev, 0);
		while (num > max && num > 1)
			num /= 2;
		if (!max || vio_ring_alloc(&b->vq, num)) {
			fmt_snprintf(err, errlen, "virtio-blk@0x%lx: %s", base,
				     max ? "out of guest memory for the rings" : "no queue 0");
			return -1;
		}
		b->slots = alloc_bytes(sizeof(*b->slots) * num, 64);
		if (!b->slots) {
			fmt_snprintf(err, errlen, "virtio-blk@0x%lx: out of guest memory", base);
			return -1;
		}
	}
	return setup(b, err, errlen);
}

int vio_blk_reinit(struct vio_blk *b, char *err, size_t errlen)
{
	return setup(b, err, errlen);
}

void vio_blk_shutdown(struct vio_blk *b)
{
	if (!b->dev.base)
		return; /* never probed */
	vio_mmio_reset(&b->dev);
	b->inflight = 0;
}

int vio_blk_submit(struct vio_blk *b, uint32_t type, uint64_t sector, void *data, uint32_t len,
		   uint64_t tag)
{
	bool dev_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	struct vio_ring_buf bufs[3];
	unsigned n = 0;
	uint16_t head = b->vq.free_head;
	struct vio_blk_slot *s;
	int h;

	if (b->vq.nr_free < 3)
		return -1;
	/* The head is known before vio_ring_add: fill its header and status first. */
	s = &b->slots[head];
	s->hdr.type = type;
	s->hdr.reserved = 0;
	s->hdr.sector = sector;
	s->status = 0xff;
	bufs[n++] = (struct vio_ring_buf){(uint64_t)(uintptr_t)&s->hdr, sizeof(s->hdr), false};
	if (data && len)
		bufs[n++] = (struct vio_ring_buf){(uint64_t)(uintptr_t)data, len, dev_writes};
	bufs[n++] = (struct vio_ring_buf){(uint64_t)(uintptr_t)&s->status, 1, true};
	h = vio_ring_add(&b->vq, bufs, n);
	if (h != head)
		return -1;
	b->tag[head] = tag;
	b->inflight++;
	vio_mmio_notify(&b->dev, 0);
	return 0;
}

int vio_blk_wait(struct vio_blk *b, struct vio_blk_done *done, uint64_t timeout_ms, char *err,
		 size_t errlen)
{
	struct timing_deadline dl;
	unsigned polls = 0;

	if (!b->inflight) {
		fmt_snprintf(err, errlen, "virtio-blk: waiting with no request in flight");
		return -1;
	}
	timing_deadline_start(&dl, timeout_ms);
	for (;;) {
		uint16_t head;
		uint32_t len;
		int r = vio_ring_get_used(&b->vq, &head, &len);

		if (r > 0) {
			b->inflight--;
			done->head = head;
			done->len = len;
			done->tag = b->tag[head];
			done->status = __atomic_load_n(&b->slots[head].status, __ATOMIC_ACQUIRE);
			return 0;
		}
		if (r < 0) {
			fmt_snprintf(err, errlen,
				     "virtio-blk: device completed a chain not in flight");
			return -1;
		}
		if (++polls % STATUS_POLL_EVERY == 0 &&
		    (vio_mmio_status(&b->dev) & VIRTIO_S_DEVICE_NEEDS_RESET)) {
			fmt_snprintf(err, errlen, "virtio-blk: device needs reset (status 0x%x)",
				     vio_mmio_status(&b->dev));
			return -1;
		}
		if (timing_deadline_passed(&dl)) {
			fmt_snprintf(
				err, errlen,
				"virtio-blk: no completion within %lu ms (%u in flight, status "
				"0x%x)",
				timeout_ms, b->inflight, vio_mmio_status(&b->dev));
			return -1;
		}
		io_cpu_relax();
	}
}

int vio_blk_io(struct vio_blk *b, uint32_t type, uint64_t sector, void *data, uint32_t len,
	       uint8_t *status, uint32_t *used_len, char *err, size_t errlen)
{
	struct vio_blk_done done;

	if (vio_blk_submit(b, type, sector, data, len, 0)) {
		fmt_snprintf(err, errlen, "virtio-blk: ring full");
		return -1;
	}
	if (vio_blk_wait(b, &done, VIO_BLK_IO_TIMEOUT_MS, err, errlen))
		return -1;
	*status = done.status;
	if (used_len)
		*used_len = done.len;
	return 0;
}
