/* test_prom_text.c: the Prometheus text exposition writer: family headers, label escaping,
 * bytes that are not UTF-8, number formatting (integers past 2^53, NaN, infinities, the
 * shortest exact decimal) and histograms' cumulative buckets. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/prom_text.h"

static void test_family_and_samples(void **state)
{
	struct strbuf b;

	(void)state;
	strbuf_init(&b, 0);
	prom_text_family(&b, "lego_vnodes", "gauge", "vNodes by state, with a \\ and\na break");
	prom_text_u64(&b, "lego_vnodes", (prom_text_labels){"state", "running", NULL}, 3);
	prom_text_u64(&b, "lego_up", NULL, 1);
	prom_text_u64(&b, "lego_x_total", (prom_text_labels){"a", "1", "b", "2", NULL}, UINT64_MAX);
	assert_false(b.failed);
	assert_string_equal(b.p, "# HELP lego_vnodes vNodes by state, with a \\\\ and\\na break\n"
				 "# TYPE lego_vnodes gauge\n"
				 "lego_vnodes{state=\"running\"} 3\n"
				 "lego_up 1\n"
				 "lego_x_total{a=\"1\",b=\"2\"} 18446744073709551615\n");
	strbuf_free(&b);
}

static void test_label_escaping(void **state)
{
	struct strbuf b;

	(void)state;
	strbuf_init(&b, 0);
	/* A vNode name as libvirt allows it: quotes, backslashes, a line break, UTF-8. */
	prom_text_u64(&b, "m", (prom_text_labels){"vnode", "a\"b\\c\nd é€", NULL}, 1);
	/* Bytes that are not UTF-8: a lone continuation byte, an overlong, a cut sequence. */
	prom_text_u64(&b, "m", (prom_text_labels){"vnode", "x\x80y\xc0\xafz\xe2\x82", NULL}, 2);
	assert_string_equal(b.p, "m{vnode=\"a\\\"b\\\\c\\nd é€\"} 1\n"
				 "m{vnode=\"x?y??z??\"} 2\n");
	strbuf_free(&b);
}

static void test_numbers(void **state)
{
	struct strbuf b;

	(void)state;
	strbuf_init(&b, 0);
	prom_text_f64(&b, "a", NULL, 0.1);
	prom_text_f64(&b, "a", NULL, 1.5e-7);
	prom_text_f64(&b, "a", NULL, 12345678.0);
	prom_text_f64(&b, "a", NULL, 1.0 / 3.0);
	prom_text_f64(&b, "a", NULL, NAN);
	prom_text_f64(&b, "a", NULL, INFINITY);
	prom_text_f64(&b, "a", NULL, -INFINITY);
	prom_text_f64(&b, "a", NULL, 0.0);
	assert_string_equal(b.p, "a 0.1\n"
				 "a 1.5e-07\n"
				 "a 12345678\n"
				 "a 0.33333333333333331\n"
				 "a NaN\n"
				 "a +Inf\n"
				 "a -Inf\n"
				 "a 0\n");
	strbuf_free(&b);
}

static void test_histogram(void **state)
{
	static const double le[] = {0.5, 1, 10};
	struct prom_text_hist h;
	struct strbuf b;

	(void)state;
	prom_text_hist_init(&h, le, 3);
	prom_text_hist_observe(&h, 0.25);
	prom_text_hist_observe(&h, 0.5); /* on a bound: in that bucket (le is <=) */
	prom_text_hist_observe(&h, 7);
	prom_text_hist_observe(&h, 99);
	strbuf_init(&b, 0);
	prom_text_family(&b, "lego_d_seconds", "histogram", "durations");
	prom_text_hist(&b, "lego_d_seconds", (prom_text_labels){"outcome", "moved", NULL}, &h);
	assert_string_equal(b.p, "# HELP lego_d_seconds durations\n"
				 "# TYPE lego_d_seconds histogram\n"
				 "lego_d_seconds_bucket{outcome=\"moved\",le=\"0.5\"} 2\n"
				 "lego_d_seconds_bucket{outcome=\"moved\",le=\"1\"} 2\n"
				 "lego_d_seconds_bucket{outcome=\"moved\",le=\"10\"} 3\n"
				 "lego_d_seconds_bucket{outcome=\"moved\",le=\"+Inf\"} 4\n"
				 "lego_d_seconds_sum{outcome=\"moved\"} 106.75\n"
				 "lego_d_seconds_count{outcome=\"moved\"} 4\n");
	strbuf_free(&b);
	/* Without labels, and empty. */
	prom_text_hist_init(&h, le, 1);
	strbuf_init(&b, 0);
	prom_text_hist(&b, "h", NULL, &h);
	assert_string_equal(b.p, "h_bucket{le=\"0.5\"} 0\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\n"
				 "h_count 0\n");
	strbuf_free(&b);
}

static void test_bounded(void **state)
{
	struct strbuf b;

	(void)state;
	strbuf_init(&b, 64);
	for (int i = 0; i < 10; i++)
		prom_text_u64(&b, "lego_a_long_metric_name", NULL, (uint64_t)i);
	assert_true(b.failed); /* a page over its bound is known to be cut */
	strbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_samples),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_bounded),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
