/* irqchip.c: creates KVM's in-kernel interrupt controllers and PIT; raises and lowers lines. */
#include "irqchip.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
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
