/* controld_registry_store.h: what the registry's files share (not for the rest of
 * lego-controld, which uses controld_registry.h): the state directory's side
 * (controld_registry_store.c) and the tables' (controld_registry.c). */
#ifndef LEGO_CONTROLD_REGISTRY_STORE_H
#define LEGO_CONTROLD_REGISTRY_STORE_H

#include <stdbool.h>

#include "controld_registry.h"

/* The state directory; each returns 0, or -1 after logging why. */
int controld_registry_store_def(const struct controld_registry_vnode *v); /* domains/NAME.xml */
int controld_registry_store_remove_def(
	const struct controld_registry_vnode *v); /* and the definition goes */
void controld_registry_store_remove_run(const struct controld_registry_vnode *v);
/* The next domain id (ids are not reused across restarts: next-id). */
int controld_registry_store_take_id(void);
/* An id found in use (an adopted run): the next ones are above it. */
void controld_registry_store_see_id(int id);
/* The memory servers drained or being drained (the file draining). */
bool controld_registry_store_is_draining(const char *name);
/* Add or remove a name (no file written: -1 when the list is full). */
int controld_registry_store_mark_draining(const char *name, bool on);
int controld_registry_store_save_draining(void);
/* Other entries of the state (networks/NAME.net): SUB/NAME replaced atomically with text. */
int controld_registry_store_put(const char *sub, const char *name, const char *text);

/* The tables: a new inactive vNode of definition d (NULL when full), and a vNode's run
 * forgotten (placement, map, disks, migration, lego-vmm's options). */
struct controld_registry_vnode *controld_registry_new_vnode(const struct domain_xml_def *d);
void controld_registry_drop_run(struct controld_registry_vnode *v);

#endif
