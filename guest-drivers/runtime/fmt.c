/* fmt.c: a small vsnprintf for the guest: integers, strings, chars, pointers, width/padding. */
#include "fmt.h"

#include <stdbool.h>
#include <stdint.h>

struct out {
	char *buf;
	size_t size;
	size_t len; /* bytes the full output needs (may exceed size) */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

/* Emit digits (already reversed in tmp) with sign/prefix, precision and width. */
static void put_number(struct out *o, uint64_t v, unsigned base, bool upper, bool negative,
		       const char *prefix, int width, int prec, bool left, bool zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, plen = 0, total, zeros;

	if (v == 0 && prec != 0)
		tmp[n++] = '0';
	while (v) {
		tmp[n++] = digits[v % base];
		v /= base;
	}
	if (negative)
		plen = 1;
	else if (prefix)
		plen = 2;
	zeros = prec > n ? prec - n : 0;
	total = plen + zeros + n;
	if (zero && !left && prec < 0 && width > total) {
		zeros += width - total;
		total = width;
	}
	if (!left)
		pad(o, ' ', width - total);
	if (negative)
		put(o, '-');
	else if (prefix) {
		put(o, prefix[0]);
		put(o, prefix[1]);
	}
	pad(o, '0', zeros);
	while (n)
		put(o, tmp[--n]);
	if (left)
		pad(o, ' ', width - total);
}

static int parse_int(const char **p)
{
	int v = 0;

	while (**p >= '0' && **p <= '9') {
		if (v < 100000)
			v = v * 10 + (**p - '0');
		(*p)++;
	}
	return v;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = {buf, size, 0};
	const char *p;

	for (p = fmt; *p; p++) {
		bool left = false, zero = false;
		int width = 0, prec = -1, lng = 0;
		uint64_t u;
		int64_t s;

		if (*p != '%') {
			put(&o, *p);
			continue;
		}
		p++;
		for (;; p++) {
			if (*p == '-')
				left = true;
			else if (*p == '0')
				zero = true;
			else if (*p != '+' && *p != ' ' && *p != '#')
				break;
		}
		if (*p == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = true;
				width = -width;
			}
			p++;
		} else {
			width = parse_int(&p);
		}
		if (*p == '.') {
			p++;
			if (*p == '*') {
				prec = va_arg(ap, int);
				p++;
			} else {
				prec = parse_int(&p);
			}
		}
		for (;; p++) {
			if (*p == 'l' || *p == 'z' || *p == 'j' || *p == 't')
				lng = *p == 'l' ? lng + 1 : 2;
			else if (*p != 'h')
				break;
		}
		switch (*p) {
		case 'd':
		case 'i':
			s = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			u = s < 0 ? -(uint64_t)s : (uint64_t)s;
			put_number(&o, u, 10, false, s < 0, NULL, width, prec, left, zero);
			break;
		case 'u':
		case 'x':
		case 'X':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			put_number(&o, u, *p == 'u' ? 10 : 16, *p == 'X', false, NULL, width, prec,
				   left, zero);
			break;
		case 'p':
			u = (uint64_t)(uintptr_t)va_arg(ap, void *);
			put_number(&o, u, 16, false, false, "0x", width, prec, left, zero);
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);

			if (!left)
				pad(&o, ' ', width - 1);
			put(&o, c);
			if (left)
				pad(&o, ' ', width - 1);
			break;
		}
		case 's': {
			const char *str = va_arg(ap, const char *);
			int n = 0;

			if (!str)
				str = "(null)";
			while ((prec < 0 || n < prec) && str[n])
				n++;
			if (!left)
				pad(&o, ' ', width - n);
			for (int i = 0; i < n; i++)
				put(&o, str[i]);
			if (left)
				pad(&o, ' ', width - n);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case '\0':
			p--; /* a lone '%' at the end: stop at the NUL */
			break;
		default:
			put(&o, '%');
			put(&o, *p);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
