/* pager_stats.c: the pager's figures: counters, resident and dirty pages, fault latency. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lib/lat_hist.h"
#include "lib/log.h"
#include "pager_internal.h"
#include "remote_mem.h"

void pager_stats_get(struct pager *pg, struct pager_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->mode = pager_mode_name(pg->zc ? PAGER_MODE_ZEROCOPY : PAGER_MODE_COPY);
	st->faults = __atomic_load_n(&pg->faults, __ATOMIC_RELAXED);
	st->wp_faults = __atomic_load_n(&pg->wp_faults, __ATOMIC_RELAXED);
	st->refaults = __atomic_load_n(&pg->refaults, __ATOMIC_RELAXED);
	st->remote_fetches = __atomic_load_n(&pg->fetches, __ATOMIC_RELAXED);
	st->pages_fetched = __atomic_load_n(&pg->fetched, __ATOMIC_RELAXED);
	if (pg->rm)
		remote_mem_io_read_counts(pg->rm, &st->reads_rma, &st->reads_msg);
	st->zero_fills = __atomic_load_n(&pg->zero_fills, __ATOMIC_RELAXED);
	st->prefetched = __atomic_load_n(&pg->prefetched, __ATOMIC_RELAXED);
	st->evictions = __atomic_load_n(&pg->evictions, __ATOMIC_RELAXED);
	st->writebacks = __atomic_load_n(&pg->writebacks, __ATOMIC_RELAXED);
	st->bytes_in = __atomic_load_n(&pg->bytes_in, __ATOMIC_RELAXED);
	st->bytes_out = __atomic_load_n(&pg->bytes_out, __ATOMIC_RELAXED);
	pthread_mutex_lock(&pg->lock);
	st->resident_pages = pg->clock.len;
	st->second_chances = pg->clock.second_runs;
	st->dirty_pages = pg->dirty;
	pthread_mutex_unlock(&pg->lock);
	st->cache_pages = pg->budget;
	st->lat_p50_ns = lat_hist_quantile(&pg->lat, 0.5);
	st->lat_p99_ns = lat_hist_quantile(&pg->lat, 0.99);
	st->lat_p999_ns = lat_hist_quantile(&pg->lat, 0.999);
	st->lat_max_ns = __atomic_load_n(&pg->lat.max_ns, __ATOMIC_RELAXED);
}

void pager_stats_log(const struct pager_stats *st)
{
	log_info("pager: faults=%llu remote_fetches=%llu (rma=%llu msg=%llu) pages_fetched=%llu "
		 "zero_fills=%llu prefetched=%llu wp_faults=%llu refaults=%llu evictions=%llu "
		 "second_chances=%llu writebacks=%llu in=%.1fMiB out=%.1fMiB "
		 "fault_us p50=%.1f p99=%.1f p999=%.1f mode=%s",
		 (unsigned long long)st->faults, (unsigned long long)st->remote_fetches,
		 (unsigned long long)st->reads_rma, (unsigned long long)st->reads_msg,
		 (unsigned long long)st->pages_fetched, (unsigned long long)st->zero_fills,
		 (unsigned long long)st->prefetched, (unsigned long long)st->wp_faults,
		 (unsigned long long)st->refaults, (unsigned long long)st->evictions,
		 (unsigned long long)st->second_chances, (unsigned long long)st->writebacks,
		 (double)st->bytes_in / 1048576.0, (double)st->bytes_out / 1048576.0,
		 (double)st->lat_p50_ns / 1e3, (double)st->lat_p99_ns / 1e3,
		 (double)st->lat_p999_ns / 1e3, st->mode);
}

uint64_t pager_stats_dirty_pages(struct pager *pg)
{
	uint64_t n;

	pthread_mutex_lock(&pg->lock);
	n = pg->dirty;
	pthread_mutex_unlock(&pg->lock);
	return n;
}
