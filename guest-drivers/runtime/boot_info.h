/* boot_info.h: what the guest learns from the VMM's device tree (ABI in lego_guest_abi.h). */
#ifndef GUEST_BOOT_INFO_H
#define GUEST_BOOT_INFO_H

#include <stddef.h>
#include <stdint.h>

#define BOOT_MAX_RAM	8
#define BOOT_MAX_VIRTIO 32

struct boot_info_range {
	uint64_t base;
	uint64_t size;
};

struct boot_info {
	const char *bootargs; /* points into the tree; "" if absent */
	uint32_t abi_version;
	uint32_t tsc_khz; /* 0 if unknown */
	int nr_ram;
	struct boot_info_range ram[BOOT_MAX_RAM]; /* sorted by base, not overlapping */
	uint64_t ram_total;
	int nr_cpus; /* /cpus/cpu@N nodes */
	int nr_virtio;
	struct boot_info_range virtio[BOOT_MAX_VIRTIO]; /* compatible = "virtio,mmio", tree order */
};

/* Parse and check the tree at fdt (at most buf_size readable bytes). Returns 0, or -1
 * with a message in err: a corrupt tree, a missing or wrong lego,abi-version, no
 * memory, no cpus, a reg property of the wrong size. */
int boot_info_parse(const void *fdt, uint64_t buf_size, struct boot_info *bi, char *err,
		    size_t errlen);

#endif
