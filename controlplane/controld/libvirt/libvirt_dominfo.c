/* libvirt_dominfo.c: the libvirt procedures that describe a vNode (dumpxml, state, info,
 * memory statistics from its lego-vmm, and the answers for what lego has none of). */
#include <stdlib.h>
#include <time.h>

#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_vnode.h"
#include "domain_xml.h"
#include "libvirt_dispatch.h"

#define MEMORY_STATS_MAX 1024 /* REMOTE_DOMAIN_MEMORY_STATS_MAX */

enum libvirt_result libvirt_dominfo_xml_desc(struct libvirt_call *c)
{
	/* INACTIVE (2): the definition the next start takes. */
	char *xml = c->a->flags & 2 ? domain_xml_format(controld_registry_next_def(c->v), -1)
				    : domain_xml_format(&c->v->def, c->v->id);

	if (!xml)
		return libvirt_dispatch_fail(c, RPC_ERR_INTERNAL, "out of memory");
	xdr_put_string(c->o, xml);
	free(xml);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_dominfo_state(struct libvirt_call *c)
{
	if (c->a->flags)
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG,
					     "unsupported flags (0x%x) in function "
					     "virDomainGetState",
					     c->a->flags);
	xdr_put_i32(c->o, c->v->state);
	xdr_put_i32(c->o, c->v->reason);
	return LIBVIRT_REPLY;
}

/* GET_INFO: state, memory, vCPUs, and the CPU time lego-vmm reports (asked without the
 * registry lock). */
enum libvirt_result libvirt_dominfo_info(struct libvirt_call *c)
{
	const struct controld_registry_vnode *v = c->v;
	uint64_t cpu_ns = 0, max_kib = v->def.memory_kib, cur_kib = v->def.current_kib;
	uint32_t vcpus = v->def.vcpus, state = (uint32_t)v->state;
	bool active = v->id >= 0;
	char *js = NULL;

	libvirt_dispatch_unlock(c);
	if (active && !controld_vnode_control(c->a->uuid, "stats", &js, c->err, sizeof(c->err)))
		cpu_ns = controld_vnode_json_u64(js, "cpu_time_ns");
	free(js);
	xdr_put_u32(c->o, state);
	xdr_put_u64(c->o, max_kib);
	xdr_put_u64(c->o, cur_kib);
	xdr_put_u32(c->o, vcpus);
	xdr_put_u64(c->o, cpu_ns);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_dominfo_max_memory(struct libvirt_call *c)
{
	xdr_put_u64(c->o, c->v->def.memory_kib);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_dominfo_os_type(struct libvirt_call *c)
{
	xdr_put_string(c->o, "hvm");
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_dominfo_is_active(struct libvirt_call *c)
{
	xdr_put_i32(c->o, c->v->id >= 0);
	return LIBVIRT_REPLY;
}

/* IS_UPDATED: a running vNode redefined since it started. */
enum libvirt_result libvirt_dominfo_is_updated(struct libvirt_call *c)
{
	xdr_put_i32(c->o, c->v->id >= 0 && c->v->next_def);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_dominfo_is_persistent(struct libvirt_call *c)
{
	xdr_put_i32(c->o, c->v->persistent);
	return LIBVIRT_REPLY;
}

/* IS_UPDATED, GET_AUTOSTART, HAS_MANAGED_SAVE_IMAGE, SNAPSHOT_NUM: no vNode has any. */
enum libvirt_result libvirt_dominfo_none(struct libvirt_call *c)
{
	xdr_put_i32(c->o, 0);
	return LIBVIRT_REPLY;
}

/* The pager's figures in libvirt's memory-stat tags. */
static void put_memory_stats(struct xdr_out *o, uint64_t max_kib, uint64_t cur_kib, const char *js,
			     uint32_t max)
{
	uint64_t faults = controld_vnode_json_u64(js, "faults"),
		 remote = controld_vnode_json_u64(js, "remote_fetches");
	struct {
		int tag;
		uint64_t val;
	} st[] = {
		{0, controld_vnode_json_u64(js, "bytes_in") /
			    1024}, /* swap_in: KiB fetched from servers */
		{1,
		 controld_vnode_json_u64(js, "bytes_out") / 1024}, /* swap_out: KiB written back */
		{2, remote},				    /* major: faults served remotely */
		{3, faults > remote ? faults - remote : 0}, /* minor: served locally */
		{5, max_kib},				    /* available */
		{6, cur_kib},				    /* actual */
		{7,
		 controld_vnode_json_u64(js, "resident_pages") * 4}, /* rss: ExCache resident KiB */
		{8, (controld_vnode_json_u64(js, "cache_pages") -
		     controld_vnode_json_u64(js, "resident_pages")) *
			    4},
		{9, (uint64_t)time(NULL)}, /* last_update */
	};
	uint32_t n = (uint32_t)(sizeof(st) / sizeof(st[0]));

	if (n > max)
		n = max;
	xdr_put_u32(o, n);
	for (uint32_t i = 0; i < n; i++) {
		xdr_put_i32(o, st[i].tag);
		xdr_put_u64(o, st[i].val);
	}
}

enum libvirt_result libvirt_dominfo_memory_stats(struct libvirt_call *c)
{
	uint64_t max_kib, cur_kib;
	char *js = NULL;

	if (c->a->u1 > MEMORY_STATS_MAX)
		return libvirt_dispatch_fail(c, RPC_ERR_RPC,
					     "too many memory stats requested: %u > %d", c->a->u1,
					     MEMORY_STATS_MAX);
	if (c->a->flags)
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG, "unsupported flags (0x%x)",
					     c->a->flags);
	if (c->v->id < 0)
		return libvirt_dispatch_fail(
			c, RPC_ERR_OPERATION_INVALID,
			"Requested operation is not valid: domain is not running");
	max_kib = c->v->def.memory_kib;
	cur_kib = c->v->def.current_kib;
	libvirt_dispatch_unlock(c);
	c->ecode = controld_vnode_control(c->a->uuid, "stats", &js, c->err, sizeof(c->err));
	if (!c->ecode)
		put_memory_stats(c->o, max_kib, cur_kib, js, c->a->u1);
	free(js);
	return c->ecode ? LIBVIRT_FAILED : LIBVIRT_REPLY;
}
