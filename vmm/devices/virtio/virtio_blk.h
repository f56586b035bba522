/* virtio_blk.h: virtio-blk device model (one request queue) over a block backend. */
#ifndef LEGO_VIRTIO_BLK_H
#define LEGO_VIRTIO_BLK_H

#include <stdint.h>

#include "vmm/block/blk_backend.h"
#include "vmm/kvm/bus.h"
#include "vmm/kvm/guest_mem.h"
#include "virtio_mmio.h"

/* Create a virtio-blk device on backend and register its LEGO_MMIO_STRIDE-byte
 * virtio-mmio window at base on mmio_bus. NULL (logged) on failure. The backend
 * must outlive the device. */
struct virtio_mmio_dev *virtio_blk_create(struct bus *mmio_bus, struct guest_mem *mem,
					  uint64_t base, struct blk_backend *backend);

/* Wait until every request handed to the backend has completed. */
void virtio_blk_drain(struct virtio_mmio_dev *dev);

/* Drain, then free the device (not the backend). Call after the vCPUs stop. */
void virtio_blk_destroy(struct virtio_mmio_dev *dev);

#endif
