/* libvirt_dispatch.c: the table of libvirt procedures lego-controld answers (program
 * 0x20008086 v1, what virsh and python3-libvirt send for vNodes) and the dispatcher: decode
 * by the row's decoder, check the connection, find the vNode, run the handler, answer. */
#include "libvirt_dispatch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/controld/controld_net.h"
#include "controlplane/controld/controld_registry.h"
#include "lib/log.h"
#include "lib/uuid_str.h"

#define COOKIE_MAX 4194304 /* REMOTE_MIGRATE_COOKIE_MAX */

/* ---- argument decoders, one per argument shape ---------------------------------------- */

static void dec_none(struct xdr_in *x, struct libvirt_args *a)
{
	(void)x;
	(void)a;
}

static void dec_int(struct xdr_in *x, struct libvirt_args *a)
{
	a->i1 = xdr_get_i32(x);
}

static void dec_name(struct xdr_in *x, struct libvirt_args *a)
{
	a->name = xdr_get_string(x, RPC_STRING_MAX);
}

static void dec_uuid(struct xdr_in *x, struct libvirt_args *a)
{
	const uint8_t *u = xdr_get_fixed(x, 16);

	if (u)
		memcpy(a->uuid, u, 16);
}

/* int need_results; u32 flags */
static void dec_list(struct xdr_in *x, struct libvirt_args *a)
{
	a->i1 = xdr_get_i32(x);
	a->flags = xdr_get_u32(x);
}

/* remote_string name; u32 flags */
static void dec_open(struct xdr_in *x, struct libvirt_args *a)
{
	bool present;

	a->name = xdr_get_opt_string(x, RPC_STRING_MAX, &present);
	a->flags = xdr_get_u32(x);
}

static void dec_xml(struct xdr_in *x, struct libvirt_args *a)
{
	a->xml = xdr_get_string(x, RPC_STRING_MAX);
}

static void dec_xml_flags(struct xdr_in *x, struct libvirt_args *a)
{
	a->xml = xdr_get_string(x, RPC_STRING_MAX);
	a->flags = xdr_get_u32(x);
}

/* remote_nonnull_domain: name, uuid, id (the vNode is found by its uuid) */
static void dec_dom(struct xdr_in *x, struct libvirt_args *a)
{
	a->name = xdr_get_string(x, RPC_STRING_MAX);
	dec_uuid(x, a);
	xdr_get_i32(x);
}

static void dec_dom_flags(struct xdr_in *x, struct libvirt_args *a)
{
	dec_dom(x, a);
	a->flags = xdr_get_u32(x);
}

/* dom; u32 maxStats; u32 flags */
static void dec_memory_stats(struct xdr_in *x, struct libvirt_args *a)
{
	dec_dom(x, a);
	a->u1 = xdr_get_u32(x);
	a->flags = xdr_get_u32(x);
}

/* dom; remote_string dev_name; u32 flags */
static void dec_open_console(struct xdr_in *x, struct libvirt_args *a)
{
	bool present;
	char *name;

	dec_dom(x, a);
	name = xdr_get_opt_string(x, RPC_STRING_MAX, &present);
	free(a->name); /* the domain's name is not needed: dev_name takes its place */
	a->name = name;
	a->flags = xdr_get_u32(x);
}

/* dom; remote_string dconnuri; remote_typed_param params<64>; opaque cookie_in; u32 flags */
static void dec_migrate(struct xdr_in *x, struct libvirt_args *a)
{
	bool present;

	dec_dom(x, a);
	a->uri = xdr_get_opt_string(x, RPC_STRING_MAX, &present);
	mig_args_tp_decode(x, &a->params, &a->nparams);
	xdr_get_opaque(x, COOKIE_MAX, &a->cookie_len);
	a->flags = xdr_get_u32(x);
}

/* dom; int (SET_AUTOSTART) */
static void dec_dom_int(struct xdr_in *x, struct libvirt_args *a)
{
	dec_dom(x, a);
	a->i1 = xdr_get_i32(x);
}

/* dom; int maxinfo; int maplen (GET_VCPUS) */
static void dec_vcpus(struct xdr_in *x, struct libvirt_args *a)
{
	dec_dom(x, a);
	a->i1 = xdr_get_i32(x);
	a->u1 = (uint32_t)xdr_get_i32(x);
}

/* remote_string (CONNECT_GET_MAX_VCPUS' type) */
static void dec_opt_name(struct xdr_in *x, struct libvirt_args *a)
{
	bool present;

	a->name = xdr_get_opt_string(x, RPC_STRING_MAX, &present);
}

/* remote_string emulatorbin, arch, machine, virttype; u32 flags */
static void dec_domcaps(struct xdr_in *x, struct libvirt_args *a)
{
	bool present;

	for (int i = 0; i < 4; i++)
		a->caps[i] = xdr_get_opt_string(x, RPC_STRING_MAX, &present);
	a->flags = xdr_get_u32(x);
}

/* remote_nonnull_domain doms<DOMAIN_LIST_MAX>; u32 stats; u32 flags */
static void dec_all_stats(struct xdr_in *x, struct libvirt_args *a)
{
	uint32_t n = xdr_get_u32(x);

	if (n > 16384) {
		x->err = "more than 16384 domains";
		return;
	}
	a->uuids = n ? calloc(n, sizeof(*a->uuids)) : NULL;
	if (n && !a->uuids) {
		x->err = "out of memory";
		return;
	}
	for (uint32_t i = 0; i < n && !x->err; i++) {
		free(xdr_get_string(x, RPC_STRING_MAX));
		dec_uuid(x, a);
		memcpy(a->uuids[i], a->uuid, 16);
		xdr_get_i32(x);
		a->nuuids = i + 1;
	}
	a->u1 = xdr_get_u32(x);
	a->flags = xdr_get_u32(x);
}

/* int eventID; remote_domain dom (optional): u1 says whether a domain is named */
static void dec_event_register(struct xdr_in *x, struct libvirt_args *a)
{
	a->i1 = xdr_get_i32(x);
	a->u1 = xdr_get_u32(x);
	if (a->u1 > 1)
		x->err = "bad optional domain";
	else if (a->u1)
		dec_dom(x, a);
}

/* remote_nonnull_network: name, uuid (the network is found by its uuid) */
static void dec_net(struct xdr_in *x, struct libvirt_args *a)
{
	a->name = xdr_get_string(x, RPC_STRING_MAX);
	dec_uuid(x, a);
}

static void dec_net_flags(struct xdr_in *x, struct libvirt_args *a)
{
	dec_net(x, a);
	a->flags = xdr_get_u32(x);
}

/* net; remote_string mac; int need_results; u32 flags */
static void dec_dhcp_leases(struct xdr_in *x, struct libvirt_args *a)
{
	bool present;

	dec_net(x, a);
	a->str = xdr_get_opt_string(x, RPC_STRING_MAX, &present);
	a->i1 = xdr_get_i32(x);
	a->flags = xdr_get_u32(x);
}

/* dom; remote_nonnull_string path */
static void dec_dom_str(struct xdr_in *x, struct libvirt_args *a)
{
	dec_dom(x, a);
	a->str = xdr_get_string(x, RPC_STRING_MAX);
}

/* dom; u32 source; u32 flags */
static void dec_if_addresses(struct xdr_in *x, struct libvirt_args *a)
{
	dec_dom(x, a);
	a->u1 = xdr_get_u32(x);
	a->flags = xdr_get_u32(x);
}

/* ---- the table ------------------------------------------------------------------------- */

#define OPEN	LIBVIRT_BEFORE_OPEN
#define WRITE	LIBVIRT_WRITE
#define DOMAIN	LIBVIRT_DOMAIN
#define QUIET	LIBVIRT_QUIET
#define NETWORK LIBVIRT_NETWORK

/* In procedure number order. */
static const struct libvirt_proc procs[] = {
	{PROC_CONNECT_OPEN, "CONNECT_OPEN", dec_open, libvirt_connect_open, OPEN, NULL},
	{PROC_CONNECT_CLOSE, "CONNECT_CLOSE", dec_none, libvirt_connect_close, 0, NULL},
	{PROC_GET_TYPE, "CONNECT_GET_TYPE", dec_none, libvirt_connect_get_type, 0, NULL},
	{PROC_GET_VERSION, "CONNECT_GET_VERSION", dec_none, libvirt_connect_get_version, 0, NULL},
	{PROC_GET_MAX_VCPUS, "CONNECT_GET_MAX_VCPUS", dec_opt_name, libvirt_host_max_vcpus, 0,
	 NULL},
	{PROC_NODE_GET_INFO, "NODE_GET_INFO", dec_none, libvirt_connect_node_info, 0, NULL},
	{PROC_GET_CAPABILITIES, "CONNECT_GET_CAPABILITIES", dec_none, libvirt_host_capabilities, 0,
	 NULL},
	{PROC_DOMAIN_CREATE, "DOMAIN_CREATE", dec_dom, libvirt_domain_create, WRITE | DOMAIN, NULL},
	{PROC_DOMAIN_DEFINE_XML, "DOMAIN_DEFINE_XML", dec_xml, libvirt_domain_define, WRITE, NULL},
	{PROC_DOMAIN_DESTROY, "DOMAIN_DESTROY", dec_dom, libvirt_domain_destroy, WRITE | DOMAIN,
	 NULL},
	{PROC_DOMAIN_GET_XML_DESC, "DOMAIN_GET_XML_DESC", dec_dom_flags, libvirt_dominfo_xml_desc,
	 DOMAIN, NULL},
	{PROC_DOMAIN_GET_AUTOSTART, "DOMAIN_GET_AUTOSTART", dec_dom, libvirt_autostart_get, DOMAIN,
	 NULL},
	{PROC_DOMAIN_GET_INFO, "DOMAIN_GET_INFO", dec_dom, libvirt_dominfo_info, DOMAIN, NULL},
	{PROC_DOMAIN_GET_MAX_MEMORY, "DOMAIN_GET_MAX_MEMORY", dec_dom, libvirt_dominfo_max_memory,
	 DOMAIN, NULL},
	{PROC_DOMAIN_GET_MAX_VCPUS, "DOMAIN_GET_MAX_VCPUS", dec_dom, libvirt_vcpu_max, DOMAIN,
	 NULL},
	{PROC_DOMAIN_GET_OS_TYPE, "DOMAIN_GET_OS_TYPE", dec_dom, libvirt_dominfo_os_type, DOMAIN,
	 NULL},
	{PROC_DOMAIN_GET_VCPUS, "DOMAIN_GET_VCPUS", dec_vcpus, libvirt_vcpu_info, DOMAIN, NULL},
	{PROC_LIST_DEFINED_DOMAINS, "CONNECT_LIST_DEFINED_DOMAINS", dec_int,
	 libvirt_host_list_defined, 0, NULL},
	{PROC_LOOKUP_BY_ID, "DOMAIN_LOOKUP_BY_ID", dec_int, libvirt_domain_lookup_by_id, QUIET,
	 NULL},
	{PROC_LOOKUP_BY_NAME, "DOMAIN_LOOKUP_BY_NAME", dec_name, libvirt_domain_lookup_by_name,
	 QUIET, NULL},
	{PROC_LOOKUP_BY_UUID, "DOMAIN_LOOKUP_BY_UUID", dec_uuid, libvirt_domain_lookup_by_uuid,
	 QUIET, NULL},
	{PROC_NUM_OF_DEFINED_DOMAINS, "CONNECT_NUM_OF_DEFINED_DOMAINS", dec_none,
	 libvirt_host_num_defined, 0, NULL},
	{PROC_DOMAIN_RESUME, "DOMAIN_RESUME", dec_dom, libvirt_domain_resume, WRITE | DOMAIN, NULL},
	{PROC_DOMAIN_SET_AUTOSTART, "DOMAIN_SET_AUTOSTART", dec_dom_int, libvirt_autostart_set,
	 WRITE | DOMAIN, NULL},
	{PROC_DOMAIN_SHUTDOWN, "DOMAIN_SHUTDOWN", dec_dom, libvirt_domain_shutdown, WRITE | DOMAIN,
	 NULL},
	{PROC_DOMAIN_SUSPEND, "DOMAIN_SUSPEND", dec_dom, libvirt_domain_suspend, WRITE | DOMAIN,
	 NULL},
	{PROC_DOMAIN_UNDEFINE, "DOMAIN_UNDEFINE", dec_dom, libvirt_domain_undefine, WRITE | DOMAIN,
	 NULL},
	{PROC_LIST_DOMAINS, "CONNECT_LIST_DOMAINS", dec_int, libvirt_host_list_ids, 0, NULL},
	{PROC_NETWORK_GET_XML_DESC, "NETWORK_GET_XML_DESC", dec_net_flags, libvirt_network_xml_desc,
	 NETWORK, NULL},
	{PROC_NETWORK_GET_AUTOSTART, "NETWORK_GET_AUTOSTART", dec_net, libvirt_network_yes, NETWORK,
	 NULL},
	{PROC_NETWORK_GET_BRIDGE_NAME, "NETWORK_GET_BRIDGE_NAME", dec_net,
	 libvirt_network_bridge_name, NETWORK, NULL},
	{PROC_NETWORK_LOOKUP_BY_NAME, "NETWORK_LOOKUP_BY_NAME", dec_name,
	 libvirt_network_lookup_by_name, QUIET, NULL},
	{PROC_NETWORK_LOOKUP_BY_UUID, "NETWORK_LOOKUP_BY_UUID", dec_uuid,
	 libvirt_network_lookup_by_uuid, QUIET, NULL},
	{PROC_NUM_OF_DOMAINS, "CONNECT_NUM_OF_DOMAINS", dec_none, libvirt_host_num_active, 0, NULL},
	{PROC_GET_HOSTNAME, "CONNECT_GET_HOSTNAME", dec_none, libvirt_connect_get_hostname, 0,
	 NULL},
	{PROC_SUPPORTS_FEATURE, "CONNECT_SUPPORTS_FEATURE", dec_int,
	 libvirt_connect_supports_feature, OPEN, NULL},
	{PROC_DOMAIN_INTERFACE_STATS, "DOMAIN_INTERFACE_STATS", dec_dom_str,
	 libvirt_network_if_stats, DOMAIN, NULL},
	{PROC_AUTH_LIST, "AUTH_LIST", dec_none, libvirt_connect_auth_list, OPEN, NULL},
	{PROC_NODE_GET_SECURITY_MODEL, "NODE_GET_SECURITY_MODEL", dec_none,
	 libvirt_connect_security_model, 0, NULL},
	{PROC_DOMAIN_IS_ACTIVE, "DOMAIN_IS_ACTIVE", dec_dom, libvirt_dominfo_is_active, DOMAIN,
	 NULL},
	{PROC_DOMAIN_IS_PERSISTENT, "DOMAIN_IS_PERSISTENT", dec_dom, libvirt_dominfo_is_persistent,
	 DOMAIN, NULL},
	{PROC_NETWORK_IS_ACTIVE, "NETWORK_IS_ACTIVE", dec_net, libvirt_network_yes, NETWORK, NULL},
	{PROC_NETWORK_IS_PERSISTENT, "NETWORK_IS_PERSISTENT", dec_net, libvirt_network_yes, NETWORK,
	 NULL},
	{PROC_GET_LIB_VERSION, "CONNECT_GET_LIB_VERSION", dec_none, libvirt_host_lib_version, 0,
	 NULL},
	{PROC_DOMAIN_MEMORY_STATS, "DOMAIN_MEMORY_STATS", dec_memory_stats,
	 libvirt_dominfo_memory_stats, DOMAIN, NULL},
	{PROC_DOMAIN_GET_JOB_INFO, "DOMAIN_GET_JOB_INFO", dec_dom, libvirt_migrate_job_info, DOMAIN,
	 NULL},
	{PROC_DOMAIN_ABORT_JOB, "DOMAIN_ABORT_JOB", dec_dom, libvirt_migrate_abort, WRITE | DOMAIN,
	 NULL},
	{PROC_DOMAIN_EVENTS_REGISTER_ANY, "CONNECT_DOMAIN_EVENT_REGISTER_ANY", dec_int,
	 libvirt_events_register_legacy, 0, NULL},
	{PROC_DOMAIN_EVENTS_DEREGISTER_ANY, "CONNECT_DOMAIN_EVENT_DEREGISTER_ANY", dec_int,
	 libvirt_events_deregister_legacy, 0, NULL},
	{PROC_DOMAIN_HAS_MANAGED_SAVE, "DOMAIN_HAS_MANAGED_SAVE_IMAGE", dec_dom_flags,
	 libvirt_dominfo_none, DOMAIN, NULL},
	{PROC_DOMAIN_SNAPSHOT_NUM, "DOMAIN_SNAPSHOT_NUM", dec_dom_flags, libvirt_dominfo_none,
	 DOMAIN, NULL},
	{PROC_DOMAIN_CREATE_WITH_FLAGS, "DOMAIN_CREATE_WITH_FLAGS", dec_dom_flags,
	 libvirt_domain_create_with_flags, WRITE | DOMAIN, NULL},
	{PROC_DOMAIN_GET_VCPUS_FLAGS, "DOMAIN_GET_VCPUS_FLAGS", dec_dom_flags, libvirt_vcpu_count,
	 DOMAIN, NULL},
	{PROC_DOMAIN_OPEN_CONSOLE, "DOMAIN_OPEN_CONSOLE", dec_open_console, libvirt_console_open,
	 WRITE | DOMAIN, NULL},
	{PROC_DOMAIN_IS_UPDATED, "DOMAIN_IS_UPDATED", dec_dom, libvirt_dominfo_is_updated, DOMAIN,
	 NULL},
	{PROC_DOMAIN_GET_STATE, "DOMAIN_GET_STATE", dec_dom_flags, libvirt_dominfo_state, DOMAIN,
	 NULL},
	{PROC_DOMAIN_UNDEFINE_FLAGS, "DOMAIN_UNDEFINE_FLAGS", dec_dom_flags,
	 libvirt_domain_undefine, WRITE | DOMAIN, NULL},
	{PROC_DOMAIN_DESTROY_FLAGS, "DOMAIN_DESTROY_FLAGS", dec_dom_flags, libvirt_domain_destroy,
	 WRITE | DOMAIN, NULL},
	{PROC_DOMAIN_SHUTDOWN_FLAGS, "DOMAIN_SHUTDOWN_FLAGS", dec_dom_flags,
	 libvirt_domain_shutdown, WRITE | DOMAIN, NULL},
	{PROC_LIST_ALL_DOMAINS, "CONNECT_LIST_ALL_DOMAINS", dec_list, libvirt_domain_list_all, 0,
	 NULL},
	{PROC_LIST_ALL_NETWORKS, "CONNECT_LIST_ALL_NETWORKS", dec_list, libvirt_network_list_all, 0,
	 NULL},
	{PROC_DOMAIN_MIGRATE_PERFORM3_PARAMS, "DOMAIN_MIGRATE_PERFORM3_PARAMS", dec_migrate,
	 libvirt_migrate_check, WRITE | DOMAIN, &libvirt_migrate_thread},
	{PROC_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
	 dec_event_register, libvirt_events_register, 0, NULL},
	{PROC_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY",
	 dec_int, libvirt_events_deregister, 0, NULL},
	{PROC_NETWORK_GET_DHCP_LEASES, "NETWORK_GET_DHCP_LEASES", dec_dhcp_leases,
	 libvirt_network_dhcp_leases, NETWORK, NULL},
	{PROC_GET_DOMAIN_CAPABILITIES, "CONNECT_GET_DOMAIN_CAPABILITIES", dec_domcaps,
	 libvirt_host_domain_capabilities, 0, NULL},
	{PROC_GET_ALL_DOMAIN_STATS, "CONNECT_GET_ALL_DOMAIN_STATS", dec_all_stats,
	 libvirt_stats_all, 0, NULL},
	{PROC_DOMAIN_DEFINE_XML_FLAGS, "DOMAIN_DEFINE_XML_FLAGS", dec_xml_flags,
	 libvirt_domain_define, WRITE, NULL},
	{PROC_DOMAIN_INTERFACE_ADDRESSES, "DOMAIN_INTERFACE_ADDRESSES", dec_if_addresses,
	 libvirt_network_if_addresses, DOMAIN, NULL},
};

static const struct libvirt_proc *lookup(int proc)
{
	for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++)
		if (procs[i].proc == proc)
			return &procs[i];
	return NULL;
}

/* ---- for handlers ---------------------------------------------------------------------- */

enum libvirt_result libvirt_dispatch_fail(struct libvirt_call *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->ecode = code;
	return LIBVIRT_FAILED;
}

void libvirt_dispatch_lock(struct libvirt_call *c)
{
	if (!c->locked)
		controld_registry_lock();
	c->locked = true;
}

void libvirt_dispatch_unlock(struct libvirt_call *c)
{
	if (c->locked)
		controld_registry_unlock();
	c->locked = false;
}

void libvirt_dispatch_put_dom(struct xdr_out *o, const struct controld_registry_vnode *v)
{
	xdr_put_string(o, v->def.name);
	xdr_put_fixed(o, v->def.uuid, 16);
	xdr_put_i32(o, v->id);
}

/* ---- the dispatcher -------------------------------------------------------------------- */

struct thread_call {
	struct libvirt_conn *cl;
	struct rpc_proto_hdr hdr;
	const struct libvirt_thread *t;
	void *job;
};

static void error_reply(struct xdr_out *o, const struct rpc_proto_hdr *h, int code, const char *err)
{
	o->len = 0;
	o->err = NULL;
	rpc_proto_error_reply(o, h, code, code == RPC_ERR_RPC ? RPC_FROM_RPC : RPC_FROM_DOMAIN,
			      err);
}

/* A row's thread: the reply (or error) written under the connection's write lock like
 * every other packet. */
static void *thread_main(void *arg)
{
	struct thread_call *tc = arg;
	struct xdr_out o;
	char err[LIBVIRT_ERRTEXT_MAX];
	int rc;

	xdr_out_init(&o, 65536);
	rpc_proto_begin_reply(&o, &tc->hdr);
	rc = tc->t->run(tc->job, &o, err, sizeof(err));
	if (rc) {
		log_info("procedure %d failed: %s", tc->hdr.proc, err);
		error_reply(&o, &tc->hdr, rc, err);
	} else {
		rpc_proto_end(&o);
	}
	libvirt_conn_send(tc->cl, &o);
	xdr_out_free(&o);
	libvirt_conn_call_done(tc->cl);
	free(tc->job);
	free(tc);
	return NULL;
}

/* The handler's checks passed: its thread answers. */
static enum libvirt_result start_thread(struct libvirt_call *c, const struct libvirt_thread *t)
{
	struct thread_call *tc = calloc(1, sizeof(*tc));
	pthread_t th;

	if (!tc) {
		free(c->job);
		return libvirt_dispatch_fail(c, RPC_ERR_INTERNAL, "out of memory");
	}
	*tc = (struct thread_call){.cl = c->cl, .hdr = *c->h, .t = t, .job = c->job};
	libvirt_conn_call_begin(c->cl);
	if (pthread_create(&th, NULL, thread_main, tc)) {
		libvirt_conn_call_done(c->cl);
		free(tc->job);
		free(tc);
		return libvirt_dispatch_fail(c, RPC_ERR_INTERNAL,
					     "internal error: cannot start %s: out of threads",
					     t->what);
	}
	pthread_detach(th);
	return LIBVIRT_SENT;
}

/* The connection's state and the vNode the call names: LIBVIRT_REPLY when the handler may
 * run. */
static enum libvirt_result admit(struct libvirt_call *c, const struct libvirt_proc *p,
				 struct xdr_in *x)
{
	if (!xdr_in_done(x))
		return libvirt_dispatch_fail(c, RPC_ERR_RPC,
					     "malformed arguments of procedure %d: %s", c->h->proc,
					     x->err);
	if (!c->cl->open && !(p->flags & LIBVIRT_BEFORE_OPEN))
		return libvirt_dispatch_fail(c, RPC_ERR_RPC, "connection not open");
	if (c->cl->readonly && (p->flags & LIBVIRT_WRITE))
		return libvirt_dispatch_fail(c, RPC_ERR_OPERATION_DENIED,
					     "operation forbidden: read only access prevents "
					     "procedure %d",
					     c->h->proc);
	if (p->flags & LIBVIRT_NETWORK) {
		libvirt_dispatch_lock(c);
		c->net = controld_net_find_uuid(c->a->uuid);
		if (!c->net) {
			char u[UUID_STR_LEN];

			uuid_str_format(c->a->uuid, u);
			return libvirt_dispatch_fail(
				c, RPC_ERR_NO_NETWORK,
				"Network not found: no network with matching uuid '%s' (%s)", u,
				c->a->name ? c->a->name : "");
		}
	}
	if (p->flags & LIBVIRT_DOMAIN) {
		libvirt_dispatch_lock(c);
		c->v = controld_registry_find_uuid(c->a->uuid);
		if (!c->v) {
			char u[UUID_STR_LEN];

			uuid_str_format(c->a->uuid, u);
			return libvirt_dispatch_fail(
				c, RPC_ERR_NO_DOMAIN,
				"Domain not found: no domain with matching uuid '%s' (%s)", u,
				c->a->name ? c->a->name : "");
		}
	}
	return LIBVIRT_REPLY;
}

static void args_free(struct libvirt_args *a)
{
	for (int i = 0; i < 4; i++)
		free(a->caps[i]);
	free(a->uuids);
	free(a->name);
	free(a->xml);
	free(a->uri);
	free(a->str);
	mig_args_tp_free(a->params, a->nparams);
}

bool libvirt_dispatch(struct libvirt_conn *cl, const struct rpc_proto_hdr *h, struct xdr_in *x,
		      struct xdr_out *o)
{
	const struct libvirt_proc *p = lookup(h->proc);
	struct libvirt_args a = {0};
	struct libvirt_call c = {.cl = cl, .h = h, .a = &a, .o = o};
	enum libvirt_result r;

	if (!p) {
		const char *name = libvirt_proc_names_get(h->proc);
		char msg[160];

		log_debug("unknown procedure %d (%s)", h->proc, name ? name : "no such number");
		/* libvirtd's words first: clients turn them into VIR_ERR_NO_SUPPORT. */
		snprintf(msg, sizeof(msg), "unknown procedure: %d (%s)%s", h->proc,
			 name ? name : "a number lego-controld knows no procedure by",
			 name ? ": lego-controld does not do this" : "");
		rpc_proto_error_reply(o, h, RPC_ERR_RPC, RPC_FROM_RPC, msg);
		return true;
	}
	log_debug("procedure %d: %s", h->proc, p->name);
	p->decode(x, &a);
	rpc_proto_begin_reply(o, h);
	r = admit(&c, p, x);
	if (r == LIBVIRT_REPLY)
		r = p->handler(&c);
	if (r == LIBVIRT_REPLY && p->thread)
		r = start_thread(&c, p->thread);
	libvirt_dispatch_unlock(&c);
	if (r == LIBVIRT_REPLY) {
		rpc_proto_end(o);
	} else if (r == LIBVIRT_SENT) {
		o->len = 0; /* the reply went out already, or its thread sends it */
	} else {
		if (p->flags & LIBVIRT_QUIET)
			log_debug("%s", c.err);
		else
			log_info("procedure %d failed: %s", h->proc, c.err);
		error_reply(o, h, c.ecode, c.err);
	}
	args_free(&a);
	return !c.close;
}
