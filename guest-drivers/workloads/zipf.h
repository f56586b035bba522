/* zipf.h: zipfian ranks (rank r drawn with weight 1/(r+1)^theta) in integer arithmetic only. */
#ifndef GUEST_ZIPF_H
#define GUEST_ZIPF_H

#include <stdint.h>

#define ZIPF_EXACT	 512  /* ranks below this get a bucket each */
#define ZIPF_MAX_BUCKETS 2048 /* enough for ZIPF_MAX_N with buckets 1/64 of their start wide */
#define ZIPF_MAX_N	 (1ULL << 31)
#define ZIPF_MAX_THETA	 5000 /* thousandths */

/* The guest has no FPU state (-mgeneral-regs-only), so there is no pow(): the weights are
 * computed once in Q32 fixed point (log2 by squaring, exp2 by a Taylor series) into a
 * cumulative table over rank buckets. Ranks below ZIPF_EXACT are exact; above, a bucket
 * [lo, hi) is about lo/64 wide (weights within it differ by under 1.6% for theta 1) and
 * is chosen with its summed weight, the rank inside it uniformly. Read-only after init:
 * one table can serve every vCPU. */
struct zipf {
	uint64_t n;
	unsigned nr;			      /* buckets in use */
	uint64_t first[ZIPF_MAX_BUCKETS + 1]; /* bucket b holds ranks [first[b], first[b + 1]) */
	uint64_t cum[ZIPF_MAX_BUCKETS];	      /* weight of buckets 0..b, Q32 */
};

/* Ranks [0, n), 1 <= n <= ZIPF_MAX_N; theta in thousandths (990: 0.99; 0: uniform), at most
 * ZIPF_MAX_THETA. Returns 0, or -1 if out of range. */
int zipf_init(struct zipf *z, uint64_t n, uint64_t theta_milli);

/* A rank in [0, n); *rng is a splitmix64 state (hash.h). */
uint64_t zipf_next(const struct zipf *z, uint64_t *rng);

#endif
