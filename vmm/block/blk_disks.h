/* blk_disks.h: the vNode's disks: each --disk's backend (a file, or a storage-server volume)
 * behind a virtio-blk device in the virtio-mmio window. */
#ifndef LEGO_BLK_DISKS_H
#define LEGO_BLK_DISKS_H

#include <stdint.h>

#include "blk_backend.h"
#include "blk_config.h"

struct vm;
struct virtio_mmio_dev;

struct blk_disks {
	int nr;
	struct blk_backend *backends[BLK_CONFIG_MAX_DISKS];
	struct virtio_mmio_dev *devs[BLK_CONFIG_MAX_DISKS];
	uint64_t base[BLK_CONFIG_MAX_DISKS]; /* each device's window (LEGO_MMIO_STRIDE bytes) */
};

/* Open every disk of cfg (storage servers through the libfabric provider) and create its
 * device, disk i at LEGO_MMIO_BASE + i * LEGO_MMIO_STRIDE. 0, or -1 (logged): what was made
 * is in d for blk_disks_destroy. */
int blk_disks_create(struct blk_disks *d, const struct blk_config *cfg, const char *provider,
		     struct vm *vm);
/* After the vCPUs stopped: every device, then its backend. */
void blk_disks_destroy(struct blk_disks *d);

#endif
