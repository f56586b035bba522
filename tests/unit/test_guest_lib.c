/* test_guest_lib.c: the guest's formatter, number/size parsing, permutations, zipf generator
 * and command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The guest's pure code, compiled for the host. */
#include "guest-drivers/workloads/cmdline.c"
#include "guest-drivers/runtime/fmt.c"
#include "guest-drivers/runtime/kparse.c"
#include "guest-drivers/workloads/perm.c"
#include "guest-drivers/workloads/zipf.c"

/* Both formatters on the same arguments must agree byte for byte. */
#define SAME(...)                                                        \
	do {                                                             \
		char want_[256], got_[256];                              \
		int wn_ = snprintf(want_, sizeof(want_), __VA_ARGS__);   \
		int gn_ = fmt_snprintf(got_, sizeof(got_), __VA_ARGS__); \
		assert_string_equal(got_, want_);                        \
		assert_int_equal(gn_, wn_);                              \
	} while (0)

static void test_format(void **state)
{
	char buf[8];
	int n;

	(void)state;
	SAME("plain text");
	SAME("%d %d %d %i", 0, -1, 2147483647, -2147483647 - 1);
	SAME("%u %x %X", 4294967295u, 0xdeadbeefu, 0xabcu);
	SAME("%ld %lu %lx", (long)INT64_MIN, (unsigned long)UINT64_MAX, 0x123456789abcdefUL);
	SAME("%lld %llu %llx", -5LL, 18446744073709551615ULL, 0xfULL);
	SAME("%zu %zx", (size_t)12345, (size_t)0xbeef);
	SAME("[%5d] [%-5d] [%05d] [%05d]", 42, 42, 42, -42);
	SAME("[%016lx] [%8x] [%-8x] [%08X]", 0xabcUL, 0x1fu, 0x1fu, 0xdu);
	SAME("[%s] [%10s] [%-10s] [%.3s] [%*s] [%.*s]", "abc", "right", "left", "truncate", 6, "st",
	     2, "precision");
	SAME("[%c] [%3c] [%-3c] %%", 'x', 'y', 'z');
	SAME("%.0d|%.3d|%5.3d", 0, 7, 7);
	SAME("%p", (void *)0x1234);
	SAME("%s", (const char *)"");
	/* Truncation: NUL-terminated, returns the full length. */
	n = fmt_snprintf(buf, sizeof(buf), "%s", "0123456789");
	assert_int_equal(n, 10);
	assert_string_equal(buf, "0123456");
	n = fmt_snprintf(NULL, 0, "%d", 12345);
	assert_int_equal(n, 5);
}

static uint64_t size_of(const char *s, int *rc)
{
	uint64_t v = 0;

	*rc = kparse_size(s, strlen(s), &v);
	return v;
}

static void test_parse(void **state)
{
	uint64_t v;
	int rc;

	(void)state;
	assert_int_equal(size_of("4096", &rc), 4096);
	assert_int_equal(rc, 0);
	assert_int_equal(size_of("64M", &rc), 64ULL << 20);
	assert_int_equal(size_of("64m", &rc), 64ULL << 20);
	assert_int_equal(size_of("2GiB", &rc), 2ULL << 30);
	assert_int_equal(size_of("1KB", &rc), 1024);
	assert_int_equal(size_of("3T", &rc), 3ULL << 40);
	assert_int_equal(size_of("0x10K", &rc), 16 << 10);
	assert_int_equal(rc, 0);
	const char *bad[] = {"",
			     "M",
			     "-1",
			     "1X",
			     "1Mx",
			     "1 M",
			     "1MiBB",
			     "0x",
			     "99999999999999999999",
			     "16777216T",
			     "18446744073709551616",
			     "1.5M",
			     "+4"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_of(bad[i], &rc);
		if (rc != -1)
			fail_msg("size '%s' accepted", bad[i]);
	}
	assert_int_equal(kparse_u64("18446744073709551615", 20, &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(kparse_u64("0xFFFFFFFFFFFFFFFF", 18, &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(kparse_u64("0x10000000000000000", 19, &v), -1);
	assert_int_equal(kparse_u64("12a", 3, &v), -1);
	assert_int_equal(kparse_u64("1234", 2, &v), 0); /* only the given length counts */
	assert_int_equal(v, 12);

	const struct {
		const char *s;
		uint64_t v;
	} milli[] = {{"0", 0},	      {"0.99", 990},
		     {"1", 1000},     {"1.5", 1500},
		     {"0.001", 1},    {"2.125", 2125},
		     {"007.0", 7000}, {"18446744073709551.615", UINT64_MAX}};
	for (size_t i = 0; i < sizeof(milli) / sizeof(milli[0]); i++) {
		v = 12345;
		if (kparse_milli(milli[i].s, strlen(milli[i].s), &v) || v != milli[i].v)
			fail_msg("milli '%s' gave %llu", milli[i].s, (unsigned long long)v);
	}
	const char *bad_milli[] = {"",
				   ".5",
				   "1.",
				   "0.9999",
				   "1.2.3",
				   "-1",
				   "0x1",
				   "1e3",
				   "1,5",
				   "18446744073709551.616",
				   "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad_milli) / sizeof(bad_milli[0]); i++) {
		if (kparse_milli(bad_milli[i], strlen(bad_milli[i]), &v) != -1)
			fail_msg("milli '%s' accepted", bad_milli[i]);
	}
}

static void check_perm(uint64_t n, uint64_t seed)
{
	uint8_t *seen = calloc(n ? n : 1, 1);
	struct perm p;
	uint64_t fixed = 0;

	assert_non_null(seen);
	perm_init(&p, n, seed);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v = perm_next(&p);

		if (v >= n || seen[v])
			fail_msg("n=%llu seed=%llu: step %llu gave %llu (%s)",
				 (unsigned long long)n, (unsigned long long)seed,
				 (unsigned long long)i, (unsigned long long)v,
				 v >= n ? "out of range" : "repeated");
		seen[v] = 1;
		fixed += v == i;
	}
	/* Not the identity (for anything big enough to tell). */
	if (n >= 64)
		assert_true(fixed < n / 4);
	free(seen);
}

static void test_permutation(void **state)
{
	struct perm a, b;
	int differ = 0;

	(void)state;
	for (uint64_t n = 0; n <= 300; n++)
		check_perm(n, n * 7 + 1);
	check_perm(4096, 1);
	check_perm(4097, 2);
	check_perm(262144, 3);
	check_perm(1000003, 4);
	/* Two seeds, two orders. */
	perm_init(&a, 1000, 1);
	perm_init(&b, 1000, 2);
	for (int i = 0; i < 1000; i++)
		differ += perm_next(&a) != perm_next(&b);
	assert_true(differ > 900);
}

/* Draw samples ranks of z into a fresh array of counts (every rank checked in range). */
static uint64_t *zipf_counts(const struct zipf *z, uint64_t samples, uint64_t seed)
{
	uint64_t *count = calloc(z->n, sizeof(*count));

	assert_non_null(count);
	for (uint64_t i = 0; i < samples; i++) {
		uint64_t r = zipf_next(z, &seed);

		if (r >= z->n)
			fail_msg("n=%llu: rank %llu", (unsigned long long)z->n,
				 (unsigned long long)r);
		count[r]++;
	}
	return count;
}

/* The share of samples in ranks [lo, hi) is within tol (relative) of theta 1's 1/(r+1). */
static void check_share(const uint64_t *count, uint64_t n, uint64_t samples, uint64_t lo,
			uint64_t hi, double tol)
{
	double h = 0, want = 0, got = 0;

	for (uint64_t r = 0; r < n; r++)
		h += 1.0 / (double)(r + 1);
	for (uint64_t r = lo; r < hi; r++) {
		want += 1.0 / (double)(r + 1) / h;
		got += (double)count[r] / (double)samples;
	}
	if (got < want * (1 - tol) || got > want * (1 + tol))
		fail_msg("n=%llu ranks [%llu, %llu): share %.5f, want %.5f", (unsigned long long)n,
			 (unsigned long long)lo, (unsigned long long)hi, got, want);
}

static void test_zipf(void **state)
{
	static struct zipf z;
	const uint64_t samples = 1000000;
	uint64_t *count, rng = 7;

	(void)state;
	/* The fixed-point pieces: exact where the value is, close elsewhere. */
	assert_int_equal(log2_q32(1), 0);
	assert_int_equal(log2_q32(8), 3ULL << 32);
	assert_int_equal(log2_q32(1ULL << 63), 63ULL << 32);
	assert_true(llabs((long long)log2_q32(3) - 6807362106LL) < 16); /* log2(3) * 2^32 */
	assert_true(llabs((long long)exp2_neg_q32(0) - (1LL << 32)) < 16);
	assert_true(llabs((long long)exp2_neg_q32(5ULL << 32) - (1LL << 27)) < 16);
	assert_true(llabs((long long)exp2_neg_q32(1ULL << 31) - 3037000500LL) < 16); /* 2^-0.5 */
	assert_int_equal(exp2_neg_q32(40ULL << 32), 0);

	assert_int_equal(zipf_init(&z, 0, 990), -1);
	assert_int_equal(zipf_init(&z, ZIPF_MAX_N + 1, 990), -1);
	assert_int_equal(zipf_init(&z, 10, ZIPF_MAX_THETA + 1), -1);
	assert_int_equal(zipf_init(&z, ZIPF_MAX_N, ZIPF_MAX_THETA), 0);
	assert_true(z.nr <= ZIPF_MAX_BUCKETS);
	assert_true(zipf_next(&z, &rng) < ZIPF_MAX_N);
	assert_int_equal(zipf_init(&z, 1, 990), 0);
	assert_int_equal(zipf_next(&z, &rng), 0);

	/* theta 1 (weights 1/(r+1), no pow needed here): exact ranks and bucketed ones. */
	assert_int_equal(zipf_init(&z, 1000, 1000), 0);
	count = zipf_counts(&z, samples, 1);
	for (int r = 1; r < 1000; r++)
		assert_true(count[0] > count[r]);
	assert_true(count[1] > count[2] && count[2] > count[3] && count[3] > count[10]);
	check_share(count, 1000, samples, 0, 1, 0.02);
	check_share(count, 1000, samples, 1, 2, 0.03);
	check_share(count, 1000, samples, 9, 10, 0.05);
	check_share(count, 1000, samples, 500, 1000, 0.03);
	free(count);
	assert_int_equal(zipf_init(&z, 1 << 20, 1000), 0);
	count = zipf_counts(&z, samples, 2);
	check_share(count, 1 << 20, samples, 0, 1, 0.02);
	check_share(count, 1 << 20, samples, 1000, 10000, 0.03);
	check_share(count, 1 << 20, samples, 1 << 19, 1 << 20, 0.03);
	free(count);

	/* The default skew: rank 0 the most frequent, about 2^0.99 times rank 1. */
	assert_int_equal(zipf_init(&z, 4096, 990), 0);
	count = zipf_counts(&z, samples, 3);
	for (int r = 1; r < 4096; r++)
		assert_true(count[0] > count[r]);
	assert_true(count[0] > count[1] * 19 / 10 && count[0] < count[1] * 21 / 10);
	free(count);

	/* theta 0: uniform. */
	assert_int_equal(zipf_init(&z, 100, 0), 0);
	count = zipf_counts(&z, samples, 4);
	for (int r = 0; r < 100; r++)
		assert_true(count[r] > samples / 100 * 9 / 10 &&
			    count[r] < samples / 100 * 11 / 10);
	free(count);
}

static void test_cmdline(void **state)
{
	struct cmdline_opts o;
	char err[200];

	(void)state;
	assert_int_equal(cmdline_parse("", &o, err, sizeof(err)), 0);
	assert_int_equal(o.nr_run, 1);
	assert_int_equal(o.run[0], CMDLINE_RUN_MEMTEST);
	assert_int_equal(o.memtest_size, 16ULL << 20);
	assert_int_equal(o.memtest_passes, 1);
	assert_int_equal(o.blktest_size, 0);
	assert_int_equal(o.blktest_qd, 4);
	assert_int_equal(o.blktest_bs, 4096);
	assert_int_equal(o.blktest_order, CMDLINE_BLKTEST_SEQ);
	assert_int_equal(o.memtest_mode, CMDLINE_MEMTEST_PATTERNS);
	assert_int_equal(o.memtest_ops, 200000);
	assert_int_equal(o.memtest_theta, 990);

	assert_int_equal(
		cmdline_parse("  run=memtest,blktest,evil memtest.size=32M memtest.passes=3 "
			      "blktest.size=2M blktest.seed=0x2a blktest.qd=8 "
			      "blktest.bs=64K  ",
			      &o, err, sizeof(err)),
		0);
	assert_int_equal(o.nr_run, 3);
	assert_int_equal(o.run[0], CMDLINE_RUN_MEMTEST);
	assert_int_equal(o.run[1], CMDLINE_RUN_BLKTEST);
	assert_int_equal(o.run[2], CMDLINE_RUN_EVIL);
	assert_int_equal(o.memtest_size, 32ULL << 20);
	assert_int_equal(o.memtest_passes, 3);
	assert_int_equal(o.blktest_size, 2ULL << 20);
	assert_int_equal(o.blktest_seed, 42);
	assert_int_equal(o.blktest_qd, 8);
	assert_int_equal(o.blktest_bs, 65536);
	assert_int_equal(o.idle_s, 0);
	assert_int_equal(cmdline_parse("idle=30", &o, err, sizeof(err)), 0);
	assert_int_equal(o.idle_s, 30);
	assert_int_equal(cmdline_parse("idle=86401", &o, err, sizeof(err)), -1);
	assert_int_equal(o.memtest_seconds, 0);
	assert_int_equal(cmdline_parse("memtest.seconds=90", &o, err, sizeof(err)), 0);
	assert_int_equal(o.memtest_seconds, 90);
	assert_int_equal(cmdline_parse("memtest.seconds=86401", &o, err, sizeof(err)), -1);
	assert_int_equal(o.echo_lines, 0);
	assert_int_equal(o.echo_seconds, 600);
	assert_int_equal(
		cmdline_parse("run=echo echo.lines=3 echo.seconds=60", &o, err, sizeof(err)), 0);
	assert_int_equal(o.run[0], CMDLINE_RUN_ECHO);
	assert_int_equal(o.echo_lines, 3);
	assert_int_equal(o.echo_seconds, 60);
	assert_int_equal(cmdline_parse("echo.seconds=0", &o, err, sizeof(err)), -1);
	assert_int_equal(cmdline_parse("blktest.order=rand", &o, err, sizeof(err)), 0);
	assert_int_equal(o.blktest_order, CMDLINE_BLKTEST_RAND);
	assert_int_equal(cmdline_parse("blktest.order=seq", &o, err, sizeof(err)), 0);
	assert_int_equal(o.blktest_order, CMDLINE_BLKTEST_SEQ);
	assert_int_equal(cmdline_parse("blktest.order=random", &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown blktest.order 'random'"));

	const struct {
		const char *line;
		enum cmdline_memtest_mode mode;
	} modes[] = {{"memtest.mode=patterns", CMDLINE_MEMTEST_PATTERNS},
		     {"memtest.mode=zipf", CMDLINE_MEMTEST_ZIPF},
		     {"memtest.mode=kv", CMDLINE_MEMTEST_KV},
		     {"memtest.mode=all", CMDLINE_MEMTEST_ALL}};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(cmdline_parse(modes[i].line, &o, err, sizeof(err)), 0);
		assert_int_equal(o.memtest_mode, modes[i].mode);
	}
	assert_int_equal(cmdline_parse("memtest.mode=kv memtest.ops=0 memtest.theta=1.25", &o, err,
				       sizeof(err)),
			 0);
	assert_int_equal(o.memtest_ops, 0);
	assert_int_equal(o.memtest_theta, 1250);
	assert_int_equal(cmdline_parse("memtest.theta=5", &o, err, sizeof(err)), 0);
	assert_int_equal(o.memtest_theta, 5000);

	struct {
		const char *line, *needle;
	} bad[] = {
		{"run=nosuchworkload", "nosuchworkload"},
		{"run=memtest,,blktest", "empty"},
		{"run=memtest,", "empty"},
		{"run=", "empty"},
		{"memtest.size=12X", "memtest.size"},
		{"memtest.size=1000", "memtest.size"}, /* not a multiple of 4 KiB */
		{"memtest.passes=0", "memtest.passes"},
		{"blktest.bs=1000", "blktest.bs"},
		{"blktest.bs=2M", "blktest.bs"},
		{"blktest.qd=0", "blktest.qd"},
		{"blktest.qd=33", "blktest.qd"},
		{"blktest.size=511", "blktest.size"},
		{"blktest.seed=x", "blktest.seed"},
		{"memtest.bogus=1", "memtest.bogus"},
		{"memtest.mode=zipfian", "unknown memtest.mode 'zipfian'"},
		{"memtest.mode=", "unknown memtest.mode ''"},
		{"memtest.mode=ZIPF", "patterns, zipf, kv, all"},
		{"memtest.theta=5.001", "out of range"},
		{"memtest.theta=0.9999", "memtest.theta"},
		{"memtest.theta=-1", "memtest.theta"},
		{"memtest.ops=-1", "memtest.ops"},
		{"memtest.ops=1099511627777", "memtest.ops"},
		{"quiet", "quiet"},
		{"run=memtest,memtest,memtest,memtest,memtest,memtest,memtest,memtest,memtest,"
		 "memtest,memtest,memtest,memtest,memtest,memtest,memtest,memtest",
		 "more than"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (cmdline_parse(bad[i].line, &o, err, sizeof(err)) != -1)
			fail_msg("'%s' accepted", bad[i].line);
		if (!strstr(err, bad[i].needle))
			fail_msg("'%s': error '%s' does not mention '%s'", bad[i].line, err,
				 bad[i].needle);
	}
	assert_string_equal(cmdline_workload_name(CMDLINE_RUN_EVIL), "evil");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),	    cmocka_unit_test(test_parse),
		cmocka_unit_test(test_permutation), cmocka_unit_test(test_zipf),
		cmocka_unit_test(test_cmdline),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
