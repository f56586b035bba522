/* wire.h: fixed little-endian field access for every lego network protocol. */
#ifndef LEGO_WIRE_H
#define LEGO_WIRE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Byte-wise, so neither alignment nor host byte order matter. */
static inline uint16_t wire_get_le16(const void *p)
{
	const uint8_t *b = p;

	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t wire_get_le32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t wire_get_le64(const void *p)
{
	return (uint64_t)wire_get_le32(p) | (uint64_t)wire_get_le32((const uint8_t *)p + 4) << 32;
}

static inline void wire_put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;

	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void wire_put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;

	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static inline void wire_put_le64(void *p, uint64_t v)
{
	wire_put_le32(p, (uint32_t)v);
	wire_put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

/* The 32-byte header every lego protocol message starts with; protocols differ in magic,
 * version and ops:
 *   0 magic(4) 4 version(2) 6 op(2) 8 request id(8) 16 status(4) 20 payload length(4)
 *   24 reserved, zero(8)
 */
#define WIRE_HDR_LEN 32

struct wire_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	uint64_t id;
	uint32_t status;
	uint32_t len;
};

enum wire_hdr_error {
	WIRE_HDR_OK,
	WIRE_HDR_BAD,	 /* truncated, wrong magic/version, reserved bits, length mismatch */
	WIRE_HDR_TOOBIG, /* payload longer than max_payload */
};

void wire_hdr_put(void *buf, const struct wire_hdr *h);
/* Decode and check buf[0..buflen): magic and version as given, reserved bytes zero, and len
 * == buflen - WIRE_HDR_LEN <= max_payload; when not, err says what was wrong. */
enum wire_hdr_error wire_hdr_get(const void *buf, size_t buflen, uint32_t magic, uint16_t version,
				 uint32_t max_payload, struct wire_hdr *h, char *err,
				 size_t errlen);

/* A fixed-size field of n bytes holding a NUL-padded name: printable ASCII, then only NULs.
 * get copies it to out (n + 1 bytes) and returns 0, or -1 if the field is malformed. */
int wire_name_get(const void *p, size_t n, char *out);
void wire_name_put(void *p, size_t n, const char *name);

/* Whether s is a name as operators type them (volumes, components): 1..max of
 * [A-Za-z0-9._-] and, unless any_first, not starting with '.' or '-'. */
bool wire_name_ok(const char *s, size_t max, bool any_first);

/* An error reply's payload, a text without NUL: printf-formatted into p, cut to max bytes
 * (at most WIRE_TEXT_MAX); returns its length. */
#define WIRE_TEXT_MAX 1024
size_t wire_text_put(void *p, size_t max, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
size_t wire_text_vput(void *p, size_t max, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* An error reply's len payload bytes as a C string in out (outlen > 0 bytes), cut to fit,
 * every byte outside printable ASCII replaced by '?' (a peer's text goes into logs). */
const char *wire_text_get(const void *p, size_t len, char *out, size_t outlen);

#endif
