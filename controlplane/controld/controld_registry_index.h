/* controld_registry_index.h: hash indexes over the registry's tables (vNodes by uuid,
 * components by kind and name, the vNodes running on a processor host), for lookups that
 * happen many times a second at scale. Hints only: a lookup that misses falls back to a
 * scan of the table (controld_registry.c). Under the registry lock. */
#ifndef LEGO_CONTROLD_REGISTRY_INDEX_H
#define LEGO_CONTROLD_REGISTRY_INDEX_H

#include "controld_registry.h"

/* v is in the table now (or its uuid changed). */
void controld_registry_index_add_vnode(struct controld_registry_vnode *v);
/* A vNode left the table: the indexes forget every pointer to it. */
void controld_registry_index_vnodes_changed(void);
struct controld_registry_vnode *controld_registry_index_find_uuid(const uint8_t uuid[16]);
/* The component in that slot (controld_registry_component_at) has its kind and name. */
void controld_registry_index_add_component(int slot);
struct controld_registry_component *controld_registry_index_find_component(int kind,
									   const char *name);
/* The vNodes with a run on processor host host (at most max into out): every one placed
 * there more than HOST_MAX_AGE ms ago (100), and maybe newer ones. */
int controld_registry_index_on_host(const char *host, struct controld_registry_vnode **out,
				    int max);

#endif
