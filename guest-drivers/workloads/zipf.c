/* zipf.c: the zipfian table: fixed-point log2/exp2 weights summed over rank buckets. */
#include "zipf.h"

#include "guest-drivers/runtime/hash.h"

#define Q32_ONE	 (1ULL << 32)
#define Q61_ONE	 (1ULL << 61)
#define LN2_Q61	 0x162e42fefa39ef35ULL /* ln 2 * 2^61 */
#define WIDE_DIV 64		       /* buckets past ZIPF_EXACT are 1/WIDE_DIV of their start */

/* log2(x) for x >= 1, Q32: the integer part from the top bit, then one fraction bit per
 * squaring of the mantissa (Q61 keeps the square below 2^63). */
static uint64_t log2_q32(uint64_t x)
{
	unsigned top = 63 - (unsigned)__builtin_clzll(x);
	uint64_t m = top > 61 ? x >> (top - 61) : x << (61 - top);
	uint64_t r = (uint64_t)top << 32;

	for (int bit = 31; bit >= 0; bit--) {
		m = (uint64_t)(((unsigned __int128)m * m) >> 61);
		if (m >= 2 * Q61_ONE) {
			m >>= 1;
			r |= 1ULL << bit;
		}
	}
	return r;
}

/* 2^-e for e >= 0 in Q32, result Q32. 2^-f = e^y / 2 with y = (1 - f) ln 2 in (0, ln 2]: the
 * series converges in about 20 terms and every term is positive. */
static uint64_t exp2_neg_q32(uint64_t e)
{
	uint64_t whole = e >> 32, f = e & (Q32_ONE - 1);
	uint64_t y = (uint64_t)(((unsigned __int128)(Q32_ONE - f) * LN2_Q61) >> 32);
	uint64_t sum = Q61_ONE, term = Q61_ONE;

	if (whole >= 32)
		return 0;
	for (uint64_t k = 1; term; k++) {
		term = (uint64_t)(((unsigned __int128)term * y) >> 61) / k;
		sum += term;
	}
	/* sum = e^y < 2 in Q61: halve it and move it to Q32. */
	return (sum >> 30) >> whole;
}

/* 1/(r+1)^theta in Q32. */
static uint64_t weight(uint64_t r, uint64_t theta_milli)
{
	return exp2_neg_q32(log2_q32(r + 1) * theta_milli / 1000);
}

int zipf_init(struct zipf *z, uint64_t n, uint64_t theta_milli)
{
	uint64_t lo = 0, total = 0;

	if (!n || n > ZIPF_MAX_N || theta_milli > ZIPF_MAX_THETA)
		return -1;
	z->n = n;
	z->nr = 0;
	while (lo < n) {
		uint64_t w = lo < ZIPF_EXACT ? 1 : lo / WIDE_DIV, hi;

		/* The last bucket takes whatever is left (not reached below ZIPF_MAX_N). */
		if (z->nr == ZIPF_MAX_BUCKETS - 1 || w > n - lo)
			w = n - lo;
		hi = lo + w;
		/* The weight at the middle rank stands for all of them (the curve is nearly
		 * straight across a bucket). At most n * 2^32 <= 2^63 in all. */
		total += w * weight(lo + w / 2, theta_milli);
		z->first[z->nr] = lo;
		z->cum[z->nr] = total;
		z->nr++;
		lo = hi;
	}
	z->first[z->nr] = n;
	return 0;
}

uint64_t zipf_next(const struct zipf *z, uint64_t *rng)
{
	uint64_t u = hash_rng_below(hash_rng_next(rng), z->cum[z->nr - 1]), w;
	unsigned lo = 0, hi = z->nr - 1;

	/* The first bucket whose cumulative weight passes u (empty buckets never do). */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (z->cum[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	w = z->first[lo + 1] - z->first[lo];
	return z->first[lo] + (w > 1 ? hash_rng_below(hash_rng_next(rng), w) : 0);
}
