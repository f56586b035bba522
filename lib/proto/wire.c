/* wire.c: the common message header, fixed-size name fields and error texts of lego's
 * protocols. */
#include "wire.h"

#include <stdio.h>

void wire_hdr_put(void *buf, const struct wire_hdr *h)
{
	uint8_t *b = buf;

	wire_put_le32(b, h->magic);
	wire_put_le16(b + 4, h->version);
	wire_put_le16(b + 6, h->op);
	wire_put_le64(b + 8, h->id);
	wire_put_le32(b + 16, h->status);
	wire_put_le32(b + 20, h->len);
	wire_put_le64(b + 24, 0);
}

/* A malformed header: why into err. */
static enum wire_hdr_error hdr_fail(char *err, size_t errlen, enum wire_hdr_error e,
				    const char *why)
{
	snprintf(err, errlen, "%s", why);
	return e;
}

enum wire_hdr_error wire_hdr_get(const void *buf, size_t buflen, uint32_t magic, uint16_t version,
				 uint32_t max_payload, struct wire_hdr *h, char *err, size_t errlen)
{
	const uint8_t *b = buf;

	memset(h, 0, sizeof(*h));
	if (buflen < WIRE_HDR_LEN)
		return hdr_fail(err, errlen, WIRE_HDR_BAD, "truncated header");
	h->magic = wire_get_le32(b);
	h->version = wire_get_le16(b + 4);
	h->op = wire_get_le16(b + 6);
	h->id = wire_get_le64(b + 8);
	h->status = wire_get_le32(b + 16);
	h->len = wire_get_le32(b + 20);
	if (h->magic != magic)
		return hdr_fail(err, errlen, WIRE_HDR_BAD, "bad magic");
	if (h->version != version)
		return hdr_fail(err, errlen, WIRE_HDR_BAD, "unsupported protocol version");
	if (wire_get_le64(b + 24))
		return hdr_fail(err, errlen, WIRE_HDR_BAD, "reserved header bytes are not zero");
	if (h->len > max_payload)
		return hdr_fail(err, errlen, WIRE_HDR_TOOBIG,
				"payload longer than the protocol allows");
	if ((size_t)h->len != buflen - WIRE_HDR_LEN)
		return hdr_fail(err, errlen, WIRE_HDR_BAD,
				"payload length does not match the bytes received");
	return WIRE_HDR_OK;
}

int wire_name_get(const void *p, size_t n, char *out)
{
	const uint8_t *b = p;
	size_t end = 0;

	while (end < n && b[end])
		end++;
	for (size_t i = 0; i < n; i++) {
		if (i < end && (b[i] < 0x20 || b[i] > 0x7e))
			return -1;
		if (i >= end && b[i])
			return -1;
	}
	memcpy(out, b, end);
	out[end] = '\0';
	return 0;
}

void wire_name_put(void *p, size_t n, const char *name)
{
	size_t len = strnlen(name, n);

	memset(p, 0, n);
	memcpy(p, name, len);
}

bool wire_name_ok(const char *s, size_t max, bool any_first)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || (!any_first && (s[0] == '.' || s[0] == '-')))
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '.' && *s != '_' && *s != '-')
			return false;
	return true;
}

size_t wire_text_vput(void *p, size_t max, const char *fmt, va_list ap)
{
	char text[WIRE_TEXT_MAX + 1];
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	size_t len = n < 0 ? 0 : (size_t)n;

	if (len > max)
		len = max;
	if (len > WIRE_TEXT_MAX)
		len = WIRE_TEXT_MAX;
	memcpy(p, text, len);
	return len;
}

size_t wire_text_put(void *p, size_t max, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	len = wire_text_vput(p, max, fmt, ap);
	va_end(ap);
	return len;
}

const char *wire_text_get(const void *p, size_t len, char *out, size_t outlen)
{
	size_t n = p ? len : 0;

	if (n > outlen - 1)
		n = outlen - 1;
	if (n)
		memcpy(out, p, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			out[i] = '?';
	return out;
}
