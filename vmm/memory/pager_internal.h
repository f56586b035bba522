/* pager_internal.h: the pager's state and the helpers its files share (pager.c: fault
 * service; pager_evict.c: eviction and write-back; pager_migration.c: the remote-page bitmap
 * and hot-page prefetch for a migration; pager_stats.c: figures). Nothing else includes it. */
#ifndef LEGO_PAGER_INTERNAL_H
#define LEGO_PAGER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/lat_hist.h"
#include "pager.h"
#include "pager_clock.h"

#define PAGE	    4096ULL
#define EVICT_BATCH MP_MAX_PAGES

/* Per-page state: one of ABSENT/CLEAN/DIRTY, plus flags. */
#define PS_ABSENT 0
#define PS_CLEAN  1
#define PS_DIRTY  2
#define PS_STATE  3
#define PS_BUSY	  4 /* a thread is changing the page; others wait on pg->cond */
#define PS_REMOTE 8 /* the owner holds a copy (else the page is all zeros) */

struct pager_thread {
	struct pager *pg;
	int ch; /* remote_mem channel */
	pthread_t thread;
};

struct pager {
	struct vm *vm;
	struct remote_mem *rm;
	uint8_t *base;
	uint64_t npages, budget;
	bool zc;	/* zero copy: guest RAM is memfd's file, mapped again at alias */
	int memfd;	/* zero copy only, else -1 */
	uint8_t *alias; /* the file's second mapping, not registered: fetches land there */
	int uffd, stop_fd;
	uint8_t *st;
	uint64_t *rbits; /* PS_REMOTE as a bitmap (under lock): it only ever gets set */
	/* From a pager_migration_remote_bits snapshot on: pages newly held remotely since (a
	 * migration's delta). */
	bool tracking, delta_lost;
	uint32_t *delta;
	uint32_t nr_delta, delta_cap;
	/* Pages the guest wrote since that snapshot (a bitmap; NULL: none or out of memory):
	 * what it is working on, first in the hot pages. */
	uint64_t *wbits;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pager_clock clock; /* resident pages in eviction order */
	FILE *trace;		  /* trace mode: every missing-page fault's page, in order */
	uint32_t *trace_buf;
	uint32_t trace_n;
	bool trace_failed;
	uint64_t seq_next, window; /* sequential-access detection */
	bool prefetch;
	int nthreads;
	struct pager_thread threads[PAGER_MAX_THREADS];
	pthread_t prefetcher; /* pager_migration_prefetch's thread, joined by pager_stop */
	bool prefetching;
	atomic_bool stopping;
	uint32_t *hot;
	uint32_t nr_hot;
	/* Faults a pager thread has taken and not yet served, and when the last ended (mono
	 * ns): a migration's prefetch waits until the guest's faults pause. */
	atomic_uint demand;
	_Atomic int64_t demand_end_ns;
	pthread_mutex_t flush_lock;
	/* The evictor (pager_evict.c): past evict_high resident pages it evicts down to
	 * evict_low; waits on evict_cond (with lock). evict_high UINT64_MAX: none. */
	pthread_t evictor;
	bool evicting;
	pthread_cond_t evict_cond;
	uint64_t evict_high, evict_low;
	atomic_bool failed;
	struct lat_hist lat;
	uint64_t faults, wp_faults, refaults, fetches, fetched, zero_fills, prefetched, evictions,
		writebacks, bytes_in, bytes_out, dirty;
};

#define STAT_ADD(pg, field, n) __atomic_fetch_add(&(pg)->field, (n), __ATOMIC_RELAXED)

/* pager.c */
/* Memory is unreachable: stop the vNode. Faults still pending are never served (serving
 * them with anything but the data would corrupt the guest silently). */
void pager_fatal(struct pager *pg);
/* Under pg->lock: the owner now holds page idx. */
void pager_mark_remote(struct pager *pg, uint64_t idx);
/* Install n pages at page idx from src (write-protected with wp); 0 or -1 (logged). */
int pager_uffd_copy(struct pager *pg, uint64_t idx, const void *src, uint64_t n, bool wp);
/* Install n pages at page idx fetched from the owner (write-protected with wp), in either
 * mode, on channel ch; 0 or -1 (logged, or rm->error set). */
int pager_install_remote(struct pager *pg, int ch, uint64_t idx, uint64_t n, bool wp);
/* userfaultfd for this process (quiet: no log line when it cannot be had); or -1. */
int pager_uffd_open(bool quiet);
/* Set (protect) or clear write protection; clearing also wakes the faulting thread. */
int pager_uffd_wp(struct pager *pg, uint64_t idx, uint64_t n, bool protect);
/* The first page past the vRegion that holds page idx (or past RAM). */
uint64_t pager_region_end(struct pager *pg, uint64_t idx);
int pager_cmp_u32(const void *a, const void *b);

/* pager_zc.c: the zero-copy mode (see there). probe: whether this kernel has all it needs
 * (else why); setup: guest RAM onto a memfd and its alias; register: the userfaultfd modes;
 * prepare: the alias pages [idx, idx + n) allocated, where to receive them; map: those pages
 * into guest RAM (UFFDIO_CONTINUE); punch: drop them from the file. 0 or -1 (logged). */
bool pager_zc_probe(char *why, size_t len);
int pager_zc_setup(struct pager *pg);
int pager_zc_register(struct pager *pg);
void pager_zc_free(struct pager *pg);
uint8_t *pager_zc_prepare(struct pager *pg, uint64_t idx, uint64_t n);
int pager_zc_map(struct pager *pg, uint64_t idx, uint64_t n, bool wp);
int pager_zc_punch(struct pager *pg, uint64_t idx, uint64_t n);

/* pager_migration.c: under pg->lock, the guest wrote page idx (recorded during a migration). */
void pager_migration_written(struct pager *pg, uint64_t idx);

/* pager_evict.c: evict pages in CLOCK order until the ExCache is within budget (channel ch). */
int pager_evict_make_room(struct pager *pg, int ch);
/* The background evictor: start (0 or -1, logged), stop (pg->stopping set first), and, under
 * pg->lock after pages became resident, wake it if the cache is past its high mark. */
int pager_evict_start(struct pager *pg);
void pager_evict_stop(struct pager *pg);
void pager_evict_kick(struct pager *pg);
/* Under pg->lock: n pages from idx became resident; the page at used (if within) was used. */
void pager_evict_resident(struct pager *pg, uint64_t idx, uint64_t n, uint64_t used);

/* pager_trace.c: trace mode (pager_config.trace_path). */
int pager_trace_open(struct pager *pg, const char *path);
/* Under pg->lock: a missing-page fault at page idx. */
void pager_trace_fault(struct pager *pg, uint64_t idx);
void pager_trace_close(struct pager *pg);

#endif
