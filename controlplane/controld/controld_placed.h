/* controld_placed.h: what the active vNodes placed by lego-controld use on every component
 * (cores and ExCache bytes on processor hosts, vRegion copies on memory servers), in one
 * pass over the vNodes: placing a vNode looks at every host and server, and a pass per
 * component would cost hosts x vNodes per start. */
#ifndef LEGO_CONTROLD_PLACED_H
#define LEGO_CONTROLD_PLACED_H

#include <stdint.h>

struct controld_placed {
	uint32_t cores;
	uint64_t bytes;
};

/* use[i] for controld_registry_component_at(i), for every i below
 * controld_registry_nr_components(), as controld_vnode_placed_use says for each; under the
 * registry lock. */
void controld_placed_all(struct controld_placed *use);

#endif
