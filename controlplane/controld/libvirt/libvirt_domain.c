/* libvirt_domain.c: the libvirt procedures that find vNodes (lookups, the list), define
 * and undefine them, and start, stop, pause and resume them (through controld_vnode.c). */
#include <stdlib.h>
#include <string.h>

#include "controlplane/controld/controld_autostart.h"
#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_vnode.h"
#include "domain_xml.h"
#include "lib/log.h"
#include "lib/uuid_str.h"
#include "libvirt_dispatch.h"
#include "libvirt_events.h"

#define DOMAIN_LIST_MAX 16384 /* REMOTE_DOMAIN_LIST_MAX */

/* virConnectListAllDomainsFlags. */
enum {
	LIST_ACTIVE = 1,
	LIST_INACTIVE = 2,
	LIST_PERSISTENT = 4,
	LIST_TRANSIENT = 8,
	LIST_RUNNING = 16,
	LIST_PAUSED = 32,
	LIST_SHUTOFF = 64,
	LIST_OTHER = 128,
	LIST_MANAGEDSAVE = 256,
	LIST_NO_MANAGEDSAVE = 512,
	LIST_AUTOSTART = 1024,
	LIST_NO_AUTOSTART = 2048,
	LIST_HAS_SNAPSHOT = 4096,
	LIST_NO_SNAPSHOT = 8192,
	LIST_HAS_CHECKPOINT = 16384,
	LIST_NO_CHECKPOINT = 32768,
};

/* ---- finding vNodes -------------------------------------------------------------------- */

/* The lookups: the vNode found under the registry lock (held until the call ends). */
enum libvirt_result libvirt_domain_lookup_by_id(struct libvirt_call *c)
{
	struct controld_registry_vnode *v;

	libvirt_dispatch_lock(c);
	v = controld_registry_find_id(c->a->i1);
	if (!v)
		return libvirt_dispatch_fail(c, RPC_ERR_NO_DOMAIN,
					     "Domain not found: no domain with matching id %d",
					     c->a->i1);
	libvirt_dispatch_put_dom(c->o, v);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_domain_lookup_by_name(struct libvirt_call *c)
{
	struct controld_registry_vnode *v;

	libvirt_dispatch_lock(c);
	v = controld_registry_find_name(c->a->name);
	if (!v)
		return libvirt_dispatch_fail(c, RPC_ERR_NO_DOMAIN,
					     "Domain not found: no domain with matching name '%s'",
					     c->a->name);
	libvirt_dispatch_put_dom(c->o, v);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_domain_lookup_by_uuid(struct libvirt_call *c)
{
	char u[UUID_STR_LEN];
	struct controld_registry_vnode *v;

	libvirt_dispatch_lock(c);
	v = controld_registry_find_uuid(c->a->uuid);
	if (v) {
		libvirt_dispatch_put_dom(c->o, v);
		return LIBVIRT_REPLY;
	}
	uuid_str_format(c->a->uuid, u);
	return libvirt_dispatch_fail(c, RPC_ERR_NO_DOMAIN,
				     "Domain not found: no domain with matching uuid '%s'", u);
}

static bool list_match(const struct controld_registry_vnode *v, uint32_t f)
{
	bool active = v->id >= 0;

	if ((f & (LIST_ACTIVE | LIST_INACTIVE)) &&
	    !((f & LIST_ACTIVE && active) || (f & LIST_INACTIVE && !active)))
		return false;
	if ((f & (LIST_PERSISTENT | LIST_TRANSIENT)) &&
	    !((f & LIST_PERSISTENT && v->persistent) || (f & LIST_TRANSIENT && !v->persistent)))
		return false;
	if ((f & (LIST_RUNNING | LIST_PAUSED | LIST_SHUTOFF | LIST_OTHER)) &&
	    !((f & LIST_RUNNING && v->state == VN_RUNNING) ||
	      (f & LIST_PAUSED && v->state == VN_PAUSED) ||
	      (f & LIST_SHUTOFF && v->state == VN_SHUTOFF)))
		return false;
	/* No vNode has a managed save image, snapshots or checkpoints. */
	if ((f & (LIST_MANAGEDSAVE | LIST_NO_MANAGEDSAVE)) && !(f & LIST_NO_MANAGEDSAVE))
		return false;
	if ((f & (LIST_AUTOSTART | LIST_NO_AUTOSTART)) &&
	    !((f & LIST_AUTOSTART && v->autostart) || (f & LIST_NO_AUTOSTART && !v->autostart)))
		return false;
	if ((f & (LIST_HAS_SNAPSHOT | LIST_NO_SNAPSHOT)) && !(f & LIST_NO_SNAPSHOT))
		return false;
	if ((f & (LIST_HAS_CHECKPOINT | LIST_NO_CHECKPOINT)) && !(f & LIST_NO_CHECKPOINT))
		return false;
	return true;
}

/* CONNECT_LIST_ALL_DOMAINS: the domains (only counted unless need_results), then the count. */
enum libvirt_result libvirt_domain_list_all(struct libvirt_call *c)
{
	struct xdr_out *o = c->o;
	bool results = c->a->i1 > 0;
	size_t count_at;
	uint32_t n = 0;

	libvirt_dispatch_lock(c);
	count_at = o->len;
	xdr_put_u32(o, 0);
	for (int i = 0; i < controld_registry_nr_vnodes() && n < DOMAIN_LIST_MAX; i++) {
		struct controld_registry_vnode *d = controld_registry_vnode_at(i);

		if (!list_match(d, c->a->flags))
			continue;
		if (results)
			libvirt_dispatch_put_dom(o, d);
		n++;
	}
	xdr_patch_u32(o, count_at, results ? n : 0);
	xdr_put_u32(o, n);
	return LIBVIRT_REPLY;
}

/* ---- definitions ----------------------------------------------------------------------- */

/* DEFINE_XML and DEFINE_XML_FLAGS. */
enum libvirt_result libvirt_domain_define(struct libvirt_call *c)
{
	struct domain_xml_def *d = malloc(sizeof(*d));
	uint32_t flags = c->a->flags;
	char u[UUID_STR_LEN];
	struct controld_registry_vnode *v;
	int rc;

	if (!d)
		return libvirt_dispatch_fail(c, RPC_ERR_INTERNAL, "out of memory");
	if (flags & ~1U) { /* VALIDATE is the only flag; the parser always validates */
		free(d);
		return libvirt_dispatch_fail(
			c, RPC_ERR_INVALID_ARG,
			"unsupported flags (0x%x) in function virDomainDefineXMLFlags",
			flags & ~1U);
	}
	rc = domain_xml_parse(c->a->xml, strlen(c->a->xml), d, c->err, sizeof(c->err));
	if (!rc && !d->has_uuid) {
		uuid_str_generate(d->uuid);
		d->has_uuid = true;
	}
	if (!rc) {
		controld_registry_ops_lock();
		controld_registry_lock();
		bool existed = controld_registry_find_uuid(d->uuid) != NULL;

		rc = controld_registry_define(d, &v, c->err, sizeof(c->err));
		if (!rc) {
			uuid_str_format(v->def.uuid, u);
			log_info("defined vNode %s (%s)", v->def.name, u);
			libvirt_dispatch_put_dom(c->o, v);
			/* DEFINED_ADDED 0, DEFINED_UPDATED 1 */
			libvirt_events_lifecycle(v->def.name, v->def.uuid, v->id,
						 LIBVIRT_EVENT_DEFINED, existed);
		}
		controld_registry_unlock();
		controld_registry_ops_unlock();
	}
	free(d);
	c->ecode = rc;
	return rc ? LIBVIRT_FAILED : LIBVIRT_REPLY;
}

/* UNDEFINE and UNDEFINE_FLAGS. */
enum libvirt_result libvirt_domain_undefine(struct libvirt_call *c)
{
	struct controld_registry_vnode *v;
	int rc;

	if (c->a->flags & ~127U)
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG,
					     "unsupported flags (0x%x) in function "
					     "virDomainUndefineFlags",
					     c->a->flags & ~127U);
	if (!c->v->persistent)
		return libvirt_dispatch_fail(
			c, RPC_ERR_OPERATION_INVALID,
			"Requested operation is not valid: cannot undefine transient domain");
	libvirt_dispatch_unlock(c);
	controld_registry_ops_lock();
	controld_registry_lock();
	v = controld_registry_find_uuid(c->a->uuid);
	if (v && v->autostart) /* libvirtd drops the mark with the definition */
		controld_autostart_set(v, false);
	rc = v ? controld_registry_undefine(v, c->err, sizeof(c->err)) : 0;
	controld_registry_unlock();
	controld_registry_ops_unlock();
	if (rc) {
		c->ecode = rc;
		return LIBVIRT_FAILED;
	}
	log_info("undefined vNode %s", c->a->name ? c->a->name : "?");
	libvirt_events_lifecycle(c->a->name ? c->a->name : "", c->a->uuid, -1,
				 LIBVIRT_EVENT_UNDEFINED, 0 /* REMOVED */);
	return LIBVIRT_REPLY;
}

/* ---- the lifecycle --------------------------------------------------------------------- */

static enum libvirt_result start(struct libvirt_call *c)
{
	if (c->a->flags)
		return libvirt_dispatch_fail(
			c, RPC_ERR_ARGUMENT_UNSUPPORTED,
			"argument unsupported: lego starts vNodes running only (flags 0x%x)",
			c->a->flags);
	libvirt_dispatch_unlock(c);
	c->ecode = controld_vnode_start(c->a->uuid, c->err, sizeof(c->err));
	return c->ecode ? LIBVIRT_FAILED : LIBVIRT_REPLY;
}

enum libvirt_result libvirt_domain_create(struct libvirt_call *c)
{
	return start(c);
}

/* As CREATE, and the reply names the domain with its new id. */
enum libvirt_result libvirt_domain_create_with_flags(struct libvirt_call *c)
{
	enum libvirt_result r = start(c);
	struct controld_registry_vnode *v;

	if (r != LIBVIRT_REPLY)
		return r;
	libvirt_dispatch_lock(c);
	v = controld_registry_find_uuid(c->a->uuid);
	if (!v)
		return libvirt_dispatch_fail(c, RPC_ERR_NO_DOMAIN,
					     "Domain not found: undefined while starting");
	libvirt_dispatch_put_dom(c->o, v);
	return LIBVIRT_REPLY;
}

/* destroy --graceful (1) and shutdown --mode signal (8) are what lego does anyway. */
static enum libvirt_result stop(struct libvirt_call *c, bool destroy)
{
	if (c->a->flags & ~(destroy ? 1U : 8U))
		return libvirt_dispatch_fail(c, RPC_ERR_ARGUMENT_UNSUPPORTED,
					     "argument unsupported: unsupported flags (0x%x)",
					     c->a->flags);
	libvirt_dispatch_unlock(c);
	c->ecode = controld_vnode_stop(c->a->uuid, destroy, c->err, sizeof(c->err));
	return c->ecode ? LIBVIRT_FAILED : LIBVIRT_REPLY;
}

/* DESTROY and DESTROY_FLAGS. */
enum libvirt_result libvirt_domain_destroy(struct libvirt_call *c)
{
	return stop(c, true);
}

/* SHUTDOWN and SHUTDOWN_FLAGS. */
enum libvirt_result libvirt_domain_shutdown(struct libvirt_call *c)
{
	return stop(c, false);
}

static enum libvirt_result pause_or_resume(struct libvirt_call *c, bool pause)
{
	libvirt_dispatch_unlock(c);
	c->ecode = controld_vnode_pause(c->a->uuid, pause, c->err, sizeof(c->err));
	return c->ecode ? LIBVIRT_FAILED : LIBVIRT_REPLY;
}

enum libvirt_result libvirt_domain_suspend(struct libvirt_call *c)
{
	return pause_or_resume(c, true);
}

enum libvirt_result libvirt_domain_resume(struct libvirt_call *c)
{
	return pause_or_resume(c, false);
}
