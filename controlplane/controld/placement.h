/* placement.h: the global managers' placement decisions, as pure functions over snapshots
 * of the cluster (LegoOS places coarsely: a processor host per vNode, owners per vRegion):
 *   GPM: the processor host with the most free cores that also has room for the ExCache;
 *   GMM: each vRegion's primary copy to the memory server with the most free memory at
 *        that moment, so primaries spread by free capacity; then each further copy (the
 *        replication factor) to the server with the most free memory among those that hold
 *        no copy of that region yet. Never on a server that is down or draining.
 *   The memory pool's moves: a new home for one copy (drain, re-replication), whether a
 *        whole drain fits before it starts, and the next move that evens out the servers'
 *        use (rebalance, by fraction of capacity).
 * A placement hint restricts the candidates to the named components. */
#ifndef LEGO_PLACEMENT_H
#define LEGO_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_MAX	      2048 /* components of one kind considered (REG_MAX_COMPONENTS) */
#define PL_MAX_COPIES 4	   /* copies of one vRegion */

struct placement_host {
	const char *name;
	bool alive;
	uint32_t cores, used_cores;
	uint64_t mem, used_mem; /* memory offered for ExCaches */
};

struct placement_mem {
	const char *name;
	bool alive;
	bool draining; /* keeps what it holds, takes nothing new */
	uint64_t capacity;
	uint64_t used;	 /* for room: what it reports, or what was placed there if more */
	uint64_t placed; /* for evenness: the vRegion copies placed there */
};

/* One vRegion's copies, for the pool's moves. */
struct placement_region {
	uint64_t size;
	int wanted; /* its replication factor */
	int nr;
	int server[PL_MAX_COPIES]; /* indexes into the pl_mem array, primary first */
};

/* Index of the chosen host, or -1 with err saying what is short. hint: a host name or "". */
int placement_pick_processor(const struct placement_host *h, int n, const char *hint,
			     uint32_t vcpus, uint64_t excache, char *err, size_t errlen);

/* Owners for the vRegions of a RAM of ram bytes cut into region_size pieces (the last may
 * be smaller), `copies` of each on distinct servers: owner[i][0..copies) are indexes into
 * m, the primary first. hint: "" or comma-separated server names. Returns the number of
 * regions, or -1 with err saying what is short. */
int placement_place_regions(const struct placement_mem *m, int n, const char *hint, uint64_t ram,
			    uint64_t region_size, int copies, int (*owner)[PL_MAX_COPIES],
			    int max_regions, char *err, size_t errlen);

/* The server for a new copy of r (size r->size): alive, not draining, holding no copy of r,
 * with room; the one with the most free memory. -1 if there is none. */
int placement_pick_target(const struct placement_mem *m, int n, const struct placement_region *r);

/* Can every copy on server d go elsewhere? Each region holding one is given a target as
 * placement_pick_target would, in order, each move taking its room (a region with more copies than
 * it wants just loses the one on d). 0, or -1 with err saying what does not fit. labels[i]
 * names region i in that message ("vNode vn1's vRegion 3"). */
int placement_plan_drain(const struct placement_mem *m, int n, int d,
			 const struct placement_region *r, int nr, const char *const *labels,
			 char *err, size_t errlen);

/* The next move that evens out the alive, non-draining servers' use (placed / capacity):
 * a copy of region *reg from the fullest server *from to the emptiest *to that holds none
 * of it and has room, such that *from stays at least as full as *to (so moves end within
 * about one region of even, and each one lowers the imbalance). 0, or -1 when no move
 * helps. */
int placement_rebalance_move(const struct placement_mem *m, int n, const struct placement_region *r,
			     int nr, int *reg, int *from, int *to);
/* The fullest minus the emptiest of those servers' use, in parts per million. */
uint32_t placement_spread_ppm(const struct placement_mem *m, int n);

#endif
