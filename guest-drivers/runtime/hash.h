/* hash.h: a 64-bit mixing function (splitmix64 finalizer) and a PRNG for test patterns. */
#ifndef GUEST_HASH_H
#define GUEST_HASH_H

#include <stdint.h>

static inline uint64_t hash_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* splitmix64: the next number of the sequence whose state is *s. */
static inline uint64_t hash_rng_next(uint64_t *s)
{
	return hash_mix64(*s += 0x9e3779b97f4a7c15ULL);
}

/* r (uniform over 64 bits) scaled to [0, n) by a multiply-high: no division, no modulo bias
 * worth the name. */
static inline uint64_t hash_rng_below(uint64_t r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)r * n) >> 64);
}

#endif
