/* strbuf.h: a growing text buffer for reports (tables, JSON) built piece by piece. */
#ifndef LEGO_STRBUF_H
#define LEGO_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *p;
	size_t len, cap;
	bool failed; /* out of memory or over max: the text is cut */
	size_t max;  /* 0: no limit */
};

void strbuf_init(struct strbuf *b, size_t max);
void strbuf_free(struct strbuf *b);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
