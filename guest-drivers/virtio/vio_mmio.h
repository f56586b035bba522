/* vio_mmio.h: driver side of the virtio-mmio transport: probe, reset, features, queues. */
#ifndef GUEST_VIO_MMIO_H
#define GUEST_VIO_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio.h"

struct vio_mmio_dev {
	uint64_t base;
	uint32_t device_id;
	uint32_t vendor_id;
	uint64_t device_features;
	uint64_t features; /* negotiated */
};

/* Check magic and version 2 and read the device and vendor IDs: 0, or -1 with err. */
int vio_mmio_probe(struct vio_mmio_dev *d, uint64_t base, char *err, size_t errlen);

uint32_t vio_mmio_reg_read(const struct vio_mmio_dev *d, uint32_t reg);
void vio_mmio_reg_write(const struct vio_mmio_dev *d, uint32_t reg, uint32_t val);

/* Write Status = 0 and wait (bounded) until it reads back 0. 0 or -1. */
int vio_mmio_reset(const struct vio_mmio_dev *d);
uint32_t vio_mmio_status(const struct vio_mmio_dev *d);
void vio_mmio_set_status(const struct vio_mmio_dev *d, uint32_t bits); /* ORs bits in */

/* Reset, ACKNOWLEDGE, DRIVER, read the device features, accept VIRTIO_F_VERSION_1 and
 * the wanted ones the device offers, FEATURES_OK and check it stuck. On failure sets
 * FAILED and returns -1 with err. */
int vio_mmio_negotiate(struct vio_mmio_dev *d, uint64_t wanted, char *err, size_t errlen);

/* Program queue idx (QueueNum, ring addresses) and set QueueReady; 0, or -1 if the
 * device does not report it ready. */
int vio_mmio_queue_enable(const struct vio_mmio_dev *d, unsigned idx, uint16_t num, uint64_t desc,
			  uint64_t avail, uint64_t used);
/* QueueNumMax of queue idx (0: no such queue). */
uint32_t vio_mmio_queue_max(const struct vio_mmio_dev *d, unsigned idx);

void vio_mmio_driver_ok(const struct vio_mmio_dev *d);
void vio_mmio_notify(const struct vio_mmio_dev *d, unsigned queue);

/* Config space reads (32-bit accesses; a 64-bit field is read as two halves, retried
 * until ConfigGeneration is stable). */
uint32_t vio_mmio_config32(const struct vio_mmio_dev *d, uint32_t off);
uint64_t vio_mmio_config64(const struct vio_mmio_dev *d, uint32_t off);

#endif
