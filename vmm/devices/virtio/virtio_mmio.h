/* virtio_mmio.h: virtio-mmio (version 2) transport shared by every lego virtio device. */
#ifndef LEGO_VIRTIO_MMIO_H
#define LEGO_VIRTIO_MMIO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/kvm/bus.h"
#include "vmm/kvm/guest_mem.h"
#include "virtqueue.h"

#define VIRTIO_MMIO_MAGIC      0x74726976u /* "virt" */
#define VIRTIO_MMIO_VERSION_2  2u
#define VIRTIO_MMIO_VENDOR     0x4f47454cu /* "LEGO" */
#define VIRTIO_MMIO_MAX_QUEUES 2

struct virtio_mmio_dev;

/* What a device model plugs into the transport. */
struct virtio_mmio_ops {
	const char *name; /* "virtio-blk": prefix of the device's log lines */
	uint32_t device_id;
	int nr_queues; /* 1..VIRTIO_MMIO_MAX_QUEUES */
	/* The driver wrote QueueNotify with a valid queue index. Called WITHOUT the
	 * device lock, on the notifying vCPU thread, before the MMIO write returns. */
	void (*notify)(struct virtio_mmio_dev *dev, int queue);
	/* Optional: a full device reset, under the lock, with nothing in flight. */
	void (*reset)(struct virtio_mmio_dev *dev);
	/* Optional, under the lock: the driver set DRIVER_OK (a device whose data path runs
	 * elsewhere, vhost, starts it here). */
	void (*driver_ok)(struct virtio_mmio_dev *dev);
	/* Optional, under the lock: a queue's QueueReady changed while DRIVER_OK is set. */
	void (*queue_ready)(struct virtio_mmio_dev *dev, int queue, bool ready);
};

/* Create a device and register its LEGO_MMIO_STRIDE-byte window at base on bus.
 * features: device-specific feature bits (VIRTIO_F_VERSION_1 is added here).
 * config: the device's read-only configuration space (copied; at most 0xf00 bytes).
 * Returns NULL (logged) on failure. */
struct virtio_mmio_dev *virtio_mmio_create(struct bus *bus, struct guest_mem *mem, uint64_t base,
					   const struct virtio_mmio_ops *ops, void *priv,
					   uint64_t features, const void *config,
					   uint32_t config_len);

/* Wait for in-flight requests, then free. The bus keeps the window (buses never
 * unregister), so nothing may access it afterwards: destroy after the vCPUs stop. */
void virtio_mmio_destroy(struct virtio_mmio_dev *dev);

/* Block until no request is in flight on any queue. */
void virtio_mmio_drain(struct virtio_mmio_dev *dev);

/* An interrupt line for a guest that takes interrupts (Linux): raise is called, under the
 * device lock, each time InterruptStatus goes from 0 to non-zero (an edge). NULL: none. */
void virtio_mmio_set_irq(struct virtio_mmio_dev *dev, void (*raise)(void *opaque), void *opaque);

/* A device whose queues are served outside lego-vmm (the kernel's vhost) gives its eventfds:
 * irq_fd is its interrupt (vhost signals it; lego-vmm's own interrupts, config changes, are
 * written to it too), kick_fds[q] what a QueueNotify of queue q must signal. virtio_kvm.c
 * wires them to KVM instead of eventfds of its own. -1: none (the default). */
void virtio_mmio_set_eventfds(struct virtio_mmio_dev *dev, int irq_fd, const int *kick_fds);
int virtio_mmio_irq_fd(const struct virtio_mmio_dev *dev);
int virtio_mmio_kick_fd(const struct virtio_mmio_dev *dev, int queue);
/* Under the lock: used buffers are put by someone else (vhost), who signals irq_fd directly;
 * while set, InterruptStatus reads report a used-buffer notification, so that the driver
 * looks at its rings on every interrupt. */
void virtio_mmio_set_used_external(struct virtio_mmio_dev *dev, bool on);

/* What a QueueNotify write of val does (for notifies that arrive through an ioeventfd). */
void virtio_mmio_notify(struct virtio_mmio_dev *dev, uint32_t val);

uint64_t virtio_mmio_base(const struct virtio_mmio_dev *dev);
int virtio_mmio_nr_queues(const struct virtio_mmio_dev *dev);
void *virtio_mmio_priv(const struct virtio_mmio_dev *dev);
struct guest_mem *virtio_mmio_mem(const struct virtio_mmio_dev *dev);
const char *virtio_mmio_name(const struct virtio_mmio_dev *dev); /* "virtio-blk@0xc0000000" */
uint64_t virtio_mmio_driver_features(const struct virtio_mmio_dev *dev);
/* Under the lock: the Status register. */
uint32_t virtio_mmio_status(const struct virtio_mmio_dev *dev);

/* The device lock: serialises registers, queues and completions. The functions
 * below must be called with it held. */
void virtio_mmio_lock(struct virtio_mmio_dev *dev);
void virtio_mmio_unlock(struct virtio_mmio_dev *dev);

/* The queue if requests may be taken from it now (DRIVER_OK, not NEEDS_RESET, not
 * resetting, queue ready), else NULL. */
struct virtqueue *virtio_mmio_active_queue(struct virtio_mmio_dev *dev, int queue);

/* The queue's ring state, whatever its state (for completions). */
struct virtqueue *virtio_mmio_queue(struct virtio_mmio_dev *dev, int queue);

/* The guest broke the protocol on a queue (-1: none in particular): log one warn line naming
 * the problem, set
 * DEVICE_NEEDS_RESET (with a configuration-change interrupt, virtio 1.1 §2.1.2) and
 * ignore notifies until the driver resets the device. */
void virtio_mmio_needs_reset(struct virtio_mmio_dev *dev, int queue, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Complete an in-flight chain: used element, used->idx (release), InterruptStatus bit
 * 0, and wake drain/reset waiters when the device goes idle. */
void virtio_mmio_complete(struct virtio_mmio_dev *dev, int queue, uint16_t head, uint32_t len);

/* Forget an in-flight chain without completing it (it turned out malformed). */
void virtio_mmio_drop(struct virtio_mmio_dev *dev, int queue, uint16_t head);

/* The driver-visible state, for live migration: what the driver wrote and where each
 * queue's device side stands. Saved with nothing in flight (vCPUs paused, drained). */
struct virtio_mmio_queue_state {
	uint16_t num;
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail, used_idx;
};

struct virtio_mmio_state {
	uint32_t device_id;
	uint64_t driver_features;
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint32_t status, int_status, config_generation;
	uint32_t nr_queues;
	struct virtio_mmio_queue_state q[VIRTIO_MMIO_MAX_QUEUES];
};

/* Take the lock, check nothing is in flight, copy the state out. -1 if requests are still
 * in flight (drain first). */
int virtio_mmio_save(struct virtio_mmio_dev *dev, struct virtio_mmio_state *st);
/* Install a state received from another host, before any vCPU runs. Everything is checked
 * as if the driver had written it (device type, features offered here, queue sizes, rings
 * inside guest RAM); returns 0, or -1 with err and the device left reset. */
int virtio_mmio_load(struct virtio_mmio_dev *dev, const struct virtio_mmio_state *st, char *err,
		     size_t errlen);

#endif
