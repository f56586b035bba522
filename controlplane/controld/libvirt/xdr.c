/* xdr.c: bounded XDR decoding and encoding with sticky errors. */
#include "xdr.h"

#include <stdlib.h>
#include <string.h>

static size_t pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

void xdr_in_init(struct xdr_in *x, const void *p, size_t len)
{
	x->p = p;
	x->len = len;
	x->pos = 0;
	x->err = NULL;
}

static const uint8_t *take(struct xdr_in *x, size_t n, const char *what)
{
	const uint8_t *q;
	size_t pad = pad4(n);

	if (x->err)
		return NULL;
	if (n > x->len - x->pos || pad > x->len - x->pos - n) {
		x->err = what;
		return NULL;
	}
	q = x->p + x->pos;
	for (size_t i = 0; i < pad; i++) {
		if (q[n + i]) {
			x->err = "non-zero XDR padding";
			return NULL;
		}
	}
	x->pos += n + pad;
	return q;
}

uint32_t xdr_get_u32(struct xdr_in *x)
{
	const uint8_t *q = take(x, 4, "truncated (a 4-byte item is missing)");

	return q ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3] : 0;
}

int32_t xdr_get_i32(struct xdr_in *x)
{
	return (int32_t)xdr_get_u32(x);
}

uint64_t xdr_get_u64(struct xdr_in *x)
{
	uint64_t hi = xdr_get_u32(x);

	return hi << 32 | xdr_get_u32(x);
}

int64_t xdr_get_i64(struct xdr_in *x)
{
	return (int64_t)xdr_get_u64(x);
}

bool xdr_get_bool(struct xdr_in *x)
{
	uint32_t v = xdr_get_u32(x);

	if (v > 1 && !x->err)
		x->err = "a boolean that is neither 0 nor 1";
	return v == 1;
}

const uint8_t *xdr_get_fixed(struct xdr_in *x, size_t n)
{
	return take(x, n, "truncated fixed-length opaque");
}

const uint8_t *xdr_get_opaque(struct xdr_in *x, uint32_t max, uint32_t *len)
{
	uint32_t n = xdr_get_u32(x);

	*len = 0;
	if (x->err)
		return NULL;
	if (n > max) {
		x->err = "variable-length item longer than its bound";
		return NULL;
	}
	*len = n;
	return take(x, n, "truncated variable-length item");
}

char *xdr_get_string(struct xdr_in *x, uint32_t max)
{
	uint32_t n;
	const uint8_t *q = xdr_get_opaque(x, max, &n);
	char *s;

	if (!q)
		return NULL;
	if (memchr(q, 0, n)) {
		x->err = "a string with a NUL byte";
		return NULL;
	}
	s = malloc((size_t)n + 1);
	if (!s) {
		x->err = "out of memory";
		return NULL;
	}
	memcpy(s, q, n);
	s[n] = '\0';
	return s;
}

char *xdr_get_opt_string(struct xdr_in *x, uint32_t max, bool *present)
{
	*present = xdr_get_bool(x);
	return *present ? xdr_get_string(x, max) : NULL;
}

bool xdr_in_done(struct xdr_in *x)
{
	if (!x->err && x->pos != x->len)
		x->err = "bytes left over after the last item";
	return !x->err;
}

void xdr_out_init(struct xdr_out *x, size_t max)
{
	memset(x, 0, sizeof(*x));
	x->max = max;
}

void xdr_out_free(struct xdr_out *x)
{
	free(x->p);
	memset(x, 0, sizeof(*x));
}

static uint8_t *room(struct xdr_out *x, size_t n)
{
	uint8_t *q;

	if (x->err)
		return NULL;
	if (n > x->max - x->len) {
		x->err = "encoding larger than the message limit";
		return NULL;
	}
	if (x->len + n > x->cap) {
		size_t cap = x->cap ? x->cap : 256;

		while (cap < x->len + n)
			cap *= 2;
		q = realloc(x->p, cap);
		if (!q) {
			x->err = "out of memory";
			return NULL;
		}
		x->p = q;
		x->cap = cap;
	}
	q = x->p + x->len;
	x->len += n;
	return q;
}

void xdr_put_u32(struct xdr_out *x, uint32_t v)
{
	uint8_t *q = room(x, 4);

	if (q) {
		q[0] = (uint8_t)(v >> 24);
		q[1] = (uint8_t)(v >> 16);
		q[2] = (uint8_t)(v >> 8);
		q[3] = (uint8_t)v;
	}
}

void xdr_put_i32(struct xdr_out *x, int32_t v)
{
	xdr_put_u32(x, (uint32_t)v);
}

void xdr_put_u64(struct xdr_out *x, uint64_t v)
{
	xdr_put_u32(x, (uint32_t)(v >> 32));
	xdr_put_u32(x, (uint32_t)v);
}

void xdr_put_i64(struct xdr_out *x, int64_t v)
{
	xdr_put_u64(x, (uint64_t)v);
}

void xdr_put_fixed(struct xdr_out *x, const void *p, size_t n)
{
	size_t pad = pad4(n);
	uint8_t *q = room(x, n + pad);

	if (q) {
		if (n)
			memcpy(q, p, n);
		memset(q + n, 0, pad);
	}
}

void xdr_put_raw(struct xdr_out *x, const void *p, size_t n)
{
	uint8_t *q = room(x, n);

	if (q && n)
		memcpy(q, p, n);
}

void xdr_put_opaque(struct xdr_out *x, const void *p, uint32_t n)
{
	xdr_put_u32(x, n);
	xdr_put_fixed(x, p, n);
}

void xdr_put_string(struct xdr_out *x, const char *s)
{
	size_t n = strlen(s);

	if (n > UINT32_MAX) {
		x->err = "string too long";
		return;
	}
	xdr_put_opaque(x, s, (uint32_t)n);
}

void xdr_put_opt_string(struct xdr_out *x, const char *s)
{
	xdr_put_u32(x, s != NULL);
	if (s)
		xdr_put_string(x, s);
}

void xdr_patch_u32(struct xdr_out *x, size_t off, uint32_t v)
{
	if (x->err || off + 4 > x->len)
		return;
	x->p[off] = (uint8_t)(v >> 24);
	x->p[off + 1] = (uint8_t)(v >> 16);
	x->p[off + 2] = (uint8_t)(v >> 8);
	x->p[off + 3] = (uint8_t)v;
}
