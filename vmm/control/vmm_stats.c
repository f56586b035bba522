/* vmm_stats.c: resident-set accounting (VmRSS vs. mincore of guest RAM) and the JSON report. */
#include "vmm_stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"

void vmm_stats_start(struct vmm_stats *s)
{
	clock_gettime(CLOCK_MONOTONIC, &s->start);
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
		    const char *pager_json, const char *path)
{
	struct timespec now;
	uint64_t io = 0, mmio = 0, rss = rss_kib(), guest = vmm_stats_guest_resident_kib(&vm->mem);
	double run_ms;
	FILE *f;

	clock_gettime(CLOCK_MONOTONIC, &now);
	run_ms = (double)(now.tv_sec - s->start.tv_sec) * 1e3 +
		 (double)(now.tv_nsec - s->start.tv_nsec) / 1e6;
	for (int i = 0; i < vm->nr_vcpus; i++) {
		io += vm->vcpus[i].exits_io;
		mmio += vm->vcpus[i].exits_mmio;
	}
	f = fopen(path, "w");
	if (!f) {
		log_error("cannot write statistics to '%s': %s", path, strerror(errno));
		return -1;
	}
	fprintf(f,
		"{\"run_ms\": %.3f, \"vcpus\": %d, \"mem_mib\": %llu, \"exits_io\": %llu, "
		"\"exits_mmio\": %llu, \"console_bytes\": %llu, \"rss_kib\": %llu, "
		"\"guest_resident_kib\": %llu, \"vmm_overhead_kib\": %lld, \"exit_status\": %d, "
		"\"pager\": %s}\n",
		run_ms, vm->nr_vcpus, (unsigned long long)(vm->mem.size >> 20),
		(unsigned long long)io, (unsigned long long)mmio, (unsigned long long)console_bytes,
		(unsigned long long)rss, (unsigned long long)guest,
		(long long)rss - (long long)guest, vm->exit_status,
		pager_json ? pager_json : "null");
	if (fclose(f)) {
		log_error("cannot write statistics to '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
