/* controld_placed.c: the use of every component by the placed vNodes, in one pass. */
#include "controld_placed.h"

#include <string.h>

#include "controld_registry.h"

static struct controld_placed *slot(struct controld_placed *use, int kind, const char *name)
{
	struct controld_registry_component *c = controld_registry_find_component(kind, name);

	return c ? &use[c - controld_registry_component_at(0)] : NULL;
}

void controld_placed_all(struct controld_placed *use)
{
	memset(use, 0, (size_t)controld_registry_nr_components() * sizeof(*use));
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);
		uint64_t ram = v->def.memory_kib * 1024;
		uint32_t cores = v->run_args ? v->run_vcpus : v->def.vcpus;
		uint64_t cache = v->run_args ? v->run_excache
					     : (v->def.excache_kib ? v->def.excache_kib
								   : v->def.memory_kib) *
						       1024;
		struct controld_placed *u;

		if (v->id < 0)
			continue;
		/* A migration's destination holds the vNode's cores and ExCache too. */
		if ((u = slot(use, CP_KIND_PMON, v->host))) {
			u->cores += cores;
			u->bytes += cache;
		}
		if (v->mig.active && strcmp(v->mig.dest, v->host) &&
		    (u = slot(use, CP_KIND_PMON, v->mig.dest))) {
			u->cores += cores;
			u->bytes += cache;
		}
		for (int s = 0; s < v->map.nr_mmons; s++) {
			if (!(u = slot(use, CP_KIND_MMON, v->map.mmon[s])))
				continue;
			for (int r = 0; r < v->map.nr_regions; r++)
				if (vnode_map_has_copy(&v->map, r, s))
					u->bytes += vnode_map_region_bytes(r, v->map.nr_regions,
									   ram, v->region_size);
		}
		/* A copy being added there is reserved already. */
		if (v->step_to[0] && (u = slot(use, CP_KIND_MMON, v->step_to)))
			u->bytes += v->step_bytes;
	}
}
