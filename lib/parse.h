/* parse.h: strict parsing of numbers and sizes given on command lines. */
#ifndef LEGO_PARSE_H
#define LEGO_PARSE_H

#include <stdint.h>

/* "4096", "64K", "256M", "2G", "1T" (binary units, optional trailing "iB"/"B").
 * Returns 0 on success, -1 if the text is not a size or overflows 64 bits. */
int parse_size(const char *text, uint64_t *out);

/* A decimal unsigned integer in [min, max]; -1 if malformed or out of range. */
int parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out);

#endif
