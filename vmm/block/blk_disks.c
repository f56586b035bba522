/* blk_disks.c: the vNode's disks: a backend per --disk and its virtio-blk device. */
#include "blk_disks.h"

#include <string.h>

#include "lib/log.h"
#include "lib/proto/lego_guest_abi.h"
#include "vmm/devices/virtio/virtio_blk.h"
#include "vmm/kvm/vm.h"

int blk_disks_create(struct blk_disks *d, const struct blk_config *cfg, const char *provider,
		     struct vm *vm)
{
	memset(d, 0, sizeof(*d));
	for (int i = 0; i < cfg->nr_disks; i++) {
		const struct blk_config_disk_spec *dk = &cfg->disks[i];
		uint64_t base = LEGO_MMIO_BASE + (uint64_t)i * LEGO_MMIO_STRIDE;

		if (dk->smon ? blk_smon_open(provider, dk->host, dk->port, dk->vol, dk->read_only,
					     cfg->smon_channels, cfg->smon_timeout_ms, cfg->holder,
					     &d->backends[i])
			     : blk_file_open(dk->path, dk->read_only, &d->backends[i]))
			return -1;
		d->nr = i + 1;
		d->devs[i] = virtio_blk_create(&vm->mmio, &vm->mem, base, d->backends[i]);
		if (!d->devs[i]) {
			log_error("cannot create virtio-blk device for '%s'", dk->path);
			return -1;
		}
		d->base[i] = base;
		log_info("virtio-blk %d at 0x%llx: '%s'%s", i, (unsigned long long)base, dk->path,
			 dk->read_only ? " (read-only)" : "");
	}
	return 0;
}

void blk_disks_destroy(struct blk_disks *d)
{
	for (int i = 0; i < d->nr; i++) {
		if (d->devs[i])
			virtio_blk_destroy(d->devs[i]);
		if (d->backends[i])
			blk_backend_close(d->backends[i]);
	}
	d->nr = 0;
}
