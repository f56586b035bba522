/* cpuid.h: the CPUID table each vCPU sees (KVM's supported set, patched per vCPU). */
#ifndef LEGO_CPUID_H
#define LEGO_CPUID_H

#include <linux/kvm.h>

/* KVM_GET_SUPPORTED_CPUID, grown until it fits. NULL (and a log line) on failure. */
struct kvm_cpuid2 *cpuid_supported(int kvm_fd);

/* A copy of base for vCPU index: APIC IDs set, hypervisor bit on (a guest needs it to
 * trust kvm-clock and the TSC). Caller frees. */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *base, int index);

/* What a Linux guest needs beyond that: the TSC-deadline timer where the local APIC
 * emulates it (it then needs no timer calibration), and XSAVE leaves it can trust. */
void cpuid_for_linux(struct kvm_cpuid2 *c, int kvm_fd);

/* XCR0 = every state component leaf 0xD offers, before the guest runs. Linux sets that XCR0
 * itself, then checks leaf 0xD's size for it; where XSETBV does not exit (seen in nested
 * KVM under QEMU TCG), KVM's leaf would still describe XCR0 = 1. 0, or -1 with errno. */
int cpuid_set_xcr0(int vcpu_fd, const struct kvm_cpuid2 *c);

#endif
