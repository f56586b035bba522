/* smp.c: mailbox (function, argument, generation) polled by the secondary vCPUs. */
#include "smp.h"

#include "console.h"
#include "io.h"
#include "lib/proto/lego_guest_abi.h"
#include "timing.h"

struct percpu {
	uint64_t checked_in;
	uint64_t done_gen; /* generation of the last job this vCPU finished */
} __attribute__((aligned(64)));

static struct {
	smp_fn fn;
	void *arg;
	uint64_t gen; /* bumped (release) after fn and arg are written */
	unsigned nr;  /* vCPUs taking part: others ignore the job */
} mailbox __attribute__((aligned(64)));

static struct percpu percpu[LEGO_MAX_VCPUS];
static unsigned nr_cpus = 1;

void smp_secondary(unsigned cpu)
{
	uint64_t seen = 0;

	__atomic_store_n(&percpu[cpu].checked_in, 1, __ATOMIC_RELEASE);
	for (;;) {
		uint64_t gen = __atomic_load_n(&mailbox.gen, __ATOMIC_ACQUIRE);

		if (gen == seen) {
			io_cpu_relax();
			continue;
		}
		/* fn, arg and nr stay unchanged until every vCPU has reported done. */
		if (cpu < mailbox.nr)
			mailbox.fn(mailbox.arg, cpu);
		__atomic_store_n(&percpu[cpu].done_gen, gen, __ATOMIC_RELEASE);
		seen = gen;
	}
}

int smp_init(unsigned nr, uint64_t timeout_ms)
{
	struct timing_deadline d;
	int missing = 0;

	timing_deadline_start(&d, timeout_ms);
	for (unsigned cpu = 1; cpu < nr; cpu++) {
		while (!__atomic_load_n(&percpu[cpu].checked_in, __ATOMIC_ACQUIRE)) {
			if (timing_deadline_passed(&d))
				break;
			io_cpu_relax();
		}
		if (!__atomic_load_n(&percpu[cpu].checked_in, __ATOMIC_ACQUIRE)) {
			console_printf("lego-guest: vCPU %u did not check in within %lu ms\n", cpu,
				       timeout_ms);
			missing++;
		}
	}
	if (!missing)
		nr_cpus = nr;
	return missing;
}

unsigned smp_nr_cpus(void)
{
	return nr_cpus;
}

void smp_run_all(smp_fn fn, void *arg)
{
	uint64_t gen = mailbox.gen + 1;

	mailbox.fn = fn;
	mailbox.arg = arg;
	mailbox.nr = nr_cpus;
	__atomic_store_n(&mailbox.gen, gen, __ATOMIC_RELEASE);
	fn(arg, 0);
	for (unsigned cpu = 1; cpu < nr_cpus; cpu++) {
		while (__atomic_load_n(&percpu[cpu].done_gen, __ATOMIC_ACQUIRE) != gen)
			io_cpu_relax();
	}
	/* Make vCPU 0's own stores of this round globally visible before the next. */
	io_mb();
}
