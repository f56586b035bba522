/* perm.h: full-period pseudo-random permutations of [0, n) for random-order memory tests. */
#ifndef GUEST_PERM_H
#define GUEST_PERM_H

#include <stdint.h>

/* A full-period LCG modulo the next power of two M >= n (Hull-Dobell: c odd, a = 1
 * mod 4), each state passed through a bijection of [0, M), values >= n skipped: n
 * calls of perm_next() return every index in [0, n) exactly once, in at most M steps.
 * Different seeds give different orders. */
struct perm {
	uint64_t n;
	uint64_t mask; /* M - 1 */
	uint64_t a, c, x, mul;
	unsigned bits, shift;
};

void perm_init(struct perm *p, uint64_t n, uint64_t seed);
uint64_t perm_next(struct perm *p);

#endif
