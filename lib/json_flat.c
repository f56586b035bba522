/* json_flat.c: the flat JSON objects lego-vmm's control socket answers with, read strictly. */
#include "json_flat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cur {
	const char *s, *p;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct cur *c, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(c->err, c->errlen, "at byte %td: ", c->p - c->s);

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void blanks(struct cur *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
		c->p++;
}

static int hex4(struct cur *c, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char h = c->p[i];
		unsigned d = h >= '0' && h <= '9'   ? (unsigned)(h - '0')
			     : h >= 'a' && h <= 'f' ? (unsigned)(h - 'a' + 10)
			     : h >= 'A' && h <= 'F' ? (unsigned)(h - 'A' + 10)
						    : 16;

		if (d == 16)
			return fail(c, "bad \\u escape");
		*v = *v << 4 | d;
	}
	c->p += 4;
	return 0;
}

/* A string at c->p (its opening quote); its text, cut at max bytes, into out. */
static int string(struct cur *c, char *out, size_t max)
{
	size_t n = 0;

	c->p++;
	for (;;) {
		unsigned char ch = (unsigned char)*c->p;
		unsigned v;

		if (ch == '"') {
			c->p++;
			break;
		}
		if (ch < 0x20 || ch > 0x7e)
			return fail(c, ch ? "a string holds a byte that is not printable ASCII"
					  : "a string is not closed");
		c->p++;
		if (ch == '\\') {
			char e = *c->p++;

			switch (e) {
			case '"':
			case '\\':
			case '/':
				ch = (unsigned char)e;
				break;
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				ch = ' '; /* text for one log line: no control characters */
				break;
			case 'u':
				if (hex4(c, &v))
					return -1;
				ch = v >= 0x20 && v <= 0x7e ? (unsigned char)v : '?';
				break;
			default:
				c->p--;
				return fail(c, "a string holds the unknown escape \\%c",
					    e >= 0x20 && e <= 0x7e ? e : '?');
			}
		}
		if (n < max)
			out[n++] = (char)ch;
	}
	out[n] = '\0';
	return 0;
}

/* JSON's number grammar; is_uint and num when it is a non-negative integer that fits. */
static int number(struct cur *c, struct json_flat_member *m)
{
	const char *start = c->p;
	bool integer = true, overflow = false;
	uint64_t v = 0;

	if (*c->p == '-') {
		integer = false;
		c->p++;
	}
	if (*c->p == '0') {
		c->p++;
	} else if (*c->p >= '1' && *c->p <= '9') {
		while (*c->p >= '0' && *c->p <= '9') {
			unsigned d = (unsigned)(*c->p++ - '0');

			overflow |= v > (UINT64_MAX - d) / 10;
			v = v * 10 + d;
		}
	} else {
		return fail(c, "a value is not a string, number, null, true or false");
	}
	if (*c->p == '.') {
		integer = false;
		c->p++;
		if (*c->p < '0' || *c->p > '9')
			return fail(c, "a number has no digits after its point");
		while (*c->p >= '0' && *c->p <= '9')
			c->p++;
	}
	if (*c->p == 'e' || *c->p == 'E') {
		integer = false;
		c->p++;
		if (*c->p == '+' || *c->p == '-')
			c->p++;
		if (*c->p < '0' || *c->p > '9')
			return fail(c, "a number has no digits in its exponent");
		while (*c->p >= '0' && *c->p <= '9')
			c->p++;
	}
	m->type = JF_NUMBER;
	m->dbl = strtod(start, NULL); /* the grammar was checked: strtod reads all of it */
	m->is_uint = integer && !overflow && c->p > start;
	m->num = m->is_uint ? v : 0;
	return 0;
}

static int word(struct cur *c, const char *w)
{
	size_t n = strlen(w);

	if (strncmp(c->p, w, n))
		return fail(c, "a value is not a string, number, null, true or false");
	c->p += n;
	return 0;
}

static int value(struct cur *c, struct json_flat_member *m)
{
	switch (*c->p) {
	case '"':
		m->type = JF_STRING;
		return string(c, m->str, JF_STR_MAX);
	case 'n':
		m->type = JF_NULL;
		return word(c, "null");
	case 't':
		m->type = JF_BOOL;
		m->boolean = true;
		return word(c, "true");
	case 'f':
		m->type = JF_BOOL;
		m->boolean = false;
		return word(c, "false");
	case '{':
	case '[':
		return fail(c, "a nested object or array (the answer must be flat)");
	default:
		return number(c, m);
	}
}

int json_flat_parse(const char *text, struct json_flat_object *o, char *err, size_t errlen)
{
	struct cur c = {.s = text, .p = text, .err = err, .errlen = errlen};

	o->n = 0;
	blanks(&c);
	if (*c.p != '{')
		return fail(&c, "not a JSON object");
	c.p++;
	blanks(&c);
	if (*c.p == '}') {
		c.p++;
	} else {
		for (;;) {
			struct json_flat_member *m;
			char key[JF_STR_MAX + 1];

			if (*c.p != '"')
				return fail(&c, "a member does not start with its key");
			if (string(&c, key, JF_STR_MAX))
				return -1;
			if (!key[0] || strlen(key) > JF_KEY_MAX)
				return fail(&c, "a key is empty or longer than %d bytes",
					    JF_KEY_MAX);
			if (json_flat_get(o, key))
				return fail(&c, "the key \"%s\" appears twice", key);
			if (o->n == JF_MAX_MEMBERS)
				return fail(&c, "more than %d members", JF_MAX_MEMBERS);
			m = &o->m[o->n];
			memset(m, 0, sizeof(*m));
			memcpy(m->key, key, strlen(key) + 1); /* checked above: it fits */
			blanks(&c);
			if (*c.p != ':')
				return fail(&c, "no ':' after the key \"%s\"", key);
			c.p++;
			blanks(&c);
			if (value(&c, m))
				return -1;
			o->n++;
			blanks(&c);
			if (*c.p == '}') {
				c.p++;
				break;
			}
			if (*c.p != ',')
				return fail(&c, "no ',' or '}' after the member \"%s\"", key);
			c.p++;
			blanks(&c);
		}
	}
	blanks(&c);
	if (*c.p)
		return fail(&c, "text after the object");
	return 0;
}

const struct json_flat_member *json_flat_get(const struct json_flat_object *o, const char *key)
{
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->m[i].key, key))
			return &o->m[i];
	return NULL;
}
