/* kparse.c: integer and size parsing for the guest command line (no trailing junk). */
#include "kparse.h"

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Parse the number at the start of s; *used gets its length. */
static int parse_prefix(const char *s, size_t len, uint64_t *out, size_t *used)
{
	unsigned base = 10;
	size_t i = 0, first;
	uint64_t v = 0;

	if (len >= 3 && s[0] == '0' && lower(s[1]) == 'x') {
		base = 16;
		i = 2;
	}
	first = i;
	for (; i < len; i++) {
		int c = lower(s[i]);
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	if (i == first)
		return -1;
	*out = v;
	*used = i;
	return 0;
}

int kparse_u64(const char *s, size_t len, uint64_t *out)
{
	size_t used;
	uint64_t v;

	if (parse_prefix(s, len, &v, &used) || used != len)
		return -1;
	*out = v;
	return 0;
}

int kparse_size(const char *s, size_t len, uint64_t *out)
{
	static const char units[] = "kmgt";
	unsigned shift = 0;
	size_t used, rest;
	uint64_t v;

	if (parse_prefix(s, len, &v, &used))
		return -1;
	rest = len - used;
	s += used;
	if (rest) {
		int u = lower(s[0]);

		for (unsigned i = 0; units[i]; i++) {
			if (units[i] == u)
				shift = 10 * (i + 1);
		}
		if (!shift)
			return -1;
		s++;
		rest--;
		if (rest == 1 && lower(s[0]) == 'b')
			rest = 0;
		else if (rest == 2 && lower(s[0]) == 'i' && lower(s[1]) == 'b')
			rest = 0;
		if (rest)
			return -1;
		if (v > (UINT64_MAX >> shift))
			return -1;
	}
	*out = v << shift;
	return 0;
}

int kparse_milli(const char *s, size_t len, uint64_t *out)
{
	uint64_t whole = 0, frac = 0;
	unsigned digits = 0;
	size_t i;

	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (whole > (UINT64_MAX / 1000 - d) / 10)
			return -1;
		whole = whole * 10 + d;
	}
	if (!i)
		return -1;
	if (i < len) {
		if (s[i] != '.' || i + 1 == len)
			return -1;
		for (i++; i < len; i++) {
			if (s[i] < '0' || s[i] > '9' || digits == 3)
				return -1;
			frac = frac * 10 + (unsigned)(s[i] - '0');
			digits++;
		}
	}
	for (; digits < 3; digits++)
		frac *= 10;
	if (whole > (UINT64_MAX - frac) / 1000)
		return -1;
	*out = whole * 1000 + frac;
	return 0;
}
