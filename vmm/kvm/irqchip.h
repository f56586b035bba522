/* irqchip.h: KVM's in-kernel PIC, IOAPIC, local APICs and PIT, and the interrupt lines into them.
 */
#ifndef LEGO_IRQCHIP_H
#define LEGO_IRQCHIP_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* What a migration carries of the VM-wide in-kernel devices (the vCPUs' local APICs travel
 * with each vCPU: vcpu_state.h): the two 8259s, the IOAPIC, the PIT and kvm-clock. */
#define IRQCHIP_NR_CHIPS 3 /* KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC */
struct irqchip_state {
	struct kvm_irqchip chip[IRQCHIP_NR_CHIPS];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

/* KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2, before any vCPU exists (a vCPU created after
 * them gets a local APIC; every vCPU but 0 then waits for INIT/SIPI). 0, or -1 logged. */
int irqchip_create(struct vm *vm);

/* Drive GSI gsi (an ISA IRQ: IOAPIC pin and 8259 input of that number) to level. Safe
 * from any thread. 0, or -1 (logged once). */
int irqchip_set_line(struct vm *vm, uint32_t gsi, int level);

/* Read the state with the vCPUs paused; write it into a VM created the same way before its
 * vCPUs run (kvm-clock goes on from the source's value, plus the wall-clock time since it
 * was read when the source's KVM gave it). 0, or -1 with err. */
int irqchip_state_get(struct vm *vm, struct irqchip_state *s, char *err, size_t errlen);
int irqchip_state_set(struct vm *vm, const struct irqchip_state *s, char *err, size_t errlen);

#endif
