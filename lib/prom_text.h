/* prom_text.h: Prometheus's text exposition format (version 0.0.4): a family's HELP and TYPE
 * lines, its samples with escaped label values, and histograms with cumulative buckets.
 * A family's samples must follow its header, all together (the caller's order). */
#ifndef LEGO_PROM_TEXT_H
#define LEGO_PROM_TEXT_H

#include <stdint.h>

#include "strbuf.h"

#define PROM_TEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_TEXT_HIST_MAX     16 /* buckets of a histogram, +Inf not counted */

/* Labels: a NULL-terminated list of name, value, name, value... (NULL: none). */
typedef const char *const prom_text_labels[];

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram, untyped). */
void prom_text_family(struct strbuf *b, const char *name, const char *type, const char *help);
/* One sample: name{labels} value. */
void prom_text_u64(struct strbuf *b, const char *name, const char *const *labels, uint64_t v);
void prom_text_f64(struct strbuf *b, const char *name, const char *const *labels, double v);

/* A histogram's observations: bucket upper bounds le[0..nb-1] (ascending, +Inf implied). */
struct prom_text_hist {
	const double *le;
	int nb;
	uint64_t in[PROM_TEXT_HIST_MAX + 1]; /* per bucket (not cumulative); [nb]: above all */
	uint64_t count;
	double sum;
};
void prom_text_hist_init(struct prom_text_hist *h, const double *le, int nb);
void prom_text_hist_observe(struct prom_text_hist *h, double v);
/* name_bucket{labels,le="..."} cumulative counts, name_sum and name_count. */
void prom_text_hist(struct strbuf *b, const char *name, const char *const *labels,
		    const struct prom_text_hist *h);

#endif
