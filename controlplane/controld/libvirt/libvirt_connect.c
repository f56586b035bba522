/* libvirt_connect.c: the libvirt procedures about the connection and the node: no
 * authentication beyond the socket's (UNIX permissions, or TLS client certificates, as
 * libvirtd with auth_tls = none), the features lego has (peer-to-peer migration with typed
 * parameters), open and close, type, versions, hostname, and the cluster seen as one node. */
#include <stdio.h>
#include <unistd.h>

#include "controlplane/controld/controld_registry.h"
#include "lib/log.h"
#include "libvirt_dispatch.h"

#define LEGO_VERSION 1000ULL /* 0.1.0 as major * 1e6 + minor * 1e3 + micro */
#define HOSTNAME_MAX 256
/* virDrvFeature numbers a client asks about (SUPPORTS_FEATURE). */
#define FEATURE_MIGRATION_P2P	 4
#define FEATURE_MIGRATION_PARAMS 13
#define FEATURE_KEEPALIVE	 10 /* PINGs answered with PONGs (libvirt_conn.c) */
#define FEATURE_EVENT_CALLBACK	 14 /* events by callback id (libvirt_events.c) */

enum libvirt_result libvirt_connect_auth_list(struct libvirt_call *c)
{
	xdr_put_u32(c->o, 1);
	xdr_put_i32(c->o, 0); /* REMOTE_AUTH_NONE */
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_connect_supports_feature(struct libvirt_call *c)
{
	/* Peer-to-peer migration with typed parameters, keepalive, events by callback; no
	 * close callbacks. */
	xdr_put_i32(c->o,
		    c->a->i1 == FEATURE_MIGRATION_P2P || c->a->i1 == FEATURE_MIGRATION_PARAMS ||
			    c->a->i1 == FEATURE_KEEPALIVE || c->a->i1 == FEATURE_EVENT_CALLBACK);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_connect_open(struct libvirt_call *c)
{
	/* A read-only socket's connection stays read-only whatever it asks (as libvirtd). */
	c->cl->readonly |= c->a->flags & 1;
	log_info("client opened '%s'%s", c->a->name ? c->a->name : "(no URI)",
		 c->cl->readonly ? " read-only" : "");
	c->cl->open = true;
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_connect_close(struct libvirt_call *c)
{
	c->close = true;
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_connect_get_type(struct libvirt_call *c)
{
	xdr_put_string(c->o, "LEGO");
	return LIBVIRT_REPLY;
}

/* GET_VERSION and GET_LIB_VERSION. */
enum libvirt_result libvirt_connect_get_version(struct libvirt_call *c)
{
	xdr_put_u64(c->o, LEGO_VERSION);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_connect_get_hostname(struct libvirt_call *c)
{
	char host[HOSTNAME_MAX + 1];

	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "localhost");
	host[HOSTNAME_MAX] = '\0';
	xdr_put_string(c->o, host);
	return LIBVIRT_REPLY;
}

/* The node a client sees is the cluster: cores of the processor hosts, memory of the
 * memory servers. */
enum libvirt_result libvirt_connect_node_info(struct libvirt_call *c)
{
	static const char model[32] = "lego";
	struct xdr_out *o = c->o;
	uint32_t cpus = 0, hosts = 0;
	uint64_t mem = 0;

	controld_registry_lock();
	for (int i = 0; i < controld_registry_nr_components(); i++) {
		const struct controld_registry_component *k = controld_registry_component_at(i);

		if (!k->alive)
			continue;
		if (k->kind == CP_KIND_PMON) {
			cpus += k->cores;
			hosts++;
		} else if (k->kind == CP_KIND_MMON) {
			mem += k->capacity;
		}
	}
	controld_registry_unlock();
	for (int i = 0; i < 32; i++) /* char[32]: four bytes per char on the wire */
		xdr_put_i32(o, model[i]);
	xdr_put_u64(o, mem / 1024);
	xdr_put_i32(o, (int32_t)cpus);
	xdr_put_i32(o, 0); /* mhz: unknown */
	xdr_put_i32(o, hosts ? (int32_t)hosts : 1);
	xdr_put_i32(o, 1);
	xdr_put_i32(o, (int32_t)(hosts ? cpus / hosts : 0));
	xdr_put_i32(o, 1);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_connect_security_model(struct libvirt_call *c)
{
	xdr_put_u32(c->o, 0); /* model<>: none */
	xdr_put_u32(c->o, 0); /* doi<> */
	return LIBVIRT_REPLY;
}
