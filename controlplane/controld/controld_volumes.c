/* controld_volumes.c: the attachment rule for storage volumes across running vNodes. */
#include "controld_volumes.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "controld_registry.h"
#include "controlplane/controld/libvirt/rpc_proto.h"

/* The same volume: the same name, on the same server when both name one. */
static bool same_volume(const struct domain_xml_disk *a, const struct domain_xml_disk *b)
{
	if (strcmp(a->volume, b->volume))
		return false;
	return !a->host[0] || !b->host[0] || (!strcmp(a->host, b->host) && a->port == b->port);
}

/* Two attachments may coexist when both only read, or both say <shareable/>. */
static bool compatible(const struct domain_xml_disk *a, const struct domain_xml_disk *b)
{
	return (a->readonly && b->readonly) || (a->shareable && b->shareable);
}

int controld_volumes_check(const struct controld_registry_vnode *v, char *err, size_t errlen)
{
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *o = controld_registry_vnode_at(i);

		if (o == v || o->id < 0)
			continue;
		for (int a = 0; a < v->def.nr_disks; a++)
			for (int b = 0; b < o->def.nr_disks; b++) {
				const struct domain_xml_disk *mine = &v->def.disks[a],
							     *theirs = &o->def.disks[b];

				if (!same_volume(mine, theirs) || compatible(mine, theirs))
					continue;
				snprintf(err, errlen,
					 "Requested operation is not valid: volume '%s' (disk %s) "
					 "is attached %s to running vNode '%s' (disk %s): two "
					 "vNodes share a volume only when both disks are "
					 "<shareable/> (or both <readonly/>)",
					 mine->volume, mine->target[0] ? mine->target : "?",
					 theirs->readonly ? "read-only" : "read-write", o->def.name,
					 theirs->target[0] ? theirs->target : "?");
				return RPC_ERR_OPERATION_INVALID;
			}
	}
	return 0;
}
