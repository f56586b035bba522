/* vmm_stats.h: run statistics lego-vmm writes as JSON at exit (--stats), read by benchmarks. */
#ifndef LEGO_VMM_STATS_H
#define LEGO_VMM_STATS_H

#include <stdint.h>

#include "vmm/kvm/vm.h"

struct pager_stats;

struct vmm_stats {
	int64_t start_ns; /* mono_clock_ns() */
};

void vmm_stats_start(struct vmm_stats *s);

/* Host memory actually resident for guest RAM (mincore), in KiB. */
uint64_t vmm_stats_guest_resident_kib(const struct guest_mem *mem);

/* Writes {"run_ms", "vcpus", "mem_mib", "exits_io", "exits_mmio", "console_bytes",
 * "rss_kib", "guest_resident_kib", "vmm_overhead_kib", "exit_status", "pager"} where
 * "pager" is the pager's figures (control_json_pager) or null; logs and returns -1 on
 * failure. */
int vmm_stats_write(const struct vmm_stats *s, const struct vm *vm, uint64_t console_bytes,
		    const struct pager_stats *pager, const char *path);

#endif
