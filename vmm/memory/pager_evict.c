/* pager_evict.c: the ExCache's write-back: eviction over budget in CLOCK order (pager_clock.c),
 * dirty runs written to every copy before the pages are dropped, and the flush of every dirty
 * page. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/log.h"
#include "pager_internal.h"
#include "remote_mem.h"

/* Write back runs of dirty victims and drop every victim. victims[] sorted, all BUSY. */
static int drop_pages(struct pager *pg, int ch, const uint32_t *v, const uint8_t *was, int n)
{
	for (int i = 0; i < n;) {
		int j = i + 1;
		bool dirty = (was[i] & PS_STATE) == PS_DIRTY;
		uint64_t end = pager_region_end(pg, v[i]);

		while (j < n && v[j] == v[j - 1] + 1 && v[j] < end &&
		       ((was[j] & PS_STATE) == PS_DIRTY) == dirty)
			j++;
		if (dirty) {
			uint64_t off = (uint64_t)v[i] * PAGE, len = (uint64_t)(j - i) * PAGE;

			/* Protect first: a write racing with the copy faults and waits. */
			if (pager_uffd_wp(pg, v[i], (uint64_t)(j - i), true))
				return -1;
			memcpy(remote_mem_io_write_buf(pg->rm, ch, off), pg->base + off, len);
			if (remote_mem_io_write(pg->rm, ch, off, (unsigned)(j - i)))
				return -1;
			STAT_ADD(pg, writebacks, (uint64_t)(j - i));
			STAT_ADD(pg, bytes_out, len);
		}
		if (pg->zc) {
			if (pager_zc_punch(pg, v[i], (uint64_t)(j - i)))
				return -1;
		} else if (madvise(pg->base + (uint64_t)v[i] * PAGE, (uint64_t)(j - i) * PAGE,
				   MADV_DONTNEED)) {
			log_error("pager: MADV_DONTNEED: %s", strerror(errno));
			return -1;
		}
		i = j;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Under pg->lock: n pages from idx became resident; the page at used (if within) was used. */
void pager_evict_resident(struct pager *pg, uint64_t idx, uint64_t n, uint64_t used)
{
	for (uint64_t i = 0; i < n; i++)
		pager_clock_push(&pg->clock, (uint32_t)(idx + i), idx + i == used);
}

static bool keep_busy(uint32_t idx, void *arg)
{
	struct pager *pg = arg;

	/* Being marked dirty right now: keep it, look further. */
	return pg->st[idx] & PS_BUSY;
}

/* Evict pages in CLOCK order while more than limit are resident, each batch down to target
 * (at most EVICT_BATCH pages). */
static int evict_down(struct pager *pg, int ch, uint64_t limit, uint64_t target)
{
	uint32_t v[EVICT_BATCH];
	uint8_t was[EVICT_BATCH];

	for (;;) {
		uint64_t want;
		int n;

		pthread_mutex_lock(&pg->lock);
		if (pg->clock.len <= limit || atomic_load(&pg->failed)) {
			pthread_mutex_unlock(&pg->lock);
			return atomic_load(&pg->failed) ? -1 : 0;
		}
		want = pg->clock.len - target;
		if (want > EVICT_BATCH)
			want = EVICT_BATCH;
		/* A used dirty page is not write-protected again to watch it (sampling): measured
		 * on zipf 0.99, that kept 1% more hits for 36% more write faults, and each fault
		 * costs as much as a miss under nested KVM. */
		n = pager_clock_pick(&pg->clock, v, (int)want, keep_busy, NULL, pg);
		for (int i = 0; i < n; i++) {
			was[i] = pg->st[v[i]];
			pg->st[v[i]] |= PS_BUSY;
		}
		pthread_mutex_unlock(&pg->lock);
		if (n == 0)
			return 0;
		/* Sort (with the states) so neighbours go out in one write. */
		if (n > 1) {
			uint64_t pairs[EVICT_BATCH];

			for (int i = 0; i < n; i++)
				pairs[i] = (uint64_t)v[i] << 8 | was[i];
			qsort(pairs, (size_t)n, sizeof(pairs[0]), cmp_u64);
			for (int i = 0; i < n; i++) {
				v[i] = (uint32_t)(pairs[i] >> 8);
				was[i] = (uint8_t)pairs[i];
			}
		}
		if (drop_pages(pg, ch, v, was, n)) {
			pager_fatal(pg);
			return -1;
		}
		pthread_mutex_lock(&pg->lock);
		for (int i = 0; i < n; i++) {
			bool dirty = (was[i] & PS_STATE) == PS_DIRTY;

			pg->st[v[i]] = PS_ABSENT | (was[i] & PS_REMOTE);
			if (dirty)
				pager_mark_remote(pg, v[i]);
			pg->dirty -= dirty;
		}
		pthread_cond_broadcast(&pg->cond);
		pthread_mutex_unlock(&pg->lock);
		STAT_ADD(pg, evictions, (uint64_t)n);
	}
}

/* Over budget (the evictor fell behind, or there is none): evict here, a little extra so the
 * next faults do not each pay for an eviction. */
int pager_evict_make_room(struct pager *pg, int ch)
{
	return evict_down(pg, ch, pg->budget, pg->budget - pg->budget / 64);
}

/* The evictor keeps the ExCache between its low and high marks (a little under budget) on the
 * flusher's channel, so a fault neither writes back nor drops pages: the thread that served
 * it is free for the next one at once. flush_lock keeps it apart from a flush and the
 * migration's prefetch (which share the channel). */
static void *evictor_thread(void *arg)
{
	struct pager *pg = arg;
	int ch = pg->rm->nr_channels - 1;
	int rc = 0;

	pthread_mutex_lock(&pg->lock);
	while (!rc && !atomic_load(&pg->stopping) && !atomic_load(&pg->failed)) {
		if (pg->clock.len <= pg->evict_high) {
			pthread_cond_wait(&pg->evict_cond, &pg->lock);
			continue;
		}
		pthread_mutex_unlock(&pg->lock);
		pthread_mutex_lock(&pg->flush_lock);
		rc = evict_down(pg, ch, pg->evict_low, pg->evict_low);
		pthread_mutex_unlock(&pg->flush_lock);
		pthread_mutex_lock(&pg->lock);
	}
	pthread_mutex_unlock(&pg->lock);
	if (rc)
		pager_fatal(pg);
	return NULL;
}

/* Marks: from budget - budget/64 resident, evict down to budget - budget/32. A cache too small
 * for a mark to differ from the budget evicts on the fault path alone. */
int pager_evict_start(struct pager *pg)
{
	pg->evict_high = UINT64_MAX;
	if (pg->budget / 32 == 0)
		return 0;
	if (pthread_create(&pg->evictor, NULL, evictor_thread, pg)) {
		log_error("pager: cannot start the evictor thread");
		return -1;
	}
	pg->evict_high = pg->budget - pg->budget / 64;
	pg->evict_low = pg->budget - pg->budget / 32;
	pg->evicting = true;
	return 0;
}

void pager_evict_stop(struct pager *pg)
{
	if (!pg->evicting)
		return;
	pthread_mutex_lock(&pg->lock);
	pthread_cond_broadcast(&pg->evict_cond);
	pthread_mutex_unlock(&pg->lock);
	pthread_join(pg->evictor, NULL);
	pg->evicting = false;
}

/* Under pg->lock: past the high mark, the evictor starts. */
void pager_evict_kick(struct pager *pg)
{
	if (pg->clock.len > pg->evict_high)
		pthread_cond_signal(&pg->evict_cond);
}

/* Dirty pages are resident, so the resident set (at most the ExCache) is what is searched,
 * not all of guest RAM: a flush costs the same for 1 GiB and 64 GiB. */
int64_t pager_evict_flush(struct pager *pg)
{
	int ch = pg->rm->nr_channels - 1;
	uint32_t *v = NULL;
	uint64_t n = 0;
	int64_t total = 0;

	bool want;

	pthread_mutex_lock(&pg->flush_lock);
	pthread_mutex_lock(&pg->lock);
	want = pg->dirty != 0;
	if (want)
		v = malloc(pg->clock.len * sizeof(*v));
	for (uint64_t k = 0; v && k < pg->clock.len; k++) {
		uint32_t idx = pager_clock_at(&pg->clock, k);

		if ((pg->st[idx] & (PS_STATE | PS_BUSY)) == PS_DIRTY) {
			pg->st[idx] |= PS_BUSY;
			v[n++] = idx;
		}
	}
	pthread_mutex_unlock(&pg->lock);
	if (want && !v) {
		log_error("pager: out of memory for a flush");
		pthread_mutex_unlock(&pg->flush_lock);
		return -1;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), pager_cmp_u32);
	for (uint64_t i = 0; i < n;) {
		uint64_t j = i + 1, end = pager_region_end(pg, v[i]);
		bool ok;

		/* A run: consecutive pages in one region, at most one message. */
		while (j < n && v[j] == v[j - 1] + 1 && v[j] < end && j - i < MP_MAX_PAGES)
			j++;
		/* Protect, copy, write: the pages stay resident, now clean. */
		ok = !atomic_load(&pg->failed) && !pager_uffd_wp(pg, v[i], j - i, true);
		if (ok) {
			memcpy(remote_mem_io_write_buf(pg->rm, ch, (uint64_t)v[i] * PAGE),
			       pg->base + (uint64_t)v[i] * PAGE, (j - i) * PAGE);
			ok = !remote_mem_io_write(pg->rm, ch, (uint64_t)v[i] * PAGE,
						  (unsigned)(j - i));
		}
		pthread_mutex_lock(&pg->lock);
		for (uint64_t k = i; k < j; k++) {
			pg->st[v[k]] = ok ? PS_CLEAN : pg->st[v[k]] & ~PS_BUSY;
			if (ok)
				pager_mark_remote(pg, v[k]);
		}
		if (ok)
			pg->dirty -= j - i;
		pthread_cond_broadcast(&pg->cond);
		pthread_mutex_unlock(&pg->lock);
		if (!ok) {
			/* The rest stay dirty (and unlocked): the vNode stops anyway. */
			for (uint64_t k = j; k < n; k++) {
				pthread_mutex_lock(&pg->lock);
				pg->st[v[k]] &= (uint8_t)~PS_BUSY;
				pthread_mutex_unlock(&pg->lock);
			}
			pager_fatal(pg);
			break;
		}
		STAT_ADD(pg, writebacks, j - i);
		STAT_ADD(pg, bytes_out, (j - i) * PAGE);
		total += (int64_t)(j - i);
		i = j;
	}
	if (n) {
		pthread_mutex_lock(&pg->lock);
		pthread_cond_broadcast(&pg->cond);
		pthread_mutex_unlock(&pg->lock);
	}
	free(v);
	pthread_mutex_unlock(&pg->flush_lock);
	return atomic_load(&pg->failed) ? -1 : total;
}
