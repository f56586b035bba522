/* parse.c: strict number, size and address parsing (no silent truncation, no trailing junk). */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!text || !isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int parse_hex_bytes(const char *text, uint8_t *out, size_t max, size_t *n)
{
	size_t len = text ? strlen(text) : 0;

	if (!len || len % 2 || len / 2 > max)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = parse_hex_digit(text[2 * i]), lo = parse_hex_digit(text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*n = len / 2;
	return 0;
}

void parse_hex_format(char *out, const uint8_t *bytes, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

int parse_size(const char *text, uint64_t *out)
{
	static const char units[] = "KMGT";
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!text || !isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		const char *u = strchr(units, toupper((unsigned char)*end));

		if (!u)
			return -1;
		shift = 10u * (unsigned)(u - units + 1);
		end++;
		if (!strcasecmp(end, "iB") || !strcasecmp(end, "B"))
			end += strlen(end);
		if (*end)
			return -1;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int parse_hostport(const char *text, unsigned min_port, char *host, size_t hlen, char *port,
		   size_t plen)
{
	const char *colon = strrchr(text, ':');
	const char *h = text;
	uint64_t v;
	size_t n;

	if (!colon || parse_uint(colon + 1, min_port, 65535, &v))
		return -1;
	n = (size_t)(colon - text);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= hlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	snprintf(port, plen, "%llu", (unsigned long long)v);
	return 0;
}

bool parse_hostport_ok(const char *text, unsigned min_port)
{
	char host[256], port[16];

	return !parse_hostport(text, min_port, host, sizeof(host), port, sizeof(port));
}

int parse_hostport_format(char *out, size_t len, const char *host, const char *port)
{
	int n = snprintf(out, len, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}
