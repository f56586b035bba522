/* controld_autostart.h: vNodes started by lego-controld itself: those marked autostart
 * (`virsh autostart`: the mark kept in the state directory's file `autostart`, one uuid a
 * line), once lego-controld has started, and those whose <on_poweroff>/<on_crash> says
 * restart, once their guest ended; each as soon as the cluster has room for it. */
#ifndef LEGO_CONTROLD_AUTOSTART_H
#define LEGO_CONTROLD_AUTOSTART_H

#include <stdbool.h>
#include <stdint.h>

struct controld_registry_vnode;

/* Read the marks back (after controld_registry_store_init), then start the thread that
 * starts the marked inactive vNodes, retrying each every retry_ms until it runs or is no
 * longer marked. 0, or -1 if no thread could be made. */
int controld_autostart_begin(int retry_ms);
/* Mark or unmark v (a persistent vNode), in the state directory too; under the registry
 * lock. 0, or -1 if the file could not be written. */
int controld_autostart_set(struct controld_registry_vnode *v, bool on);

/* A vNode whose guest ended by itself and whose <on_poweroff> or <on_crash> says restart:
 * started again by a thread of its own, retried every retry_ms until it runs (or is
 * undefined, or started by someone else). */
void controld_autostart_restart(const uint8_t uuid[16], const char *why);

#endif
