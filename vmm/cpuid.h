/* cpuid.h: the CPUID table each vCPU sees (KVM's supported set, patched per vCPU). */
#ifndef LEGO_CPUID_H
#define LEGO_CPUID_H

#include <linux/kvm.h>

/* KVM_GET_SUPPORTED_CPUID, grown until it fits. NULL (and a log line) on failure. */
struct kvm_cpuid2 *cpuid_supported(int kvm_fd);

/* A copy of base for vCPU index: APIC IDs set, hypervisor bit on (a guest needs it to
 * trust kvm-clock and the TSC). Caller frees. */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *base, int index);

#endif
