/* check_util.h: what lego's Linux-guest check programs share: the data pattern, sizes, timing. */
#ifndef LEGO_CHECK_UTIL_H
#define LEGO_CHECK_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK_MAX_REPORTS 8 /* mismatches printed before counting silently */

/* splitmix64: the 8-byte word at word index i of a run seeded with seed. Every word
 * differs from its neighbours and from the same word of another seed. */
static inline uint64_t check_util_word(uint64_t seed, uint64_t i)
{
	uint64_t z =
		seed * 0x9e3779b97f4a7c15ULL + i * 0xbf58476d1ce4e5b9ULL + 0x94d049bb133111ebULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* "64M", "4K", "1G", "512": bytes. 0, or -1 if malformed or zero. */
static inline int check_util_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'K':
	case 'k':
		mult = 1ULL << 10;
		end++;
		break;
	case 'M':
	case 'm':
		mult = 1ULL << 20;
		end++;
		break;
	case 'G':
	case 'g':
		mult = 1ULL << 30;
		end++;
		break;
	default:
		break;
	}
	if (*end || !v || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static inline uint64_t check_util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
