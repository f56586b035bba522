/* mptable.h: an Intel MultiProcessor Specification 1.4 table: every vCPU, the IOAPIC, ISA IRQs. */
#ifndef LEGO_MPTABLE_H
#define LEGO_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/kvm/guest_mem.h"

#define MPTABLE_IOAPIC_ADDR 0xfec00000U /* KVM's in-kernel IOAPIC */
#define MPTABLE_LAPIC_ADDR  0xfee00000U
#define MPTABLE_ISA_IRQS    16

/* Bytes the floating pointer and the configuration table take for nr_cpus vCPUs. */
size_t mptable_size(int nr_cpus);

/* Write the floating pointer at gpa (16-byte aligned, where Linux scans for it) and the
 * configuration table after it: a processor entry per vCPU (APIC ID = vCPU index, vCPU 0
 * the bootstrap processor), the ISA bus, one IOAPIC (ID nr_cpus) with ISA IRQ n on its pin n,
 * and the 8259's ExtINT and NMI on every local APIC's LINT0 and LINT1.
 * Returns 0, or -1 if it does not fit in guest RAM at gpa. */
int mptable_write(struct guest_mem *mem, uint64_t gpa, int nr_cpus);

#endif
