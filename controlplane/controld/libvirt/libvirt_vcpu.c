/* libvirt_vcpu.c: a vNode's vCPUs as libvirt describes them (vcpucount, vcpuinfo, the
 * maximum): the live definition's while it runs, the persistent one's for --config; lego
 * does not pin vCPUs nor add them while a vNode runs. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_vnode.h"
#include "libvirt_dispatch.h"

#define VCPUINFO_MAX 16384   /* REMOTE_VCPUINFO_MAX */
#define CPUMAPS_MAX  8388608 /* REMOTE_CPUMAPS_MAX */

/* virDomainVcpuFlags / virDomainModificationImpact. */
enum {
	VCPU_LIVE = 1,
	VCPU_CONFIG = 2,
	VCPU_MAXIMUM = 4,
	VCPU_GUEST = 8,
	VCPU_HOTPLUGGABLE = 16,
};

/* DOMAIN_GET_MAX_VCPUS: what it runs with (no hot-plug: also its maximum). */
enum libvirt_result libvirt_vcpu_max(struct libvirt_call *c)
{
	xdr_put_i32(c->o, (int32_t)c->v->def.vcpus);
	return LIBVIRT_REPLY;
}

/* DOMAIN_GET_VCPUS_FLAGS (dom; flags): the count virsh vcpucount shows. */
enum libvirt_result libvirt_vcpu_count(struct libvirt_call *c)
{
	uint32_t f = c->a->flags;
	bool active = c->v->id >= 0, live;

	if (f & ~(uint32_t)(VCPU_LIVE | VCPU_CONFIG | VCPU_MAXIMUM | VCPU_GUEST))
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG,
					     "unsupported flags (0x%x) in function "
					     "virDomainGetVcpusFlags",
					     f);
	if ((f & VCPU_LIVE) && (f & VCPU_CONFIG))
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG,
					     "invalid argument: flags 'affect live' and 'affect "
					     "config' are mutually exclusive");
	if (f & VCPU_GUEST)
		return libvirt_dispatch_fail(c, RPC_ERR_ARGUMENT_UNSUPPORTED,
					     "argument unsupported: lego has no guest agent to "
					     "ask the guest's own vCPU count");
	live = (f & VCPU_LIVE) || (!(f & VCPU_CONFIG) && active);
	if (live && !active)
		return libvirt_dispatch_fail(c, RPC_ERR_OPERATION_INVALID,
					     "Requested operation is not valid: domain is not "
					     "running");
	xdr_put_i32(c->o,
		    (int32_t)(live ? c->v->def.vcpus : controld_registry_next_def(c->v)->vcpus));
	return LIBVIRT_REPLY;
}

/* DOMAIN_GET_VCPUS (dom; int maxinfo; int maplen): each vCPU running, its time unknown
 * per vCPU (lego-vmm counts the vNode's whole: cpu.time in domstats), no pinning (every
 * CPU of the map). */
enum libvirt_result libvirt_vcpu_info(struct libvirt_call *c)
{
	int32_t maxinfo = c->a->i1, maplen = (int32_t)c->a->u1;
	uint32_t n = c->v->def.vcpus;
	uint8_t *maps;

	if (c->v->id < 0)
		return libvirt_dispatch_fail(c, RPC_ERR_OPERATION_INVALID,
					     "Requested operation is not valid: cannot list vcpu "
					     "pinning for an inactive domain");
	if (maxinfo < 1 || maxinfo > VCPUINFO_MAX || maplen < 0 ||
	    (int64_t)maxinfo * maplen > CPUMAPS_MAX)
		return libvirt_dispatch_fail(c, RPC_ERR_RPC,
					     "maxinfo %d and maplen %d are out of bounds", maxinfo,
					     maplen);
	if (n > (uint32_t)maxinfo)
		n = (uint32_t)maxinfo;
	xdr_put_u32(c->o, n);
	for (uint32_t i = 0; i < n; i++) {
		xdr_put_u32(c->o, i);				     /* number */
		xdr_put_i32(c->o, c->v->state == VN_PAUSED ? 2 : 1); /* BLOCKED, RUNNING */
		xdr_put_u64(c->o, 0);				     /* cpu_time: not per vCPU */
		xdr_put_i32(c->o, -1);				     /* cpu: not pinned */
	}
	maps = malloc((size_t)n * (size_t)maplen + 1);
	if (!maps)
		return libvirt_dispatch_fail(c, RPC_ERR_INTERNAL, "out of memory");
	memset(maps, 0xff, (size_t)n * (size_t)maplen);
	xdr_put_opaque(c->o, maps, n * (uint32_t)maplen);
	free(maps);
	return LIBVIRT_REPLY;
}
