/* test_pager_clock.c: the ExCache's eviction order (vmm/memory/pager_clock.c): a page used
 * since the hand last passed is never evicted while an unused one remains; without uses it
 * is first in, first out; kept (busy) pages stay; the second chance is reported; the ring
 * wraps around its capacity; a page picked less than a ring ago is a refault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/memory/pager_clock.h"

static void test_fifo_without_uses(void **state)
{
	struct pager_clock c;
	uint32_t out[8];

	(void)state;
	assert_int_equal(pager_clock_init(&c, 16), 0);
	for (uint32_t p = 0; p < 8; p++)
		pager_clock_push(&c, p, false);
	assert_int_equal(pager_clock_pick(&c, out, 3, NULL, NULL, NULL), 3);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 2);
	assert_int_equal(c.len, 5);
	assert_int_equal(pager_clock_at(&c, 0), 3);
	pager_clock_free(&c);
}

/* The property the ExCache is for: over many rounds of new cold pages and evictions, a page
 * used between every two evictions is never the victim. */
static void test_hot_page_never_evicted(void **state)
{
	enum { PAGES = 4096, CACHE = 64, HOT = 3 };
	uint32_t hot[HOT] = {7, 1000, 4000}, next = 0, out[4];
	struct pager_clock c;
	uint64_t evicted = 0;

	(void)state;
	assert_int_equal(pager_clock_init(&c, PAGES), 0);
	for (int i = 0; i < HOT; i++)
		pager_clock_push(&c, hot[i], false);
	for (int round = 0; round < 20000; round++) {
		int want = 1 + round % 4, n;

		/* Cold pages come in (never used again) until over the cache. */
		while (c.len < CACHE + (uint64_t)want) {
			next = (next + 1) % PAGES;
			if (next == 7 || next == 1000 || next == 4000)
				continue;
			/* A cold page still resident is not pushed twice. */
			int resident = 0;

			for (uint64_t k = 0; k < c.len && !resident; k++)
				resident = pager_clock_at(&c, k) == next;
			if (!resident)
				pager_clock_push(&c, next, false);
		}
		for (int i = 0; i < HOT; i++)
			pager_clock_touch(&c, hot[i]);
		n = pager_clock_pick(&c, out, want, NULL, NULL, NULL);
		assert_int_equal(n, want);
		for (int k = 0; k < n; k++) {
			for (int i = 0; i < HOT; i++)
				assert_int_not_equal(out[k], hot[i]);
			evicted++;
		}
	}
	assert_true(evicted > 40000);
	/* Unused from now on, the hot pages become ordinary: they go within two rounds of
	 * the hand. */
	{
		uint32_t all[CACHE + 8];
		int n = pager_clock_pick(&c, all, (int)c.len, NULL, NULL, NULL), seen = 0;

		assert_true(n >= CACHE);
		for (int k = 0; k < n; k++)
			for (int i = 0; i < HOT; i++)
				seen += all[k] == hot[i];
		assert_int_equal(seen, HOT);
		assert_int_equal(c.len, 0);
	}
	pager_clock_free(&c);
}

/* A used page goes round once (reported), then is evicted in its new place. */
static void second(uint32_t page, void *arg)
{
	uint32_t *log = arg;

	log[++log[0]] = page;
}

static void test_second_chance_reported(void **state)
{
	struct pager_clock c;
	uint32_t out[8], log[16] = {0};

	(void)state;
	assert_int_equal(pager_clock_init(&c, 8), 0);
	pager_clock_push(&c, 0, true); /* a write miss */
	pager_clock_push(&c, 1, false);
	pager_clock_push(&c, 2, false);
	pager_clock_touch(&c, 2);
	assert_int_equal(pager_clock_pick(&c, out, 1, NULL, second, log), 1);
	assert_int_equal(out[0], 1);
	assert_int_equal(log[0], 1);
	assert_int_equal(log[1], 0);
	assert_false(pager_clock_referenced(&c, 0));
	assert_true(pager_clock_referenced(&c, 2));
	/* Every page used: the hand clears them all, then takes the oldest. */
	pager_clock_touch(&c, 0);
	assert_int_equal(pager_clock_pick(&c, out, 1, NULL, second, log), 1);
	assert_int_equal(out[0], 2);
	assert_int_equal(log[0], 3);
	assert_int_equal(c.second_runs, 3);
	assert_int_equal(c.len, 1);
	assert_int_equal(pager_clock_at(&c, 0), 0);
	pager_clock_free(&c);
}

static bool keep_even(uint32_t page, void *arg)
{
	(void)arg;
	return page % 2 == 0;
}

/* Kept pages stay in the ring; when every page is kept the pick ends with none. */
static void test_keep(void **state)
{
	struct pager_clock c;
	uint32_t out[8];

	(void)state;
	assert_int_equal(pager_clock_init(&c, 8), 0);
	for (uint32_t p = 0; p < 6; p++)
		pager_clock_push(&c, p, false);
	assert_int_equal(pager_clock_pick(&c, out, 8, keep_even, NULL, NULL), 3);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 3);
	assert_int_equal(out[2], 5);
	assert_int_equal(c.len, 3);
	assert_int_equal(pager_clock_pick(&c, out, 8, keep_even, NULL, NULL), 0);
	assert_int_equal(c.len, 3);
	pager_clock_free(&c);
}

/* Fill, drain and refill past the end of the ring storage many times: order is kept. */
static void test_wraps(void **state)
{
	struct pager_clock c;
	uint32_t out[5], expect = 0, next = 0;

	(void)state;
	assert_int_equal(pager_clock_init(&c, 7), 0);
	for (int round = 0; round < 50; round++) {
		while (c.len < 7)
			pager_clock_push(&c, next++ % 7, false);
		assert_int_equal(pager_clock_pick(&c, out, 5, NULL, NULL, NULL), 5);
		for (int k = 0; k < 5; k++)
			assert_int_equal(out[k], expect++ % 7);
	}
	/* Out of range and over capacity are refused, not written. */
	pager_clock_push(&c, 99, true);
	assert_false(pager_clock_referenced(&c, 99));
	assert_int_equal(c.len, 2);
	pager_clock_free(&c);
}

/* How often a page read between every two picks (reads unseen, so never given a bit by a
 * use) goes out in 2000 rounds of new cold pages, when its faults back count as uses if
 * refaults (with_refaults) or not. */
static int hot_evictions(bool with_refaults)
{
	enum { CACHE = 8, ROUNDS = 2000 };
	struct pager_clock c;
	uint32_t out[1], next = CACHE;
	int gone = 0;

	assert_int_equal(pager_clock_init(&c, CACHE + ROUNDS + 1), 0);
	for (uint32_t p = 0; p < CACHE; p++)
		pager_clock_push(&c, p, false);
	for (int round = 0; round < ROUNDS; round++) {
		bool resident = false;

		for (uint64_t k = 0; k < c.len; k++)
			resident |= pager_clock_at(&c, k) == 0;
		if (!resident) {
			gone++;
			pager_clock_push(&c, 0, with_refaults && pager_clock_refault(&c, 0));
		} else {
			pager_clock_push(&c, next, false);
			next++;
		}
		assert_int_equal(pager_clock_pick(&c, out, 1, NULL, NULL, NULL), 1);
	}
	pager_clock_free(&c);
	return gone;
}

/* A page picked fewer picks ago than the ring holds is a refault; one never picked, or
 * picked longer ago, is not. A page only read, brought back as a refault each time, goes
 * out about half as often as without (FIFO for it: once a ring). */
static void test_refault(void **state)
{
	enum { CACHE = 8 };
	struct pager_clock c;
	uint32_t out[1], next = CACHE;
	int with, without;

	(void)state;
	assert_int_equal(pager_clock_init(&c, 64), 0);
	for (uint32_t p = 0; p < CACHE; p++)
		pager_clock_push(&c, p, false);
	assert_false(pager_clock_refault(&c, 0)); /* never picked */
	assert_int_equal(pager_clock_pick(&c, out, 1, NULL, NULL, NULL), 1);
	assert_int_equal(out[0], 0);
	assert_true(pager_clock_refault(&c, 0)); /* picked 1 pick ago, 7 resident */
	/* CACHE - 1 more picks of new cold pages: page 0 is now as far back as the ring holds. */
	for (int i = 0; i < CACHE - 1; i++) {
		pager_clock_push(&c, next++, false);
		assert_int_equal(pager_clock_pick(&c, out, 1, NULL, NULL, NULL), 1);
		assert_int_not_equal(out[0], 0);
	}
	assert_false(pager_clock_refault(&c, 0));
	pager_clock_free(&c);

	with = hot_evictions(true);
	without = hot_evictions(false);
	assert_true(without >= 2000 / (CACHE + 1) - 1);
	assert_true(with * 3 < without * 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_without_uses),
		cmocka_unit_test(test_hot_page_never_evicted),
		cmocka_unit_test(test_second_chance_reported),
		cmocka_unit_test(test_keep),
		cmocka_unit_test(test_wraps),
		cmocka_unit_test(test_refault),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
