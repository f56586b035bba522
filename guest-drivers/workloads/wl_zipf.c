/* wl_zipf.c: memtest.mode=zipf: a zipfian hot set of pages, each access a whole-page verify,
 * one in four a rewrite with the page's next version; every page verified again at the end. */
#include <stdbool.h>
#include <stdint.h>

#include "guest-drivers/runtime/alloc.h"
#include "guest-drivers/runtime/console.h"
#include "guest-drivers/runtime/hash.h"
#include "guest-drivers/runtime/io.h"
#include "lib/proto/lego_guest_abi.h"
#include "mt_area.h"
#include "perm.h"
#include "guest-drivers/runtime/smp.h"
#include "guest-drivers/runtime/timing.h"
#include "workloads.h"
#include "zipf.h"

#define ZW_NAME	   "memtest-zipf"
#define ZW_SEED	   0x7a697066ULL /* "zipf" */
#define ZW_VER_MUL 0x9e3779b97f4a7c15ULL

_Static_assert(MEMTEST_MAX_THETA <= ZIPF_MAX_THETA,
	       "cmdline.c lets through a theta zipf.c refuses");

enum zw_phase { ZW_FILL, ZW_OPS, ZW_FINAL };

/* vCPU c owns pages c, c + nr, c + 2 nr, ...: no two vCPUs ever write one page, and each
 * vCPU's hot pages are spread over the whole area. */
struct zw_job {
	const struct mt_area *area;
	const struct zipf *zipf; /* over the most pages a vCPU owns */
	uint32_t *ver;		 /* per page: the version its contents encode */
	uint32_t *rank_page;	 /* rank k of vCPU c is page rank_page[k * nr + c] */
	uint64_t pages, ops, seed;
	uint64_t round; /* of the operations (memtest.seconds) */
	unsigned nr;
	enum zw_phase phase;
};

static struct zw_count {
	uint64_t errors, ops, writes, hot;
} __attribute__((aligned(64))) zw_stat[LEGO_MAX_VCPUS];

/* The version is part of every word, so a lost rewrite (stale page) fails the check. */
static inline uint64_t zw_word(uint64_t addr, uint64_t seed, uint32_t ver)
{
	return hash_mix64(addr ^ seed ^ ver * ZW_VER_MUL);
}

static void zw_fill(uint64_t pa, uint64_t seed, uint32_t ver)
{
	for (uint64_t p = pa; p < pa + MT_PAGE; p += 8)
		*(uint64_t *)(uintptr_t)p = zw_word(p, seed, ver);
}

static uint64_t zw_check(uint64_t pa, uint64_t seed, uint32_t ver, unsigned cpu, const char *what)
{
	uint64_t errors = 0;

	for (uint64_t p = pa; p < pa + MT_PAGE; p += 8) {
		uint64_t want = zw_word(p, seed, ver);
		uint64_t got = *(volatile uint64_t *)(uintptr_t)p;

		if (got != want) {
			errors++;
			mt_area_mismatch(ZW_NAME, what, cpu, p, want, got);
		}
	}
	return errors;
}

/* Pages vCPU cpu owns. */
static uint64_t owned(const struct zw_job *job, unsigned cpu)
{
	return job->pages > cpu ? (job->pages - cpu + job->nr - 1) / job->nr : 0;
}

static uint64_t page_addr(const struct zw_job *job, uint64_t page)
{
	return mt_area_addr(job->area, page * MT_PAGE);
}

static void zw_worker(void *arg, unsigned cpu)
{
	struct zw_job *job = arg;
	uint64_t n = owned(job, cpu), errors = 0;

	if (job->phase == ZW_FILL) {
		struct perm pm;

		/* Hot ranks land on scattered pages, not on the first few. */
		perm_init(&pm, n, job->seed ^ hash_mix64(cpu + 1));
		for (uint64_t k = 0; k < n; k++) {
			job->rank_page[k * job->nr + cpu] =
				(uint32_t)(perm_next(&pm) * job->nr + cpu);
			zw_fill(page_addr(job, k * job->nr + cpu), job->seed, 0);
		}
	} else if (job->phase == ZW_OPS) {
		uint64_t ops = job->ops * (cpu + 1) / job->nr - job->ops * cpu / job->nr;
		uint64_t rng =
			job->seed ^ hash_mix64(0x6f7073ULL + cpu + ((uint64_t)job->round << 32));
		uint64_t hot = n / 100 ? n / 100 : 1;

		for (uint64_t i = 0; n && i < ops; i++) {
			uint64_t r, page, pa;

			/* The table is built for the largest share; a smaller one redraws its
			 * missing (coldest) rank. */
			do
				r = zipf_next(job->zipf, &rng);
			while (r >= n);
			page = job->rank_page[r * job->nr + cpu];
			pa = page_addr(job, page);
			errors += zw_check(pa, job->seed, job->ver[page], cpu, "read");
			if (!(hash_rng_next(&rng) & 3)) {
				zw_fill(pa, job->seed, ++job->ver[page]);
				zw_stat[cpu].writes++;
			}
			zw_stat[cpu].hot += r < hot;
			zw_stat[cpu].ops++;
		}
	} else {
		/* Verify the pages another vCPU wrote: its stores must be visible here too. */
		unsigned owner = (cpu + 1) % job->nr;

		n = owned(job, owner);
		for (uint64_t k = 0; k < n; k++) {
			uint64_t page = k * job->nr + owner;

			errors += zw_check(page_addr(job, page), job->seed, job->ver[page], cpu,
					   "final");
		}
	}
	zw_stat[cpu].errors += errors;
}

bool wl_zipf(const struct workloads_ctx *ctx)
{
	const struct cmdline_opts *o = ctx->opts;
	uint64_t mark = alloc_mark(), start = io_rdtsc(), pages = o->memtest_size / MT_PAGE;
	uint64_t errors = 0, ops = 0, writes = 0, hot = 0, ops_start, ops_ms;
	unsigned nr = smp_nr_cpus();
	const char *why = NULL;
	struct mt_area area;
	struct zw_job job = {
		.area = &area,
		.pages = pages,
		.ops = o->memtest_ops,
		.seed = hash_mix64(ZW_SEED + o->memtest_seed),
		.nr = nr,
	};
	struct zipf *z;

	/* Bookkeeping first: the area begins above the heap. */
	z = alloc_bytes(sizeof(*z), 64);
	job.ver = alloc_bytes(pages * sizeof(uint32_t), 64);
	job.rank_page = alloc_bytes(pages * sizeof(uint32_t), 64);
	if (pages > ZIPF_MAX_N || !z || !job.ver || !job.rank_page)
		why = "no-space";
	else if (zipf_init(z, (pages + nr - 1) / nr, o->memtest_theta))
		why = "bad-theta"; /* not reached: cmdline.c checks the range */
	else if (!mt_area_claim(ctx->bi, o->memtest_size, ZW_NAME, &area))
		why = "no-space";
	if (why) {
		console_printf("RESULT " ZW_NAME " FAIL bytes=%lu vcpus=%u ops=%lu errors=0 ms=0 "
			       "reason=%s\n",
			       o->memtest_size, nr, o->memtest_ops, why);
		alloc_release(mark);
		return false;
	}
	job.zipf = z;
	for (unsigned cpu = 0; cpu < nr; cpu++)
		zw_stat[cpu] = (struct zw_count){0};
	mt_area_reports_reset();

	job.phase = ZW_FILL;
	smp_run_all(zw_worker, &job);
	ops_start = io_rdtsc();
	/* memtest.seconds: rounds of memtest.ops operations until that long has passed. */
	do {
		job.phase = ZW_OPS;
		smp_run_all(zw_worker, &job);
		job.round++;
	} while (o->memtest_seconds && timing_elapsed_ms(start) < o->memtest_seconds * 1000);
	ops_ms = timing_elapsed_ms(ops_start);
	job.phase = ZW_FINAL;
	smp_run_all(zw_worker, &job);
	for (unsigned cpu = 0; cpu < nr; cpu++) {
		errors += zw_stat[cpu].errors;
		ops += zw_stat[cpu].ops;
		writes += zw_stat[cpu].writes;
		hot += zw_stat[cpu].hot;
	}
	mt_area_reports_done(ZW_NAME, errors);
	/* ops: done (a vCPU that owns no page does none); top1pct: the share of them that
	 * went to a vCPU's hottest 1% of pages; ops_ms: the operations' time alone. */
	console_printf("RESULT " ZW_NAME
		       " %s bytes=%lu vcpus=%u ops=%lu theta=%lu.%03lu writes=%lu "
		       "top1pct=%lu errors=%lu ms=%lu ops_ms=%lu\n",
		       errors ? "FAIL" : "PASS", area.bytes, nr, ops, o->memtest_theta / 1000,
		       o->memtest_theta % 1000, writes, ops ? hot * 100 / ops : 0, errors,
		       timing_elapsed_ms(start), ops_ms);
	alloc_release(mark);
	return errors == 0;
}
