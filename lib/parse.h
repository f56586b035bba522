/* parse.h: strict parsing of numbers and sizes given on command lines. */
#ifndef LEGO_PARSE_H
#define LEGO_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* "4096", "64K", "256M", "2G", "1T" (binary units, optional trailing "iB"/"B").
 * Returns 0 on success, -1 if the text is not a size or overflows 64 bits. */
int parse_size(const char *text, uint64_t *out);

/* A decimal unsigned integer in [min, max]; -1 if malformed or out of range. */
int parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* "HOST:PORT" or "[V6HOST]:PORT" with the port in [min_port, 65535]: host and port as
 * text (port normalised to decimal). -1 if malformed or the host does not fit in hlen. */
int parse_hostport(const char *text, unsigned min_port, char *host, size_t hlen, char *port,
		   size_t plen);

#endif
