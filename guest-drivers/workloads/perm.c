/* perm.c: LCG-based permutation with cycle walking (every index once per n calls). */
#include "perm.h"

#include "guest-drivers/runtime/hash.h"

void perm_init(struct perm *p, uint64_t n, uint64_t seed)
{
	unsigned bits = 2;

	while (bits < 64 && (1ULL << bits) < n)
		bits++;
	p->n = n;
	p->bits = bits;
	p->mask = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
	p->a = ((hash_mix64(seed ^ 0x61) & p->mask) & ~3ULL) | 1; /* a = 1 mod 4 */
	p->c = (hash_mix64(seed ^ 0x63) & p->mask) | 1;		  /* c odd */
	p->x = hash_mix64(seed ^ 0x78) & p->mask;
	p->mul = (hash_mix64(seed ^ 0x6d) & p->mask) | 1; /* odd: invertible mod M */
	p->shift = bits / 2 + 1;
}

/* A bijection of [0, M): xorshift, odd multiply, xorshift (each invertible mod 2^bits). */
static uint64_t scramble(const struct perm *p, uint64_t y)
{
	y ^= y >> p->shift;
	y = (y * p->mul) & p->mask;
	y ^= y >> p->shift;
	return y;
}

uint64_t perm_next(struct perm *p)
{
	if (!p->n)
		return 0;
	for (;;) {
		uint64_t y;

		p->x = (p->a * p->x + p->c) & p->mask;
		y = scramble(p, p->x);
		if (y < p->n)
			return y;
	}
}
