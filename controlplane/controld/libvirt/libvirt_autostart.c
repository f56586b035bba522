/* libvirt_autostart.c: `virsh autostart` and dominfo's "Autostart:": a persistent vNode
 * marked so is started when lego-controld starts (controld_autostart.c). */
#include "controlplane/controld/controld_autostart.h"
#include "controlplane/controld/controld_registry.h"
#include "lib/log.h"
#include "libvirt_dispatch.h"

enum libvirt_result libvirt_autostart_get(struct libvirt_call *c)
{
	xdr_put_i32(c->o, c->v->autostart);
	return LIBVIRT_REPLY;
}

/* DOMAIN_SET_AUTOSTART (dom; int autostart). */
enum libvirt_result libvirt_autostart_set(struct libvirt_call *c)
{
	bool on = c->a->i1 != 0;

	if (!c->v->persistent)
		return libvirt_dispatch_fail(c, RPC_ERR_OPERATION_INVALID,
					     "Requested operation is not valid: cannot set "
					     "autostart for transient domain");
	if (c->v->autostart == on)
		return LIBVIRT_REPLY;
	if (controld_autostart_set(c->v, on))
		return libvirt_dispatch_fail(c, RPC_ERR_OPERATION_FAILED,
					     "operation failed: cannot save the autostart mark in "
					     "the state directory");
	log_info("vNode %s: autostart %s", c->v->def.name, on ? "on" : "off");
	return LIBVIRT_REPLY;
}
