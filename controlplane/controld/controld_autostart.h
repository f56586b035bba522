/* controld_autostart.h: vNodes marked autostart (`virsh autostart`): the mark kept in the
 * state directory (the file `autostart`, one uuid a line), and those vNodes started once
 * lego-controld has started, each as soon as the cluster has room for it. */
#ifndef LEGO_CONTROLD_AUTOSTART_H
#define LEGO_CONTROLD_AUTOSTART_H

#include <stdbool.h>

struct controld_registry_vnode;

/* Read the marks back (after controld_registry_store_init), then start the thread that
 * starts the marked inactive vNodes, retrying each every retry_ms until it runs or is no
 * longer marked. 0, or -1 if no thread could be made. */
int controld_autostart_begin(int retry_ms);
/* Mark or unmark v (a persistent vNode), in the state directory too; under the registry
 * lock. 0, or -1 if the file could not be written. */
int controld_autostart_set(struct controld_registry_vnode *v, bool on);

#endif
