/* kvmclock.c: read a paused guest's kvm-clock the way the guest reads it. */
#include "kvmclock.h"

#include <string.h>
#include <sys/ioctl.h>

#include "guest_mem.h"
#include "vm.h"
#include "wire.h"

#define MSR_IA32_TSC		0x10
#define MSR_KVM_SYSTEM_TIME	0x12
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define PVCLOCK_LEN		32 /* struct pvclock_vcpu_time_info */

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

static int read_msrs(int fd, uint64_t *tsc, uint64_t *st_new, uint64_t *st_old)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[3];
	} m = {.hdr.nmsrs = 3,
	       .e = {{.index = MSR_IA32_TSC},
		     {.index = MSR_KVM_SYSTEM_TIME_NEW},
		     {.index = MSR_KVM_SYSTEM_TIME}}};

	if (ioctl(fd, KVM_GET_MSRS, &m) != 3)
		return -1;
	*tsc = m.e[0].data;
	*st_new = m.e[1].data;
	*st_old = m.e[2].data;
	return 0;
}

uint64_t kvmclock_guest_ns(struct vm *vm)
{
	uint64_t latest = 0;

	for (int i = 0; i < vm->nr_vcpus; i++) {
		uint64_t tsc, st_new, st_old, st;
		const uint8_t *p;

		if (read_msrs(vm->vcpus[i].fd, &tsc, &st_new, &st_old))
			continue;
		st = (st_new & 1) ? st_new : st_old;
		if (!(st & 1))
			continue; /* kvm-clock off on this vCPU */
		p = guest_mem_ptr(&vm->mem, st & ~1ULL, PVCLOCK_LEN);
		if (!p || (get_le32(p) & 1))
			continue; /* outside RAM, or caught mid-update (odd version) */
		uint64_t ns = kvmclock_ns(get_le64(p + 16), get_le64(p + 8), get_le32(p + 24),
					  (int8_t)p[28], tsc);

		if (ns > latest)
			latest = ns;
	}
	return latest;
}
