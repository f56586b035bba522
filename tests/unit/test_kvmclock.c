/* test_kvmclock.c: the guest's kvm-clock formula as a migration's source evaluates it:
 * positive and negative shifts, a 64-bit TSC delta times a 32-bit multiplier without
 * overflow, and a stamp later than the TSC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vmm/kvm/kvmclock.h"

static void test_formula(void **state)
{
	(void)state;
	/* A 2 GHz TSC: mul 2^31 with shift 0 is 0.5 ns per tick. */
	assert_true(kvmclock_ns(1000, 0, 1U << 31, 0, 2000000000ULL) == 1000 + 1000000000ULL);
	/* The same rate as mul 2^31, shift 1 on a 4 GHz count halved... */
	assert_true(kvmclock_ns(0, 100, 1U << 31, 1, 100 + 1000) == 1000);
	/* ...and a negative shift divides first. */
	assert_true(kvmclock_ns(5, 0, 1U << 31, -1, 4000) == 5 + 1000);
	/* No overflow: 2^40 ticks times 0xffffffff, >> 32, is just under 2^40 ns. */
	assert_true(kvmclock_ns(0, 0, 0xffffffffU, 0, 1ULL << 40) == (1ULL << 40) - 256);
	/* A stamp from the future reads as the stamp's system time. */
	assert_true(kvmclock_ns(777, 5000, 1U << 31, 0, 4000) == 777);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_formula)};

	cmocka_set_message_output(CM_OUTPUT_TAP);

	return cmocka_run_group_tests(tests, NULL, NULL);
}
