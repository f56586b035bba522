/* irqchip.c: creates KVM's in-kernel interrupt controllers and PIT; raises and lowers lines. */
#include "irqchip.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvmclock.h"
#include "lib/log.h"
#include "vm.h"

static int need_cap(struct vm *vm, long cap, const char *name)
{
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap) > 0)
		return 0;
	log_error("KVM lacks %s, which a Linux guest needs", name);
	return -1;
}

int irqchip_create(struct vm *vm)
{
	/* The speaker port 0x61 is KVM's too, so that PIT channel 2 works for the kernel. */
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};

	if (need_cap(vm, KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP") ||
	    need_cap(vm, KVM_CAP_PIT2, "KVM_CAP_PIT2") ||
	    need_cap(vm, KVM_CAP_IRQFD, "KVM_CAP_IRQFD") ||
	    need_cap(vm, KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"))
		return -1;
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		log_error("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		log_error("KVM_CREATE_PIT2: %s", strerror(errno));
		return -1;
	}
	vm->irqchip = true;
	return 0;
}

int irqchip_set_line(struct vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = {.irq = gsi, .level = level ? 1 : 0};
	static int warned;

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) == 0)
		return 0;
	if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
		log_warn("KVM_IRQ_LINE (GSI %u, level %d): %s", gsi, level, strerror(errno));
	return -1;
}

int irqchip_state_get(struct vm *vm, struct irqchip_state *s, char *err, size_t errlen)
{
	const char *what = NULL;

	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < IRQCHIP_NR_CHIPS && !what; i++) {
		s->chip[i].chip_id = i;
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->chip[i]) < 0)
			what = i == KVM_IRQCHIP_IOAPIC ? "the IOAPIC" : "an 8259 PIC";
	}
	if (!what && ioctl(vm->vm_fd, KVM_GET_PIT2, &s->pit) < 0)
		what = "the PIT";
	if (!what && ioctl(vm->vm_fd, KVM_GET_CLOCK, &s->clock) < 0)
		what = "kvm-clock";
	if (what) {
		snprintf(err, errlen, "cannot read %s: %s", what, strerror(errno));
		return -1;
	}
	/* The guest never lets its clock go back: a destination must not start behind what the
	 * guest's own kvm-clock pages already say (KVM's figure can be, on a host whose clock
	 * is not TSC-stable). */
	uint64_t guest_ns = kvmclock_guest_ns(vm);

	if (guest_ns > s->clock.clock) {
		log_info("migration: the guest's kvm-clock reads %.3f ms ahead of KVM's: it goes",
			 (double)(guest_ns - s->clock.clock) / 1e6);
		s->clock.clock = guest_ns;
	}
	/* Only the wall-clock stamp means anything to another host's KVM_SET_CLOCK. */
	s->clock.flags &= KVM_CLOCK_REALTIME;
	s->clock.host_tsc = 0;
	return 0;
}

int irqchip_state_set(struct vm *vm, const struct irqchip_state *s, char *err, size_t errlen)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit = s->pit;
	struct kvm_clock_data clock = s->clock;
	const char *what = NULL;

	if (!vm->irqchip) {
		snprintf(err, errlen, "this VMM has no in-kernel interrupt controllers");
		return -1;
	}
	for (uint32_t i = 0; i < IRQCHIP_NR_CHIPS && !what; i++) {
		chip = s->chip[i];
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			what = i == KVM_IRQCHIP_IOAPIC ? "the IOAPIC" : "an 8259 PIC";
	}
	if (!what && ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		what = "the PIT";
	if (!what && ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		what = "kvm-clock";
	if (what) {
		snprintf(err, errlen, "KVM refuses the state of %s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}
