/* pager_clock.c: the ExCache's eviction order: CLOCK with reference bits the pager sets. */
#include "pager_clock.h"

#include <stdlib.h>

int pager_clock_init(struct pager_clock *c, uint64_t npages)
{
	*c = (struct pager_clock){.size = npages};
	c->ring = calloc(npages ? npages : 1, sizeof(*c->ring));
	c->ref = calloc((npages + 63) / 64 + 1, sizeof(*c->ref));
	c->picked_at = calloc(npages ? npages : 1, sizeof(*c->picked_at));
	if (!c->ring || !c->ref || !c->picked_at) {
		pager_clock_free(c);
		return -1;
	}
	return 0;
}

void pager_clock_free(struct pager_clock *c)
{
	free(c->ring);
	free(c->ref);
	free(c->picked_at);
	c->ring = NULL;
	c->ref = NULL;
	c->picked_at = NULL;
	c->len = 0;
}

static void set_ref(struct pager_clock *c, uint32_t page, bool on)
{
	uint64_t bit = 1ULL << (page % 64);

	if (on)
		c->ref[page / 64] |= bit;
	else
		c->ref[page / 64] &= ~bit;
}

void pager_clock_push(struct pager_clock *c, uint32_t page, bool ref)
{
	if (c->len >= c->size || page >= c->size)
		return; /* cannot happen: a page is in the ring at most once */
	c->ring[(c->head + c->len) % c->size] = page;
	c->len++;
	set_ref(c, page, ref);
}

void pager_clock_touch(struct pager_clock *c, uint32_t page)
{
	if (page < c->size)
		set_ref(c, page, true);
}

bool pager_clock_referenced(const struct pager_clock *c, uint32_t page)
{
	return page < c->size && (c->ref[page / 64] >> (page % 64) & 1);
}

uint32_t pager_clock_at(const struct pager_clock *c, uint64_t k)
{
	return c->ring[(c->head + k) % c->size];
}

int pager_clock_pick(struct pager_clock *c, uint32_t *out, int want, pager_clock_keep_fn keep,
		     pager_clock_second_fn second, void *arg)
{
	/* Two looks per page: the first may only clear its bit. */
	uint64_t steps = 2 * c->len;
	int n = 0;

	while (n < want && c->len && steps--) {
		uint32_t page = c->ring[c->head];
		bool round = false;

		c->head = (c->head + 1) % c->size;
		c->len--;
		if (keep && keep(page, arg)) {
			round = true;
		} else if (pager_clock_referenced(c, page)) {
			set_ref(c, page, false);
			c->second_runs++;
			if (second)
				second(page, arg);
			round = true;
		}
		if (round) {
			c->ring[(c->head + c->len) % c->size] = page;
			c->len++;
			continue;
		}
		out[n++] = page;
		if (++c->picks == 0)
			c->picks = 1; /* 0 means never */
		c->picked_at[page] = c->picks;
	}
	return n;
}

bool pager_clock_refault(const struct pager_clock *c, uint32_t page)
{
	return page < c->size && c->picked_at[page] && c->picks - c->picked_at[page] < c->len;
}
