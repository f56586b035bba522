/* libvirt_dispatch.h: the libvirt procedures lego-controld answers, as rows of one table
 * (libvirt_dispatch.c): number, name, argument decoder, handler, flags. The dispatcher
 * decodes, checks the connection, finds the vNode a call names and runs the handler; the
 * handlers live with their kind (libvirt_connect.c, libvirt_host.c, libvirt_domain.c,
 * libvirt_dominfo.c, libvirt_vcpu.c, libvirt_autostart.c, libvirt_stats.c, libvirt_events.c,
 * libvirt_migrate.c, libvirt_console.c, libvirt_network.c). */
#ifndef LEGO_LIBVIRT_DISPATCH_H
#define LEGO_LIBVIRT_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libvirt_conn.h"
#include "mig_args.h"
#include "rpc_proto.h"
#include "xdr.h"

struct controld_registry_vnode;
struct controld_net;

/* remote_procedure numbers (remote_protocol.x) of the procedures in the table. */
enum libvirt_proc_nr {
	PROC_CONNECT_OPEN = 1,
	PROC_CONNECT_CLOSE = 2,
	PROC_GET_TYPE = 3,
	PROC_GET_VERSION = 4,
	PROC_GET_MAX_VCPUS = 5,
	PROC_NODE_GET_INFO = 6,
	PROC_GET_CAPABILITIES = 7,
	PROC_DOMAIN_CREATE = 9,
	PROC_DOMAIN_DEFINE_XML = 11,
	PROC_DOMAIN_DESTROY = 12,
	PROC_DOMAIN_GET_XML_DESC = 14,
	PROC_DOMAIN_GET_AUTOSTART = 15,
	PROC_DOMAIN_GET_INFO = 16,
	PROC_DOMAIN_GET_MAX_MEMORY = 17,
	PROC_DOMAIN_GET_MAX_VCPUS = 18,
	PROC_DOMAIN_GET_OS_TYPE = 19,
	PROC_DOMAIN_GET_VCPUS = 20,
	PROC_LIST_DEFINED_DOMAINS = 21,
	PROC_LOOKUP_BY_ID = 22,
	PROC_LOOKUP_BY_NAME = 23,
	PROC_LOOKUP_BY_UUID = 24,
	PROC_NUM_OF_DEFINED_DOMAINS = 25,
	PROC_DOMAIN_RESUME = 28,
	PROC_DOMAIN_SET_AUTOSTART = 29,
	PROC_DOMAIN_SHUTDOWN = 33,
	PROC_DOMAIN_SUSPEND = 34,
	PROC_DOMAIN_UNDEFINE = 35,
	PROC_LIST_DOMAINS = 37,
	PROC_NETWORK_GET_XML_DESC = 43,
	PROC_NETWORK_GET_AUTOSTART = 44,
	PROC_NETWORK_GET_BRIDGE_NAME = 45,
	PROC_NETWORK_LOOKUP_BY_NAME = 46,
	PROC_NETWORK_LOOKUP_BY_UUID = 47,
	PROC_NUM_OF_DOMAINS = 51,
	PROC_GET_HOSTNAME = 59,
	PROC_SUPPORTS_FEATURE = 60,
	PROC_DOMAIN_INTERFACE_STATS = 65,
	PROC_AUTH_LIST = 66,
	PROC_NODE_GET_SECURITY_MODEL = 122,
	PROC_DOMAIN_IS_ACTIVE = 150,
	PROC_DOMAIN_IS_PERSISTENT = 151,
	PROC_NETWORK_IS_ACTIVE = 152,
	PROC_NETWORK_IS_PERSISTENT = 153,
	PROC_GET_LIB_VERSION = 157,
	PROC_DOMAIN_MEMORY_STATS = 159,
	PROC_DOMAIN_GET_JOB_INFO = 163,
	PROC_DOMAIN_ABORT_JOB = 164,
	PROC_DOMAIN_EVENTS_REGISTER_ANY = 167,
	PROC_DOMAIN_EVENTS_DEREGISTER_ANY = 168,
	PROC_DOMAIN_HAS_MANAGED_SAVE = 183,
	PROC_DOMAIN_SNAPSHOT_NUM = 187,
	PROC_DOMAIN_CREATE_WITH_FLAGS = 196,
	PROC_DOMAIN_GET_VCPUS_FLAGS = 200,
	PROC_DOMAIN_OPEN_CONSOLE = 201,
	PROC_DOMAIN_IS_UPDATED = 202,
	PROC_DOMAIN_GET_STATE = 212,
	PROC_DOMAIN_UNDEFINE_FLAGS = 231,
	PROC_DOMAIN_DESTROY_FLAGS = 234,
	PROC_DOMAIN_SHUTDOWN_FLAGS = 258,
	PROC_LIST_ALL_DOMAINS = 273,
	PROC_LIST_ALL_NETWORKS = 283,
	PROC_DOMAIN_MIGRATE_PERFORM3_PARAMS = 305,
	PROC_DOMAIN_EVENT_CALLBACK_REGISTER_ANY = 316,
	PROC_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY = 317,
	PROC_NETWORK_GET_DHCP_LEASES = 341,
	PROC_GET_DOMAIN_CAPABILITIES = 342,
	PROC_GET_ALL_DOMAIN_STATS = 344,
	PROC_DOMAIN_DEFINE_XML_FLAGS = 350,
	PROC_DOMAIN_INTERFACE_ADDRESSES = 353,
};

#define LIBVIRT_ERRTEXT_MAX 1024

/* Decoded arguments of one call (what its row's decoder reads). */
struct libvirt_args {
	uint8_t uuid[16]; /* the remote_nonnull_domain's, by which the vNode is found */
	char *name, *xml;
	char *str; /* a second string: an interface's path, a MAC filter (NULL: none) */
	int32_t i1;
	uint32_t flags, u1;
	/* DOMAIN_MIGRATE_PERFORM3_PARAMS */
	char *uri;
	struct mig_args_typed_param *params;
	uint32_t nparams, cookie_len;
	/* CONNECT_GET_DOMAIN_CAPABILITIES: emulatorbin, arch, machine, virttype (NULL: none) */
	char *caps[4];
	/* CONNECT_GET_ALL_DOMAIN_STATS: the domains named (by uuid) */
	uint8_t (*uuids)[16];
	uint32_t nuuids;
};

/* One call as its handler sees it. The reply's header is begun in o: a handler that
 * succeeds appends the payload; one that fails says why with libvirt_dispatch_fail. */
struct libvirt_call {
	struct libvirt_conn *cl;
	const struct rpc_proto_hdr *h;
	struct libvirt_args *a;
	struct xdr_out *o;
	struct controld_registry_vnode *v; /* LIBVIRT_DOMAIN: the vNode the call names */
	const struct controld_net *net;	   /* LIBVIRT_NETWORK: the network it names */
	bool locked; /* the registry lock is held (libvirt_dispatch_lock/unlock) */
	bool close;  /* the connection closes after this call */
	void *job;   /* a row with a thread: what the handler hands it (malloc'ed) */
	int ecode;
	char err[LIBVIRT_ERRTEXT_MAX];
};

enum libvirt_result {
	LIBVIRT_REPLY,	/* the payload is in o */
	LIBVIRT_FAILED, /* ecode and err say why: the dispatcher answers with the error */
	LIBVIRT_SENT,	/* the handler wrote its reply itself */
};

/* Row flags. */
enum {
	LIBVIRT_BEFORE_OPEN = 1, /* allowed before CONNECT_OPEN (authentication, features) */
	LIBVIRT_WRITE = 2,	 /* changes something: refused on a read-only connection */
	LIBVIRT_DOMAIN = 4,	 /* names a vNode: found under the registry lock first */
	LIBVIRT_QUIET = 8,	 /* its failures are routine (lookups): logged at debug level */
	LIBVIRT_NETWORK = 16,	 /* names a network: found under the registry lock first */
};

/* A call answered by a thread of its own once its handler's checks passed: run builds the
 * payload from the job (0), or returns a libvirt error code with err. */
struct libvirt_thread {
	int (*run)(void *job, struct xdr_out *o, char *err, size_t errlen);
	const char *what; /* "the migration" */
};

struct libvirt_proc {
	int proc;
	const char *name;
	void (*decode)(struct xdr_in *x, struct libvirt_args *a);
	enum libvirt_result (*handler)(struct libvirt_call *c);
	unsigned flags;
	const struct libvirt_thread *thread; /* NULL: answered on the connection's thread */
};

/* One call: its reply in o (empty when sent otherwise); false if the connection must
 * close after it. Unknown procedures get libvirtd's own "unknown procedure" error. */
bool libvirt_dispatch(struct libvirt_conn *cl, const struct rpc_proto_hdr *h, struct xdr_in *x,
		      struct xdr_out *o);

/* For handlers. */
__attribute__((format(printf, 3, 4))) enum libvirt_result
libvirt_dispatch_fail(struct libvirt_call *c, int code, const char *fmt, ...);
void libvirt_dispatch_lock(struct libvirt_call *c);
void libvirt_dispatch_unlock(struct libvirt_call *c);
/* A remote_nonnull_domain: name, uuid, id. */
void libvirt_dispatch_put_dom(struct xdr_out *o, const struct controld_registry_vnode *v);

/* The handlers, by file. */
enum libvirt_result libvirt_connect_auth_list(struct libvirt_call *c);
enum libvirt_result libvirt_connect_supports_feature(struct libvirt_call *c);
enum libvirt_result libvirt_connect_open(struct libvirt_call *c);
enum libvirt_result libvirt_connect_close(struct libvirt_call *c);
enum libvirt_result libvirt_connect_get_type(struct libvirt_call *c);
enum libvirt_result libvirt_connect_get_version(struct libvirt_call *c);
enum libvirt_result libvirt_connect_get_hostname(struct libvirt_call *c);
enum libvirt_result libvirt_connect_node_info(struct libvirt_call *c);
enum libvirt_result libvirt_connect_security_model(struct libvirt_call *c);

enum libvirt_result libvirt_domain_lookup_by_id(struct libvirt_call *c);
enum libvirt_result libvirt_domain_lookup_by_name(struct libvirt_call *c);
enum libvirt_result libvirt_domain_lookup_by_uuid(struct libvirt_call *c);
enum libvirt_result libvirt_domain_list_all(struct libvirt_call *c);
enum libvirt_result libvirt_domain_define(struct libvirt_call *c);
enum libvirt_result libvirt_domain_undefine(struct libvirt_call *c);
enum libvirt_result libvirt_domain_create(struct libvirt_call *c);
enum libvirt_result libvirt_domain_create_with_flags(struct libvirt_call *c);
enum libvirt_result libvirt_domain_destroy(struct libvirt_call *c);
enum libvirt_result libvirt_domain_shutdown(struct libvirt_call *c);
enum libvirt_result libvirt_domain_suspend(struct libvirt_call *c);
enum libvirt_result libvirt_domain_resume(struct libvirt_call *c);

enum libvirt_result libvirt_dominfo_xml_desc(struct libvirt_call *c);
enum libvirt_result libvirt_dominfo_state(struct libvirt_call *c);
enum libvirt_result libvirt_dominfo_info(struct libvirt_call *c);
enum libvirt_result libvirt_dominfo_max_memory(struct libvirt_call *c);
enum libvirt_result libvirt_dominfo_os_type(struct libvirt_call *c);
enum libvirt_result libvirt_dominfo_is_active(struct libvirt_call *c);
enum libvirt_result libvirt_dominfo_is_persistent(struct libvirt_call *c);
enum libvirt_result libvirt_dominfo_is_updated(struct libvirt_call *c);
enum libvirt_result libvirt_dominfo_none(struct libvirt_call *c);
enum libvirt_result libvirt_dominfo_memory_stats(struct libvirt_call *c);

enum libvirt_result libvirt_host_list_ids(struct libvirt_call *c);
enum libvirt_result libvirt_host_list_defined(struct libvirt_call *c);
enum libvirt_result libvirt_host_num_active(struct libvirt_call *c);
enum libvirt_result libvirt_host_num_defined(struct libvirt_call *c);
enum libvirt_result libvirt_host_lib_version(struct libvirt_call *c);
enum libvirt_result libvirt_host_max_vcpus(struct libvirt_call *c);
enum libvirt_result libvirt_host_capabilities(struct libvirt_call *c);
enum libvirt_result libvirt_host_domain_capabilities(struct libvirt_call *c);

enum libvirt_result libvirt_vcpu_max(struct libvirt_call *c);
enum libvirt_result libvirt_vcpu_count(struct libvirt_call *c);
enum libvirt_result libvirt_vcpu_info(struct libvirt_call *c);
enum libvirt_result libvirt_autostart_get(struct libvirt_call *c);
enum libvirt_result libvirt_autostart_set(struct libvirt_call *c);
enum libvirt_result libvirt_stats_all(struct libvirt_call *c);

enum libvirt_result libvirt_events_register_legacy(struct libvirt_call *c);
enum libvirt_result libvirt_events_deregister_legacy(struct libvirt_call *c);
enum libvirt_result libvirt_events_register(struct libvirt_call *c);
enum libvirt_result libvirt_events_deregister(struct libvirt_call *c);

/* A procedure's name in words ("DOMAIN_GET_TIME"), NULL if libvirt 9.0.0 has no such
 * number: for the "unknown procedure" answer of those lego does not do. */
const char *libvirt_proc_names_get(int proc);

enum libvirt_result libvirt_migrate_check(struct libvirt_call *c);
extern const struct libvirt_thread libvirt_migrate_thread;
enum libvirt_result libvirt_migrate_job_info(struct libvirt_call *c);
enum libvirt_result libvirt_migrate_abort(struct libvirt_call *c);

enum libvirt_result libvirt_network_list_all(struct libvirt_call *c);
enum libvirt_result libvirt_network_lookup_by_name(struct libvirt_call *c);
enum libvirt_result libvirt_network_lookup_by_uuid(struct libvirt_call *c);
enum libvirt_result libvirt_network_yes(struct libvirt_call *c);
enum libvirt_result libvirt_network_bridge_name(struct libvirt_call *c);
enum libvirt_result libvirt_network_xml_desc(struct libvirt_call *c);
enum libvirt_result libvirt_network_dhcp_leases(struct libvirt_call *c);
enum libvirt_result libvirt_network_if_addresses(struct libvirt_call *c);
enum libvirt_result libvirt_network_if_stats(struct libvirt_call *c);
/* A remote_nonnull_network: name, uuid. */
void libvirt_network_put(struct xdr_out *o, const struct controld_net *n);

enum libvirt_result libvirt_console_open(struct libvirt_call *c);
/* A STREAM packet from the client for the console (x: its payload, after the header):
 * input for the vNode, or the stream's end. */
void libvirt_console_packet(struct libvirt_conn *cl, const struct rpc_proto_hdr *h,
			    const struct xdr_in *x);
void libvirt_console_end(struct libvirt_conn *cl);

#endif
