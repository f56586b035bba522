/* pager_migration.c: what a live migration needs of the pager: the bitmap of pages the memory
 * servers hold (and the pages newly held since a snapshot), the hot pages, and their prefetch
 * on the destination. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mono_clock.h"
#include "pager_internal.h"
#include "remote_mem.h"

#define PREFETCH_RUN	  16U	/* pages per read: what a fault on one of them waits for */
#define PREFETCH_CHUNK	  1024U /* hot pages sorted into runs at a time, newest first */
#define PREFETCH_QUIET_MS 10	/* the guest's faults have paused this long: prefetch */

uint64_t pager_migration_npages(const struct pager *pg)
{
	return pg->npages;
}

uint64_t pager_migration_remote_bits(struct pager *pg, uint8_t *bits, bool snapshot)
{
	uint64_t held = 0, dirty, nbytes = (pg->npages + 7) / 8;

	pthread_mutex_lock(&pg->lock);
	dirty = pg->dirty;
	/* Little-endian words: bit i of the map is bit i % 8 of byte i / 8, as sent. */
	memcpy(bits, pg->rbits, nbytes);
	for (uint64_t w = 0; w < (pg->npages + 63) / 64; w++)
		held += (uint64_t)__builtin_popcountll(pg->rbits[w]);
	if (snapshot) {
		pg->tracking = true;
		pg->delta_lost = false;
		pg->nr_delta = 0;
		free(pg->wbits);
		pg->wbits = calloc((pg->npages + 63) / 64, sizeof(*pg->wbits));
	}
	pthread_mutex_unlock(&pg->lock);
	return dirty && !snapshot ? UINT64_MAX : held;
}

int pager_migration_remote_delta(struct pager *pg, uint32_t **out, uint32_t *n)
{
	int rc = -1;

	pthread_mutex_lock(&pg->lock);
	*out = NULL;
	*n = 0;
	if (pg->tracking && !pg->delta_lost && !pg->dirty) {
		*out = malloc((pg->nr_delta ? pg->nr_delta : 1) * sizeof(**out));
		if (*out) {
			if (pg->nr_delta)
				memcpy(*out, pg->delta, (size_t)pg->nr_delta * sizeof(**out));
			*n = pg->nr_delta;
			rc = 0;
		}
	}
	pg->tracking = false;
	free(pg->wbits);
	pg->wbits = NULL;
	pthread_mutex_unlock(&pg->lock);
	return rc;
}

void pager_migration_written(struct pager *pg, uint64_t idx)
{
	if (pg->wbits && idx < pg->npages)
		pg->wbits[idx / 64] |= 1ULL << (idx % 64);
}

int pager_migration_load_remote_pages(struct pager *pg, const uint32_t *pages, uint32_t n,
				      uint32_t *bad)
{
	int rc = 0;

	pthread_mutex_lock(&pg->lock);
	for (uint32_t i = 0; i < n && !rc; i++) {
		if (pages[i] >= pg->npages || (pg->st[pages[i]] & PS_STATE) != PS_ABSENT ||
		    (pg->st[pages[i]] & PS_BUSY)) {
			*bad = pages[i];
			rc = -1;
		} else
			pager_mark_remote(pg, pages[i]);
	}
	pthread_mutex_unlock(&pg->lock);
	return rc;
}

int pager_migration_load_remote_bits(struct pager *pg, uint64_t first, uint64_t n,
				     const uint8_t *bits)
{
	int rc = 0;

	if (first > pg->npages || n > pg->npages - first)
		return -1;
	pthread_mutex_lock(&pg->lock);
	for (uint64_t i = 0; i < n && !rc; i++) {
		uint8_t *s = &pg->st[first + i];

		if (!(i % 8) && !bits[i / 8] && n - i >= 8) {
			i += 7; /* a byte of zero bits: eight pages the owner never got */
			continue;
		}
		if (!(bits[i / 8] & (1U << (i % 8))))
			continue;
		/* Only pages nothing has touched here can take the source's word for it. */
		if ((*s & PS_STATE) != PS_ABSENT || (*s & PS_BUSY))
			rc = -1;
		else
			pager_mark_remote(pg, first + i);
	}
	pthread_mutex_unlock(&pg->lock);
	return rc;
}

uint32_t pager_migration_hot_pages(struct pager *pg, uint32_t *out, uint32_t max)
{
	uint32_t n = 0;
	uint32_t written = 0;

	pthread_mutex_lock(&pg->lock);
	/* The pages the guest wrote during the migration (its network buffers, stacks, the
	 * structures it is working on) first, then the rest; each newest first: the last pages
	 * the guest touched are the likeliest next. */
	for (int pass = pg->wbits ? 0 : 1; pass < 2; pass++) {
		for (uint64_t k = pg->clock.len; k > 0 && n < max; k--) {
			uint32_t idx = pager_clock_at(&pg->clock, k - 1);
			bool w = pg->wbits && (pg->wbits[idx / 64] >> (idx % 64) & 1);

			if (w == !pass)
				out[n++] = idx;
		}
		if (!pass)
			written = n;
	}
	pthread_mutex_unlock(&pg->lock);
	log_info("pager: %u hot page(s) for the destination, the %u written during the migration "
		 "first",
		 n, written);
	return n;
}

/* Install pages [idx, idx + n) (BUSY, absent, held remotely) from the owner, clean. */
static int prefetch_run(struct pager *pg, int ch, uint32_t idx, uint32_t n)
{
	bool ok = !pager_install_remote(pg, ch, idx, n, true);

	pthread_mutex_lock(&pg->lock);
	for (uint32_t i = 0; i < n; i++) {
		pg->st[idx + i] = ok ? PS_CLEAN | PS_REMOTE : PS_ABSENT | PS_REMOTE;
		if (ok)
			pager_evict_resident(pg, idx + i, 1, UINT64_MAX);
	}
	pthread_cond_broadcast(&pg->cond);
	pthread_mutex_unlock(&pg->lock);
	if (ok)
		STAT_ADD(pg, prefetched, n);
	return ok ? 0 : -1;
}

/* How long the prefetch should still wait for the guest's faults to pause (ms): a fault
 * waits in userfaultfd or is being served, or the last ended less than PREFETCH_QUIET_MS ago.
 * 0: quiet. */
static int64_t guest_faulting_ms(struct pager *pg)
{
	struct pollfd p = {.fd = pg->uffd, .events = POLLIN};
	int64_t since;

	if (atomic_load(&pg->demand) || poll(&p, 1, 0) > 0)
		return 1;
	since = (mono_clock_ns() - atomic_load(&pg->demand_end_ns)) / 1000000;
	return since >= PREFETCH_QUIET_MS ? 0 : PREFETCH_QUIET_MS - since;
}

/* Up to PREFETCH_RUN pages from hot[i] on (sorted, below lim) that are consecutive, absent,
 * held remotely and fit the ExCache, marked BUSY; how many (*full: the ExCache has no room). */
static uint32_t take_run(struct pager *pg, uint32_t i, uint32_t lim, bool *full)
{
	uint32_t n = 0, first = pg->hot[i];
	uint64_t end = pager_region_end(pg, first), room = pg->budget - pg->budget / 16;

	pthread_mutex_lock(&pg->lock);
	/* Leave a sixteenth of the ExCache to the guest's faults. */
	while (i + n < lim && n < PREFETCH_RUN && pg->hot[i + n] == first + n && first + n < end &&
	       pg->st[first + n] == (PS_ABSENT | PS_REMOTE) && pg->clock.len + n < room) {
		pg->st[first + n] |= PS_BUSY;
		n++;
	}
	*full = pg->clock.len + 1 >= room;
	pthread_mutex_unlock(&pg->lock);
	return n;
}

/* Fetch the hot pages still absent while there is room in the ExCache, newest first (a
 * chunk at a time, sorted into runs), in small reads, each only once the guest's own faults
 * have paused: a fault never queues behind prefetched pages at the server, and the pages
 * the guest is about to touch come before the rest. */
static void *prefetch_thread(void *arg)
{
	struct pager *pg = arg;
	int ch = pg->rm->nr_channels - 1; /* the flusher's: flush_lock keeps them apart */
	uint32_t done = 0;
	int64_t t0 = mono_clock_ns(), waited_ns = 0;
	bool full = false;
	struct pager_stats st;

	/* Only CPU the guest leaves unused (one core, as in the nested test bed). */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19))
		log_debug("pager: prefetch keeps its priority: %s", strerror(errno));
	for (uint32_t c = 0; c < pg->nr_hot && !full && !atomic_load(&pg->stopping);
	     c += PREFETCH_CHUNK) {
		uint32_t lim = pg->nr_hot - c < PREFETCH_CHUNK ? pg->nr_hot : c + PREFETCH_CHUNK;

		qsort(pg->hot + c, lim - c, sizeof(*pg->hot), pager_cmp_u32);
		for (uint32_t i = c, n; i < lim && !atomic_load(&pg->stopping); i += n ? n : 1) {
			int64_t w0 = mono_clock_ns(), ms;

			while ((ms = guest_faulting_ms(pg)) > 0 && !atomic_load(&pg->stopping))
				usleep((useconds_t)ms * 1000);
			waited_ns += mono_clock_ns() - w0;
			n = take_run(pg, i, lim, &full);
			if (!n && full)
				break;
			if (!n)
				continue;
			pthread_mutex_lock(&pg->flush_lock);
			int rc = prefetch_run(pg, ch, pg->hot[i], n);

			pthread_mutex_unlock(&pg->flush_lock);
			/* A failing server shows up in the guest's own faults. */
			if (rc) {
				full = true;
				break;
			}
			done += n;
		}
	}
	log_info("pager: prefetched %u of %u hot page(s) from the source's ExCache in %.1f s "
		 "(%.1f s of it waiting for the guest's faults to pause)",
		 done, pg->nr_hot, (double)(mono_clock_ns() - t0) / 1e9, (double)waited_ns / 1e9);
	/* The guest's faults since it arrived, prefetch running. */
	pager_stats_get(pg, &st);
	pager_stats_log(&st);
	return NULL;
}

void pager_migration_prefetch(struct pager *pg, const uint32_t *pages, uint32_t n)
{
	if (!n || pg->prefetching)
		return;
	pg->hot = malloc((size_t)n * sizeof(*pg->hot));
	if (!pg->hot)
		return;
	memcpy(pg->hot, pages, (size_t)n * sizeof(*pg->hot));
	pg->nr_hot = n;
	pg->prefetching = !pthread_create(&pg->prefetcher, NULL, prefetch_thread, pg);
}
