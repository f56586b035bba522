/* vmm_regions.c: a strict reader of lego-vmm's `regions` answer. */
#include "vmm_regions.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct rd {
	const char *start, *p;
	char *err;
	size_t errlen;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static int bad(struct rd *r, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	if (r->failed)
		return -1;
	r->failed = true;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(r->err, r->errlen, "lego-vmm's regions answer: %s at byte %td", what,
		 r->p - r->start);
	return -1;
}

static void blanks(struct rd *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

/* The next character is c (after blanks): consumed. */
static bool peek(struct rd *r, char c)
{
	blanks(r);
	if (*r->p != c)
		return false;
	r->p++;
	return true;
}

static int expect(struct rd *r, char c)
{
	return peek(r, c) ? 0 : bad(r, "'%c' expected", c);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* A string of printable ASCII (escapes of anything else are refused), at most max bytes. */
static int string(struct rd *r, char *out, size_t max)
{
	size_t n = 0;

	if (expect(r, '"'))
		return -1;
	for (;;) {
		char c = *r->p++;

		if (c == '"')
			break;
		if (c == '\\') {
			char e = *r->p++;
			static const char from[] = "\"\\/", to[] = "\"\\/";
			const char *k = e ? strchr(from, e) : NULL;

			if (k) {
				c = to[k - from];
			} else if (e == 'u') {
				int v = 0;

				for (int i = 0; i < 4; i++) {
					int h = hexval(*r->p++);

					if (h < 0)
						return bad(r, "a bad \\u escape");
					v = v * 16 + h;
				}
				if (v < 0x20 || v > 0x7e)
					return bad(r, "a string holds a character that is not "
						      "printable ASCII");
				c = (char)v;
			} else {
				return bad(r, "a control character or unknown escape in a string");
			}
		} else if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e) {
			r->p--;
			return bad(r, c ? "a string holds a byte that is not printable ASCII"
					: "the answer ends inside a string");
		}
		if (n == max)
			return bad(r, "a string longer than %zu bytes", max);
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

static int number(struct rd *r, uint64_t *v)
{
	int digits = 0;

	blanks(r);
	*v = 0;
	if (*r->p == '0' && r->p[1] >= '0' && r->p[1] <= '9')
		return bad(r, "a number with a leading zero");
	while (*r->p >= '0' && *r->p <= '9') {
		if (*v > (UINT64_MAX - 9) / 10)
			return bad(r, "a number too large");
		*v = *v * 10 + (uint64_t)(*r->p++ - '0');
		digits++;
	}
	if (!digits)
		return bad(r, "a non-negative integer expected");
	if (*r->p == '.' || *r->p == 'e' || *r->p == 'E')
		return bad(r, "an integer expected");
	return 0;
}

static int boolean(struct rd *r, bool *v)
{
	blanks(r);
	if (!strncmp(r->p, "true", 4)) {
		*v = true;
		r->p += 4;
		return 0;
	}
	if (!strncmp(r->p, "false", 5)) {
		*v = false;
		r->p += 5;
		return 0;
	}
	return bad(r, "true or false expected");
}

/* An object's next key (the first when first): 1 with key, 0 at its end, -1. */
static int next_key(struct rd *r, bool first, char *key, size_t max)
{
	if (peek(r, '}'))
		return 0;
	if (!first && expect(r, ','))
		return -1;
	if (string(r, key, max) || expect(r, ':'))
		return -1;
	return 1;
}

/* A key may appear once: bit i of *seen for key i of keys. */
static int which(struct rd *r, const char *key, const char *const *keys, unsigned *seen)
{
	for (int i = 0; keys[i]; i++) {
		if (strcmp(key, keys[i]))
			continue;
		if (*seen & (1U << i))
			return bad(r, "member \"%s\" given twice", key);
		*seen |= 1U << i;
		return i;
	}
	return bad(r, "an unknown member \"%.40s\"", key);
}

static int server(struct rd *r, struct vmm_regions_server *s)
{
	static const char *const keys[] = {"addr", "name", "lost", NULL};
	unsigned seen = 0;
	char key[16];
	int k, rc;

	if (expect(r, '{'))
		return -1;
	for (bool first = true; (rc = next_key(r, first, key, sizeof(key) - 1)) > 0;
	     first = false) {
		k = which(r, key, keys, &seen);
		if (k < 0 || (k == 0 && string(r, s->addr, VR_ADDR_MAX)) ||
		    (k == 1 && string(r, s->name, VR_NAME_MAX)) || (k == 2 && boolean(r, &s->lost)))
			return -1;
	}
	if (rc < 0)
		return -1;
	if (seen != 7)
		return bad(r, "a server without its addr, name and lost");
	if (!s->addr[0] || !strchr(s->addr, ':'))
		return bad(r, "a server address that is not HOST:PORT");
	return 0;
}

static int copy(struct rd *r, struct vmm_regions_copy *c)
{
	static const char *const keys[] = {"server", "state", "failed", NULL};
	unsigned seen = 0;
	char key[16], state[16];
	uint64_t v = 0;
	int k, rc;

	if (expect(r, '{'))
		return -1;
	for (bool first = true; (rc = next_key(r, first, key, sizeof(key) - 1)) > 0;
	     first = false) {
		k = which(r, key, keys, &seen);
		if (k < 0 || (k == 0 && number(r, &v)) ||
		    (k == 1 && string(r, state, sizeof(state) - 1)) ||
		    (k == 2 && boolean(r, &c->failed)))
			return -1;
		if (k == 0 && v >= VR_MAX_SERVERS)
			return bad(r, "a copy's server index %llu is out of range",
				   (unsigned long long)v);
		if (k == 1 && strcmp(state, "live") && strcmp(state, "joining"))
			return bad(r, "a copy's state \"%s\" is neither live nor joining", state);
		if (k == 1)
			c->live = !strcmp(state, "live");
	}
	if (rc < 0)
		return -1;
	if (seen != 7)
		return bad(r, "a copy without its server, state and failed");
	c->server = (int)v;
	return 0;
}

static int servers(struct rd *r, struct vmm_regions_answer *a)
{
	if (expect(r, '['))
		return -1;
	if (peek(r, ']'))
		return 0;
	do {
		if (a->nr_servers == VR_MAX_SERVERS)
			return bad(r, "more than %d servers", VR_MAX_SERVERS);
		if (server(r, &a->servers[a->nr_servers++]))
			return -1;
	} while (peek(r, ','));
	return expect(r, ']');
}

static int regions(struct rd *r, struct vmm_regions_answer *a)
{
	if (expect(r, '['))
		return -1;
	if (peek(r, ']'))
		return 0;
	do {
		struct vmm_regions_region *g;

		if (a->nr_regions == VR_MAX_REGIONS)
			return bad(r, "more than %d vRegions", VR_MAX_REGIONS);
		g = &a->regions[a->nr_regions++];
		if (expect(r, '['))
			return -1;
		if (peek(r, ']'))
			continue;
		do {
			if (g->nr == VR_MAX_COPIES)
				return bad(r, "a vRegion with more than %d copies", VR_MAX_COPIES);
			if (copy(r, &g->c[g->nr]))
				return -1;
			for (int k = 0; k < g->nr; k++)
				if (g->c[k].server == g->c[g->nr].server)
					return bad(r, "two copies of a vRegion on server %d",
						   g->c[k].server);
			g->nr++;
		} while (peek(r, ','));
		if (expect(r, ']'))
			return -1;
	} while (peek(r, ','));
	return expect(r, ']');
}

int vmm_regions_parse(const char *json, struct vmm_regions_answer *a, char *err, size_t errlen)
{
	static const char *const keys[] = {"servers",	"regions", "copies_lost",
					   "redirects", "error",   NULL};
	struct rd r = {.start = json, .p = json, .err = err, .errlen = errlen};
	unsigned seen = 0;
	char key[16];
	int k, rc;

	memset(a, 0, sizeof(*a));
	if (expect(&r, '{'))
		return -1;
	for (bool first = true; (rc = next_key(&r, first, key, sizeof(key) - 1)) > 0;
	     first = false) {
		k = which(&r, key, keys, &seen);
		if (k == 4) {
			char text[400];

			if (string(&r, text, sizeof(text) - 1))
				return -1;
			snprintf(err, errlen, "lego-vmm answered: %s", text);
			return -1;
		}
		if (k < 0 || (k == 0 && servers(&r, a)) || (k == 1 && regions(&r, a)) ||
		    (k == 2 && number(&r, &a->copies_lost)) ||
		    (k == 3 && number(&r, &a->redirects)))
			return -1;
	}
	if (rc < 0)
		return -1;
	blanks(&r);
	if (*r.p)
		return bad(&r, "bytes after the answer");
	if (seen != 15)
		return bad(&r, "servers, regions, copies_lost and redirects are required");
	for (int i = 0; i < a->nr_regions; i++)
		for (int c = 0; c < a->regions[i].nr; c++)
			if (a->regions[i].c[c].server >= a->nr_servers)
				return bad(&r, "vRegion %d names server %d of %d", i,
					   a->regions[i].c[c].server, a->nr_servers);
	return 0;
}
