/* cpuid.c: fetch KVM's supported CPUID leaves and patch the per-vCPU fields. */
#include "cpuid.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"

#define CPUID_HYPERVISOR_BIT (1U << 31)

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
