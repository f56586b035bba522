/* lru_replay.c: replays a pager fault trace (pager trace mode: little-endian uint32 page
 * numbers) through an ideal LRU cache (or FIFO) of a given number of pages, to read the
 * ExCache's own hit ratio against. Prints "name value" lines. */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/parse.h"

#define NIL UINT32_MAX

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lru_replay --pages N [--accesses N] [--fifo] TRACE\n"
		"Replays TRACE (the pages of a pager's faults, as lego's trace mode writes them)\n"
		"through an LRU cache of N pages (--fifo: first in, first out) and prints\n"
		"  trace_refs  references in the trace (repeats of the page just referenced\n"
		"              are one: with a one-page cache a page can be evicted again\n"
		"              before the access that faulted for it completes)\n"
		"  hits        references the cache held\n"
		"  hit_ratio   hits / references; with --accesses, (hits + accesses - trace_refs)\n"
		"              / accesses: a trace taken with a one-page cache leaves out repeats\n"
		"              of the page just used, which every cache holds\n");
}

static uint32_t *load(const char *path, uint64_t *n)
{
	FILE *f = fopen(path, "rbe");
	uint32_t *v = NULL;
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "lru_replay: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (len % 4) {
		fprintf(stderr, "lru_replay: %s: %ld bytes, not a whole number of pages\n", path,
			len);
		goto out;
	}
	*n = (uint64_t)len / 4;
	v = malloc(*n ? *n * 4 : 4);
	if (!v || fread(v, 4, *n, f) != *n) {
		fprintf(stderr, "lru_replay: reading %s failed\n", path);
		free(v);
		v = NULL;
		goto out;
	}
	for (uint64_t i = 0, k = 0; i < *n; i++) {
		v[k] = le32toh(v[i]);
		if (k == 0 || v[k] != v[k - 1])
			k++;
		if (i + 1 == *n)
			*n = k;
	}
out:
	if (f)
		fclose(f);
	return v;
}

/* A doubly linked list over page numbers: most recent at head, the victim at tail. */
struct lru {
	uint32_t *prev, *next;
	uint8_t *in;
	uint32_t head, tail;
	uint64_t len;
};

static void unlink_page(struct lru *l, uint32_t p)
{
	if (l->prev[p] != NIL)
		l->next[l->prev[p]] = l->next[p];
	else
		l->head = l->next[p];
	if (l->next[p] != NIL)
		l->prev[l->next[p]] = l->prev[p];
	else
		l->tail = l->prev[p];
}

static void push_front(struct lru *l, uint32_t p)
{
	l->prev[p] = NIL;
	l->next[p] = l->head;
	if (l->head != NIL)
		l->prev[l->head] = p;
	l->head = p;
	if (l->tail == NIL)
		l->tail = p;
}

/* Hits of a cache of cap pages over v[]; lru: a hit moves the page to the front. */
static uint64_t replay(const uint32_t *v, uint64_t n, uint64_t cap, uint32_t max, int lru)
{
	struct lru l = {.head = NIL, .tail = NIL};
	uint64_t hits = 0;

	l.prev = malloc(((uint64_t)max + 1) * sizeof(uint32_t));
	l.next = malloc(((uint64_t)max + 1) * sizeof(uint32_t));
	l.in = calloc((uint64_t)max + 1, 1);
	if (!l.prev || !l.next || !l.in) {
		fprintf(stderr, "lru_replay: out of memory\n");
		exit(EX_OSERR);
	}
	for (uint64_t i = 0; i < n; i++) {
		uint32_t p = v[i];

		if (l.in[p]) {
			hits++;
			if (lru) {
				unlink_page(&l, p);
				push_front(&l, p);
			}
			continue;
		}
		if (l.len == cap) {
			uint32_t t = l.tail;

			unlink_page(&l, t);
			l.in[t] = 0;
			l.len--;
		}
		push_front(&l, p);
		l.in[p] = 1;
		l.len++;
	}
	free(l.prev);
	free(l.next);
	free(l.in);
	return hits;
}

int main(int argc, char **argv)
{
	uint64_t cap = 0, accesses = 0, n = 0, hits;
	const char *path = NULL;
	uint32_t *v, max = 0;
	int lru = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--fifo")) {
			lru = 0;
		} else if (!strcmp(a, "--pages") && val && !parse_uint(val, 1, UINT32_MAX, &cap)) {
			i++;
		} else if (!strcmp(a, "--accesses") && val &&
			   !parse_uint(val, 1, UINT64_MAX, &accesses)) {
			i++;
		} else if (a[0] != '-' && !path) {
			path = a;
		} else {
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (!path || !cap) {
		usage(stderr);
		return EX_USAGE;
	}
	v = load(path, &n);
	if (!v)
		return EX_NOINPUT;
	if (accesses && accesses < n) {
		fprintf(stderr, "lru_replay: %llu accesses but %llu references in the trace\n",
			(unsigned long long)accesses, (unsigned long long)n);
		free(v);
		return EX_DATAERR;
	}
	for (uint64_t i = 0; i < n; i++)
		max = v[i] > max ? v[i] : max;
	hits = replay(v, n, cap, max, lru);
	printf("trace_refs %llu\n", (unsigned long long)n);
	printf("hits %llu\n", (unsigned long long)hits);
	if (accesses)
		printf("hit_ratio %.4f\n", (double)(hits + accesses - n) / (double)accesses);
	else
		printf("hit_ratio %.4f\n", n ? (double)hits / (double)n : 0.0);
	free(v);
	return 0;
}
