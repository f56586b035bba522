/* test_remote_lib.c: latency-histogram quantiles and memory-server address parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/lat_hist.h"
#include "vmm/memory/remote_mem.h"

/* Within the histogram's resolution (1/16 of the power of two). */
static void assert_near(uint64_t got, uint64_t want)
{
	uint64_t tol = want / 16 + 1;

	if (got + tol < want || got > want + tol)
		fail_msg("quantile %llu, expected %llu +- %llu", (unsigned long long)got,
			 (unsigned long long)want, (unsigned long long)tol);
}

static void test_lat_hist_quantiles(void **state)
{
	struct lat_hist *h = calloc(1, sizeof(*h));

	(void)state;
	assert_non_null(h);
	assert_int_equal(lat_hist_quantile(h, 0.5), 0);
	/* 1..100000 ns uniformly: p50 ~ 50 us, p99 ~ 99 us, p999 ~ 99.9 us. */
	for (uint64_t v = 1; v <= 100000; v++)
		lat_hist_add(h, v);
	assert_int_equal(lat_hist_count(h), 100000);
	assert_near(lat_hist_quantile(h, 0.5), 50000);
	assert_near(lat_hist_quantile(h, 0.99), 99000);
	assert_near(lat_hist_quantile(h, 0.999), 99900);
	/* Never above the largest value seen. */
	assert_true(lat_hist_quantile(h, 1.0) <= 100000);
	/* Small values are exact. */
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 10; i++)
		lat_hist_add(h, 7);
	assert_int_equal(lat_hist_quantile(h, 0.5), 7);
	/* Huge values land in the last bucket without overflow. */
	lat_hist_add(h, UINT64_MAX);
	assert_true(lat_hist_quantile(h, 1.0) > 0);
	free(h);
}

static void test_parse_server(void **state)
{
	char host[64], port[16];

	(void)state;
	assert_int_equal(rm_parse_server("127.0.0.1:7410", host, sizeof(host), port, sizeof(port)),
			 0);
	assert_string_equal(host, "127.0.0.1");
	assert_string_equal(port, "7410");
	assert_int_equal(rm_parse_server("[::1]:99", host, sizeof(host), port, sizeof(port)), 0);
	assert_string_equal(host, "::1");
	assert_string_equal(port, "99");
	assert_int_equal(
		rm_parse_server("mm-a.example:65535", host, sizeof(host), port, sizeof(port)), 0);
	assert_int_equal(rm_parse_server("nohost", host, sizeof(host), port, sizeof(port)), -1);
	assert_int_equal(rm_parse_server(":7410", host, sizeof(host), port, sizeof(port)), -1);
	assert_int_equal(rm_parse_server("h:0", host, sizeof(host), port, sizeof(port)), -1);
	assert_int_equal(rm_parse_server("h:65536", host, sizeof(host), port, sizeof(port)), -1);
	assert_int_equal(rm_parse_server("h:12x", host, sizeof(host), port, sizeof(port)), -1);
	assert_int_equal(rm_parse_server("h:", host, sizeof(host), port, sizeof(port)), -1);
	/* A host longer than the buffer is refused, not cut. */
	assert_int_equal(
		rm_parse_server("averyveryverylonghostname:1", host, 8, port, sizeof(port)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lat_hist_quantiles),
		cmocka_unit_test(test_parse_server),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
