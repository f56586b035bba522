/* virtio_mmio.c: virtio-mmio v2 registers, feature/status handshake, queue setup and reset. */
#include "virtio_mmio.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "lib/proto/lego_guest_abi.h"
#include "lib/log.h"

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

	uint32_t config_len;
	uint8_t config[];
};

/* Under the lock. Only the change from no pending cause to one raises the line: the driver
 * reads and acknowledges InterruptStatus before it looks at the rings, so a cause added while
 * one is pending is seen by that same handler. */
static void set_int_status(struct virtio_mmio_dev *dev, uint32_t bits)
{
	uint32_t old = dev->int_status;

	dev->int_status |= bits;
	if (!old && dev->int_status && dev->raise_irq)
		dev->raise_irq(dev->irq_opaque);
}

static uint32_t inflight_total(const struct virtio_mmio_dev *dev)
{
	uint32_t n = 0;

	for (int i = 0; i < dev->ops->nr_queues; i++)
		n += dev->vq[i].inflight;
	return n;
}

/* Full device reset (Status = 0): waits for in-flight requests, then forgets all
 * driver-visible state. Called with the lock held. */
static void device_reset(struct virtio_mmio_dev *dev)
{
	dev->resetting = true;
	while (inflight_total(dev))
		pthread_cond_wait(&dev->idle, &dev->lock);
	dev->driver_features = 0;
	dev->device_features_sel = 0;
	dev->driver_features_sel = 0;
	dev->queue_sel = 0;
	dev->status = 0;
	dev->int_status = 0;
	for (int i = 0; i < dev->ops->nr_queues; i++)
		virtqueue_reset(&dev->vq[i]);
	if (dev->ops->reset)
		dev->ops->reset(dev);
	dev->resetting = false;
	log_debug("%s: reset", dev->name);
}

static void write_status(struct virtio_mmio_dev *dev, uint32_t val)
{
	uint32_t old = dev->status;
	uint32_t new;

	if (!val) {
		device_reset(dev);
		return;
	}
	/* DEVICE_NEEDS_RESET belongs to the device: only a reset clears it. */
	new = (val & 0xff & ~VIRTIO_CONFIG_S_NEEDS_RESET) | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
	if ((new &VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(dev->driver_features & (1ULL << VIRTIO_F_VERSION_1))) {
		log_warn("%s: driver features 0x%llx lack VIRTIO_F_VERSION_1: FEATURES_OK refused",
			 dev->name, (unsigned long long)dev->driver_features);
		new &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	dev->status = new;
	/* A device that needs a reset starts nothing until the driver resets it. */
	if ((new &VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(new &VIRTIO_CONFIG_S_NEEDS_RESET) && dev->ops->driver_ok)
		dev->ops->driver_ok(dev);
}

static void write_driver_features(struct virtio_mmio_dev *dev, uint32_t val)
{
	uint64_t mask;

	if (dev->status & VIRTIO_CONFIG_S_FEATURES_OK) {
		log_debug("%s: DriverFeatures written after FEATURES_OK: ignored", dev->name);
		return;
	}
	if (dev->driver_features_sel > 1) {
		log_debug("%s: DriverFeaturesSel %u: write ignored", dev->name,
			  dev->driver_features_sel);
		return;
	}
	mask = 0xffffffffULL << (32 * dev->driver_features_sel);
	dev->driver_features =
		(dev->driver_features & ~mask) |
		(((uint64_t)val << (32 * dev->driver_features_sel)) & mask & dev->device_features);
}

/* The selected queue if its configuration may change now, else NULL (logged). */
static struct virtqueue *queue_for_config(struct virtio_mmio_dev *dev, uint64_t reg)
{
	struct virtqueue *vq;

	if (dev->queue_sel >= (uint32_t)dev->ops->nr_queues) {
		log_debug("%s: write 0x%llx to queue %u, which does not exist: ignored", dev->name,
			  (unsigned long long)reg, dev->queue_sel);
		return NULL;
	}
	vq = &dev->vq[dev->queue_sel];
	if (vq->ready) {
		log_debug("%s: write 0x%llx to queue %u while ready: ignored", dev->name,
			  (unsigned long long)reg, dev->queue_sel);
		return NULL;
	}
	return vq;
}

static void set_low(uint64_t *v, uint32_t val)
{
	*v = (*v & ~0xffffffffULL) | val;
}

static void set_high(uint64_t *v, uint32_t val)
{
	*v = (*v & 0xffffffffULL) | ((uint64_t)val << 32);
}

static void write_queue_ready(struct virtio_mmio_dev *dev, uint32_t val)
{
	struct virtqueue *vq;
	char why[160];

	if (dev->queue_sel >= (uint32_t)dev->ops->nr_queues) {
		log_debug("%s: QueueReady for missing queue %u: ignored", dev->name,
			  dev->queue_sel);
		return;
	}
	vq = &dev->vq[dev->queue_sel];
	if (!val) {
		if (!vq->ready)
			return;
		/* Stop taking requests; the rings stay mapped until in-flight ones finish. */
		vq->ready = false;
		while (vq->inflight)
			pthread_cond_wait(&dev->idle, &dev->lock);
	} else {
		if (vq->ready)
			return;
		if (virtqueue_enable(vq, dev->mem, why, sizeof(why))) {
			log_warn("%s: queue %u not made ready: %s", dev->name, dev->queue_sel, why);
			return;
		}
	}
	if ((dev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET) && dev->ops->queue_ready)
		dev->ops->queue_ready(dev, (int)dev->queue_sel, vq->ready);
}

/* QueueNotify: runs the device's request processing on this thread (a vCPU's, or the
 * ioeventfd thread's), without the lock (the device takes it itself and leaves it while I/O
 * runs). */
void virtio_mmio_notify(struct virtio_mmio_dev *dev, uint32_t val)
{
	if (val >= (uint32_t)dev->ops->nr_queues) {
		log_warn("%s: notify of queue %u, which does not exist: ignored", dev->name, val);
		return;
	}
	dev->ops->notify(dev, (int)val);
}

static void reg_write(struct virtio_mmio_dev *dev, uint64_t off, uint32_t val)
{
	struct virtqueue *vq;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		dev->device_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		write_driver_features(dev, val);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		dev->driver_features_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		dev->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		vq = queue_for_config(dev, off);
		if (!vq)
			break;
		if (!virtqueue_num_valid(val)) {
			log_debug("%s: QueueNum %u is not a power of two in [1, %u]: ignored",
				  dev->name, val, VIRTQ_NUM_MAX);
			break;
		}
		vq->num = (uint16_t)val;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		write_queue_ready(dev, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		dev->int_status &= ~val;
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(dev, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH: {
		uint64_t *addr;

		vq = queue_for_config(dev, off);
		if (!vq)
			break;
		if (off < VIRTIO_MMIO_QUEUE_AVAIL_LOW)
			addr = &vq->desc_gpa;
		else if (off < VIRTIO_MMIO_QUEUE_USED_LOW)
			addr = &vq->avail_gpa;
		else
			addr = &vq->used_gpa;
		if (off & 4)
			set_high(addr, val);
		else
			set_low(addr, val);
		break;
	}
	default:
		log_debug("%s: write 0x%x to read-only or unknown register 0x%llx: ignored",
			  dev->name, val, (unsigned long long)off);
		break;
	}
}

static uint32_t half(uint64_t v, uint32_t sel)
{
	return sel == 0 ? (uint32_t)v : sel == 1 ? (uint32_t)(v >> 32) : 0;
}

static uint32_t reg_read(struct virtio_mmio_dev *dev, uint64_t off)
{
	struct virtqueue *vq = NULL;

	if (dev->queue_sel < (uint32_t)dev->ops->nr_queues)
		vq = &dev->vq[dev->queue_sel];
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return dev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return half(dev->device_features, dev->device_features_sel);
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		return dev->device_features_sel;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		return half(dev->driver_features, dev->driver_features_sel);
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		return dev->driver_features_sel;
	case VIRTIO_MMIO_QUEUE_SEL:
		return dev->queue_sel;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? VIRTQ_NUM_MAX : 0;
	case VIRTIO_MMIO_QUEUE_NUM:
		return vq ? vq->num : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return dev->int_status | (dev->used_external ? VIRTIO_MMIO_INT_VRING : 0);
	case VIRTIO_MMIO_STATUS:
		return dev->status;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return vq ? (uint32_t)vq->desc_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return vq ? (uint32_t)(vq->desc_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		return vq ? (uint32_t)vq->avail_gpa : 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		return vq ? (uint32_t)(vq->avail_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		return vq ? (uint32_t)vq->used_gpa : 0;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return vq ? (uint32_t)(vq->used_gpa >> 32) : 0;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return dev->config_generation;
	default:
		log_debug("%s: read of write-only or unknown register 0x%llx: 0", dev->name,
			  (unsigned long long)off);
		return 0;
	}
}

static void mmio_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	struct virtio_mmio_dev *dev = opaque;
	uint32_t val;

	memset(data, 0, size);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t coff = off - VIRTIO_MMIO_CONFIG;

		/* The config space is read-only and never changes: no lock needed. */
		if (coff >= dev->config_len || size > dev->config_len - coff) {
			log_debug("%s: %u-byte config read at 0x%llx beyond its %u bytes: 0",
				  dev->name, size, (unsigned long long)coff, dev->config_len);
			return;
		}
		memcpy(data, dev->config + coff, size);
		return;
	}
	if (size != 4) {
		log_debug("%s: %u-byte read of register 0x%llx: only 32-bit accesses, 0", dev->name,
			  size, (unsigned long long)off);
		return;
	}
	virtio_mmio_lock(dev);
	val = reg_read(dev, off);
	virtio_mmio_unlock(dev);
	memcpy(data, &val, 4);
}

static void mmio_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct virtio_mmio_dev *dev = opaque;
	uint32_t val;

	if (off >= VIRTIO_MMIO_CONFIG) {
		log_debug("%s: %u-byte config write at 0x%llx: config is read-only, ignored",
			  dev->name, size, (unsigned long long)(off - VIRTIO_MMIO_CONFIG));
		return;
	}
	if (size != 4) {
		log_debug("%s: %u-byte write of register 0x%llx: only 32-bit accesses, ignored",
			  dev->name, size, (unsigned long long)off);
		return;
	}
	memcpy(&val, data, 4);
	if (off == VIRTIO_MMIO_QUEUE_NOTIFY) {
		virtio_mmio_notify(dev, val);
		return;
	}
	virtio_mmio_lock(dev);
	reg_write(dev, off, val);
	virtio_mmio_unlock(dev);
}

struct virtio_mmio_dev *virtio_mmio_create(struct bus *bus, struct guest_mem *mem, uint64_t base,
					   const struct virtio_mmio_ops *ops, void *priv,
					   uint64_t features, const void *config,
					   uint32_t config_len)
{
	struct virtio_mmio_dev *dev;
	struct bus_handler h;
	int err;

	if (ops->nr_queues < 1 || ops->nr_queues > VIRTIO_MMIO_MAX_QUEUES ||
	    config_len > CONFIG_MAX) {
		log_error("%s@0x%llx: bad device description (%d queues, %u config bytes)",
			  ops->name, (unsigned long long)base, ops->nr_queues, config_len);
		return NULL;
	}
	dev = calloc(1, offsetof(struct virtio_mmio_dev, config) + config_len);
	if (!dev) {
		log_error("%s@0x%llx: out of memory", ops->name, (unsigned long long)base);
		return NULL;
	}
	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->idle, NULL);
	dev->mem = mem;
	dev->ops = ops;
	dev->priv = priv;
	dev->base = base;
	snprintf(dev->name, sizeof(dev->name), "%s@0x%llx", ops->name, (unsigned long long)base);
	dev->device_features = features | (1ULL << VIRTIO_F_VERSION_1);
	dev->config_len = config_len;
	if (config_len)
		memcpy(dev->config, config, config_len);
	dev->irq_fd = -1;
	for (int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		virtqueue_reset(&dev->vq[i]);
		dev->kick_fd[i] = -1;
	}

	h = (struct bus_handler){
		.name = dev->name,
		.base = base,
		.len = LEGO_MMIO_STRIDE,
		.opaque = dev,
		.read = mmio_read,
		.write = mmio_write,
	};
	err = bus_register(bus, &h);
	if (err) {
		log_error("%s: cannot register MMIO window [0x%llx, +0x%llx): %s", dev->name,
			  (unsigned long long)base, (unsigned long long)LEGO_MMIO_STRIDE,
			  strerror(-err));
		pthread_cond_destroy(&dev->idle);
		pthread_mutex_destroy(&dev->lock);
		free(dev);
		return NULL;
	}
	return dev;
}

void virtio_mmio_drain(struct virtio_mmio_dev *dev)
{
	virtio_mmio_lock(dev);
	while (inflight_total(dev))
		pthread_cond_wait(&dev->idle, &dev->lock);
	virtio_mmio_unlock(dev);
}

void virtio_mmio_destroy(struct virtio_mmio_dev *dev)
{
	if (!dev)
		return;
	virtio_mmio_drain(dev);
	pthread_cond_destroy(&dev->idle);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

void virtio_mmio_set_irq(struct virtio_mmio_dev *dev, void (*raise)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&dev->lock);
	dev->raise_irq = raise;
	dev->irq_opaque = opaque;
	pthread_mutex_unlock(&dev->lock);
}

void virtio_mmio_set_eventfds(struct virtio_mmio_dev *dev, int irq_fd, const int *kick_fds)
{
	pthread_mutex_lock(&dev->lock);
	dev->irq_fd = irq_fd;
	for (int i = 0; i < dev->ops->nr_queues; i++)
		dev->kick_fd[i] = kick_fds ? kick_fds[i] : -1;
	pthread_mutex_unlock(&dev->lock);
}

int virtio_mmio_irq_fd(const struct virtio_mmio_dev *dev)
{
	return dev->irq_fd;
}

int virtio_mmio_kick_fd(const struct virtio_mmio_dev *dev, int queue)
{
	return queue >= 0 && queue < dev->ops->nr_queues ? dev->kick_fd[queue] : -1;
}

void virtio_mmio_set_used_external(struct virtio_mmio_dev *dev, bool on)
{
	dev->used_external = on;
}

uint32_t virtio_mmio_status(const struct virtio_mmio_dev *dev)
{
	return dev->status;
}

uint64_t virtio_mmio_base(const struct virtio_mmio_dev *dev)
{
	return dev->base;
}

int virtio_mmio_nr_queues(const struct virtio_mmio_dev *dev)
{
	return dev->ops->nr_queues;
}

void *virtio_mmio_priv(const struct virtio_mmio_dev *dev)
{
	return dev->priv;
}

struct guest_mem *virtio_mmio_mem(const struct virtio_mmio_dev *dev)
{
	return dev->mem;
}

const char *virtio_mmio_name(const struct virtio_mmio_dev *dev)
{
	return dev->name;
}

uint64_t virtio_mmio_driver_features(const struct virtio_mmio_dev *dev)
{
	return dev->driver_features;
}

void virtio_mmio_lock(struct virtio_mmio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
}

void virtio_mmio_unlock(struct virtio_mmio_dev *dev)
{
	pthread_mutex_unlock(&dev->lock);
}

struct virtqueue *virtio_mmio_queue(struct virtio_mmio_dev *dev, int queue)
{
	return &dev->vq[queue];
}

struct virtqueue *virtio_mmio_active_queue(struct virtio_mmio_dev *dev, int queue)
{
	const char *why = NULL;

	if (queue < 0 || queue >= dev->ops->nr_queues)
		why = "no such queue";
	else if (dev->resetting)
		why = "device is resetting";
	else if (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		why = "device needs reset";
	else if (!(dev->status & VIRTIO_CONFIG_S_DRIVER_OK))
		why = "driver not ready (no DRIVER_OK)";
	else if (!dev->vq[queue].ready)
		why = "queue not ready";
	if (why) {
		log_debug("%s: notify of queue %d ignored: %s", dev->name, queue, why);
		return NULL;
	}
	return &dev->vq[queue];
}

void virtio_mmio_needs_reset(struct virtio_mmio_dev *dev, int queue, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (queue >= 0)
		log_warn("%s: queue %d: %s: device needs reset", dev->name, queue, msg);
	else
		log_warn("%s: %s: device needs reset", dev->name, msg);
	dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	set_int_status(dev, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_complete(struct virtio_mmio_dev *dev, int queue, uint16_t head, uint32_t len)
{
	struct virtqueue *vq = &dev->vq[queue];

	virtqueue_push(vq, head, len);
	set_int_status(dev, VIRTIO_MMIO_INT_VRING);
	if (!vq->inflight)
		pthread_cond_broadcast(&dev->idle);
}

void virtio_mmio_drop(struct virtio_mmio_dev *dev, int queue, uint16_t head)
{
	struct virtqueue *vq = &dev->vq[queue];

	virtqueue_drop(vq, head);
	if (!vq->inflight)
		pthread_cond_broadcast(&dev->idle);
}

int virtio_mmio_save(struct virtio_mmio_dev *dev, struct virtio_mmio_state *st)
{
	int rc = 0;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&dev->lock);
	if (inflight_total(dev) || dev->resetting) {
		rc = -1;
		goto out;
	}
	st->device_id = dev->ops->device_id;
	st->driver_features = dev->driver_features;
	st->device_features_sel = dev->device_features_sel;
	st->driver_features_sel = dev->driver_features_sel;
	st->queue_sel = dev->queue_sel;
	st->status = dev->status;
	st->int_status = dev->int_status;
	st->config_generation = dev->config_generation;
	st->nr_queues = (uint32_t)dev->ops->nr_queues;
	for (int i = 0; i < dev->ops->nr_queues; i++) {
		const struct virtqueue *vq = &dev->vq[i];

		st->q[i] = (struct virtio_mmio_queue_state){.num = vq->num,
							    .ready = vq->ready,
							    .desc_gpa = vq->desc_gpa,
							    .avail_gpa = vq->avail_gpa,
							    .used_gpa = vq->used_gpa,
							    .last_avail = vq->last_avail,
							    .used_idx = vq->used_idx};
	}
out:
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

int virtio_mmio_load(struct virtio_mmio_dev *dev, const struct virtio_mmio_state *st, char *err,
		     size_t errlen)
{
	const uint32_t status_bits = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				     VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FEATURES_OK |
				     VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED;
	char qwhy[160];
	int rc = -1;

	pthread_mutex_lock(&dev->lock);
	if (inflight_total(dev)) {
		snprintf(err, errlen, "%s: requests in flight", dev->name);
		goto out;
	}
	if (st->device_id != dev->ops->device_id ||
	    st->nr_queues != (uint32_t)dev->ops->nr_queues) {
		snprintf(err, errlen, "%s: the source's device is of type %u with %u queue(s)",
			 dev->name, st->device_id, st->nr_queues);
		goto out;
	}
	if (st->driver_features & ~dev->device_features) {
		snprintf(err, errlen,
			 "%s: the driver accepted features 0x%llx this device does not offer",
			 dev->name,
			 (unsigned long long)(st->driver_features & ~dev->device_features));
		goto out;
	}
	if (st->status & ~status_bits) {
		snprintf(err, errlen, "%s: device status 0x%x has unknown bits", dev->name,
			 st->status);
		goto out;
	}
	if ((st->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(st->driver_features & (1ULL << VIRTIO_F_VERSION_1))) {
		snprintf(err, errlen, "%s: FEATURES_OK without VIRTIO_F_VERSION_1", dev->name);
		goto out;
	}
	dev->driver_features = st->driver_features;
	dev->device_features_sel = st->device_features_sel;
	dev->driver_features_sel = st->driver_features_sel;
	dev->queue_sel = st->queue_sel;
	dev->status = st->status;
	dev->int_status = st->int_status & (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	dev->config_generation = st->config_generation;
	for (int i = 0; i < dev->ops->nr_queues; i++) {
		const struct virtio_mmio_queue_state *q = &st->q[i];
		struct virtqueue *vq = &dev->vq[i];

		virtqueue_reset(vq);
		vq->num = q->num;
		vq->desc_gpa = q->desc_gpa;
		vq->avail_gpa = q->avail_gpa;
		vq->used_gpa = q->used_gpa;
		if (!q->ready) {
			/* An unready queue's num may be anything the driver wrote that passed. */
			if (!virtqueue_num_valid(q->num)) {
				snprintf(err, errlen, "%s: queue %d size %u is invalid", dev->name,
					 i, q->num);
				goto reset;
			}
			continue;
		}
		if (virtqueue_enable(vq, dev->mem, qwhy, sizeof(qwhy))) {
			snprintf(err, errlen, "%s: queue %d: %s", dev->name, i, qwhy);
			goto reset;
		}
		vq->last_avail = vq->avail_end = q->last_avail;
		vq->used_idx = q->used_idx;
	}
	rc = 0;
	goto out;
reset:
	dev->driver_features = 0;
	dev->status = 0;
	dev->int_status = 0;
	for (int i = 0; i < dev->ops->nr_queues; i++)
		virtqueue_reset(&dev->vq[i]);
out:
	pthread_mutex_unlock(&dev->lock);
	return rc;
}
