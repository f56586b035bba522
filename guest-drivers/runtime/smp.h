/* smp.h: run a function on every vCPU through a shared mailbox (no interrupts, no IPIs). */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdint.h>

typedef void (*smp_fn)(void *arg, unsigned cpu);

/* Secondary vCPUs: check in, then wait for work forever. */
__attribute__((noreturn)) void smp_secondary(unsigned cpu);

/* vCPU 0: wait (bounded by timeout_ms) for vCPUs 1..nr-1 to check in. Returns 0, or
 * the number of vCPUs that did not (each is reported on the console). */
int smp_init(unsigned nr, uint64_t timeout_ms);
unsigned smp_nr_cpus(void);

/* vCPU 0: run fn(arg, cpu) on every vCPU including itself; returns when all are done.
 * Everything a vCPU wrote in fn is visible to all of them afterwards. */
void smp_run_all(smp_fn fn, void *arg);

#endif
