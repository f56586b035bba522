/* xdr.h: XDR (RFC 4506) as the libvirt remote protocol uses it: big-endian 4-byte units,
 * every item padded to 4 bytes with zeros.
 *
 * Decoding reads from a fixed buffer and never goes past it: the first bad item (truncated,
 * longer than its bound, non-zero padding, a bool that is not 0/1) sets err and a reason,
 * and every later get returns zero values, so a decoder checks once at the end. Encoding
 * appends to a growing buffer bounded by a maximum size, with the same sticky error. */
#ifndef LEGO_XDR_H
#define LEGO_XDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xdr_in {
	const uint8_t *p;
	size_t len, pos;
	const char *err; /* NULL while everything decoded */
};

void xdr_in_init(struct xdr_in *x, const void *p, size_t len);
uint32_t xdr_get_u32(struct xdr_in *x);
int32_t xdr_get_i32(struct xdr_in *x);
uint64_t xdr_get_u64(struct xdr_in *x);
int64_t xdr_get_i64(struct xdr_in *x);
bool xdr_get_bool(struct xdr_in *x);
/* Fixed-length opaque of n bytes (padded): a pointer into the buffer, or NULL. */
const uint8_t *xdr_get_fixed(struct xdr_in *x, size_t n);
/* Variable-length opaque of at most max bytes: a pointer into the buffer and its length. */
const uint8_t *xdr_get_opaque(struct xdr_in *x, uint32_t max, uint32_t *len);
/* A string of at most max bytes, copied and NUL-terminated (malloc); NULL on error, and
 * also an error if it holds a NUL byte. */
char *xdr_get_string(struct xdr_in *x, uint32_t max);
/* An optional string (u32 0 | u32 1 + string): *present tells which; NULL when absent. */
char *xdr_get_opt_string(struct xdr_in *x, uint32_t max, bool *present);
/* The whole buffer was consumed without error. */
bool xdr_in_done(struct xdr_in *x);

struct xdr_out {
	uint8_t *p;
	size_t len, cap, max;
	const char *err;
};

/* max: the most bytes the encoding may take (beyond it: err). */
void xdr_out_init(struct xdr_out *x, size_t max);
void xdr_out_free(struct xdr_out *x);
void xdr_put_u32(struct xdr_out *x, uint32_t v);
void xdr_put_i32(struct xdr_out *x, int32_t v);
void xdr_put_u64(struct xdr_out *x, uint64_t v);
void xdr_put_i64(struct xdr_out *x, int64_t v);
void xdr_put_fixed(struct xdr_out *x, const void *p, size_t n);
/* n bytes as they are, unpadded (stream data is not XDR). */
void xdr_put_raw(struct xdr_out *x, const void *p, size_t n);
void xdr_put_opaque(struct xdr_out *x, const void *p, uint32_t n);
void xdr_put_string(struct xdr_out *x, const char *s);
/* NULL: absent. */
void xdr_put_opt_string(struct xdr_out *x, const char *s);
/* Overwrite 4 bytes at off (e.g. a length filled in at the end). */
void xdr_patch_u32(struct xdr_out *x, size_t off, uint32_t v);

#endif
