/* pager.h: the ExCache: guest RAM registered with userfaultfd, served from memory servers.
 *
 * Missing pages are fetched from the region's owner (or zero-filled locally when never
 * written back) and installed write-protected; the first write to a page raises a
 * write-protect fault that marks it dirty. This sees every write: the guest's (through
 * KVM) and the VMM's own (device emulation, image loading). Over the cache budget, pages
 * are evicted in CLOCK order (pager_clock.h: a page first written since the hand last
 * passed stays a round longer): dirty ones are write-protected again, written back, then dropped.
 */
#ifndef LEGO_PAGER_H
#define LEGO_PAGER_H

#include <stdbool.h>
#include <stdint.h>

#include "remote_mem.h"

#define PAGER_MAX_THREADS (RM_MAX_CHANNELS - 1) /* the last channel is the flusher's */

struct vm;
struct pager;

/* How a fetched page reaches guest RAM: copied in by UFFDIO_COPY from the receive buffer, or
 * received straight into guest RAM's memfd and mapped by UFFDIO_CONTINUE (pager_zc.c). AUTO:
 * copy (zero copy measured more CPU per page over tcp). */
enum pager_mode {
	PAGER_MODE_AUTO = 0,
	PAGER_MODE_COPY,
	PAGER_MODE_ZEROCOPY,
};

struct pager_config {
	uint64_t cache_bytes; /* ExCache budget */
	int threads;	      /* fault-serving threads, 1..PAGER_MAX_THREADS */
	bool prefetch;	      /* widen faults on sequential access */
	bool attached;	      /* the vRegions already hold the RAM: never assume zeros */
	enum pager_mode mode;
	bool vhost; /* vhost-net reads and writes guest RAM: AUTO chooses the copy mode */
	/* Trace mode: write every missing-page fault's page number (a little-endian uint32 each,
	 * in the order served) to this file; tests/tools/lru_replay reads it. NULL: off. */
	const char *trace_path;
};

struct pager_stats {
	const char *mode;	 /* "copy" or "zerocopy" */
	uint64_t faults;	 /* missing-page faults served */
	uint64_t wp_faults;	 /* first writes to resident pages */
	uint64_t refaults;	 /* misses of pages evicted less than a budget of evictions ago */
	uint64_t remote_fetches; /* READ requests / RMA reads */
	uint64_t reads_rma, reads_msg; /* of those, one-sided RMA reads and READ messages */
	uint64_t pages_fetched;
	uint64_t zero_fills; /* pages installed as zeros without a round trip */
	uint64_t prefetched; /* pages installed ahead of a fault */
	uint64_t evictions;
	uint64_t second_chances; /* resident pages the CLOCK hand kept for being used */
	uint64_t writebacks;	 /* pages written back */
	uint64_t bytes_in, bytes_out;
	uint64_t resident_pages, dirty_pages, cache_pages;
	uint64_t lat_p50_ns, lat_p99_ns, lat_p999_ns, lat_max_ns;
};

/* Register guest RAM with userfaultfd and start the threads; before anything touches
 * guest RAM. Returns 0 or -1 after logging why. */
int pager_start(struct pager **out, struct vm *vm, struct remote_mem *rm,
		const struct pager_config *cfg);
/* Stop the threads and unregister; guest RAM must no longer be in use. */
void pager_stop(struct pager *pg);
/* Write every dirty page back (pages stay resident and clean); for a vNode that is about
 * to move or that wants its memory safe on the servers. Returns pages written or -1. */
int64_t pager_evict_flush(struct pager *pg);
void pager_stats_get(struct pager *pg, struct pager_stats *st);
/* Dirty pages now (what pager_stats_get says, without the rest). */
uint64_t pager_stats_dirty_pages(struct pager *pg);

/* Live migration. pager_migration_remote_bits: a bitmap (npages bits) of the pages the memory
 * servers hold, for the destination, which would otherwise zero-fill pages it has never
 * seen; returns how many, or UINT64_MAX if a page is still dirty (flush first). With
 * snapshot, dirty pages are allowed and the pages newly held from then on are recorded:
 * pager_migration_remote_delta gives them (and ends the recording) once nothing is dirty; -1 if the
 * record was lost (out of memory) or pages are dirty: send the whole bitmap then.
 * pager_migration_load_remote_bits takes n bits for pages from first,
 * pager_migration_load_remote_pages a list, before anything touched those pages: -1 if out of range
 * or already resident here. pager_migration_hot_pages: up to max resident pages, the ones the
 * CLOCK hand reaches last (installed or found used most recently) first. */
uint64_t pager_migration_npages(const struct pager *pg);
uint64_t pager_migration_remote_bits(struct pager *pg, uint8_t *bits, bool snapshot);
int pager_migration_remote_delta(struct pager *pg, uint32_t **out, uint32_t *n);
int pager_migration_load_remote_bits(struct pager *pg, uint64_t first, uint64_t n,
				     const uint8_t *bits);
/* On a refusal *bad is the first page named that is beyond RAM or not absent here. */
int pager_migration_load_remote_pages(struct pager *pg, const uint32_t *pages, uint32_t n,
				      uint32_t *bad);
uint32_t pager_migration_hot_pages(struct pager *pg, uint32_t *out, uint32_t max);
/* Fetch these pages (a source's hot pages) in the background while they are absent and
 * the ExCache has room; pager_stop ends it. */
void pager_migration_prefetch(struct pager *pg, const uint32_t *pages, uint32_t n);
/* "copy" or "zerocopy". */
const char *pager_mode_name(enum pager_mode mode);
/* The statistics as one log line. */
void pager_stats_log(const struct pager_stats *st);

#endif
