/* vmm_stats.c: resident-set accounting (VmRSS vs. mincore of guest RAM) and the JSON report. */
#include "vmm_stats.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "control_json.h"
#include "lib/log.h"
#include "lib/mono_clock.h"

void vmm_stats_start(struct vmm_stats *s)
{
	s->start_ns = mono_clock_ns();
}

static uint64_t rss_kib(void)
{
	char line[256];
	unsigned long long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

uint64_t vmm_stats_guest_resident_kib(const struct guest_mem *mem)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t chunk_pages = 1 << 16;
	unsigned char *vec = malloc(chunk_pages);
	uint64_t resident = 0;

	if (!vec)
		return 0;
	for (uint64_t off = 0; off < mem->size; off += chunk_pages * (uint64_t)page) {
		size_t len = mem->size - off < chunk_pages * (uint64_t)page
				     ? (size_t)(mem->size - off)
				     : chunk_pages * (size_t)page;

		if (mincore(mem->base + off, len, vec))
			break;
		for (size_t i = 0; i < (len + (size_t)page - 1) / (size_t)page; i++)
			resident += vec[i] & 1;
	}
	free(vec);
	return resident * (uint64_t)page / 1024;
}

int vmm_stats_write(const struct vmm_stats *s, const struct vm *vm, uint64_t console_bytes,
		    const struct pager_stats *pager, const char *path)
{
	uint64_t io = 0, mmio = 0, rss = rss_kib(), guest = vmm_stats_guest_resident_kib(&vm->mem);
	double run_ms = (double)(mono_clock_ns() - s->start_ns) / 1e6;
	char *line;
	FILE *f;

	for (int i = 0; i < vm->nr_vcpus; i++) {
		io += vm->vcpus[i].exits_io;
		mmio += vm->vcpus[i].exits_mmio;
	}
	line = control_json_line(
		json_pack("{s:o,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:i,s:o}", "run_ms",
			  control_json_fixed(run_ms, 3), "vcpus", vm->nr_vcpus, "mem_mib",
			  control_json_count(vm->mem.size >> 20), "exits_io",
			  control_json_count(io), "exits_mmio", control_json_count(mmio),
			  "console_bytes", control_json_count(console_bytes), "rss_kib",
			  control_json_count(rss), "guest_resident_kib", control_json_count(guest),
			  "vmm_overhead_kib", (json_int_t)rss - (json_int_t)guest, "exit_status",
			  vm->exit_status, "pager",
			  pager ? control_json_pager(pager) : json_null()),
		false);
	f = line ? fopen(path, "w") : NULL;
	if (f) {
		bool written = fputs(line, f) != EOF;

		if (!fclose(f) && written) {
			free(line);
			return 0;
		}
	}
	log_error("cannot write statistics to '%s': %s", path,
		  line ? strerror(errno) : "out of memory");
	free(line);
	return -1;
}
