/* tool_caps.h: the capabilities a test tool shows the servers, signed with the key that
 * $LEGO_CAPABILITY_KEY names (tests/lib/servers.sh makes a throw-away one), as an operator's
 * tool would with the cluster's capability-key.pem. Without the variable, none. */
#ifndef LEGO_TOOL_CAPS_H
#define LEGO_TOOL_CAPS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cap/cap_holder.h"

/* A holder of storage rights on vol (NULL: every volume), or NULL when there is no key. */
static inline struct cap_holder *tool_caps_storage(const char *vol, uint32_t rights)
{
	static struct cap_holder h;
	struct cap c = {.kind = CAP_KIND_STORAGE, .rights = rights};
	char err[512];
	int rc = cap_holder_init_env(&h, NULL, 3600, err, sizeof(err));

	if (rc > 0)
		return NULL;
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	if (vol) {
		c.nr_volumes = 1;
		snprintf(c.volumes[0].name, sizeof(c.volumes[0].name), "%s", vol);
		c.volumes[0].rights = rights & ~CAP_STOR_LIST;
		c.rights &= ~CAP_STOR_LIST;
	} else {
		c.flags = CAP_ALL_VOLUMES;
	}
	if (cap_holder_grant(&h, &c, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	return &h;
}

/* A holder of vNode vnode's memory rights on mem bytes of RAM in vRegions of region_size
 * (as lego-vmm --capability-key signs them), or NULL when there is no key. */
static inline struct cap_holder *tool_caps_memory(uint64_t vnode, uint64_t mem,
						  uint64_t region_size)
{
	static struct cap_holder h;
	struct cap c = {.kind = CAP_KIND_MEMORY,
			.rights = CAP_MEM_ALL,
			.vnode = vnode,
			.region_count = (uint32_t)((mem + region_size - 1) / region_size),
			.region_max = region_size,
			.quota = (mem + 4095) & ~4095ULL};
	char err[512];
	int rc = cap_holder_init_env(&h, NULL, 3600, err, sizeof(err));

	if (rc > 0)
		return NULL;
	if (rc < 0 || cap_holder_grant(&h, &c, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	return &h;
}

#endif
