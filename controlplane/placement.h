/* placement.h: the global managers' placement decisions, as pure functions over snapshots
 * of the cluster (LegoOS places coarsely: a processor host per vNode, an owner per vRegion):
 *   GPM: the processor host with the most free cores that also has room for the ExCache;
 *   GMM: each vRegion to the memory server with the most free memory at that moment, so
 *        regions spread by free capacity.
 * A placement hint restricts the candidates to the named components. */
#ifndef LEGO_PLACEMENT_H
#define LEGO_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_MAX 256 /* components of one kind considered */

struct pl_host {
	const char *name;
	bool alive;
	uint32_t cores, used_cores;
	uint64_t mem, used_mem; /* memory offered for ExCaches */
};

struct pl_mem {
	const char *name;
	bool alive;
	uint64_t capacity, used;
};

/* Index of the chosen host, or -1 with err saying what is short. hint: a host name or "". */
int pl_pick_processor(const struct pl_host *h, int n, const char *hint, uint32_t vcpus,
		      uint64_t excache, char *err, size_t errlen);

/* Owners for the vRegions of a RAM of ram bytes cut into region_size pieces (the last may
 * be smaller): owner[i] is an index into m. hint: "" or comma-separated server names.
 * Returns the number of regions, or -1 with err saying what is short. */
int pl_place_regions(const struct pl_mem *m, int n, const char *hint, uint64_t ram,
		     uint64_t region_size, int *owner, int max_regions, char *err, size_t errlen);

#endif
