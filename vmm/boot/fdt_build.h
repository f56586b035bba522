/* fdt_build.h: the flattened device tree lego-vmm hands the guest (built with libfdt). */
#ifndef LEGO_FDT_BUILD_H
#define LEGO_FDT_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/kvm/guest_mem.h"

#define FDT_MAX_VIRTIO 16

struct fdt_build_params {
	const struct guest_mem *mem;
	int nr_vcpus;
	const char *bootargs;
	uint32_t tsc_khz;
	int nr_virtio;
	uint64_t virtio_base[FDT_MAX_VIRTIO];
	uint64_t virtio_size;
};

/* Build the tree into buf (size bytes). Returns 0 or a negative libfdt error
 * (-FDT_ERR_NOSPACE when it does not fit). The layout is in lego_guest_abi.h. */
int fdt_build(void *buf, size_t size, const struct fdt_build_params *p);

#endif
