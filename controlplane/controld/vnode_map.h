/* vnode_map.h: a running vNode's vRegion map as lego-controld's GMM keeps it: the memory
 * servers the run uses and, for each vRegion, its copies on them (the primary first; reads
 * go to it, write-backs to every copy). The map changes while the vNode runs: a copy added
 * (re-replication, the first half of a move), a copy dropped (a move's second half, or a
 * lost server: the next copy becomes the primary). lego-vmm learns the map at start from
 * --mmon and --region-owners ("0+1,1+0": each region's copies as indexes into the --mmon
 * list), which a migration's destination is started with again, so they are rewritten to
 * say the current map. Pure functions: the caller holds whatever lock guards the map. */
#ifndef LEGO_VNODE_MAP_H
#define LEGO_VNODE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/cluster_proto.h"

#define VMAP_MAX_REGIONS 1024
#define VMAP_MAX_SERVERS 16 /* memory servers one map names at a time */
#define VMAP_MAX_COPIES	 4  /* lego-vmm's limit */

struct vnode_map {
	int nr_regions, nr_mmons;
	char mmon[VMAP_MAX_SERVERS][CP_NAME_LEN + 1];
	char mmon_addr[VMAP_MAX_SERVERS][CP_ADDR_LEN + 1];
	uint8_t nr_copies[VMAP_MAX_REGIONS];
	uint8_t copy[VMAP_MAX_REGIONS][VMAP_MAX_COPIES]; /* indexes into mmon[], primary first */
};

/* The index of the server named name (its address updated), added if new; -1 if the map
 * names VMAP_MAX_SERVERS already. */
int vnode_map_server(struct vnode_map *m, const char *name, const char *addr);
/* The index of the server named name, or -1. */
int vnode_map_find(const struct vnode_map *m, const char *name);
bool vnode_map_has_copy(const struct vnode_map *m, int region, int server);
/* Copies of regions on server (0 if it holds none). */
int vnode_map_copies_on(const struct vnode_map *m, int server);
/* A new last copy of region on server: 0, or -1 if it has one there or has the most. */
int vnode_map_add_copy(struct vnode_map *m, int region, int server);
/* Drop region's copy on server (the others keep their order, so the next one becomes the
 * primary): 0, or -1 if it has none there or that is its last (a region always has one: its
 * loss stops the vNode, and the map keeps saying where the data was). */
int vnode_map_drop_copy(struct vnode_map *m, int region, int server);
/* Forget the servers no copy is on (the others renumbered, their order kept). */
void vnode_map_compact(struct vnode_map *m);
/* The size of region r of a RAM of ram bytes in region_size pieces (the last may be
 * smaller). */
uint64_t vnode_map_region_bytes(int r, int nr_regions, uint64_t ram, uint64_t region_size);

/* --region-owners' text ("0+1,1+0"), NUL-terminated: its length, or -1 if len is short. */
int vnode_map_format_owners(const struct vnode_map *m, char *buf, size_t len);
/* Read it back (nr_mmons already set: every index must be below it; copies of one region
 * on distinct servers, 1..VMAP_MAX_COPIES of them; an empty text is no region). The
 * single-owner form of older run files ("0,1,1") is the same text. 0, or -1. */
int vnode_map_parse_owners(struct vnode_map *m, const char *text);

/* lego-vmm's options (argc NUL-terminated strings, len bytes) with every --mmon and
 * --region-owners replaced by the map's, where the first --mmon was (or at the end):
 * *out (malloc'ed), *out_argc, *out_len. 0, or -1 when out of memory or past the limits of
 * a VM_START (CP_MAX_ARGS strings, CP_ARGS_MAX bytes). */
int vnode_map_rewrite_args(const struct vnode_map *m, const char *args, uint32_t argc, uint32_t len,
			   char **out, uint32_t *out_argc, uint32_t *out_len);

#endif
