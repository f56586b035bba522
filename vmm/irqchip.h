/* irqchip.h: KVM's in-kernel PIC, IOAPIC, local APICs and PIT, and the interrupt lines into them.
 */
#ifndef LEGO_IRQCHIP_H
#define LEGO_IRQCHIP_H

#include <stdint.h>

struct vm;

/* KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2, before any vCPU exists (a vCPU created after
 * them gets a local APIC; every vCPU but 0 then waits for INIT/SIPI). 0, or -1 logged. */
int irqchip_create(struct vm *vm);

/* Drive GSI gsi (an ISA IRQ: IOAPIC pin and 8259 input of that number) to level. Safe
 * from any thread. 0, or -1 (logged once). */
int irqchip_set_line(struct vm *vm, uint32_t gsi, int level);

#endif
