/* elf_loader.h: validate a freestanding 64-bit ELF guest image and copy it into guest RAM. */
#ifndef LEGO_ELF_LOADER_H
#define LEGO_ELF_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/kvm/guest_mem.h"

enum elf_loader_status {
	ELF_OK = 0,
	ELF_ERR_INVALID,   /* not a loadable x86-64 ELF64 executable, or inconsistent headers */
	ELF_ERR_TOO_LARGE, /* a segment reaches beyond guest RAM */
	ELF_ERR_PLACEMENT, /* a segment overlaps the VMM's boot area or the MMIO window */
};

struct elf_loader_image {
	uint64_t entry;
	uint64_t lowest;  /* lowest guest-physical address loaded */
	uint64_t highest; /* highest guest-physical address loaded + 1 */
};

/* Check every header against the file and against guest RAM before copying anything;
 * on failure err (errlen bytes) says precisely what is wrong. */
enum elf_loader_status elf_loader_load(struct guest_mem *mem, const void *image, size_t len,
				       struct elf_loader_image *info, char *err, size_t errlen);

#endif
