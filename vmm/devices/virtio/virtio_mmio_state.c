/* virtio_mmio_state.c: a virtio-mmio device's driver-visible state saved on a migration's
 * source and loaded, checked as the driver's own writes would be, on its destination. */
#include <stdio.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "virtio_mmio_internal.h"

static uint32_t inflight_total(const struct virtio_mmio_dev *dev)
{
	uint32_t n = 0;

	for (int i = 0; i < dev->ops->nr_queues; i++)
		n += dev->vq[i].inflight;
	return n;
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
	virtio_mmio_forget(dev);
out:
	virtio_mmio_shadow_sync(dev);
	pthread_mutex_unlock(&dev->lock);
	return rc;
}
