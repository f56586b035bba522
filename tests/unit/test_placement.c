/* test_placement.c: the global managers' choices: GPM picks the host with the most free
 * cores that has room for the ExCache; GMM spreads vRegions by free capacity, each copy of a
 * region on its own server, never on a dead or draining one; hints restrict, and naming a
 * missing, dead or draining component fails; shortages say what is short. The pool's moves:
 * a target for one copy, whether a drain fits, rebalance moves that even out use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "controlplane/controld/placement.h"

#define MIB (1024ULL * 1024)

static void test_processor(void **state)
{
	struct placement_host h[] = {
		{.name = "a", .alive = true, .cores = 4, .used_cores = 3, .mem = 1024 * MIB},
		{.name = "b", .alive = true, .cores = 8, .used_cores = 2, .mem = 512 * MIB},
		{.name = "c", .alive = false, .cores = 64, .mem = 64 * 1024 * MIB},
	};
	char err[256];

	(void)state;
	assert_int_equal(placement_pick_processor(h, 3, "", 1, 256 * MIB, err, sizeof(err)), 1);
	/* b lacks memory for a 768 MiB ExCache; a has it. */
	assert_int_equal(placement_pick_processor(h, 3, "", 1, 768 * MIB, err, sizeof(err)), 0);
	/* Nobody alive has 7 free cores (c is down). */
	assert_int_equal(placement_pick_processor(h, 3, "", 7, MIB, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "7 free core"));
	assert_int_equal(placement_pick_processor(h, 3, "a", 1, MIB, err, sizeof(err)), 0);
	assert_int_equal(placement_pick_processor(h, 3, "c", 1, MIB, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'c', which is down"));
	assert_int_equal(placement_pick_processor(h, 3, "zz", 1, MIB, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not registered"));
	assert_int_equal(placement_pick_processor(h, 0, "", 1, MIB, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no processor host"));
}

static void test_regions_spread(void **state)
{
	struct placement_mem m[] = {
		{.name = "m1", .alive = true, .capacity = 1024 * MIB, .used = 0},
		{.name = "m2", .alive = true, .capacity = 1024 * MIB, .used = 512 * MIB},
		{.name = "m3", .alive = false, .capacity = 8192 * MIB},
	};
	int owner[64][PL_MAX_COPIES], count[3] = {0};
	char err[256];
	int n = placement_place_regions(m, 3, "", 1024 * MIB, 64 * MIB, 1, owner, 64, err,
					sizeof(err));

	(void)state;
	assert_int_equal(n, 16);
	for (int i = 0; i < n; i++)
		count[owner[i][0]]++;
	/* Equal free space after placement: m1 takes 768 MiB, m2 256 MiB. */
	assert_int_equal(count[0], 12);
	assert_int_equal(count[1], 4);
	assert_int_equal(count[2], 0);
	/* A last region smaller than the others. */
	assert_int_equal(placement_place_regions(m, 3, "", 100 * MIB, 64 * MIB, 1, owner, 64, err,
						 sizeof(err)),
			 2);
	/* Hint: only m2. */
	n = placement_place_regions(m, 3, "m2", 256 * MIB, 64 * MIB, 1, owner, 64, err,
				    sizeof(err));
	assert_int_equal(n, 4);
	for (int i = 0; i < n; i++)
		assert_int_equal(owner[i][0], 1);
}

static void test_regions_short(void **state)
{
	struct placement_mem m[] = {
		{.name = "m1", .alive = true, .capacity = 256 * MIB, .used = 0},
		{.name = "m2", .alive = true, .capacity = 256 * MIB, .used = 200 * MIB},
	};
	int owner[64][PL_MAX_COPIES];
	char err[256];

	(void)state;
	/* 312 MiB free in total, but not 512. */
	assert_int_equal(placement_place_regions(m, 2, "", 512 * MIB, 64 * MIB, 1, owner, 64, err,
						 sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "312 MiB free"));
	/* 56 MiB free on m2 cannot take one 64 MiB region. */
	assert_int_equal(placement_place_regions(m, 2, "m2", 64 * MIB, 64 * MIB, 1, owner, 64, err,
						 sizeof(err)),
			 -1);
	assert_int_equal(placement_place_regions(m, 2, "m1,m9", 64 * MIB, 64 * MIB, 1, owner, 64,
						 err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "'m9'"));
	/* Too many regions for the map. */
	assert_int_equal(placement_place_regions(m, 2, "", 256 * MIB, 2 * MIB, 1, owner, 64, err,
						 sizeof(err)),
			 -1);
	assert_int_equal(placement_place_regions(m, 0, "", 64 * MIB, 64 * MIB, 1, owner, 64, err,
						 sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "no memory server"));
}

/* Copies on distinct servers; primaries spread; replicas where there is most room. */
static void test_copies(void **state)
{
	struct placement_mem m[] = {
		{.name = "m1", .alive = true, .capacity = 1024 * MIB},
		{.name = "m2", .alive = true, .capacity = 1024 * MIB},
		{.name = "m3", .alive = true, .capacity = 1024 * MIB, .draining = true},
		{.name = "m4", .alive = true, .capacity = 512 * MIB},
	};
	int owner[64][PL_MAX_COPIES], primaries[4] = {0}, copies[4] = {0};
	char err[256];
	int n = placement_place_regions(m, 4, "", 512 * MIB, 64 * MIB, 2, owner, 64, err,
					sizeof(err));

	(void)state;
	assert_int_equal(n, 8);
	for (int i = 0; i < n; i++) {
		assert_int_not_equal(owner[i][0], owner[i][1]);
		primaries[owner[i][0]]++;
		copies[owner[i][0]]++;
		copies[owner[i][1]]++;
	}
	/* The draining server takes nothing; primaries spread over the others. */
	assert_int_equal(copies[2], 0);
	assert_int_equal(primaries[0], 4);
	assert_int_equal(primaries[1], 4);
	assert_int_equal(copies[0] + copies[1] + copies[3], 16);
	/* Free memory ends close to even (within a region) on the two big servers. */
	assert_true(copies[0] - copies[1] <= 1 && copies[1] - copies[0] <= 1);
	/* Three copies need three servers that take new regions. */
	assert_int_equal(placement_place_regions(m, 4, "", 128 * MIB, 64 * MIB, 3, owner, 64, err,
						 sizeof(err)),
			 2);
	for (int i = 0; i < 2; i++)
		assert_true(owner[i][0] != owner[i][1] && owner[i][1] != owner[i][2] &&
			    owner[i][0] != owner[i][2]);
	assert_int_equal(placement_place_regions(m, 4, "", 128 * MIB, 64 * MIB, 4, owner, 64, err,
						 sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "replication factor 4 needs 4 memory servers that are alive "
				    "and not draining, and there are 3"));
	assert_int_equal(placement_place_regions(m, 4, "m1", 64 * MIB, 64 * MIB, 2, owner, 64, err,
						 sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "among those the placement hint names, and there is 1"));
	assert_int_equal(placement_place_regions(m, 4, "m3", 64 * MIB, 64 * MIB, 1, owner, 64, err,
						 sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "'m3', which is draining"));
	assert_int_equal(placement_place_regions(m, 4, "", 64 * MIB, 64 * MIB, 0, owner, 64, err,
						 sizeof(err)),
			 -1);
	assert_int_equal(placement_place_regions(m, 4, "", 64 * MIB, 64 * MIB, 5, owner, 64, err,
						 sizeof(err)),
			 -1);
	/* Room for the primaries but not the replicas: 1.5 GiB of copies, 2.5 GiB free, yet
	 * the smallest server cannot hold a second copy of what it has. */
	m[0].used = 900 * MIB;
	m[1].used = 900 * MIB;
	assert_int_equal(placement_place_regions(m, 4, "", 512 * MIB, 64 * MIB, 2, owner, 64, err,
						 sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "cannot hold 2 copies of 512 MiB"));
}

static void test_target_and_drain(void **state)
{
	struct placement_mem m[] = {
		{.name = "a", .alive = true, .capacity = 100 * MIB, .used = 10 * MIB},
		{.name = "b", .alive = true, .capacity = 100 * MIB, .used = 60 * MIB},
		{.name = "c", .alive = true, .capacity = 100 * MIB, .used = 30 * MIB},
		{.name = "d", .alive = false, .capacity = 900 * MIB},
		{.name = "e", .alive = true, .capacity = 900 * MIB, .draining = true},
	};
	struct placement_region r[] = {
		{.size = 20 * MIB, .wanted = 1, .nr = 1, .server = {1}},
		{.size = 20 * MIB, .wanted = 2, .nr = 2, .server = {1, 0}},
		{.size = 20 * MIB, .wanted = 1, .nr = 2, .server = {1, 2}}, /* one too many */
		{.size = 20 * MIB, .wanted = 1, .nr = 1, .server = {0}},
	};
	const char *labels[] = {"r0", "r1", "r2", "r3"};
	char err[256];

	(void)state;
	/* The most free server not holding a copy, never a dead or draining one. */
	assert_int_equal(placement_pick_target(m, 5, &r[0]), 0);
	assert_int_equal(placement_pick_target(m, 5, &r[1]), 2);
	m[2].used = 90 * MIB; /* 10 MiB free: no room for 20 */
	assert_int_equal(placement_pick_target(m, 5, &r[1]), -1);
	m[2].used = 30 * MIB;
	/* Draining b: r0 to a, r1 to c, r2 just drops its extra copy. */
	assert_int_equal(placement_plan_drain(m, 5, 1, r, 4, labels, err, sizeof(err)), 0);
	/* c too full: r1 has nowhere to go (a holds a copy of it already). */
	m[2].used = 90 * MIB;
	assert_int_equal(placement_plan_drain(m, 5, 1, r, 4, labels, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot drain memory server b: r1 (20 MiB) has no other"));
	/* Less room in all than the copies need. */
	m[0].used = 90 * MIB;
	assert_int_equal(placement_plan_drain(m, 5, 1, r, 4, labels, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "its 2 vRegion copies (40 MiB) need more room than the other "
				    "memory servers have (20 MiB free on 2 that are alive"));
	/* Two moves that each fit alone and in total, but not together: 30 + 15 MiB free. */
	m[0].used = 60 * MIB;
	m[2].used = 100 * MIB;
	r[1] = (struct placement_region){.size = 20 * MIB, .wanted = 1, .nr = 1, .server = {1}};
	assert_int_equal(placement_plan_drain(m, 5, 1, r, 2, labels, err, sizeof(err)), 0);
	m[0].used = 70 * MIB;
	m[2].used = 85 * MIB;
	assert_int_equal(placement_plan_drain(m, 5, 1, r, 2, labels, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "r1 (20 MiB)"));
}

/* Rebalance moves from the fullest to the emptiest until within about a region of even. */
static void test_rebalance(void **state)
{
	struct placement_mem m[3] = {
		{.name = "a", .alive = true, .capacity = 100 * MIB},
		{.name = "b", .alive = true, .capacity = 100 * MIB},
		{.name = "c", .alive = true, .capacity = 200 * MIB},
	};
	struct placement_region r[12];
	int reg, from, to, moves = 0;

	(void)state;
	for (int i = 0; i < 12; i++) /* everything on a, vRegions of two copies on a and b */
		r[i] = (struct placement_region){.size = 8 * MIB,
						 .wanted = 1 + (i < 4),
						 .nr = 1 + (i < 4),
						 .server = {0, 1}};
	for (int i = 0; i < 12; i++)
		for (int k = 0; k < r[i].nr; k++)
			m[r[i].server[k]].placed += r[i].size;
	for (int i = 0; i < 3; i++)
		m[i].used = m[i].placed;
	assert_int_equal(placement_spread_ppm(m, 3), 960000); /* a 96%, c 0% */
	while (!placement_rebalance_move(m, 3, r, 12, &reg, &from, &to)) {
		/* Never onto a server holding a copy already. */
		for (int k = 0; k < r[reg].nr; k++)
			assert_int_not_equal(r[reg].server[k], to);
		for (int k = 0; k < r[reg].nr; k++)
			if (r[reg].server[k] == from)
				r[reg].server[k] = to;
		m[from].placed -= r[reg].size;
		m[to].placed += r[reg].size;
		m[from].used = m[from].placed;
		m[to].used = m[to].placed;
		assert_true(++moves < 50);
	}
	/* 128 MiB over 400: each near 32%; within one 8 MiB region of even. */
	assert_true(moves >= 4);
	assert_true(placement_spread_ppm(m, 3) <= 80000);
	/* Nothing to move on an even pool, nor with a single server. */
	assert_int_equal(placement_rebalance_move(m, 1, r, 12, &reg, &from, &to), -1);
	m[2].draining = true; /* a draining server takes nothing: c's copies stay put */
	assert_int_equal(placement_spread_ppm(m, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_processor),	 cmocka_unit_test(test_regions_spread),
		cmocka_unit_test(test_regions_short),	 cmocka_unit_test(test_copies),
		cmocka_unit_test(test_target_and_drain), cmocka_unit_test(test_rebalance),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
