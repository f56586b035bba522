/* vmm_regions.h: lego-vmm's `regions` answer, read strictly: the memory servers it has used
 * (address, name, lost) and each vRegion's copies (which server, live or joining, failed),
 * the primary first, as vmm/control/control_json.c's control_json_regions writes it:
 *
 *   {"servers":[{"addr":"H:P","name":"mm1","lost":false},...],
 *    "regions":[[{"server":0,"state":"live","failed":false},...],...],
 *    "copies_lost":N,"redirects":N}
 *
 * lego-controld reconciles its vRegion map with it, so every member is checked: each key
 * once, no other keys, server indexes in range and distinct within a region. */
#ifndef LEGO_VMM_REGIONS_H
#define LEGO_VMM_REGIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VR_MAX_SERVERS 32 /* lego-vmm's server entries at once (RM_MAX_SERVERS) */
#define VR_MAX_REGIONS 1024
#define VR_MAX_COPIES  4
#define VR_ADDR_MAX    64
#define VR_NAME_MAX    32

struct vmm_regions_server {
	char addr[VR_ADDR_MAX + 1];
	char name[VR_NAME_MAX + 1]; /* "" until lego-vmm's HELLO there was answered */
	bool lost;
};

struct vmm_regions_copy {
	int server; /* index into servers */
	bool live;  /* else joining: takes writes, not yet filled */
	bool failed;
};

struct vmm_regions_region {
	int nr;
	struct vmm_regions_copy c[VR_MAX_COPIES];
};

struct vmm_regions_answer {
	int nr_servers;
	struct vmm_regions_server servers[VR_MAX_SERVERS];
	int nr_regions;
	struct vmm_regions_region regions[VR_MAX_REGIONS];
	uint64_t copies_lost, redirects;
};

/* Parse json (one line, surrounding blanks allowed) into a: 0, or -1 with err saying what
 * is wrong and where (an {"error": "..."} answer gives its text). */
int vmm_regions_parse(const char *json, struct vmm_regions_answer *a, char *err, size_t errlen);

#endif
