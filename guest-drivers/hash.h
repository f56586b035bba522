/* hash.h: a 64-bit mixing function (splitmix64 finalizer) for test patterns. */
#ifndef GUEST_HASH_H
#define GUEST_HASH_H

#include <stdint.h>

static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#endif
