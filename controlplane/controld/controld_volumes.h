/* controld_volumes.h: a storage volume is attached read-write to one running vNode at a
 * time, unless every running attachment of it is <shareable/> (or all are read-only), as
 * libvirt's lock manager keeps a disk image from being written by two guests. */
#ifndef LEGO_CONTROLD_VOLUMES_H
#define LEGO_CONTROLD_VOLUMES_H

#include <stddef.h>

struct controld_registry_vnode;

/* May v (about to start, under the registry lock and the lifecycle mutex) attach its disks
 * next to what the active vNodes hold? 0, or a libvirt error code with err naming the
 * volume and the vNode that holds it. */
int controld_volumes_check(const struct controld_registry_vnode *v, char *err, size_t errlen);

#endif
