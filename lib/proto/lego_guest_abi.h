/* lego_guest_abi.h: the contract between lego-vmm and a freestanding lego guest.
 *
 * One header, included by both ends (vmm/ and guest-drivers/), so the two can never
 * disagree about ports, addresses or the boot register state. Freestanding-safe: it
 * uses only compiler builtin types. Bump LEGO_GUEST_ABI_VERSION on any change. */
#ifndef LEGO_GUEST_ABI_H
#define LEGO_GUEST_ABI_H

#define LEGO_GUEST_ABI_VERSION 1

/* Port I/O devices. */
#define LEGO_PORT_CONSOLE    0x3f8 /* 8250-compatible UART, THR at +0, LSR at +5 */
#define LEGO_PORT_DEBUG_EXIT 0x501 /* 32-bit out: value & 0xff is lego-vmm's exit status */

/* Guest-physical layout. [0, 1 MiB) belongs to the VMM (GDT, page tables, device tree,
 * boot stacks): the guest reads it but must not write there. RAM starts at 0; the part of RAM that
 * would overlap the MMIO window [LEGO_MMIO_BASE, 4 GiB) is relocated above 4 GiB
 * (LEGO_HIGH_RAM_BASE). */
#define LEGO_GDT_GPA	    0x1000ULL	  /* GDT built by the VMM (null, code64, data) */
#define LEGO_PT_GPA	    0x10000ULL	  /* identity page tables: PML4, PDPT, PDs (2 MiB pages) */
#define LEGO_PT_END	    0x80000ULL	  /* page tables end here (448 KiB) */
#define LEGO_FDT_GPA	    0x80000ULL	  /* flattened device tree */
#define LEGO_FDT_MAX	    0x10000ULL	  /* at most 64 KiB */
#define LEGO_BOOT_STACK_TOP 0xa0000ULL	  /* top of the VMM-provided boot stacks */
#define LEGO_IMAGE_MIN_GPA  0x100000ULL	  /* guest ELF segments must load at or above 1 MiB */
#define LEGO_MMIO_BASE	    0xc0000000ULL /* virtio-mmio devices, LEGO_MMIO_STRIDE apart */
#define LEGO_MMIO_STRIDE    0x1000ULL
#define LEGO_HIGH_RAM_BASE  0x100000000ULL

/* Guest RAM limits enforced by lego-vmm (--mem). */
#define LEGO_MEM_MIN (4ULL << 20)
#define LEGO_MEM_MAX (64ULL << 30)

/* The identity map covers [0, 4 GiB) plus all high RAM, with 2 MiB pages,
 * read/write, cacheable: MMIO is mapped plainly (PLATFORM.md). */

/* Register state of every vCPU at entry (64-bit long mode, CPL 0, paging on):
 *   RIP = ELF entry point, RDI = LEGO_FDT_GPA, RSI = vCPU index (0..n-1),
 *   RSP = LEGO_BOOT_STACK_TOP - index * LEGO_BOOT_STACK_STRIDE (256 bytes each: the guest
 *         must switch to its own stack before calling anything deep),
 *   RFLAGS = 0x2 (interrupts off: the guest polls; PVM cannot deliver them).
 *   CR4.OSFXSR/OSXMMEXCPT are set and the FPU initialised, so SSE may be used; but any
 *   exception (e.g. an unmasked SIMD one) ends the vCPU, since no IDT can be delivered.
 * All vCPUs start at once; there is no INIT/SIPI. A vCPU that executes HLT stops
 * for good. The run ends when any vCPU writes LEGO_PORT_DEBUG_EXIT. */
#define LEGO_BOOT_STACK_STRIDE 0x100ULL
#define LEGO_MAX_VCPUS	       64 /* boot stacks: [0x9c000, 0xa0000) */

/* The device tree (/chosen):
 *   bootargs                 the guest command line (--append)
 *   lego,abi-version         <u32> LEGO_GUEST_ABI_VERSION
 *   lego,console-port        <u32> LEGO_PORT_CONSOLE
 *   lego,debug-exit-port     <u32> LEGO_PORT_DEBUG_EXIT
 *   lego,tsc-khz             <u32> guest TSC frequency in kHz (0 if unknown)
 * /memory@0 (and /memory@100000000): device_type = "memory", reg = <addr size> (2 cells each)
 * /cpus/cpu@N: device_type = "cpu", reg = <N>  (#address-cells 1, #size-cells 0)
 * /virtio_mmio@ADDR: compatible = "virtio,mmio", reg = <addr size> (2 cells each).
 * No interrupts property: the freestanding guest polls. */

#endif
