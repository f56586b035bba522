/* linux_zeropage.h: the Linux boot protocol's zero page: e820 map, command line and initrd. */
#ifndef LEGO_LINUX_ZEROPAGE_H
#define LEGO_LINUX_ZEROPAGE_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "vmm/kvm/guest_mem.h"
#include "linux_loader.h"

/* Guest-physical layout of a Linux boot (lego-vmm writes these before the first vCPU runs;
 * the kernel copies what it keeps before it reuses low RAM):
 *   0x1000   GDT (null, null, code64 0x10, data 0x18, TSS 0x20)    x86_boot.c
 *   0x7000   zero page (struct boot_params); boot stack below it
 *   0x10000  identity page tables                                  x86_boot.c
 *   0x80000  kernel command line
 *   0xe0000  ACPI tables, RSDP first ("BIOS" area, reserved in e820) acpi.c
 *   0xf0000  MP table (for acpi=off)                                mptable.c
 *   0xffff0  the reset vector: a stub that resets through the keyboard controller
 *            (a kernel's real-mode "BIOS" restart jumps there)
 *   1 MiB    bzImage protected-mode kernel (a vmlinux loads at its own physical address)
 *   ...      initrd, at the top of RAM below the MMIO window */
#define LINUX_ZERO_PAGE_GPA  0x7000ULL
#define LINUX_BOOT_STACK_TOP 0x7000ULL
#define LINUX_CMDLINE_GPA    0x80000ULL
#define LINUX_CMDLINE_AREA   0x10000ULL /* the command line's room in guest RAM */
#define LINUX_BIOS_GPA	     0xe0000ULL
#define LINUX_ACPI_GPA	     0xe0000ULL
#define LINUX_MPTABLE_GPA    0xf0000ULL
#define LINUX_BIOS_END	     0x100000ULL
#define LINUX_BASE_RAM_END   0xa0000ULL
#define LINUX_RESET_VECTOR   0xffff0ULL /* 640 KiB of base memory */
#define LINUX_E820_MAX	     8

/* The guest's e820 map (sorted, non-overlapping): base memory, the reserved BIOS area that
 * holds the ACPI and MP tables, RAM from 1 MiB, the reserved MMIO window [mmio_base, + mmio_len)
 * (nothing if mmio_len is 0) and high RAM. Returns the number of entries. */
int linux_zeropage_e820(const struct guest_mem *mem, uint64_t mmio_base, uint64_t mmio_len,
			struct boot_e820_entry e[LINUX_E820_MAX]);

/* Where an initrd of len bytes goes: the highest page-aligned place that ends below both
 * the MMIO window and the kernel's limit and stays clear of the kernel. 0 and *gpa, or -1
 * with err. */
int linux_zeropage_place_initrd(const struct guest_mem *mem, const struct linux_loader_kernel *k,
				uint64_t len, uint64_t *gpa, char *err, size_t errlen);

struct linux_zeropage_cfg {
	const char *cmdline;
	const void *initrd; /* NULL: none */
	uint64_t initrd_len;
	uint64_t mmio_base, mmio_len;
	uint64_t acpi_rsdp; /* 0: none (the kernel also scans the BIOS area for it) */
};

/* Write the command line, the initrd and the zero page. 0, or -1 with err. */
int linux_zeropage_setup(struct guest_mem *mem, const struct linux_loader_kernel *k,
			 const struct linux_zeropage_cfg *cfg, char *err, size_t errlen);

#endif
