/* boot_guest.h: --kernel read and loaded into guest RAM: lego's freestanding ELF guest (its
 * segments, the boot tables and the device tree of lego_guest_abi.h) or a Linux kernel
 * (through linux_guest.h), told apart by content. */
#ifndef LEGO_BOOT_GUEST_H
#define LEGO_BOOT_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "boot_config.h"
#include "fdt_build.h"
#include "linux_guest.h"

struct vm;

/* Read --kernel (at most mem bytes) and tell its kind; a Linux kernel needs hardware
 * virtualization, which is checked here, and only a Linux kernel takes --initrd. *image is
 * malloc'ed. 0, or -1 (logged). */
int boot_guest_read(const struct boot_config *b, uint64_t mem, void **image, size_t *len,
		    enum linux_loader_kind *kind);
/* Load the image read (Linux: with --initrd, into lg) and say where the vCPUs start. 0, or -1
 * (logged). */
int boot_guest_load(struct vm *vm, const struct boot_config *b, const void *image, size_t len,
		    enum linux_loader_kind kind, struct linux_guest *lg, uint64_t *entry);
/* The freestanding guest's device tree at LEGO_FDT_GPA, from fp (its virtio devices) and b.
 * 0, or -1 (logged). */
int boot_guest_fdt(struct vm *vm, const struct boot_config *b, struct fdt_build_params *fp);

#endif
