/* vio_blk.h: polling virtio-blk driver with several requests in flight. */
#ifndef GUEST_VIO_BLK_H
#define GUEST_VIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-drivers/runtime/boot_info.h"
#include "vio_mmio.h"
#include "vio_ring.h"

#define VIO_BLK_QUEUE_SIZE    128 /* capped QueueNumMax */
#define VIO_BLK_MAX_QD	      32  /* requests in flight (3 descriptors each) */
#define VIO_BLK_IO_TIMEOUT_MS 30000

/* The per-head header and status byte, in guest memory the device reads and writes. */
struct vio_blk_slot {
	struct virtio_blk_hdr hdr;
	uint8_t status;
	uint8_t pad[15];
};

struct vio_blk {
	struct vio_mmio_dev dev;
	struct vio_ring vq;
	struct vio_blk_slot *slots; /* indexed by chain head */
	uint64_t tag[VIO_RING_MAX_SIZE];
	unsigned inflight;
	uint64_t capacity; /* sectors */
	uint32_t blk_size;
	uint32_t seg_max;
	bool read_only;
	bool has_flush;
};

struct vio_blk_done {
	uint64_t tag;
	uint8_t status;
	uint32_t len; /* used element length: bytes the device wrote, status included */
	uint16_t head;
};

/* The MMIO base of the first virtio-blk device in bi; 0 if found, -1 if none. */
int vio_blk_find(const struct boot_info *bi, uint64_t *base, char *err, size_t errlen);

/* Allocate rings and slots from the heap (first call only), negotiate features, read
 * the config, enable the queue and set DRIVER_OK. 0, or -1 with err. */
int vio_blk_init(struct vio_blk *b, uint64_t base, char *err, size_t errlen);
/* Reset the device (Status = 0) and set it up again on the same memory. */
int vio_blk_reinit(struct vio_blk *b, char *err, size_t errlen);
/* Reset the device and forget its queue state (the device stops using our memory). */
void vio_blk_shutdown(struct vio_blk *b);

/* Queue one request (header, optional data, status) and notify. type is VIO_BLK_T_*;
 * data is device-writable for IN and GET_ID. 0, or -1 if the ring is full. */
int vio_blk_submit(struct vio_blk *b, uint32_t type, uint64_t sector, void *data, uint32_t len,
		   uint64_t tag);
/* Wait (bounded) for the next completion: 0 with *done, or -1 with err on timeout, a
 * device needing reset, or a bogus used element. */
int vio_blk_wait(struct vio_blk *b, struct vio_blk_done *done, uint64_t timeout_ms, char *err,
		 size_t errlen);
/* Submit one request and wait for it: 0 with *status and *len, or -1 with err. */
int vio_blk_io(struct vio_blk *b, uint32_t type, uint64_t sector, void *data, uint32_t len,
	       uint8_t *status, uint32_t *used_len, char *err, size_t errlen);

#endif
