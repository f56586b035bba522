/* kparse.h: strict parsing of integers and sizes from (pointer, length) text. */
#ifndef GUEST_KPARSE_H
#define GUEST_KPARSE_H

#include <stddef.h>
#include <stdint.h>

/* Decimal, or hexadecimal with a 0x prefix; the whole text must be the number.
 * Returns 0, or -1 if malformed or above 2^64 - 1. */
int kparse_u64(const char *s, size_t len, uint64_t *out);

/* An integer (as above) with an optional binary unit K, M, G or T (case-insensitive,
 * optionally followed by "iB" or "B"): "4096", "64K", "32M", "1GiB". -1 on overflow. */
int kparse_size(const char *s, size_t len, uint64_t *out);

/* A decimal with at most three fraction digits, in thousandths: "0.99" is 990, "2" is 2000.
 * The guest has no floating point. Returns 0, or -1 if malformed or above 2^64 - 1. */
int kparse_milli(const char *s, size_t len, uint64_t *out);

#endif
