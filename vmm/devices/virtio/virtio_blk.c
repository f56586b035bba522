/* virtio_blk.c: virtio-blk requests: chain checks, status codes, backend submission. */
#include "virtio_blk.h"

#include <endian.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "lib/log.h"

#define BLK_QUEUE      0
#define BLK_INLINE_IOV 4

/* Book-keeping for one chain between pop and completion, indexed by its head. */
struct blk_slot {
	struct blk_backend_req req;
	struct virtio_mmio_dev *dev;
	uint8_t *status; /* the status byte in guest RAM */
	uint16_t head;
	uint32_t hdr_type;
	bool immediate;	    /* completed by the device itself (error or GET_ID) */
	uint8_t imm_status; /* VIRTIO_BLK_S_* for an immediate completion */
	struct iovec *iov;  /* iov_inline, or heap for long chains */
	struct iovec iov_inline[BLK_INLINE_IOV];
};

struct virtio_blk {
	struct blk_backend *be;
	struct virtio_blk_config config;
	struct blk_slot slot[VIRTQ_NUM_MAX];
};

/* Copy from guest memory exactly once: the barrier stops the compiler from reading
 * the guest's copy again instead of ours. */
static void guest_read_once(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	__asm__ __volatile__("" ::: "memory");
}

static void slot_finish(struct blk_slot *s, uint8_t status, uint32_t len)
{
	struct virtio_mmio_dev *dev = s->dev;

	virtio_mmio_lock(dev);
	__atomic_store_n(s->status, status, __ATOMIC_RELEASE);
	if (s->iov != s->iov_inline)
		free(s->iov);
	s->iov = NULL;
	virtio_mmio_complete(dev, BLK_QUEUE, s->head, len);
	virtio_mmio_unlock(dev);
}

static const char *req_name(enum blk_backend_req_type t)
{
	return t == BLK_REQ_READ ? "read" : t == BLK_REQ_WRITE ? "write" : "flush";
}

static void blk_complete(struct blk_backend_req *req, int err)
{
	struct blk_slot *s = req->opaque;
	uint32_t len = 1;

	if (err) {
		log_warn("%s: %s of %llu bytes at sector %llu failed: %s", virtio_mmio_name(s->dev),
			 req_name(req->type), (unsigned long long)req->len,
			 (unsigned long long)req->sector, strerror(-err));
		slot_finish(s, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	if (req->type == BLK_REQ_READ)
		len += (uint32_t)req->len;
	slot_finish(s, VIRTIO_BLK_S_OK, len);
}

/* Complete with status only, or fill in the id for GET_ID. */
static void slot_immediate(struct virtio_blk *blk, struct blk_slot *s)
{
	uint32_t copied = 0;

	if (s->hdr_type == VIRTIO_BLK_T_GET_ID && s->imm_status == VIRTIO_BLK_S_OK) {
		for (int i = 0; i < s->req.iovcnt && copied < BLK_ID_BYTES; i++) {
			uint32_t n = BLK_ID_BYTES - copied;

			if (n > s->req.iov[i].iov_len)
				n = (uint32_t)s->req.iov[i].iov_len;
			memcpy(s->req.iov[i].iov_base, blk->be->id + copied, n);
			copied += n;
		}
	}
	slot_finish(s, s->imm_status, copied + 1);
}

/* Turn a popped chain into a slot: 0, or -1 with err if the chain is not a virtio-blk
 * request at all (the device then needs a reset). Semantic errors are not failures
 * here: they become an immediate status. Called with the device lock held. */
static int blk_prepare(struct virtio_blk *blk, struct virtio_mmio_dev *dev,
		       const struct virtqueue_chain *c, char *err, size_t errlen)
{
	struct blk_slot *s = &blk->slot[c->head];
	const struct virtqueue_seg *last = &c->seg[c->nr - 1];
	struct virtio_blk_outhdr hdr;
	uint64_t sector, data_len = 0;
	bool want_write, wrong_dir = false;
	int nr_data = c->nr - 2, nr_iov = 0;
	const char *problem = NULL;

	if (c->seg[0].write || c->seg[0].len < sizeof(hdr)) {
		snprintf(err, errlen,
			 "first descriptor (%s, %u bytes) is not a device-readable %zu-byte header",
			 c->seg[0].write ? "device-writable" : "device-readable", c->seg[0].len,
			 sizeof(hdr));
		return -1;
	}
	if (c->nr < 2 || !last->write || last->len < 1) {
		snprintf(err, errlen,
			 "last descriptor is not a device-writable status byte (chain of %u)",
			 c->nr);
		return -1;
	}
	guest_read_once(&hdr, c->seg[0].hva, sizeof(hdr));
	memset(&s->req, 0, sizeof(s->req));
	s->dev = dev;
	s->head = c->head;
	s->status = last->hva;
	s->hdr_type = le32toh(hdr.type);
	s->immediate = true;
	s->imm_status = VIRTIO_BLK_S_OK;
	s->iov = s->iov_inline;
	sector = le64toh(hdr.sector);

	switch (s->hdr_type) {
	case VIRTIO_BLK_T_IN:
		s->req.type = BLK_REQ_READ;
		want_write = true;
		break;
	case VIRTIO_BLK_T_OUT:
		s->req.type = BLK_REQ_WRITE;
		want_write = false;
		break;
	case VIRTIO_BLK_T_FLUSH:
		/* Data buffers of a flush carry nothing: ignore them. */
		s->req.type = BLK_REQ_FLUSH;
		s->immediate = false;
		return 0;
	case VIRTIO_BLK_T_GET_ID:
		want_write = true;
		break;
	default:
		log_debug("%s: request type %u unsupported", virtio_mmio_name(dev), s->hdr_type);
		s->imm_status = VIRTIO_BLK_S_UNSUPP;
		return 0;
	}

	for (int i = 1; i <= nr_data; i++) {
		data_len += c->seg[i].len;
		if (c->seg[i].write != want_write)
			wrong_dir = true;
		if (c->seg[i].len)
			nr_iov++;
	}
	if (wrong_dir)
		problem = "a data buffer has the wrong direction";
	else if (s->hdr_type == VIRTIO_BLK_T_GET_ID)
		problem = NULL;
	else if (data_len % BLK_SECTOR_SIZE)
		problem = "data length is not a multiple of 512";
	else if (s->req.type == BLK_REQ_WRITE && blk->be->read_only)
		problem = "write to a read-only disk";
	else if (sector > blk->be->sectors ||
		 data_len / BLK_SECTOR_SIZE > blk->be->sectors - sector)
		problem = "sector range beyond the disk's capacity";
	else if (data_len >= UINT32_MAX)
		problem = "request too large to report in a used element";
	if (!problem && nr_iov > BLK_INLINE_IOV) {
		s->iov = calloc((size_t)nr_iov, sizeof(*s->iov));
		if (!s->iov) {
			s->iov = s->iov_inline;
			problem = "out of memory for the request's buffer list";
		}
	}
	if (problem) {
		log_debug("%s: request type %u, sector %llu, %llu data bytes: %s",
			  virtio_mmio_name(dev), s->hdr_type, (unsigned long long)sector,
			  (unsigned long long)data_len, problem);
		s->imm_status = VIRTIO_BLK_S_IOERR;
		return 0;
	}
	nr_iov = 0;
	for (int i = 1; i <= nr_data; i++) {
		if (!c->seg[i].len)
			continue;
		s->iov[nr_iov].iov_base = c->seg[i].hva;
		s->iov[nr_iov].iov_len = c->seg[i].len;
		nr_iov++;
	}
	s->req.sector = sector;
	s->req.iov = s->iov;
	s->req.iovcnt = nr_iov;
	s->req.len = data_len;
	if (s->hdr_type != VIRTIO_BLK_T_GET_ID)
		s->immediate = false;
	return 0;
}

static void blk_notify(struct virtio_mmio_dev *dev, int queue)
{
	struct virtio_blk *blk = virtio_mmio_priv(dev);
	struct guest_mem *mem = virtio_mmio_mem(dev);
	struct virtqueue_chain chain;
	uint16_t heads[VIRTQ_NUM_MAX];
	int n = 0;
	struct virtqueue *vq;
	char why[200];

	virtio_mmio_lock(dev);
	vq = virtio_mmio_active_queue(dev, queue);
	if (!vq) {
		virtio_mmio_unlock(dev);
		return;
	}
	if (virtqueue_avail(vq, why, sizeof(why)) < 0) {
		virtio_mmio_needs_reset(dev, queue, "%s", why);
		virtio_mmio_unlock(dev);
		return;
	}
	/* Take (and check) every chain of the batch under the lock; heads in flight are
	 * unique, so at most VIRTQ_NUM_MAX of them. */
	while (n < VIRTQ_NUM_MAX) {
		int r = virtqueue_pop(vq, mem, &chain, why, sizeof(why));

		if (!r)
			break;
		if (r < 0) {
			virtio_mmio_needs_reset(dev, queue, "%s", why);
			break;
		}
		if (blk_prepare(blk, dev, &chain, why, sizeof(why))) {
			virtio_mmio_drop(dev, queue, chain.head);
			virtio_mmio_needs_reset(dev, queue, "request at head %u: %s", chain.head,
						why);
			break;
		}
		heads[n++] = chain.head;
	}
	virtio_mmio_unlock(dev);

	/* Then start them in ring order without the lock (completions take it). */
	for (int i = 0; i < n; i++) {
		struct blk_slot *s = &blk->slot[heads[i]];

		if (s->immediate) {
			slot_immediate(blk, s);
			continue;
		}
		s->req.complete = blk_complete;
		s->req.opaque = s;
		s->req.may_wait = i == n - 1;
		blk_backend_submit(blk->be, &s->req);
	}
}

static const struct virtio_mmio_ops virtio_blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.notify = blk_notify,
};

struct virtio_mmio_dev *virtio_blk_create(struct bus *mmio_bus, struct guest_mem *mem,
					  uint64_t base, struct blk_backend *backend)
{
	struct virtio_blk *blk;
	struct virtio_mmio_dev *dev;
	uint64_t features;

	blk = calloc(1, sizeof(*blk));
	if (!blk) {
		log_error("virtio-blk@0x%llx: out of memory", (unsigned long long)base);
		return NULL;
	}
	blk->be = backend;
	blk->config.capacity = htole64(backend->sectors);
	blk->config.size_max = 0; /* VIRTIO_BLK_F_SIZE_MAX is not offered: no limit */
	blk->config.seg_max = htole32(VIRTQ_NUM_MAX - 2);
	blk->config.blk_size = htole32(BLK_SECTOR_SIZE);
	features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		   (1ULL << VIRTIO_BLK_F_FLUSH);
	if (backend->read_only)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	dev = virtio_mmio_create(mmio_bus, mem, base, &virtio_blk_ops, blk, features, &blk->config,
				 sizeof(blk->config));
	if (!dev) {
		free(blk);
		return NULL;
	}
	log_info("%s: %llu sectors%s", virtio_mmio_name(dev), (unsigned long long)backend->sectors,
		 backend->read_only ? ", read-only" : "");
	return dev;
}

void virtio_blk_drain(struct virtio_mmio_dev *dev)
{
	virtio_mmio_drain(dev);
}

void virtio_blk_destroy(struct virtio_mmio_dev *dev)
{
	struct virtio_blk *blk;

	if (!dev)
		return;
	blk = virtio_mmio_priv(dev);
	virtio_mmio_destroy(dev);
	free(blk);
}
