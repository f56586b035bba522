/* parse.h: strict parsing of numbers, sizes, hex bytes and HOST:PORT addresses given on
 * command lines (and an address's text from its parts). */
#ifndef LEGO_PARSE_H
#define LEGO_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "4096", "64K", "256M", "2G", "1T" (binary units, optional trailing "iB"/"B").
 * Returns 0 on success, -1 if the text is not a size or overflows 64 bits. */
int parse_size(const char *text, uint64_t *out);

/* A decimal unsigned integer in [min, max]; -1 if malformed or out of range. */
int parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* One hex digit's value (either case), or -1. */
int parse_hex_digit(char c);
/* Bytes as pairs of hex digits ("6c730d": "ls\r"): at least 1, at most max of them into out,
 * *n = how many. -1 if empty, odd, not hex or longer. */
int parse_hex_bytes(const char *text, uint8_t *out, size_t max, size_t *n);
/* The inverse: n bytes as 2n lowercase hex digits and a NUL into out (2n + 1 bytes). */
void parse_hex_format(char *out, const uint8_t *bytes, size_t n);

/* "HOST:PORT" or "[V6HOST]:PORT" with the port in [min_port, 65535]: host and port as
 * text (port normalised to decimal). -1 if malformed or the host does not fit in hlen. */
int parse_hostport(const char *text, unsigned min_port, char *host, size_t hlen, char *port,
		   size_t plen);
/* Whether text is such a "HOST:PORT" (a host of at most 255 characters). */
bool parse_hostport_ok(const char *text, unsigned min_port);
/* The inverse: "HOST:PORT" into out, "[HOST]:PORT" for an IPv6 host; 0, or -1 if it does not
 * fit in len. */
int parse_hostport_format(char *out, size_t len, const char *host, const char *port);

#endif
