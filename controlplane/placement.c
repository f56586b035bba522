/* placement.c: GPM and GMM placement over a snapshot of the cluster. */
#include "placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

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

/* Every name in the hint must exist and be alive: a hint naming a lost component fails
 * rather than silently placing elsewhere. */
static int check_hint(const char *hint, const char *const *names, const bool *alive, int n,
		      const char *what, char *err, size_t errlen)
{
	const char *item;
	size_t len;

	while (next_item(&hint, &item, &len)) {
		int found = -1;

		for (int i = 0; i < n; i++)
			if (strlen(names[i]) == len && !strncmp(names[i], item, len))
				found = i;
		if (found < 0 || !alive[found]) {
			snprintf(err, errlen, "placement hint names %s '%.*s', which is %s", what,
				 (int)len, item, found < 0 ? "not registered" : "down");
			return -1;
		}
	}
	return 0;
}

int pl_pick_processor(const struct pl_host *h, int n, const char *hint, uint32_t vcpus,
		      uint64_t excache, char *err, size_t errlen)
{
	const char *names[PL_MAX] = {0};
	bool alive[PL_MAX] = {0};
	int best = -1, candidates = 0;
	uint32_t most_cores = 0;
	uint64_t most_mem = 0;

	if (n > PL_MAX)
		n = PL_MAX;
	for (int i = 0; i < n; i++) {
		names[i] = h[i].name;
		alive[i] = h[i].alive;
	}
	if (hint[0] && check_hint(hint, names, alive, n, "processor host", err, errlen))
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

int pl_place_regions(const struct pl_mem *m, int n, const char *hint, uint64_t ram,
		     uint64_t region_size, int *owner, int max_regions, char *err, size_t errlen)
{
	const char *names[PL_MAX] = {0};
	bool alive[PL_MAX] = {0};
	uint64_t free_bytes[PL_MAX], total_free = 0;
	int nr = (int)((ram + region_size - 1) / region_size), candidates = 0;

	if (region_size == 0 || nr > max_regions) {
		snprintf(err, errlen, "%llu bytes of RAM need more than %d vRegions",
			 (unsigned long long)ram, max_regions);
		return -1;
	}
	if (n > PL_MAX)
		n = PL_MAX;
	for (int i = 0; i < n; i++) {
		names[i] = m[i].name;
		alive[i] = m[i].alive;
	}
	if (hint[0] && check_hint(hint, names, alive, n, "memory server", err, errlen))
		return -1;
	for (int i = 0; i < n; i++) {
		free_bytes[i] = 0;
		if (!m[i].alive || (hint[0] && !in_list(hint, m[i].name)))
			continue;
		candidates++;
		free_bytes[i] = m[i].capacity > m[i].used ? m[i].capacity - m[i].used : 0;
		total_free += free_bytes[i];
	}
	if (!candidates) {
		snprintf(err, errlen, "no memory server is registered and alive");
		return -1;
	}
	for (int r = 0; r < nr; r++) {
		uint64_t size = r == nr - 1 ? ram - (uint64_t)r * region_size : region_size;
		int best = -1;

		for (int i = 0; i < n; i++)
			if (free_bytes[i] >= size && (best < 0 || free_bytes[i] > free_bytes[best]))
				best = i;
		if (best < 0) {
			snprintf(err, errlen,
				 "memory servers cannot hold %.0f MiB of guest RAM in %.0f MiB "
				 "vRegions (%.0f MiB free on %d server(s))",
				 (double)ram / MIB, (double)region_size / MIB,
				 (double)total_free / MIB, candidates);
			return -1;
		}
		owner[r] = best;
		free_bytes[best] -= size;
	}
	return nr;
}
