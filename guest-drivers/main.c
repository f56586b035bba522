/* main.c: guest_main: boot info, banner, command line, SMP check-in, workloads, exit status. */
#include <stdbool.h>
#include <stdint.h>

#include "guest-drivers/runtime/alloc.h"
#include "guest-drivers/runtime/boot_info.h"
#include "guest-drivers/workloads/cmdline.h"
#include "guest-drivers/runtime/console.h"
#include "guest-drivers/runtime/exit.h"
#include "lib/proto/lego_guest_abi.h"
#include "guest-drivers/runtime/smp.h"
#include "guest-drivers/runtime/stack.h"
#include "guest-drivers/runtime/timing.h"
#include "guest-drivers/workloads/workloads.h"

#define SMP_CHECKIN_MS 30000

extern char _end[]; /* guest.ld: first byte after the image (bss included) */

void guest_main(uint64_t fdt, uint64_t cpu);

uint64_t ram_end(const struct boot_info *bi)
{
	const struct boot_info_range *r = &bi->ram[bi->nr_ram - 1];

	return r->base + r->size;
}

static void init_heap(const struct boot_info *bi)
{
	uint64_t end = (uint64_t)(uintptr_t)_end;

	for (int i = 0; i < bi->nr_ram; i++) {
		const struct boot_info_range *r = &bi->ram[i];

		if (end >= r->base && end <= r->base + r->size) {
			alloc_init((end + 4095) & ~4095ULL, r->base + r->size);
			return;
		}
	}
	exit_fatal("the image end 0x%lx is not inside guest RAM", end);
}

static bool run_workload(enum cmdline_workload w, const struct workloads_ctx *ctx)
{
	switch (w) {
	case CMDLINE_RUN_MEMTEST:
		return wl_memtest(ctx);
	case CMDLINE_RUN_BLKTEST:
		return wl_blktest(ctx);
	case CMDLINE_RUN_EVIL:
		return wl_evil(ctx);
	case CMDLINE_RUN_FILL:
		return wl_fill(ctx);
	case CMDLINE_RUN_ECHO:
		return wl_echo(ctx);
	}
	return false;
}

static int check_stacks(unsigned nr)
{
	int bad = 0;

	for (unsigned cpu = 0; cpu < nr; cpu++) {
		if (stack_check(cpu)) {
			console_printf("lego-guest: vCPU %u overflowed its %d-byte stack\n", cpu,
				       STACK_SIZE);
			bad++;
		}
	}
	return bad;
}

void guest_main(uint64_t fdt, uint64_t cpu)
{
	static struct boot_info bi;
	static struct cmdline_opts opts;
	struct workloads_ctx ctx = {&bi, &opts};
	char err[256];
	int failed = 0;

	stack_mark((unsigned)cpu);
	if (cpu != 0)
		smp_secondary((unsigned)cpu);

	if (boot_info_parse((const void *)(uintptr_t)fdt, LEGO_FDT_MAX, &bi, err, sizeof(err)))
		exit_fatal("%s", err);
	timing_init(bi.tsc_khz);
	init_heap(&bi);
	console_printf("lego-guest: abi=%u vcpus=%d ram=%luMiB cmdline=\"%s\"\n", bi.abi_version,
		       bi.nr_cpus, bi.ram_total >> 20, bi.bootargs);
	if (cmdline_parse(bi.bootargs, &opts, err, sizeof(err))) {
		console_printf("lego-guest: bad command line: %s\n", err);
		exit_guest(1);
	}
	if (smp_init((unsigned)bi.nr_cpus, SMP_CHECKIN_MS)) {
		console_printf("lego-guest: not every vCPU started: 1 failed\n");
		exit_guest(1);
	}
	for (int i = 0; i < opts.nr_run; i++) {
		if (!run_workload(opts.run[i], &ctx))
			failed++;
	}
	failed += check_stacks(smp_nr_cpus());
	if (failed)
		console_printf("lego-guest: %d failed\n", failed);
	else
		console_printf("lego-guest: all passed\n");
	if (opts.idle_s) {
		console_printf("lego-guest: idle for %lu s\n", opts.idle_s);
		timing_delay_ms(opts.idle_s * 1000);
	}
	exit_guest(failed ? 1 : 0);
}
