/* fabric_dl.h: libfabric's few exported entry points, resolved with dlopen on first use.
 *
 * Linking libfabric directly makes every lego-vmm start load it and the RDMA stacks it
 * depends on (verbs, psm, psm2, efa, ...): measured 0.2 s per start on our machines, even
 * for a vNode with local memory. Everything else in libfabric is reached through the ops
 * tables of the objects these return, so only these need resolving.
 */
#ifndef LEGO_FABRIC_DL_H
#define LEGO_FABRIC_DL_H

#include <rdma/fabric.h>

struct fabric_dl {
	int (*getinfo)(uint32_t version, const char *node, const char *service, uint64_t flags,
		       const struct fi_info *hints, struct fi_info **info);
	void (*freeinfo)(struct fi_info *info);
	struct fi_info *(*dupinfo)(const struct fi_info *info);
	int (*fabric)(struct fi_fabric_attr *attr, struct fid_fabric **fabric, void *context);
	const char *(*strerror)(int errnum);
};

/* The loaded entry points, or NULL after logging why libfabric cannot be used. */
const struct fabric_dl *fabric_dl(void);

#endif
