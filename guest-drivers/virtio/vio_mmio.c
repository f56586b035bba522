/* vio_mmio.c: virtio-mmio v2 driver transport (virtio 1.1 §4.2.2, init sequence §3.1.1). */
#include "vio_mmio.h"

#include "guest-drivers/runtime/fmt.h"
#include "guest-drivers/runtime/io.h"
#include "guest-drivers/runtime/timing.h"

#define RESET_TIMEOUT_MS 1000

uint32_t vio_mmio_reg_read(const struct vio_mmio_dev *d, uint32_t reg)
{
	return io_mmio_read32(d->base + reg);
}

void vio_mmio_reg_write(const struct vio_mmio_dev *d, uint32_t reg, uint32_t val)
{
	io_mmio_write32(d->base + reg, val);
}

int vio_mmio_probe(struct vio_mmio_dev *d, uint64_t base, char *err, size_t errlen)
{
	uint32_t magic, version;

	d->base = base;
	d->device_features = 0;
	d->features = 0;
	magic = vio_mmio_reg_read(d, VIRTIO_MAGIC_VALUE);
	version = vio_mmio_reg_read(d, VIRTIO_VERSION);
	d->device_id = vio_mmio_reg_read(d, VIRTIO_DEVICE_ID);
	d->vendor_id = vio_mmio_reg_read(d, VIRTIO_VENDOR_ID);
	if (magic != VIRTIO_MAGIC) {
		fmt_snprintf(err, errlen, "virtio-mmio@0x%lx: bad magic 0x%x", base, magic);
		return -1;
	}
	if (version != VIRTIO_MMIO_VERSION) {
		fmt_snprintf(err, errlen, "virtio-mmio@0x%lx: version %u, need %u (virtio 1.x)",
			     base, version, VIRTIO_MMIO_VERSION);
		return -1;
	}
	return 0;
}

uint32_t vio_mmio_status(const struct vio_mmio_dev *d)
{
	return vio_mmio_reg_read(d, VIRTIO_STATUS);
}

void vio_mmio_set_status(const struct vio_mmio_dev *d, uint32_t bits)
{
	vio_mmio_reg_write(d, VIRTIO_STATUS, vio_mmio_status(d) | bits);
}

int vio_mmio_reset(const struct vio_mmio_dev *d)
{
	struct timing_deadline dl;

	vio_mmio_reg_write(d, VIRTIO_STATUS, 0);
	timing_deadline_start(&dl, RESET_TIMEOUT_MS);
	while (vio_mmio_status(d) != 0) {
		if (timing_deadline_passed(&dl))
			return -1;
		io_cpu_relax();
	}
	return 0;
}

int vio_mmio_negotiate(struct vio_mmio_dev *d, uint64_t wanted, char *err, size_t errlen)
{
	uint64_t want = wanted | (1ULL << VIRTIO_F_VERSION_1);

	if (vio_mmio_reset(d)) {
		fmt_snprintf(err, errlen, "virtio-mmio@0x%lx: Status does not read 0 after reset",
			     d->base);
		return -1;
	}
	vio_mmio_set_status(d, VIRTIO_S_ACKNOWLEDGE);
	vio_mmio_set_status(d, VIRTIO_S_DRIVER);
	vio_mmio_reg_write(d, VIRTIO_DEVICE_FEATURES_SEL, 0);
	d->device_features = vio_mmio_reg_read(d, VIRTIO_DEVICE_FEATURES);
	vio_mmio_reg_write(d, VIRTIO_DEVICE_FEATURES_SEL, 1);
	d->device_features |= (uint64_t)vio_mmio_reg_read(d, VIRTIO_DEVICE_FEATURES) << 32;
	if (!(d->device_features & (1ULL << VIRTIO_F_VERSION_1))) {
		fmt_snprintf(err, errlen,
			     "virtio-mmio@0x%lx: device does not offer VIRTIO_F_VERSION_1",
			     d->base);
		goto failed;
	}
	d->features = d->device_features & want;
	vio_mmio_reg_write(d, VIRTIO_DRIVER_FEATURES_SEL, 0);
	vio_mmio_reg_write(d, VIRTIO_DRIVER_FEATURES, (uint32_t)d->features);
	vio_mmio_reg_write(d, VIRTIO_DRIVER_FEATURES_SEL, 1);
	vio_mmio_reg_write(d, VIRTIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	vio_mmio_set_status(d, VIRTIO_S_FEATURES_OK);
	if (!(vio_mmio_status(d) & VIRTIO_S_FEATURES_OK)) {
		fmt_snprintf(err, errlen,
			     "virtio-mmio@0x%lx: FEATURES_OK not accepted (features 0x%lx)",
			     d->base, d->features);
		goto failed;
	}
	return 0;
failed:
	vio_mmio_set_status(d, VIRTIO_S_FAILED);
	return -1;
}

uint32_t vio_mmio_queue_max(const struct vio_mmio_dev *d, unsigned idx)
{
	vio_mmio_reg_write(d, VIRTIO_QUEUE_SEL, idx);
	return vio_mmio_reg_read(d, VIRTIO_QUEUE_NUM_MAX);
}

int vio_mmio_queue_enable(const struct vio_mmio_dev *d, unsigned idx, uint16_t num, uint64_t desc,
			  uint64_t avail, uint64_t used)
{
	vio_mmio_reg_write(d, VIRTIO_QUEUE_SEL, idx);
	vio_mmio_reg_write(d, VIRTIO_QUEUE_NUM, num);
	vio_mmio_reg_write(d, VIRTIO_QUEUE_DESC_LOW, (uint32_t)desc);
	vio_mmio_reg_write(d, VIRTIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	vio_mmio_reg_write(d, VIRTIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	vio_mmio_reg_write(d, VIRTIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	vio_mmio_reg_write(d, VIRTIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	vio_mmio_reg_write(d, VIRTIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	/* The rings (zeroed by the caller) must be visible before the device looks. */
	io_mb();
	vio_mmio_reg_write(d, VIRTIO_QUEUE_READY, 1);
	return vio_mmio_reg_read(d, VIRTIO_QUEUE_READY) == 1 ? 0 : -1;
}

void vio_mmio_driver_ok(const struct vio_mmio_dev *d)
{
	vio_mmio_set_status(d, VIRTIO_S_DRIVER_OK);
}

void vio_mmio_notify(const struct vio_mmio_dev *d, unsigned queue)
{
	/* Ring updates (avail idx) must reach memory before the device is told. */
	io_mb();
	vio_mmio_reg_write(d, VIRTIO_QUEUE_NOTIFY, queue);
}

uint32_t vio_mmio_config32(const struct vio_mmio_dev *d, uint32_t off)
{
	return vio_mmio_reg_read(d, VIRTIO_CONFIG + off);
}

uint64_t vio_mmio_config64(const struct vio_mmio_dev *d, uint32_t off)
{
	uint32_t gen, lo = 0, hi = 0;

	/* Bounded: a device whose generation never settles still cannot hang the guest. */
	for (int tries = 0; tries < 100; tries++) {
		gen = vio_mmio_reg_read(d, VIRTIO_CONFIG_GENERATION);
		lo = vio_mmio_config32(d, off);
		hi = vio_mmio_config32(d, off + 4);
		if (gen == vio_mmio_reg_read(d, VIRTIO_CONFIG_GENERATION))
			break;
	}
	return ((uint64_t)hi << 32) | lo;
}
