/* wl_memtest.c: memtest: fill and verify patterns over free RAM, split across all vCPUs. */
#include <stdbool.h>
#include <stdint.h>

#include "alloc.h"
#include "console.h"
#include "hash.h"
#include "io.h"
#include "lego_guest_abi.h"
#include "perm.h"
#include "smp.h"
#include "timing.h"
#include "workloads.h"

#define MT_PAGE	       4096ULL
#define MT_LINE	       64ULL
#define MT_MAX_REPORTS 8

struct mt_area {
	int nr;
	struct mem_range ext[BOOT_MAX_RAM]; /* page-aligned pieces, in logical order */
	uint64_t bytes;
};

enum mt_order { MT_SEQ, MT_RAND_PAGE, MT_RAND_LINE };
enum mt_value { MT_HASH, MT_WALK1, MT_WALK0, MT_ZERO, MT_ONES };

struct mt_pattern {
	const char *name;
	enum mt_order order;
	enum mt_value value;
	unsigned shift; /* verify the part written by vCPU (cpu + shift) % n */
};

static const struct mt_pattern patterns[] = {
	{"seq-hash", MT_SEQ, MT_HASH, 0},
	{"seq-walking-ones", MT_SEQ, MT_WALK1, 0},
	{"seq-walking-zeros", MT_SEQ, MT_WALK0, 0},
	{"seq-zeros", MT_SEQ, MT_ZERO, 0},
	{"seq-ones", MT_SEQ, MT_ONES, 0},
	{"random-pages", MT_RAND_PAGE, MT_HASH, 0},
	{"random-lines", MT_RAND_LINE, MT_HASH, 0},
	{"cross-vcpu-seq", MT_SEQ, MT_HASH, 1},
	{"cross-vcpu-random-lines", MT_RAND_LINE, MT_HASH, 1},
};
#define NR_PATTERNS (sizeof(patterns) / sizeof(patterns[0]))

struct mt_job {
	const struct mt_area *area;
	const struct mt_pattern *pat;
	uint64_t seed;
	bool verify;
	unsigned nr; /* vCPUs sharing the area */
};

static struct {
	uint64_t errors;
} __attribute__((aligned(64))) mt_errors[LEGO_MAX_VCPUS];
static uint64_t mt_reported;

static inline __attribute__((always_inline)) uint64_t expect(uint64_t addr, enum mt_value v,
							     uint64_t seed)
{
	switch (v) {
	case MT_HASH:
		return mix64(addr ^ seed);
	case MT_WALK1:
		return 1ULL << (((addr >> 3) + seed) & 63);
	case MT_WALK0:
		return ~(1ULL << (((addr >> 3) + seed) & 63));
	case MT_ZERO:
		return 0;
	case MT_ONES:
	default:
		return ~0ULL;
	}
}

static void mismatch(const struct mt_job *job, unsigned cpu, uint64_t addr, uint64_t want,
		     uint64_t got)
{
	if (__atomic_fetch_add(&mt_reported, 1, __ATOMIC_RELAXED) < MT_MAX_REPORTS)
		kprintf("memtest: %s: vCPU %u: mismatch at 0x%lx: expected 0x%016lx got 0x%016lx\n",
			job->pat->name, cpu, addr, want, got);
}

static inline __attribute__((always_inline)) void fill_words(uint64_t pa, uint64_t pb,
							     enum mt_value v, uint64_t seed)
{
	for (uint64_t p = pa; p < pb; p += 8)
		*(uint64_t *)(uintptr_t)p = expect(p, v, seed);
}

static inline __attribute__((always_inline)) uint64_t check_words(const struct mt_job *job,
								  unsigned cpu, uint64_t pa,
								  uint64_t pb, enum mt_value v,
								  uint64_t seed)
{
	uint64_t errors = 0;

	for (uint64_t p = pa; p < pb; p += 8) {
		uint64_t want = expect(p, v, seed);
		uint64_t got = *(volatile uint64_t *)(uintptr_t)p;

		if (got != want) {
			errors++;
			mismatch(job, cpu, p, want, got);
		}
	}
	return errors;
}

/* Fill or check [pa, pb) with the job's value kind (one specialised loop per kind). */
static uint64_t do_range(const struct mt_job *job, unsigned cpu, uint64_t pa, uint64_t pb)
{
	enum mt_value v = job->pat->value;
	uint64_t s = job->seed;

	if (!job->verify) {
		switch (v) {
		case MT_HASH:
			fill_words(pa, pb, MT_HASH, s);
			break;
		case MT_WALK1:
			fill_words(pa, pb, MT_WALK1, s);
			break;
		case MT_WALK0:
			fill_words(pa, pb, MT_WALK0, s);
			break;
		case MT_ZERO:
			fill_words(pa, pb, MT_ZERO, s);
			break;
		case MT_ONES:
			fill_words(pa, pb, MT_ONES, s);
			break;
		}
		return 0;
	}
	switch (v) {
	case MT_HASH:
		return check_words(job, cpu, pa, pb, MT_HASH, s);
	case MT_WALK1:
		return check_words(job, cpu, pa, pb, MT_WALK1, s);
	case MT_WALK0:
		return check_words(job, cpu, pa, pb, MT_WALK0, s);
	case MT_ZERO:
		return check_words(job, cpu, pa, pb, MT_ZERO, s);
	case MT_ONES:
		return check_words(job, cpu, pa, pb, MT_ONES, s);
	}
	return 0;
}

/* Physical address of logical offset off in the area. */
static uint64_t area_addr(const struct mt_area *a, uint64_t off)
{
	for (int i = 0; i < a->nr; i++) {
		if (off < a->ext[i].size)
			return a->ext[i].base + off;
		off -= a->ext[i].size;
	}
	return 0; /* not reached: callers stay below a->bytes */
}

static void mt_worker(void *arg, unsigned cpu)
{
	const struct mt_job *job = arg;
	const struct mt_area *a = job->area;
	unsigned part = job->verify ? (cpu + job->pat->shift) % job->nr : cpu;
	uint64_t pages = a->bytes / MT_PAGE;
	uint64_t lo = pages * part / job->nr * MT_PAGE;
	uint64_t hi = pages * (part + 1) / job->nr * MT_PAGE;
	uint64_t errors = 0;

	if (job->pat->order == MT_SEQ) {
		uint64_t base = 0;

		for (int i = 0; i < a->nr; i++) {
			uint64_t s = a->ext[i].size;
			uint64_t from = lo > base ? lo : base;
			uint64_t to = hi < base + s ? hi : base + s;

			if (from < to)
				errors += do_range(job, cpu, a->ext[i].base + (from - base),
						   a->ext[i].base + (to - base));
			base += s;
		}
	} else {
		uint64_t item = job->pat->order == MT_RAND_PAGE ? MT_PAGE : MT_LINE;
		uint64_t n = (hi - lo) / item;
		struct perm p;

		/* Written in one order, verified in another. */
		perm_init(&p, n, job->seed ^ (job->verify ? 0x7665726966ULL : 0x7772697465ULL));
		for (uint64_t k = 0; k < n; k++) {
			uint64_t pa = area_addr(a, lo + perm_next(&p) * item);

			errors += do_range(job, cpu, pa, pa + item);
		}
	}
	mt_errors[cpu].errors += errors;
}

/* Up to size bytes of free RAM above the heap, from the lowest range up. */
static void pick_area(const struct boot_info *bi, uint64_t size, struct mt_area *a)
{
	uint64_t floor = (heap_top() + MT_PAGE - 1) & ~(MT_PAGE - 1);

	a->nr = 0;
	a->bytes = 0;
	for (int i = 0; i < bi->nr_ram && a->bytes < size; i++) {
		uint64_t start = bi->ram[i].base, end = bi->ram[i].base + bi->ram[i].size;
		uint64_t take;

		if (start < floor)
			start = floor;
		start = (start + MT_PAGE - 1) & ~(MT_PAGE - 1);
		end &= ~(MT_PAGE - 1);
		if (start >= end)
			continue;
		take = end - start;
		if (take > size - a->bytes)
			take = size - a->bytes;
		a->ext[a->nr].base = start;
		a->ext[a->nr].size = take;
		a->nr++;
		a->bytes += take;
	}
}

bool wl_memtest(const struct guest_ctx *ctx)
{
	const struct guest_opts *o = ctx->opts;
	unsigned nr = smp_nr_cpus();
	uint64_t start = rdtsc(), errors = 0;
	struct mt_area area;
	struct mt_job job;

	pick_area(ctx->bi, o->memtest_size, &area);
	if (area.bytes < o->memtest_size) {
		kprintf("memtest: memtest.size=%lu does not fit: %lu bytes of RAM are free above "
			"0x%lx\n",
			o->memtest_size, area.bytes, heap_top());
		kprintf("RESULT memtest FAIL bytes=%lu vcpus=%u passes=%lu errors=0 ms=0 "
			"reason=no-space\n",
			o->memtest_size, nr, o->memtest_passes);
		return false;
	}
	for (unsigned cpu = 0; cpu < nr; cpu++)
		mt_errors[cpu].errors = 0;
	mt_reported = 0;
	for (int i = 0; i < area.nr; i++)
		kprintf("memtest: [0x%lx, 0x%lx) %lu KiB\n", area.ext[i].base,
			area.ext[i].base + area.ext[i].size, area.ext[i].size >> 10);

	job.area = &area;
	job.nr = nr;
	for (uint64_t pass = 0; pass < o->memtest_passes; pass++) {
		for (unsigned i = 0; i < NR_PATTERNS; i++) {
			job.pat = &patterns[i];
			job.seed = mix64(0x6d656d74657374ULL + pass * NR_PATTERNS + i);
			job.verify = false;
			smp_run_all(mt_worker, &job);
			job.verify = true;
			smp_run_all(mt_worker, &job);
		}
	}
	for (unsigned cpu = 0; cpu < nr; cpu++)
		errors += mt_errors[cpu].errors;
	if (errors > MT_MAX_REPORTS)
		kprintf("memtest: %lu more mismatches not shown\n", errors - MT_MAX_REPORTS);
	kprintf("RESULT memtest %s bytes=%lu vcpus=%u passes=%lu patterns=%u errors=%lu ms=%lu\n",
		errors ? "FAIL" : "PASS", area.bytes, nr, o->memtest_passes, (unsigned)NR_PATTERNS,
		errors, elapsed_ms(start));
	return errors == 0;
}
