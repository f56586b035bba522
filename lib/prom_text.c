/* prom_text.c: Prometheus text exposition (0.0.4): escaping, number formatting, histograms. */
#include "prom_text.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The length of the UTF-8 sequence at s (1..4), or 0 if it is not one. */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] < 0x80		? 1
		: (s[0] & 0xe0) == 0xc0 ? 2
		: (s[0] & 0xf0) == 0xe0 ? 3
		: (s[0] & 0xf8) == 0xf0 ? 4
					: 0;

	if (n == 2 && s[0] < 0xc2)
		return 0; /* overlong */
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* s with \ " and line breaks escaped (quote: inside a label value, else a HELP text); bytes
 * that are not UTF-8 become '?' (the format is UTF-8). */
static void escaped(struct strbuf *b, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = utf8_len(p);

		if (!n) {
			strbuf_printf(b, "?");
			p++;
		} else if (*p == '\\') {
			strbuf_printf(b, "\\\\");
			p++;
		} else if (*p == '\n') {
			strbuf_printf(b, "\\n");
			p++;
		} else if (*p == '"' && quote) {
			strbuf_printf(b, "\\\"");
			p++;
		} else {
			strbuf_printf(b, "%.*s", n, (const char *)p);
			p += n;
		}
	}
}

void prom_text_family(struct strbuf *b, const char *name, const char *type, const char *help)
{
	strbuf_printf(b, "# HELP %s ", name);
	escaped(b, help, false);
	strbuf_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* name{a="x",b="y"} (the braces only with labels); extra: one more label, e.g. le. */
static void series(struct strbuf *b, const char *name, const char *const *labels,
		   const char *extra_name, const char *extra_value)
{
	bool any = false;

	strbuf_printf(b, "%s", name);
	for (int i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		strbuf_printf(b, "%s%s=\"", any ? "," : "{", labels[i]);
		escaped(b, labels[i + 1], true);
		strbuf_printf(b, "\"");
		any = true;
	}
	if (extra_name) {
		strbuf_printf(b, "%s%s=\"%s\"", any ? "," : "{", extra_name, extra_value);
		any = true;
	}
	strbuf_printf(b, "%s ", any ? "}" : "");
}

/* v as Go's strconv does for the format: NaN, +Inf, -Inf, or the shortest exact decimal. */
static void number(char *out, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(out, len, "NaN");
	} else if (isinf(v)) {
		snprintf(out, len, "%sInf", v > 0 ? "+" : "-");
	} else {
		snprintf(out, len, "%.15g", v);
		if (strtod(out, NULL) != v)
			snprintf(out, len, "%.17g", v);
	}
}

void prom_text_u64(struct strbuf *b, const char *name, const char *const *labels, uint64_t v)
{
	series(b, name, labels, NULL, NULL);
	strbuf_printf(b, "%" PRIu64 "\n", v);
}

void prom_text_f64(struct strbuf *b, const char *name, const char *const *labels, double v)
{
	char text[40];

	number(text, sizeof(text), v);
	series(b, name, labels, NULL, NULL);
	strbuf_printf(b, "%s\n", text);
}

void prom_text_hist_init(struct prom_text_hist *h, const double *le, int nb)
{
	memset(h, 0, sizeof(*h));
	h->le = le;
	h->nb = nb > PROM_TEXT_HIST_MAX ? PROM_TEXT_HIST_MAX : nb;
}

void prom_text_hist_observe(struct prom_text_hist *h, double v)
{
	int i = 0;

	while (i < h->nb && v > h->le[i])
		i++;
	h->in[i]++;
	h->count++;
	h->sum += v;
}

void prom_text_hist(struct strbuf *b, const char *name, const char *const *labels,
		    const struct prom_text_hist *h)
{
	char n[160], le[40];
	uint64_t cum = 0;

	snprintf(n, sizeof(n), "%s_bucket", name);
	for (int i = 0; i < h->nb; i++) {
		cum += h->in[i];
		number(le, sizeof(le), h->le[i]);
		series(b, n, labels, "le", le);
		strbuf_printf(b, "%" PRIu64 "\n", cum);
	}
	series(b, n, labels, "le", "+Inf");
	strbuf_printf(b, "%" PRIu64 "\n", h->count);
	snprintf(n, sizeof(n), "%s_sum", name);
	prom_text_f64(b, n, labels, h->sum);
	snprintf(n, sizeof(n), "%s_count", name);
	prom_text_u64(b, n, labels, h->count);
}
