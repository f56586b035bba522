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
	struct cap c = {0};
	char err[512];
	int rc = cap_holder_init_env(&h, NULL, 3600, err, sizeof(err));

	if (rc > 0)
		return NULL;
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	cap_storage_grant(&c, vol, vol ? rights & ~CAP_STOR_LIST : rights);
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

/* A memory capability for vnode signed by signer: rights on vRegions [first, first + count)
 * of any size, held by holder (as lego-controld signs them), into out: its length (0 and a
 * message when it cannot be signed). */
static inline size_t tool_caps_sign_memory(const struct cap_key *signer, uint64_t vnode,
					   uint32_t rights, uint32_t first, uint32_t count,
					   const uint8_t holder[CAP_KEY_LEN], uint8_t *out)
{
	struct cap c = {.kind = CAP_KIND_MEMORY,
			.rights = rights,
			.vnode = vnode,
			.issued = cap_now(),
			.expires = cap_now() + 600,
			.region_first = first,
			.region_count = count,
			.region_max = 1ULL << 40,
			.quota = 1ULL << 50};
	char err[256];
	size_t n;

	memcpy(c.holder, holder, CAP_KEY_LEN);
	n = cap_key_issue(signer, &c, out, err, sizeof(err));
	if (!n)
		fprintf(stderr, "%s\n", err);
	return n;
}

#endif
