/* test_placement.c: the global managers' choices: GPM picks the host with the most free
 * cores that has room for the ExCache; GMM spreads vRegions by free capacity; hints
 * restrict, and naming a missing or dead component fails; shortages say what is short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "placement.h"

#define MIB (1024ULL * 1024)

static void test_processor(void **state)
{
	struct pl_host h[] = {
		{.name = "a", .alive = true, .cores = 4, .used_cores = 3, .mem = 1024 * MIB},
		{.name = "b", .alive = true, .cores = 8, .used_cores = 2, .mem = 512 * MIB},
		{.name = "c", .alive = false, .cores = 64, .mem = 64 * 1024 * MIB},
	};
	char err[256];

	(void)state;
	assert_int_equal(pl_pick_processor(h, 3, "", 1, 256 * MIB, err, sizeof(err)), 1);
	/* b lacks memory for a 768 MiB ExCache; a has it. */
	assert_int_equal(pl_pick_processor(h, 3, "", 1, 768 * MIB, err, sizeof(err)), 0);
	/* Nobody alive has 7 free cores (c is down). */
	assert_int_equal(pl_pick_processor(h, 3, "", 7, MIB, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "7 free core"));
	assert_int_equal(pl_pick_processor(h, 3, "a", 1, MIB, err, sizeof(err)), 0);
	assert_int_equal(pl_pick_processor(h, 3, "c", 1, MIB, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'c', which is down"));
	assert_int_equal(pl_pick_processor(h, 3, "zz", 1, MIB, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not registered"));
	assert_int_equal(pl_pick_processor(h, 0, "", 1, MIB, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no processor host"));
}

static void test_regions_spread(void **state)
{
	struct pl_mem m[] = {
		{.name = "m1", .alive = true, .capacity = 1024 * MIB, .used = 0},
		{.name = "m2", .alive = true, .capacity = 1024 * MIB, .used = 512 * MIB},
		{.name = "m3", .alive = false, .capacity = 8192 * MIB},
	};
	int owner[64], count[3] = {0};
	char err[256];
	int n = pl_place_regions(m, 3, "", 1024 * MIB, 64 * MIB, owner, 64, err, sizeof(err));

	(void)state;
	assert_int_equal(n, 16);
	for (int i = 0; i < n; i++)
		count[owner[i]]++;
	/* Equal free space after placement: m1 takes 768 MiB, m2 256 MiB. */
	assert_int_equal(count[0], 12);
	assert_int_equal(count[1], 4);
	assert_int_equal(count[2], 0);
	/* A last region smaller than the others. */
	assert_int_equal(
		pl_place_regions(m, 3, "", 100 * MIB, 64 * MIB, owner, 64, err, sizeof(err)), 2);
	/* Hint: only m2. */
	n = pl_place_regions(m, 3, "m2", 256 * MIB, 64 * MIB, owner, 64, err, sizeof(err));
	assert_int_equal(n, 4);
	for (int i = 0; i < n; i++)
		assert_int_equal(owner[i], 1);
}

static void test_regions_short(void **state)
{
	struct pl_mem m[] = {
		{.name = "m1", .alive = true, .capacity = 256 * MIB, .used = 0},
		{.name = "m2", .alive = true, .capacity = 256 * MIB, .used = 200 * MIB},
	};
	int owner[64];
	char err[256];

	(void)state;
	/* 312 MiB free in total, but not 512. */
	assert_int_equal(
		pl_place_regions(m, 2, "", 512 * MIB, 64 * MIB, owner, 64, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "312 MiB free"));
	/* 56 MiB free on m2 cannot take one 64 MiB region. */
	assert_int_equal(
		pl_place_regions(m, 2, "m2", 64 * MIB, 64 * MIB, owner, 64, err, sizeof(err)), -1);
	assert_int_equal(
		pl_place_regions(m, 2, "m1,m9", 64 * MIB, 64 * MIB, owner, 64, err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "'m9'"));
	/* Too many regions for the map. */
	assert_int_equal(
		pl_place_regions(m, 2, "", 256 * MIB, 2 * MIB, owner, 64, err, sizeof(err)), -1);
	assert_int_equal(
		pl_place_regions(m, 0, "", 64 * MIB, 64 * MIB, owner, 64, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no memory server"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_processor),
		cmocka_unit_test(test_regions_spread),
		cmocka_unit_test(test_regions_short),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
