/* lat_hist.c: bucket index math and quantiles for struct lat_hist. */
#include "lat_hist.h"

#include <stdbool.h>

static unsigned bucket_of(uint64_t v)
{
	unsigned e, idx;

	if (v < LAT_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* v in [2^e, 2^(e+1)), e >= 4 */
	idx = (e - 3) * LAT_SUB + (unsigned)((v >> (e - 4)) & (LAT_SUB - 1));
	return idx < LAT_BUCKETS ? idx : LAT_BUCKETS - 1;
}

/* The middle of bucket idx (the inverse of bucket_of, up to resolution). */
static uint64_t bucket_value(unsigned idx)
{
	unsigned e, sub;
	uint64_t lo;

	if (idx < LAT_SUB)
		return idx;
	e = idx / LAT_SUB + 3;
	sub = idx % LAT_SUB;
	lo = (1ULL << e) + ((uint64_t)sub << (e - 4));
	return lo + (1ULL << (e - 4)) / 2;
}

void lat_hist_add(struct lat_hist *h, uint64_t ns)
{
	uint64_t max = __atomic_load_n(&h->max_ns, __ATOMIC_RELAXED);

	__atomic_fetch_add(&h->count[bucket_of(ns)], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->total, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_ns, ns, __ATOMIC_RELAXED);
	while (ns > max && !__atomic_compare_exchange_n(&h->max_ns, &max, ns, false,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

uint64_t lat_hist_count(const struct lat_hist *h)
{
	return __atomic_load_n(&h->total, __ATOMIC_RELAXED);
}

uint64_t lat_hist_quantile(const struct lat_hist *h, double q)
{
	uint64_t total = 0, seen = 0, want;

	for (unsigned i = 0; i < LAT_BUCKETS; i++)
		total += __atomic_load_n(&h->count[i], __ATOMIC_RELAXED);
	if (!total)
		return 0;
	want = (uint64_t)(q * (double)total + 0.999999);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < LAT_BUCKETS; i++) {
		seen += __atomic_load_n(&h->count[i], __ATOMIC_RELAXED);
		if (seen >= want) {
			uint64_t v = bucket_value(i),
				 max = __atomic_load_n(&h->max_ns, __ATOMIC_RELAXED);

			return v < max ? v : max;
		}
	}
	return __atomic_load_n(&h->max_ns, __ATOMIC_RELAXED);
}
