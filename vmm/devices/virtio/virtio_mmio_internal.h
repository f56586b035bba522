/* virtio_mmio_internal.h: the transport's device, shared by virtio_mmio.c (registers) and
 * virtio_mmio_state.c (a migration's save and load); no device model includes it. */
#ifndef LEGO_VIRTIO_MMIO_INTERNAL_H
#define LEGO_VIRTIO_MMIO_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/proto/lego_guest_abi.h"
#include "virtio_mmio.h"

#define CONFIG_MAX (LEGO_MMIO_STRIDE - VIRTIO_MMIO_CONFIG)

struct virtio_mmio_dev {
	pthread_mutex_t lock;
	pthread_cond_t idle; /* broadcast when a queue's in-flight count drops to 0 */
	struct guest_mem *mem;
	const struct virtio_mmio_ops *ops;
	void *priv;
	uint64_t base;
	char name[48];

	uint64_t device_features;
	uint64_t driver_features;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t int_status;
	uint32_t config_generation;
	bool resetting; /* a reset is waiting for in-flight requests: take no new ones */
	struct virtqueue vq[VIRTIO_MMIO_MAX_QUEUES];
	/* The interrupt (virtio_mmio_set_irq): raised when InterruptStatus becomes non-zero. */
	void (*raise_irq)(void *opaque);
	void *irq_opaque;
	/* A device served outside lego-vmm (virtio_mmio_set_eventfds). */
	int irq_fd, kick_fd[VIRTIO_MMIO_MAX_QUEUES];
	bool used_external;
	/* The registers' values as a read sees them, at their offsets (config space after
	 * them): lego-vmm maps it into the guest read-only (virtio_mmio_shadow_page), so reads
	 * cost no exit; kept current under the lock. */
	uint32_t *shadow;

	uint32_t config_len;
	uint8_t config[];
};

/* Under the lock: a register's value as the driver reads it; false for an offset that is
 * not a readable register (it reads 0). */
bool virtio_mmio_reg_value(struct virtio_mmio_dev *dev, uint64_t off, uint32_t *val);
/* Under the lock: the shadow page again from the registers (after a write, a reset, a
 * load), or just InterruptStatus. */
void virtio_mmio_shadow_sync(struct virtio_mmio_dev *dev);
void virtio_mmio_shadow_int(struct virtio_mmio_dev *dev);
/* Under the lock: forget the driver's state (a reset, a load that failed). */
void virtio_mmio_forget(struct virtio_mmio_dev *dev);

#endif
