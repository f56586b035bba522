/* placement.c: GPM and GMM placement over a snapshot of the cluster. */
#include "placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)
#define PPM 1000000.0 /* parts per million */

/* The next comma-separated item of *p (as item and len), advancing *p; false at the end. */
static bool next_item(const char **p, const char **item, size_t *len)
{
	const char *end;

	if (!**p)
		return false;
	end = strchrnul(*p, ',');
	*item = *p;
	*len = (size_t)(end - *p);
	*p = *end ? end + 1 : end;
	return true;
}

/* Is name one of the comma-separated names in list? */
static bool in_list(const char *list, const char *name)
{
	const char *item;
	size_t len, n = strlen(name);

	while (next_item(&list, &item, &len))
		if (len == n && !strncmp(item, name, n))
			return true;
	return false;
}

/* Every name in the hint must exist and take new work (unusable[i] NULL, else why not): a
 * hint naming a lost component fails rather than silently placing elsewhere. */
static int check_hint(const char *hint, const char *const *names, const char *const *unusable,
		      int n, const char *what, char *err, size_t errlen)
{
	const char *item;
	size_t len;

	while (next_item(&hint, &item, &len)) {
		int found = -1;

		for (int i = 0; i < n; i++)
			if (strlen(names[i]) == len && !strncmp(names[i], item, len))
				found = i;
		if (found < 0 || unusable[found]) {
			snprintf(err, errlen, "placement hint names %s '%.*s', which is %s", what,
				 (int)len, item, found < 0 ? "not registered" : unusable[found]);
			return -1;
		}
	}
	return 0;
}

int placement_pick_processor(const struct placement_host *h, int n, const char *hint,
			     uint32_t vcpus, uint64_t excache, char *err, size_t errlen)
{
	const char *names[PL_MAX] = {0}, *unusable[PL_MAX] = {0};
	int best = -1, candidates = 0;
	uint32_t most_cores = 0;
	uint64_t most_mem = 0;

	if (n > PL_MAX)
		n = PL_MAX;
	for (int i = 0; i < n; i++) {
		names[i] = h[i].name;
		unusable[i] = h[i].alive ? NULL : "down";
	}
	if (hint[0] && check_hint(hint, names, unusable, n, "processor host", err, errlen))
		return -1;
	for (int i = 0; i < n; i++) {
		uint32_t free_cores;
		uint64_t free_mem;

		if (!h[i].alive || (hint[0] && !in_list(hint, h[i].name)))
			continue;
		candidates++;
		free_cores = h[i].cores > h[i].used_cores ? h[i].cores - h[i].used_cores : 0;
		free_mem = h[i].mem > h[i].used_mem ? h[i].mem - h[i].used_mem : 0;
		if (free_cores < vcpus || free_mem < excache)
			continue;
		if (best < 0 || free_cores > most_cores ||
		    (free_cores == most_cores && free_mem > most_mem)) {
			best = i;
			most_cores = free_cores;
			most_mem = free_mem;
		}
	}
	if (best < 0) {
		if (!candidates)
			snprintf(err, errlen, "no processor host is registered and alive");
		else
			snprintf(err, errlen,
				 "no processor host has %u free core(s) and %.0f MiB free for the "
				 "ExCache (%d host(s) considered)",
				 vcpus, (double)excache / MIB, candidates);
	}
	return best;
}

static bool takes_new(const struct placement_mem *m)
{
	return m->alive && !m->draining;
}

static uint64_t free_of(uint64_t capacity, uint64_t used)
{
	return capacity > used ? capacity - used : 0;
}

static bool holds(const struct placement_region *r, int server, int nr)
{
	for (int k = 0; k < nr; k++)
		if (r->server[k] == server)
			return true;
	return false;
}

/* The candidate with the most free memory (used[] as it stands) that can take a copy of r
 * (whose first nr copies count), or -1. */
static int most_free(const struct placement_mem *m, int n, const uint64_t *used,
		     const bool *allowed, const struct placement_region *r, int nr)
{
	int best = -1;
	uint64_t best_free = 0;

	for (int i = 0; i < n; i++) {
		uint64_t f = free_of(m[i].capacity, used[i]);

		if (!allowed[i] || f < r->size || holds(r, i, nr))
			continue;
		if (best < 0 || f > best_free) {
			best = i;
			best_free = f;
		}
	}
	return best;
}

int placement_place_regions(const struct placement_mem *m, int n, const char *hint, uint64_t ram,
			    uint64_t region_size, int copies, int (*owner)[PL_MAX_COPIES],
			    int max_regions, char *err, size_t errlen)
{
	const char *names[PL_MAX] = {0}, *unusable[PL_MAX] = {0};
	uint64_t used[PL_MAX], total_free = 0;
	bool allowed[PL_MAX];
	int nr = (int)((ram + region_size - 1) / region_size), candidates = 0;

	if (region_size == 0 || nr > max_regions) {
		snprintf(err, errlen, "%llu bytes of RAM need more than %d vRegions",
			 (unsigned long long)ram, max_regions);
		return -1;
	}
	if (copies < 1 || copies > PL_MAX_COPIES) {
		snprintf(err, errlen, "a vRegion has 1 to %d copies, not %d", PL_MAX_COPIES,
			 copies);
		return -1;
	}
	if (n > PL_MAX)
		n = PL_MAX;
	for (int i = 0; i < n; i++) {
		names[i] = m[i].name;
		unusable[i] = !m[i].alive ? "down" : m[i].draining ? "draining" : NULL;
	}
	if (hint[0] && check_hint(hint, names, unusable, n, "memory server", err, errlen))
		return -1;
	for (int i = 0; i < n; i++) {
		used[i] = m[i].used;
		allowed[i] = takes_new(&m[i]) && (!hint[0] || in_list(hint, m[i].name));
		if (!allowed[i])
			continue;
		candidates++;
		total_free += free_of(m[i].capacity, m[i].used);
	}
	if (!candidates) {
		snprintf(err, errlen, "no memory server is registered, alive and not draining");
		return -1;
	}
	if (candidates < copies) {
		snprintf(err, errlen,
			 "replication factor %d needs %d memory servers that are alive and not "
			 "draining%s, and there %s %d",
			 copies, copies, hint[0] ? " among those the placement hint names" : "",
			 candidates == 1 ? "is" : "are", candidates);
		return -1;
	}
	/* Every primary first, so that primaries spread; then each further copy. */
	for (int k = 0; k < copies; k++) {
		for (int r = 0; r < nr; r++) {
			struct placement_region reg = {
				.size = r == nr - 1 ? ram - (uint64_t)r * region_size
						    : region_size};
			int best;

			for (int j = 0; j < k; j++)
				reg.server[j] = owner[r][j];
			best = most_free(m, n, used, allowed, &reg, k);
			if (best < 0) {
				snprintf(err, errlen,
					 "memory servers cannot hold %d cop%s of %.0f MiB of guest "
					 "RAM in %.0f MiB vRegions (%.0f MiB free on %d server(s))",
					 copies, copies == 1 ? "y" : "ies", (double)ram / MIB,
					 (double)region_size / MIB, (double)total_free / MIB,
					 candidates);
				return -1;
			}
			owner[r][k] = best;
			used[best] += reg.size;
		}
	}
	return nr;
}

int placement_pick_target(const struct placement_mem *m, int n, const struct placement_region *r)
{
	uint64_t used[PL_MAX];
	bool allowed[PL_MAX];

	if (n > PL_MAX)
		n = PL_MAX;
	for (int i = 0; i < n; i++) {
		used[i] = m[i].used;
		allowed[i] = takes_new(&m[i]);
	}
	return most_free(m, n, used, allowed, r, r->nr);
}

int placement_plan_drain(const struct placement_mem *m, int n, int d,
			 const struct placement_region *r, int nr, const char *const *labels,
			 char *err, size_t errlen)
{
	uint64_t used[PL_MAX], need = 0, room = 0;
	bool allowed[PL_MAX];
	int moving = 0, others = 0;

	if (n > PL_MAX)
		n = PL_MAX;
	for (int i = 0; i < n; i++) {
		used[i] = m[i].used;
		allowed[i] = i != d && takes_new(&m[i]);
		others += allowed[i];
		if (allowed[i])
			room += free_of(m[i].capacity, m[i].used);
	}
	for (int i = 0; i < nr; i++)
		if (holds(&r[i], d, r[i].nr) && r[i].nr - 1 < r[i].wanted) {
			need += r[i].size;
			moving++;
		}
	if (need > room) {
		snprintf(err, errlen,
			 "cannot drain memory server %s: its %d vRegion cop%s (%.0f MiB) need more "
			 "room than the other memory servers have (%.0f MiB free on %d that %s "
			 "alive and not draining)",
			 m[d].name, moving, moving == 1 ? "y" : "ies", (double)need / MIB,
			 (double)room / MIB, others, others == 1 ? "is" : "are");
		return -1;
	}
	for (int i = 0; i < nr; i++) {
		int t;

		if (!holds(&r[i], d, r[i].nr) || r[i].nr - 1 >= r[i].wanted)
			continue;
		t = most_free(m, n, used, allowed, &r[i], r[i].nr);
		if (t < 0) {
			snprintf(err, errlen,
				 "cannot drain memory server %s: %s (%.0f MiB) has no other memory "
				 "server with room that holds no copy of it yet",
				 m[d].name, labels[i], (double)r[i].size / MIB);
			return -1;
		}
		used[t] += r[i].size;
	}
	return 0;
}

static double fraction(const struct placement_mem *m)
{
	return (double)m->placed / (double)m->capacity;
}

static bool balanced_candidate(const struct placement_mem *m)
{
	return takes_new(m) && m->capacity > 0;
}

int placement_rebalance_move(const struct placement_mem *m, int n, const struct placement_region *r,
			     int nr, int *reg, int *from, int *to)
{
	int order[PL_MAX], k = 0;

	if (n > PL_MAX)
		n = PL_MAX;
	for (int i = 0; i < n; i++)
		if (balanced_candidate(&m[i]))
			order[k++] = i;
	/* Fullest first (insertion sort: a few servers). */
	for (int i = 1; i < k; i++)
		for (int j = i; j > 0 && fraction(&m[order[j]]) > fraction(&m[order[j - 1]]); j--) {
			int t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int a = 0; a < k; a++) {
		const struct placement_mem *A = &m[order[a]];

		for (int b = k - 1; b > a; b--) {
			const struct placement_mem *B = &m[order[b]];

			if (fraction(A) <= fraction(B))
				break;
			for (int i = 0; i < nr; i++) {
				uint64_t s = r[i].size;

				if (!holds(&r[i], order[a], r[i].nr) ||
				    holds(&r[i], order[b], r[i].nr) ||
				    free_of(B->capacity, B->used) < s || A->placed < s)
					continue;
				/* The source must stay at least as full as the target. */
				if ((double)(A->placed - s) / (double)A->capacity <
				    (double)(B->placed + s) / (double)B->capacity)
					continue;
				*reg = i;
				*from = order[a];
				*to = order[b];
				return 0;
			}
		}
	}
	return -1;
}

uint32_t placement_spread_ppm(const struct placement_mem *m, int n)
{
	double lo = 2, hi = -1;

	if (n > PL_MAX)
		n = PL_MAX;
	for (int i = 0; i < n; i++) {
		double f;

		if (!balanced_candidate(&m[i]))
			continue;
		f = fraction(&m[i]);
		if (f > 1)
			f = 1;
		lo = f < lo ? f : lo;
		hi = f > hi ? f : hi;
	}
	return hi < lo ? 0 : (uint32_t)((hi - lo) * PPM + 0.5);
}
