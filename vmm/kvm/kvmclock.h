/* kvmclock.h: the time a paused guest's own kvm-clock reads, for a migration. */
#ifndef LEGO_KVMCLOCK_H
#define LEGO_KVMCLOCK_H

#include <stdint.h>

struct vm;

/* The latest time any vCPU's kvm-clock page says, computed as the guest computes it (from
 * the page's TSC stamp, scale and system time, and the vCPU's TSC), with the vCPUs paused;
 * 0 if no vCPU has kvm-clock enabled or its page is not in guest RAM.
 *
 * Without a TSC-stable host clock, KVM's own KVM_GET_CLOCK can be behind what the guest has
 * already read; the guest never lets its clock go back, so a destination started from
 * KVM's figure would see its clock stand still (timers, the scheduler tick) until it caught
 * up. A migration sends the later of the two. */
uint64_t kvmclock_guest_ns(struct vm *vm);

/* The guest's formula (the pvclock ABI): system_time + ((tsc - tsc_timestamp) << shift) *
 * mul >> 32, with a negative shift shifting right. Pure, for tests. */
uint64_t kvmclock_ns(uint64_t system_time, uint64_t tsc_timestamp, uint32_t mul, int8_t shift,
		     uint64_t tsc);

#endif
