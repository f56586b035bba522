/* x86_boot.h: x86-64 long-mode entry state: GDT, TSS, identity page tables, registers. */
#ifndef LEGO_X86_BOOT_H
#define LEGO_X86_BOOT_H

#include <linux/kvm.h>
#include <stdint.h>

#include "vmm/kvm/guest_mem.h"

#define X86_SEL_CODE64	0x08
#define X86_SEL_DATA	0x10
#define X86_SEL_TSS	0x18
#define X86_GDT_ENTRIES 5 /* null, code64, data, tss (two slots) */
#define X86_TSS_GPA	(LEGO_GDT_GPA + 0x100)
/* The Linux boot protocol wants __BOOT_CS 0x10 and __BOOT_DS 0x18. */
#define X86_LINUX_SEL_CODE 0x10
#define X86_LINUX_SEL_DATA 0x18
#define X86_LINUX_SEL_TSS  0x20

struct x86_boot_selectors {
	uint16_t code, data, tss;
};
extern const struct x86_boot_selectors x86_boot_lego_selectors;	 /* lego_guest_abi.h */
extern const struct x86_boot_selectors x86_boot_linux_selectors; /* Linux's 64-bit boot protocol */

#define X86_CR0_PE	   (1ULL << 0)
#define X86_CR0_MP	   (1ULL << 1)
#define X86_CR0_ET	   (1ULL << 4)
#define X86_CR0_NE	   (1ULL << 5)
#define X86_CR0_WP	   (1ULL << 16)
#define X86_CR0_PG	   (1ULL << 31)
#define X86_CR4_PAE	   (1ULL << 5)
#define X86_CR4_OSFXSR	   (1ULL << 9)
#define X86_CR4_OSXMMEXCPT (1ULL << 10)
#define X86_EFER_LME	   (1ULL << 8)
#define X86_EFER_LMA	   (1ULL << 10)

#define X86_PTE_P  (1ULL << 0)
#define X86_PTE_RW (1ULL << 1)
#define X86_PTE_PS (1ULL << 7)

/* End of the identity map: all of [0, 4 GiB) (RAM and the MMIO window) plus high RAM. */
uint64_t x86_boot_identity_map_end(const struct guest_mem *mem);

/* Write PML4/PDPT/PDs (2 MiB pages) at LEGO_PT_GPA, the GDT at LEGO_GDT_GPA and a TSS.
 * Returns 0, or -ENOSPC if the tables would not fit below LEGO_PT_END. */
int x86_boot_setup_tables(struct guest_mem *mem);
/* The same page tables, with a GDT laid out for sel. */
int x86_boot_setup_tables_for(struct guest_mem *mem, const struct x86_boot_selectors *sel);

/* Translate a guest-virtual address through the tables just built (for tests and
 * for debugging a crashed guest). Returns 0 and the physical address, or -1. */
int x86_boot_walk(const struct guest_mem *mem, uint64_t cr3, uint64_t va, uint64_t *pa);

/* Long-mode segment, control and descriptor-table registers for every vCPU. */
void x86_boot_sregs(struct kvm_sregs *sregs);
void x86_boot_sregs_for(struct kvm_sregs *sregs, const struct x86_boot_selectors *sel);

/* General registers of vCPU index at entry (see lego_guest_abi.h). */
void x86_boot_regs(struct kvm_regs *regs, uint64_t entry, int index);

/* The bootstrap vCPU of a Linux guest: RIP = the kernel's 64-bit entry, RSI = the zero page. */
void x86_boot_linux_regs(struct kvm_regs *regs, uint64_t entry, uint64_t zero_page,
			 uint64_t stack_top);

/* Sane x87/SSE state (FCW 0x37f, MXCSR 0x1f80). */
void x86_boot_fpu(struct kvm_fpu *fpu);

#endif
