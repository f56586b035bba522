/* pager_clock.h: the ExCache's eviction order: CLOCK (second chance) over the resident pages.
 *
 * Every resident page sits in a ring, oldest at the hand, with a reference bit. The pager
 * sets the bit when it sees a page used: a write fault on a write-protected resident page,
 * or a write miss (the faults it takes anyway: reads of resident pages are not seen). The
 * hand evicts pages without the bit; a page with it loses it and goes round once more (the
 * caller may be told, e.g. to watch the page again). So a page used since the hand last
 * passed is never evicted while one that was not remains. Reads of resident pages being
 * unseen, a page read often would go round once and out again and again: the ring remembers
 * when each page was picked, and a page that comes back within as many picks as the ring
 * holds (an LRU twice the size would have kept it) is a refault, which the pager counts as
 * a use. Not thread-safe: the pager calls it under its lock.
 */
#ifndef LEGO_PAGER_CLOCK_H
#define LEGO_PAGER_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct pager_clock {
	uint32_t *ring;	      /* resident pages, the hand (oldest) at head */
	uint64_t *ref;	      /* reference bits, one per page */
	uint64_t size;	      /* pages of guest RAM: the ring's capacity */
	uint64_t head, len;   /* the ring */
	uint64_t second_runs; /* pages given a second chance (a figure) */
	uint32_t *picked_at;  /* per page: the pick count when it was last picked, +1 (0: never) */
	uint32_t picks;	      /* pages picked so far (wraps) */
};

/* For pager_clock_pick: keep (true: the page goes round untouched, e.g. busy); and a page
 * that lost its reference bit. */
typedef bool (*pager_clock_keep_fn)(uint32_t page, void *arg);
typedef void (*pager_clock_second_fn)(uint32_t page, void *arg);

/* 0, or -1 when out of memory. */
int pager_clock_init(struct pager_clock *c, uint64_t npages);
void pager_clock_free(struct pager_clock *c);
/* A page became resident (at most once until it is picked); ref: it was used already. */
void pager_clock_push(struct pager_clock *c, uint32_t page, bool ref);
/* A resident page was used. */
void pager_clock_touch(struct pager_clock *c, uint32_t page);
bool pager_clock_referenced(const struct pager_clock *c, uint32_t page);
/* Take up to want victims out of the ring into out[] (in hand order); keep and second may be
 * NULL. Looks at each page at most twice (so it ends even when every page is kept).
 * Returns how many. */
int pager_clock_pick(struct pager_clock *c, uint32_t *out, int want, pager_clock_keep_fn keep,
		     pager_clock_second_fn second, void *arg);
/* Was page (not resident) picked fewer picks ago than the ring holds now? */
bool pager_clock_refault(const struct pager_clock *c, uint32_t page);
/* The k-th resident page from the hand (k < len): k = 0 is the next the hand looks at. */
uint32_t pager_clock_at(const struct pager_clock *c, uint64_t k);

#endif
