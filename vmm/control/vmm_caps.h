/* vmm_caps.h: the capabilities lego-vmm shows the memory and storage servers: from
 * lego-controld (--capability FILE, renewed through the control socket) or signed here
 * (--capability-key FILE: a standalone vNode), covering exactly its vRegions and disks. */
#ifndef LEGO_VMM_CAPS_H
#define LEGO_VMM_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cap/cap_holder.h"

struct vmm_options;

struct vmm_caps {
	const char *file; /* --capability */
	const char *key;  /* --capability-key */
	uint32_t lifetime;
	bool ready; /* holder holds what the options gave */
	struct cap_holder holder;
};

void vmm_caps_init(struct vmm_options *c);
/* After the memory and disk options: load or sign the capabilities. */
int vmm_caps_finish(struct vmm_options *c, char *err, size_t errlen);
void vmm_caps_free(struct vmm_caps *k);
/* The holder to present (NULL: none was given; servers that require one refuse). */
struct cap_holder *vmm_caps_holder(struct vmm_options *c);

#endif
