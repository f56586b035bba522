/* libvirt_stats.c: `virsh domstats` (CONNECT_GET_ALL_DOMAIN_STATS): libvirt's state, cpu,
 * balloon and vcpu groups, and lego's own figures under the `lego.` prefix (ExCache,
 * faults, remote fetches, write-backs from lego-vmm's stats; placement from
 * lego-controld). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_vnode.h"
#include "lib/uuid_str.h"
#include "libvirt_dispatch.h"

#define STATS_MAX 4096 /* REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX */

/* virDomainStatsTypes lego fills (0 asks for all). */
enum { ST_STATE = 1, ST_CPU = 2, ST_BALLOON = 4, ST_VCPU = 8, ST_LEGO = 1 << 20 };
/* virConnectGetAllDomainStatsFlags: the list filters; the others change nothing here. */
enum { SF_ACTIVE = 1, SF_INACTIVE = 2, SF_RUNNING = 16, SF_PAUSED = 32, SF_SHUTOFF = 64 };

/* What one record needs, copied under the registry lock. */
struct rec {
	char name[DOM_NAME_MAX + 1], host[CP_NAME_LEN + 1];
	uint8_t uuid[16];
	int id, state, reason, regions, replication;
	uint32_t vcpus, max_vcpus;
	uint64_t mem_kib, cur_kib, excache_kib;
	char *stats; /* lego-vmm's stats JSON (active vNodes), malloc'ed */
};

static void tp_head(struct xdr_out *o, const char *field, int type)
{
	xdr_put_string(o, field);
	xdr_put_i32(o, type);
}

static void tp_int(struct xdr_out *o, const char *f, int32_t v)
{
	tp_head(o, f, 1);
	xdr_put_i32(o, v);
}

static void tp_uint(struct xdr_out *o, const char *f, uint32_t v)
{
	tp_head(o, f, 2);
	xdr_put_u32(o, v);
}

static void tp_ull(struct xdr_out *o, const char *f, uint64_t v)
{
	tp_head(o, f, 4);
	xdr_put_u64(o, v);
}

static void tp_str(struct xdr_out *o, const char *f, const char *v)
{
	tp_head(o, f, 7);
	xdr_put_string(o, v);
}

static bool wanted(const struct controld_registry_vnode *v, uint32_t f)
{
	bool active = v->id >= 0;

	if ((f & (SF_ACTIVE | SF_INACTIVE)) &&
	    !((f & SF_ACTIVE && active) || (f & SF_INACTIVE && !active)))
		return false;
	if ((f & (SF_RUNNING | SF_PAUSED | SF_SHUTOFF)) &&
	    !((f & SF_RUNNING && v->state == VN_RUNNING) ||
	      (f & SF_PAUSED && v->state == VN_PAUSED) ||
	      (f & SF_SHUTOFF && v->state == VN_SHUTOFF)))
		return false;
	return true;
}

static void take(struct rec *r, const struct controld_registry_vnode *v)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", v->def.name);
	snprintf(r->host, sizeof(r->host), "%s", v->host);
	memcpy(r->uuid, v->def.uuid, 16);
	r->id = v->id;
	r->state = v->state;
	r->reason = v->reason;
	r->vcpus = v->def.vcpus;
	r->max_vcpus = v->def.vcpus;
	r->mem_kib = v->def.memory_kib;
	r->cur_kib = v->def.current_kib;
	r->excache_kib = v->def.excache_kib ? v->def.excache_kib : v->def.memory_kib;
	r->regions = v->map.nr_regions;
	r->replication = v->replication;
}

/* The records asked for: the named vNodes, or every one the flags let through. */
static struct rec *collect(struct libvirt_call *c, uint32_t *n)
{
	struct rec *r;
	uint32_t cap = c->a->nuuids ? c->a->nuuids : (uint32_t)controld_registry_nr_vnodes();

	*n = 0;
	r = calloc(cap ? cap : 1, sizeof(*r));
	if (!r) {
		libvirt_dispatch_fail(c, RPC_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < c->a->nuuids; i++) {
		const struct controld_registry_vnode *v =
			controld_registry_find_uuid(c->a->uuids[i]);
		char u[UUID_STR_LEN];

		if (!v) {
			uuid_str_format(c->a->uuids[i], u);
			libvirt_dispatch_fail(c, RPC_ERR_NO_DOMAIN,
					      "Domain not found: no domain with matching uuid '%s'",
					      u);
			free(r);
			return NULL;
		}
		take(&r[(*n)++], v);
	}
	for (int i = 0; !c->a->nuuids && i < controld_registry_nr_vnodes() && *n < cap; i++)
		if (wanted(controld_registry_vnode_at(i), c->a->flags))
			take(&r[(*n)++], controld_registry_vnode_at(i));
	return r;
}

/* lego's own figures. */
static uint32_t put_lego(struct xdr_out *o, const struct rec *r)
{
	static const char *const keys[] = {"faults",	 "remote_fetches", "pages_fetched",
					   "zero_fills", "evictions",	   "writebacks",
					   "dirty_pages"};
	char f[64];
	uint32_t n = 0;

	tp_ull(o, "lego.excache.bytes", r->excache_kib * 1024);
	n++;
	if (r->id < 0)
		return n;
	tp_str(o, "lego.host", r->host);
	tp_uint(o, "lego.regions", (uint32_t)r->regions);
	tp_uint(o, "lego.replication", (uint32_t)r->replication);
	n += 3;
	if (!r->stats)
		return n;
	tp_ull(o, "lego.excache.pages", controld_vnode_json_u64(r->stats, "cache_pages"));
	tp_ull(o, "lego.excache.resident_pages",
	       controld_vnode_json_u64(r->stats, "resident_pages"));
	n += 2;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(f, sizeof(f), "lego.%s", keys[i]);
		tp_ull(o, f, controld_vnode_json_u64(r->stats, keys[i]));
		n++;
	}
	return n;
}

static void put_record(struct xdr_out *o, const struct rec *r, uint32_t groups)
{
	size_t count_at;
	uint32_t n = 0;

	xdr_put_string(o, r->name);
	xdr_put_fixed(o, r->uuid, 16);
	xdr_put_i32(o, r->id);
	count_at = o->len;
	xdr_put_u32(o, 0);
	if (groups & ST_STATE) {
		tp_int(o, "state.state", r->state);
		tp_int(o, "state.reason", r->reason);
		n += 2;
	}
	if ((groups & ST_CPU) && r->stats) {
		tp_ull(o, "cpu.time", controld_vnode_json_u64(r->stats, "cpu_time_ns"));
		n++;
	}
	if (groups & ST_BALLOON) {
		tp_ull(o, "balloon.current", r->cur_kib);
		tp_ull(o, "balloon.maximum", r->mem_kib);
		n += 2;
	}
	if (groups & ST_VCPU) {
		tp_uint(o, "vcpu.current", r->vcpus);
		tp_uint(o, "vcpu.maximum", r->max_vcpus);
		n += 2;
	}
	if (groups & ST_LEGO)
		n += put_lego(o, r);
	xdr_patch_u32(o, count_at, n);
}

/* CONNECT_GET_ALL_DOMAIN_STATS (doms<>; u32 stats; u32 flags). lego-vmm is asked without
 * the registry lock. */
enum libvirt_result libvirt_stats_all(struct libvirt_call *c)
{
	uint32_t groups = c->a->u1, n;
	struct rec *r;

	/* No group named (0) or any beyond lego's: all of lego's, as libvirtd gives what it
	 * has unless ENFORCE_STATS (1 << 31) asks otherwise. */
	if ((c->a->flags & (1U << 31)) &&
	    (groups & ~(uint32_t)(ST_STATE | ST_CPU | ST_BALLOON | ST_VCPU)))
		return libvirt_dispatch_fail(c, RPC_ERR_ARGUMENT_UNSUPPORTED,
					     "argument unsupported: lego has only the state, cpu, "
					     "balloon and vcpu groups (and its own lego.*)");
	groups = groups ? groups | ST_LEGO : ST_STATE | ST_CPU | ST_BALLOON | ST_VCPU | ST_LEGO;
	libvirt_dispatch_lock(c);
	r = collect(c, &n);
	libvirt_dispatch_unlock(c);
	if (!r)
		return LIBVIRT_FAILED;
	for (uint32_t i = 0; i < n; i++)
		if (r[i].id >= 0 && (groups & (ST_CPU | ST_LEGO)) &&
		    controld_vnode_control(r[i].uuid, "stats", &r[i].stats, c->err, sizeof(c->err)))
			r[i].stats = NULL; /* it just stopped: the rest is still true */
	c->err[0] = '\0';
	xdr_put_u32(c->o, n > STATS_MAX ? STATS_MAX : n);
	for (uint32_t i = 0; i < n && i < STATS_MAX; i++)
		put_record(c->o, &r[i], groups);
	for (uint32_t i = 0; i < n; i++)
		free(r[i].stats);
	free(r);
	return LIBVIRT_REPLY;
}
