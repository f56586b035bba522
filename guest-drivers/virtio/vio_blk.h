/* vio_blk.h: polling virtio-blk driver with several requests in flight. */
#ifndef GUEST_VIO_BLK_H
#define GUEST_VIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-drivers/runtime/boot_info.h"
#include "vio_mmio.h"
#include "vio_ring.h"

#define GBLK_QUEUE_SIZE	   128 /* capped QueueNumMax */
#define GBLK_MAX_QD	   32  /* requests in flight (3 descriptors each) */
#define GBLK_IO_TIMEOUT_MS 30000

/* The per-head header and status byte, in guest memory the device reads and writes. */
struct gblk_slot {
	struct vio_blk_hdr hdr;
	uint8_t status;
	uint8_t pad[15];
};

struct gblk {
	struct vio_dev dev;
	struct vq vq;
	struct gblk_slot *slots; /* indexed by chain head */
	uint64_t tag[VQ_MAX_SIZE];
	unsigned inflight;
	uint64_t capacity; /* sectors */
	uint32_t blk_size;
	uint32_t seg_max;
	bool read_only;
	bool has_flush;
};

struct gblk_done {
	uint64_t tag;
	uint8_t status;
	uint32_t len; /* used element length: bytes the device wrote, status included */
	uint16_t head;
};

/* The MMIO base of the first virtio-blk device in bi; 0 if found, -1 if none. */
int gblk_find(const struct boot_info *bi, uint64_t *base, char *err, size_t errlen);

/* Allocate rings and slots from the heap (first call only), negotiate features, read
 * the config, enable the queue and set DRIVER_OK. 0, or -1 with err. */
int gblk_init(struct gblk *b, uint64_t base, char *err, size_t errlen);
/* Reset the device (Status = 0) and set it up again on the same memory. */
int gblk_reinit(struct gblk *b, char *err, size_t errlen);
/* Reset the device and forget its queue state (the device stops using our memory). */
void gblk_shutdown(struct gblk *b);

/* Queue one request (header, optional data, status) and notify. type is VIO_BLK_T_*;
 * data is device-writable for IN and GET_ID. 0, or -1 if the ring is full. */
int gblk_submit(struct gblk *b, uint32_t type, uint64_t sector, void *data, uint32_t len,
		uint64_t tag);
/* Wait (bounded) for the next completion: 0 with *done, or -1 with err on timeout, a
 * device needing reset, or a bogus used element. */
int gblk_wait(struct gblk *b, struct gblk_done *done, uint64_t timeout_ms, char *err,
	      size_t errlen);
/* Submit one request and wait for it: 0 with *status and *len, or -1 with err. */
int gblk_io(struct gblk *b, uint32_t type, uint64_t sector, void *data, uint32_t len,
	    uint8_t *status, uint32_t *used_len, char *err, size_t errlen);

#endif
