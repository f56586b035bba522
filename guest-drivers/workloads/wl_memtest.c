/* wl_memtest.c: memtest: fill and verify patterns over free RAM, split across all vCPUs; and
 * memtest.mode=, which picks the patterns, the zipf and kv workloads, or all three. */
#include <stdbool.h>
#include <stdint.h>

#include "guest-drivers/runtime/console.h"
#include "guest-drivers/runtime/hash.h"
#include "guest-drivers/runtime/io.h"
#include "lib/proto/lego_guest_abi.h"
#include "mt_area.h"
#include "perm.h"
#include "guest-drivers/runtime/smp.h"
#include "guest-drivers/runtime/timing.h"
#include "workloads.h"

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

static inline __attribute__((always_inline)) uint64_t expect(uint64_t addr, enum mt_value v,
							     uint64_t seed)
{
	switch (v) {
	case MT_HASH:
		return hash_mix64(addr ^ seed);
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
			mt_area_mismatch("memtest", job->pat->name, cpu, p, want, got);
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
			uint64_t pa = mt_area_addr(a, lo + perm_next(&p) * item);

			errors += do_range(job, cpu, pa, pa + item);
		}
	}
	mt_errors[cpu].errors += errors;
}

/* The patterns mode (memtest.mode=patterns): every pattern written, then verified. */
static bool mt_patterns(const struct workloads_ctx *ctx)
{
	const struct cmdline_opts *o = ctx->opts;
	unsigned nr = smp_nr_cpus();
	uint64_t start = io_rdtsc(), errors = 0, pass;
	struct mt_area area;
	struct mt_job job;

	if (!mt_area_claim(ctx->bi, o->memtest_size, "memtest", &area)) {
		console_printf("RESULT memtest FAIL bytes=%lu vcpus=%u passes=%lu errors=0 ms=0 "
			       "reason=no-space\n",
			       o->memtest_size, nr, o->memtest_passes);
		return false;
	}
	for (unsigned cpu = 0; cpu < nr; cpu++)
		mt_errors[cpu].errors = 0;
	mt_area_reports_reset();

	job.area = &area;
	job.nr = nr;
	/* memtest.seconds: a workload that lasts, whatever the machine's speed. */
	for (pass = 0; pass < o->memtest_passes ||
		       (o->memtest_seconds && timing_elapsed_ms(start) < o->memtest_seconds * 1000);
	     pass++) {
		for (unsigned i = 0; i < NR_PATTERNS; i++) {
			job.pat = &patterns[i];
			job.seed = hash_mix64(0x6d656d74657374ULL + pass * NR_PATTERNS + i);
			job.verify = false;
			smp_run_all(mt_worker, &job);
			job.verify = true;
			smp_run_all(mt_worker, &job);
		}
	}
	for (unsigned cpu = 0; cpu < nr; cpu++)
		errors += mt_errors[cpu].errors;
	mt_area_reports_done("memtest", errors);
	console_printf(
		"RESULT memtest %s bytes=%lu vcpus=%u passes=%lu patterns=%u errors=%lu ms=%lu\n",
		errors ? "FAIL" : "PASS", area.bytes, nr, pass, (unsigned)NR_PATTERNS, errors,
		timing_elapsed_ms(start));
	return errors == 0;
}

bool wl_memtest(const struct workloads_ctx *ctx)
{
	enum cmdline_memtest_mode m = ctx->opts->memtest_mode;
	bool ok = true;

	/* All three run even if one fails: each prints its own RESULT line. */
	if (m == CMDLINE_MEMTEST_PATTERNS || m == CMDLINE_MEMTEST_ALL)
		ok = mt_patterns(ctx) && ok;
	if (m == CMDLINE_MEMTEST_ZIPF || m == CMDLINE_MEMTEST_ALL)
		ok = wl_zipf(ctx) && ok;
	if (m == CMDLINE_MEMTEST_KV || m == CMDLINE_MEMTEST_ALL)
		ok = wl_kv(ctx) && ok;
	return ok;
}
