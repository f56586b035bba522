/* cpuid.c: fetch KVM's supported CPUID leaves and patch the per-vCPU fields. */
#include "cpuid.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lib/log.h"

#define CPUID_HYPERVISOR_BIT   (1U << 31)
#define CPUID_TSC_DEADLINE_BIT (1U << 24)

struct kvm_cpuid2 *cpuid_supported(int kvm_fd)
{
	for (unsigned nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c =
			calloc(1, sizeof(*c) + nent * sizeof(struct kvm_cpuid_entry2));

		if (!c)
			return NULL;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG) {
			log_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
			return NULL;
		}
	}
	log_error("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
	return NULL;
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *base, int index)
{
	size_t len = sizeof(*base) + base->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = malloc(len);

	if (!c)
		return NULL;
	memcpy(c, base, len);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x00ffffffU) | ((uint32_t)index << 24);
			e->ecx |= CPUID_HYPERVISOR_BIT;
			break;
		case 0xb:
		case 0x1f:
			e->edx = (uint32_t)index; /* x2APIC ID */
			break;
		default:
			break;
		}
	}
	return c;
}

void cpuid_for_linux(struct kvm_cpuid2 *c, int kvm_fd)
{
	bool deadline = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;

	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1 && deadline)
			e->ecx |= CPUID_TSC_DEADLINE_BIT;
	}
}

int cpuid_set_xcr0(int vcpu_fd, const struct kvm_cpuid2 *c)
{
	struct kvm_xcrs xcrs = {.nr_xcrs = 1};

	for (unsigned i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 0xd && e->index == 0) {
			xcrs.xcrs[0].xcr = 0;
			xcrs.xcrs[0].value = ((uint64_t)e->edx << 32 | e->eax) | 1;
		}
		if (e->function == 1 && !(e->ecx & (1U << 26)))
			return 0; /* no XSAVE: nothing to set */
	}
	if (!xcrs.xcrs[0].value)
		return 0;
	return ioctl(vcpu_fd, KVM_SET_XCRS, &xcrs);
}
