/* kvmclock.c: read a paused guest's kvm-clock the way the guest reads it. */
#include "kvmclock.h"

#include <asm/kvm_para.h>

#include "guest_mem.h"
#include "vcpu_state.h"
#include "vm.h"
#include "lib/proto/wire.h"

#define MSR_IA32_TSC 0x10
#define PVCLOCK_LEN  32 /* struct pvclock_vcpu_time_info */

uint64_t kvmclock_ns(uint64_t system_time, uint64_t tsc_timestamp, uint32_t mul, int8_t shift,
		     uint64_t tsc)
{
	uint64_t delta = tsc - tsc_timestamp;

	if (tsc < tsc_timestamp)
		return system_time; /* a stamp from the future: the guest reads no further */
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return system_time + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

uint64_t kvmclock_guest_ns(struct vm *vm)
{
	uint64_t latest = 0;

	for (int i = 0; i < vm->nr_vcpus; i++) {
		int fd = vm->vcpus[i].fd;
		uint64_t tsc, st = 0;
		const uint8_t *p;

		if (vcpu_state_msr_get(fd, MSR_IA32_TSC, &tsc))
			continue;
		/* The guest enables one of the two time MSRs, the new one if it can. */
		if ((vcpu_state_msr_get(fd, MSR_KVM_SYSTEM_TIME_NEW, &st) || !(st & 1)) &&
		    vcpu_state_msr_get(fd, MSR_KVM_SYSTEM_TIME, &st))
			continue;
		if (!(st & 1))
			continue; /* kvm-clock off on this vCPU */
		p = guest_mem_ptr(&vm->mem, st & ~1ULL, PVCLOCK_LEN);
		if (!p || (wire_get_le32(p) & 1))
			continue; /* outside RAM, or caught mid-update (odd version) */
		uint64_t ns = kvmclock_ns(wire_get_le64(p + 16), wire_get_le64(p + 8),
					  wire_get_le32(p + 24), (int8_t)p[28], tsc);

		if (ns > latest)
			latest = ns;
	}
	return latest;
}
