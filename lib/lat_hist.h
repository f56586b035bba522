/* lat_hist.h: a lock-free latency histogram (log-linear buckets, ~6% resolution) for
 * percentiles of hot-path timings such as page-fault service times. */
#ifndef LEGO_LAT_HIST_H
#define LEGO_LAT_HIST_H

#include <stdint.h>

#define LAT_SUB	    16 /* linear sub-buckets per power of two */
#define LAT_BUCKETS (LAT_SUB * 48)

struct lat_hist {
	uint64_t count[LAT_BUCKETS];
	uint64_t total, sum_ns, max_ns;
};

/* Record one value in nanoseconds; safe from any thread. */
void lat_hist_add(struct lat_hist *h, uint64_t ns);
/* The q-quantile (0 < q <= 1) in nanoseconds, 0 when empty. */
uint64_t lat_hist_quantile(const struct lat_hist *h, double q);
uint64_t lat_hist_count(const struct lat_hist *h);

#endif
