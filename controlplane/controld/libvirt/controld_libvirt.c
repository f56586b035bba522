/* controld_libvirt.c: the libvirt remote protocol (program 0x20008086 v1) over a stream
 * socket, answering what virsh and python3-libvirt send for vNodes; every other procedure
 * gets libvirtd's own "unknown procedure" error. Facts: ../shared/LIBVIRT_PROTOCOL.md. */
#include "controld_libvirt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/cluster/cluster_io.h"
#include "controlplane/controld/controld_migrate.h"
#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_vnode.h"
#include "domain_xml.h"
#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/uuid_str.h"
#include "mig_args.h"
#include "rpc_proto.h"
#include "xdr.h"

#define LEGO_VERSION	     1000ULL /* 0.1.0 as major * 1e6 + minor * 1e3 + micro */
#define HOSTNAME_MAX	     256
#define DOMAIN_LIST_MAX	     16384 /* REMOTE_DOMAIN_LIST_MAX */
#define MEMORY_STATS_MAX     1024  /* REMOTE_DOMAIN_MEMORY_STATS_MAX */
#define ERR_OPERATION_DENIED 29	   /* VIR_ERR_OPERATION_DENIED */
#define CONSOLE_POLL_US	     50000
#define COOKIE_MAX	     4194304 /* REMOTE_MIGRATE_COOKIE_MAX */
/* virDrvFeature numbers a client asks about (SUPPORTS_FEATURE). */
#define FEATURE_MIGRATION_P2P	 4
#define FEATURE_MIGRATION_PARAMS 13
/* virDomainJobType. */
#define JOB_NONE    0
#define JOB_BOUNDED 1

enum proc {
	P_CONNECT_OPEN = 1,
	P_CONNECT_CLOSE = 2,
	P_GET_TYPE = 3,
	P_GET_VERSION = 4,
	P_NODE_GET_INFO = 6,
	P_DOMAIN_CREATE = 9,
	P_DOMAIN_DEFINE_XML = 11,
	P_DOMAIN_DESTROY = 12,
	P_DOMAIN_GET_MAX_MEMORY = 13,
	P_DOMAIN_GET_XML_DESC = 14,
	P_DOMAIN_GET_AUTOSTART = 15,
	P_DOMAIN_GET_INFO = 16,
	P_DOMAIN_GET_OS_TYPE = 19,
	P_LOOKUP_BY_ID = 22,
	P_LOOKUP_BY_NAME = 23,
	P_LOOKUP_BY_UUID = 24,
	P_DOMAIN_RESUME = 28,
	P_DOMAIN_SHUTDOWN = 33,
	P_DOMAIN_SUSPEND = 34,
	P_DOMAIN_UNDEFINE = 35,
	P_GET_HOSTNAME = 59,
	P_SUPPORTS_FEATURE = 60,
	P_AUTH_LIST = 66,
	P_NODE_GET_SECURITY_MODEL = 122,
	P_DOMAIN_IS_ACTIVE = 150,
	P_DOMAIN_IS_PERSISTENT = 151,
	P_DOMAIN_IS_UPDATED = 152,
	P_GET_LIB_VERSION = 157,
	P_DOMAIN_MEMORY_STATS = 159,
	P_DOMAIN_GET_JOB_INFO = 163,
	P_DOMAIN_ABORT_JOB = 164,
	P_DOMAIN_HAS_MANAGED_SAVE = 183,
	P_DOMAIN_SNAPSHOT_NUM = 187,
	P_DOMAIN_CREATE_WITH_FLAGS = 196,
	P_DOMAIN_OPEN_CONSOLE = 201,
	P_DOMAIN_GET_STATE = 212,
	P_DOMAIN_UNDEFINE_FLAGS = 231,
	P_DOMAIN_DESTROY_FLAGS = 234,
	P_DOMAIN_SHUTDOWN_FLAGS = 258,
	P_LIST_ALL_DOMAINS = 273,
	P_DOMAIN_MIGRATE_PERFORM3_PARAMS = 305,
	P_DOMAIN_DEFINE_XML_FLAGS = 350,
};

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

struct client {
	int fd;
	bool open, readonly;
	pthread_mutex_t write_lock;
	/* The console stream, if one is open (one per connection, as virsh uses). */
	pthread_mutex_t stream_lock;
	bool streaming, stream_stop;
	struct rpc_hdr stream_hdr;
	uint8_t stream_uuid[16];
	pthread_t stream_thread;
	/* Calls answered by a thread of their own (a migration), so that the connection
	 * serves others meanwhile (virsh asks for job info while it waits). */
	pthread_mutex_t calls_lock;
	pthread_cond_t calls_done;
	int calls;
};

/* Decoded arguments of one call. */
struct args {
	uint8_t uuid[16]; /* the remote_nonnull_domain, by which the vNode is found */
	char *name, *xml;
	int32_t i1;
	uint32_t flags, u1;
	bool has_dom;
	/* DOMAIN_MIGRATE_PERFORM3_PARAMS */
	char *uri;
	struct typed_param *params;
	uint32_t nparams, cookie_len;
};

/* A migration call, answered by its own thread. */
struct mig_call {
	struct client *cl;
	struct rpc_hdr hdr;
	uint8_t uuid[16];
	struct vn_mig_target target;
};

static int send_packet(struct client *cl, const struct xdr_out *o)
{
	int rc;

	if (o->err)
		return -1;
	pthread_mutex_lock(&cl->write_lock);
	rc = cio_write_all(cl->fd, o->p, o->len);
	pthread_mutex_unlock(&cl->write_lock);
	return rc;
}

/* ---- helpers ------------------------------------------------------------------------ */

static void put_dom(struct xdr_out *o, const struct vnode *v)
{
	xdr_put_string(o, v->def.name);
	xdr_put_fixed(o, v->def.uuid, 16);
	xdr_put_i32(o, v->id);
}

static void get_dom(struct xdr_in *x, struct args *a)
{
	const uint8_t *u;

	a->name = xdr_get_string(x, RPC_STRING_MAX);
	u = xdr_get_fixed(x, 16);
	if (u)
		memcpy(a->uuid, u, 16);
	xdr_get_i32(x);
	a->has_dom = true;
}

static void node_info(struct xdr_out *o)
{
	static const char model[32] = "lego";
	uint32_t cpus = 0, hosts = 0;
	uint64_t mem = 0;

	/* The node a client sees is the cluster: cores of the processor hosts, memory of the
	 * memory servers. */
	reg_lock();
	for (int i = 0; i < reg_nr_components(); i++) {
		const struct component *c = reg_component_at(i);

		if (!c->alive)
			continue;
		if (c->kind == CP_KIND_PMON) {
			cpus += c->cores;
			hosts++;
		} else if (c->kind == CP_KIND_MMON) {
			mem += c->capacity;
		}
	}
	reg_unlock();
	for (int i = 0; i < 32; i++) /* char[32]: four bytes per char on the wire */
		xdr_put_i32(o, model[i]);
	xdr_put_u64(o, mem / 1024);
	xdr_put_i32(o, (int32_t)cpus);
	xdr_put_i32(o, 0); /* mhz: unknown */
	xdr_put_i32(o, hosts ? (int32_t)hosts : 1);
	xdr_put_i32(o, 1);
	xdr_put_i32(o, (int32_t)(hosts ? cpus / hosts : 0));
	xdr_put_i32(o, 1);
}

static bool list_match(const struct vnode *v, uint32_t f)
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
	/* No vNode has a managed save image, autostart, snapshots or checkpoints. */
	if ((f & (LIST_MANAGEDSAVE | LIST_NO_MANAGEDSAVE)) && !(f & LIST_NO_MANAGEDSAVE))
		return false;
	if ((f & (LIST_AUTOSTART | LIST_NO_AUTOSTART)) && !(f & LIST_NO_AUTOSTART))
		return false;
	if ((f & (LIST_HAS_SNAPSHOT | LIST_NO_SNAPSHOT)) && !(f & LIST_NO_SNAPSHOT))
		return false;
	if ((f & (LIST_HAS_CHECKPOINT | LIST_NO_CHECKPOINT)) && !(f & LIST_NO_CHECKPOINT))
		return false;
	return true;
}

/* ---- the console stream ------------------------------------------------------------- */

static void stream_send(struct client *cl, int status, const void *data, size_t len)
{
	struct xdr_out o;
	struct rpc_hdr h = cl->stream_hdr;

	h.type = RPC_STREAM;
	h.status = status;
	xdr_out_init(&o, RPC_MESSAGE_MAX + RPC_LEN_LEN);
	rpc_begin(&o, &h);
	if (len)
		xdr_put_raw(&o, data, len); /* stream data is raw bytes, not XDR */
	rpc_end(&o);
	send_packet(cl, &o);
	xdr_out_free(&o);
}

static bool stream_stopping(struct client *cl)
{
	bool stop;

	pthread_mutex_lock(&cl->stream_lock);
	stop = cl->stream_stop;
	pthread_mutex_unlock(&cl->stream_lock);
	return stop;
}

static void *console_thread(void *arg)
{
	struct client *cl = arg;
	uint8_t *buf = malloc(CP_CONSOLE_MAX);
	uint64_t off = 0;

	while (buf && !stream_stopping(cl)) {
		char err[512];
		size_t n;
		bool ended;

		if (vn_console(cl->stream_uuid, &off, buf, CP_CONSOLE_MAX, &n, &ended, err,
			       sizeof(err))) {
			struct xdr_out o;

			xdr_out_init(&o, 65536);
			rpc_error_reply(&o, &cl->stream_hdr, RPC_ERR_OPERATION_FAILED,
					RPC_FROM_DOMAIN, err);
			send_packet(cl, &o);
			xdr_out_free(&o);
			break;
		}
		if (n)
			stream_send(cl, RPC_CONTINUE, buf, n);
		if (ended) {
			stream_send(cl, RPC_CONTINUE, NULL, 0); /* end of stream */
			break;
		}
		if (!n)
			usleep(CONSOLE_POLL_US);
	}
	free(buf);
	return NULL;
}

static void stream_end(struct client *cl)
{
	bool join;

	pthread_mutex_lock(&cl->stream_lock);
	join = cl->streaming;
	cl->stream_stop = true;
	cl->streaming = false;
	pthread_mutex_unlock(&cl->stream_lock);
	if (join)
		pthread_join(cl->stream_thread, NULL);
}

/* A STREAM packet from the client: data is dropped (the guest console takes no input);
 * finish or abort ends the stream and is confirmed. */
static void stream_packet(struct client *cl, const struct rpc_hdr *h)
{
	struct xdr_out o;
	struct rpc_hdr r = *h;

	if (h->status == RPC_CONTINUE)
		return;
	stream_end(cl);
	r.status = RPC_OK;
	xdr_out_init(&o, 64);
	rpc_begin(&o, &r);
	rpc_end(&o);
	send_packet(cl, &o);
	xdr_out_free(&o);
}

/* ---- dispatch ----------------------------------------------------------------------- */

/* Decode a call's arguments; false if the procedure is unknown. */
static bool decode(int proc, struct xdr_in *x, struct args *a)
{
	bool present;

	switch (proc) {
	case P_AUTH_LIST:
	case P_CONNECT_CLOSE:
	case P_GET_TYPE:
	case P_GET_VERSION:
	case P_GET_LIB_VERSION:
	case P_GET_HOSTNAME:
	case P_NODE_GET_INFO:
	case P_NODE_GET_SECURITY_MODEL:
		return true;
	case P_SUPPORTS_FEATURE:
	case P_LOOKUP_BY_ID:
		a->i1 = xdr_get_i32(x);
		return true;
	case P_LOOKUP_BY_NAME:
		a->name = xdr_get_string(x, RPC_STRING_MAX);
		return true;
	case P_LOOKUP_BY_UUID: {
		const uint8_t *u = xdr_get_fixed(x, 16);

		if (u)
			memcpy(a->uuid, u, 16);
		return true;
	}
	case P_LIST_ALL_DOMAINS:
		a->i1 = xdr_get_i32(x);
		a->flags = xdr_get_u32(x);
		return true;
	case P_CONNECT_OPEN:
		a->name = xdr_get_opt_string(x, RPC_STRING_MAX, &present);
		a->flags = xdr_get_u32(x);
		return true;
	case P_DOMAIN_DEFINE_XML:
		a->xml = xdr_get_string(x, RPC_STRING_MAX);
		return true;
	case P_DOMAIN_DEFINE_XML_FLAGS:
		a->xml = xdr_get_string(x, RPC_STRING_MAX);
		a->flags = xdr_get_u32(x);
		return true;
	case P_DOMAIN_CREATE:
	case P_DOMAIN_DESTROY:
	case P_DOMAIN_GET_MAX_MEMORY:
	case P_DOMAIN_GET_AUTOSTART:
	case P_DOMAIN_GET_INFO:
	case P_DOMAIN_GET_OS_TYPE:
	case P_DOMAIN_RESUME:
	case P_DOMAIN_SHUTDOWN:
	case P_DOMAIN_SUSPEND:
	case P_DOMAIN_UNDEFINE:
	case P_DOMAIN_IS_ACTIVE:
	case P_DOMAIN_IS_PERSISTENT:
	case P_DOMAIN_IS_UPDATED:
		get_dom(x, a);
		return true;
	case P_DOMAIN_GET_XML_DESC:
	case P_DOMAIN_HAS_MANAGED_SAVE:
	case P_DOMAIN_SNAPSHOT_NUM:
	case P_DOMAIN_CREATE_WITH_FLAGS:
	case P_DOMAIN_GET_STATE:
	case P_DOMAIN_UNDEFINE_FLAGS:
	case P_DOMAIN_DESTROY_FLAGS:
	case P_DOMAIN_SHUTDOWN_FLAGS:
		get_dom(x, a);
		a->flags = xdr_get_u32(x);
		return true;
	case P_DOMAIN_MEMORY_STATS:
		get_dom(x, a);
		a->u1 = xdr_get_u32(x); /* maxStats */
		a->flags = xdr_get_u32(x);
		return true;
	case P_DOMAIN_OPEN_CONSOLE:
		get_dom(x, a);
		a->name = xdr_get_opt_string(x, RPC_STRING_MAX, &present); /* dev_name */
		a->flags = xdr_get_u32(x);
		return true;
	case P_DOMAIN_GET_JOB_INFO:
	case P_DOMAIN_ABORT_JOB:
		get_dom(x, a);
		return true;
	case P_DOMAIN_MIGRATE_PERFORM3_PARAMS:
		get_dom(x, a);
		a->uri = xdr_get_opt_string(x, RPC_STRING_MAX, &present); /* dconnuri */
		tp_decode(x, &a->params, &a->nparams);
		xdr_get_opaque(x, COOKIE_MAX, &a->cookie_len); /* cookie_in */
		a->flags = xdr_get_u32(x);
		return true;
	default:
		return false;
	}
}

static bool mutating(int proc)
{
	switch (proc) {
	case P_DOMAIN_CREATE:
	case P_DOMAIN_CREATE_WITH_FLAGS:
	case P_DOMAIN_DEFINE_XML:
	case P_DOMAIN_DEFINE_XML_FLAGS:
	case P_DOMAIN_DESTROY:
	case P_DOMAIN_DESTROY_FLAGS:
	case P_DOMAIN_SHUTDOWN:
	case P_DOMAIN_SHUTDOWN_FLAGS:
	case P_DOMAIN_SUSPEND:
	case P_DOMAIN_RESUME:
	case P_DOMAIN_UNDEFINE:
	case P_DOMAIN_UNDEFINE_FLAGS:
	case P_DOMAIN_OPEN_CONSOLE:
	case P_DOMAIN_ABORT_JOB:
	case P_DOMAIN_MIGRATE_PERFORM3_PARAMS:
		return true;
	default:
		return false;
	}
}

#define FAIL(code, ...)                                  \
	do {                                             \
		snprintf(err, sizeof(err), __VA_ARGS__); \
		ecode = (code);                          \
		goto error;                              \
	} while (0)

static void define(struct xdr_out *o, const struct rpc_hdr *h, const char *xml, uint32_t flags,
		   char *err, size_t errlen, int *ecode)
{
	struct dom_def *d = malloc(sizeof(*d));
	struct vnode *v;
	char u[UUID_STR_LEN];
	int rc;

	*ecode = 0;
	if (!d) {
		snprintf(err, errlen, "out of memory");
		*ecode = RPC_ERR_INTERNAL;
		return;
	}
	if (flags & ~1U) { /* VALIDATE is the only flag; the parser always validates */
		snprintf(err, errlen,
			 "unsupported flags (0x%x) in function virDomainDefineXMLFlags",
			 flags & ~1U);
		*ecode = RPC_ERR_INVALID_ARG;
		goto out;
	}
	rc = dom_xml_parse(xml, strlen(xml), d, err, errlen);
	if (rc) {
		*ecode = rc;
		goto out;
	}
	if (!d->has_uuid) {
		uuid_str_generate(d->uuid);
		d->has_uuid = true;
	}
	reg_ops_lock();
	reg_lock();
	rc = reg_define(d, &v, err, errlen);
	if (rc) {
		*ecode = rc;
	} else {
		uuid_str_format(v->def.uuid, u);
		log_info("defined vNode %s (%s)", v->def.name, u);
		rpc_begin_reply(o, h);
		put_dom(o, v);
		rpc_end(o);
	}
	reg_unlock();
	reg_ops_unlock();
out:
	free(d);
}

static void memory_stats(struct xdr_out *o, const struct rpc_hdr *h, uint64_t max_kib,
			 uint64_t cur_kib, const char *js, uint32_t max)
{
	uint64_t faults = vn_json_u64(js, "faults"), remote = vn_json_u64(js, "remote_fetches");
	struct {
		int tag;
		uint64_t val;
	} st[] = {
		{0, vn_json_u64(js, "bytes_in") / 1024},    /* swap_in: KiB fetched from servers */
		{1, vn_json_u64(js, "bytes_out") / 1024},   /* swap_out: KiB written back */
		{2, remote},				    /* major: faults served remotely */
		{3, faults > remote ? faults - remote : 0}, /* minor: served locally */
		{5, max_kib},				    /* available */
		{6, cur_kib},				    /* actual */
		{7, vn_json_u64(js, "resident_pages") * 4}, /* rss: ExCache resident KiB */
		{8, (vn_json_u64(js, "cache_pages") - vn_json_u64(js, "resident_pages")) * 4},
		{9, (uint64_t)time(NULL)}, /* last_update */
	};
	uint32_t n = (uint32_t)(sizeof(st) / sizeof(st[0]));

	if (n > max)
		n = max;
	rpc_begin_reply(o, h);
	xdr_put_u32(o, n);
	for (uint32_t i = 0; i < n; i++) {
		xdr_put_i32(o, st[i].tag);
		xdr_put_u64(o, st[i].val);
	}
	rpc_end(o);
}

static void call_done(struct client *cl)
{
	pthread_mutex_lock(&cl->calls_lock);
	cl->calls--;
	pthread_cond_broadcast(&cl->calls_done);
	pthread_mutex_unlock(&cl->calls_lock);
}

/* The migration, then its reply (an empty cookie_out) or error, written under the
 * connection's write lock like every other packet. */
static void *migrate_call(void *arg)
{
	struct mig_call *m = arg;
	struct vn_mig_result res;
	struct xdr_out o;
	char err[1024];
	int rc = vn_migrate(m->uuid, &m->target, &res, err, sizeof(err));

	xdr_out_init(&o, 65536);
	if (rc) {
		log_info("procedure %d failed: %s", m->hdr.proc, err);
		rpc_error_reply(&o, &m->hdr, rc, RPC_FROM_DOMAIN, err);
	} else {
		rpc_begin_reply(&o, &m->hdr);
		xdr_put_u32(&o, 0); /* cookie_out: none (the client passes no buffer for one) */
		rpc_end(&o);
	}
	send_packet(m->cl, &o);
	xdr_out_free(&o);
	call_done(m->cl);
	free(m);
	return NULL;
}

/* Check a migration call's arguments (under the registry lock) and start its thread;
 * 0, or a libvirt error code with err. */
static int start_migration(struct client *cl, const struct rpc_hdr *h, const struct args *a,
			   const struct vnode *v, char *err, size_t errlen)
{
	struct mig_request r;
	struct mig_call *m;
	pthread_t t;
	int rc = mig_flags_check(a->flags, v->persistent, err, errlen);

	if (rc)
		return rc;
	if (!a->uri) {
		snprintf(err, errlen,
			 "invalid argument: a peer-to-peer migration needs a destination URI");
		return RPC_ERR_INVALID_ARG;
	}
	rc = mig_uri_parse(a->uri, &r, err, errlen);
	if (!rc)
		rc = mig_params_check(a->params, a->nparams, v->def.name, &r, err, errlen);
	if (rc)
		return rc;
	if (a->cookie_len) {
		snprintf(err, errlen,
			 "invalid argument: lego migrations take no cookie (%u bytes "
			 "given)",
			 a->cookie_len);
		return RPC_ERR_INVALID_ARG;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return RPC_ERR_INTERNAL;
	}
	m->cl = cl;
	m->hdr = *h;
	memcpy(m->uuid, v->def.uuid, 16);
	snprintf(m->target.host, sizeof(m->target.host), "%s", r.host);
	snprintf(m->target.listen_host, sizeof(m->target.listen_host), "%s", r.listen_host);
	m->target.listen_port = r.listen_port;
	pthread_mutex_lock(&cl->calls_lock);
	cl->calls++;
	pthread_mutex_unlock(&cl->calls_lock);
	if (pthread_create(&t, NULL, migrate_call, m)) {
		call_done(cl);
		free(m);
		snprintf(err, errlen, "internal error: cannot start the migration: out of threads");
		return RPC_ERR_INTERNAL;
	}
	pthread_detach(t);
	return 0;
}

static void job_info(struct xdr_out *o, const struct rpc_hdr *h, const struct vnode *v)
{
	struct cp_mig_progress p;

	vn_migrate_progress(v, &p);
	rpc_begin_reply(o, h);
	xdr_put_i32(o, p.phase == CP_MIG_NONE ? JOB_NONE : JOB_BOUNDED);
	xdr_put_u64(o, p.elapsed_ms); /* timeElapsed */
	xdr_put_u64(o, 0);	      /* timeRemaining: not known */
	for (int i = 0; i < 2; i++) { /* data*, then mem*: all of it is memory */
		xdr_put_u64(o, p.bytes_total);
		xdr_put_u64(o, p.bytes_processed);
		xdr_put_u64(o, p.bytes_remaining);
	}
	for (int i = 0; i < 3; i++) /* file*: nothing is copied to files */
		xdr_put_u64(o, 0);
}

/* One call: its reply in o; false if the connection must close after it. */
static bool dispatch(struct client *cl, const struct rpc_hdr *h, struct xdr_in *x,
		     struct xdr_out *o)
{
	struct args a = {0};
	char err[1024] = "", host[HOSTNAME_MAX + 1], *js = NULL;
	int ecode = 0, edomain = RPC_FROM_DOMAIN;
	uint8_t uuid[16];
	struct vnode *v = NULL;
	bool keep = true, locked = false;

	if (!decode(h->proc, x, &a)) {
		log_debug("unknown procedure %d", h->proc);
		rpc_unknown_proc_reply(o, h);
		return true;
	}
	if (!xdr_in_done(x))
		FAIL(RPC_ERR_RPC, "malformed arguments of procedure %d: %s", h->proc, x->err);
	if (!cl->open && h->proc != P_AUTH_LIST && h->proc != P_CONNECT_OPEN &&
	    h->proc != P_SUPPORTS_FEATURE)
		FAIL(RPC_ERR_RPC, "connection not open");
	if (cl->readonly && mutating(h->proc))
		FAIL(ERR_OPERATION_DENIED,
		     "operation forbidden: read only access prevents "
		     "procedure %d",
		     h->proc);
	if (a.has_dom) {
		reg_lock();
		locked = true;
		v = reg_find_uuid(a.uuid);
		if (!v) {
			char u[UUID_STR_LEN];

			uuid_str_format(a.uuid, u);
			FAIL(RPC_ERR_NO_DOMAIN,
			     "Domain not found: no domain with matching uuid '%s' (%s)", u,
			     a.name ? a.name : "");
		}
		memcpy(uuid, a.uuid, 16);
	}

	switch (h->proc) {
	case P_AUTH_LIST:
		rpc_begin_reply(o, h);
		xdr_put_u32(o, 1);
		xdr_put_i32(o, 0); /* REMOTE_AUTH_NONE */
		break;
	case P_SUPPORTS_FEATURE:
		/* Peer-to-peer migration with typed parameters; no keepalive, events or
		 * close callbacks. */
		rpc_begin_reply(o, h);
		xdr_put_i32(o, a.i1 == FEATURE_MIGRATION_P2P || a.i1 == FEATURE_MIGRATION_PARAMS);
		break;
	case P_CONNECT_OPEN:
		log_info("client opened '%s'%s", a.name ? a.name : "(no URI)",
			 a.flags & 1 ? " read-only" : "");
		cl->open = true;
		cl->readonly = a.flags & 1;
		rpc_begin_reply(o, h);
		break;
	case P_CONNECT_CLOSE:
		keep = false;
		rpc_begin_reply(o, h);
		break;
	case P_GET_TYPE:
		rpc_begin_reply(o, h);
		xdr_put_string(o, "LEGO");
		break;
	case P_GET_VERSION:
	case P_GET_LIB_VERSION:
		rpc_begin_reply(o, h);
		xdr_put_u64(o, LEGO_VERSION);
		break;
	case P_GET_HOSTNAME:
		if (gethostname(host, sizeof(host) - 1))
			snprintf(host, sizeof(host), "localhost");
		host[HOSTNAME_MAX] = '\0';
		rpc_begin_reply(o, h);
		xdr_put_string(o, host);
		break;
	case P_NODE_GET_INFO:
		rpc_begin_reply(o, h);
		node_info(o);
		break;
	case P_NODE_GET_SECURITY_MODEL:
		rpc_begin_reply(o, h);
		xdr_put_u32(o, 0); /* model<>: none */
		xdr_put_u32(o, 0); /* doi<> */
		break;
	case P_LOOKUP_BY_ID:
	case P_LOOKUP_BY_NAME:
	case P_LOOKUP_BY_UUID:
		reg_lock();
		locked = true;
		v = h->proc == P_LOOKUP_BY_ID	  ? reg_find_id(a.i1)
		    : h->proc == P_LOOKUP_BY_NAME ? reg_find_name(a.name)
						  : reg_find_uuid(a.uuid);
		if (!v) {
			char u[UUID_STR_LEN];

			uuid_str_format(a.uuid, u);
			if (h->proc == P_LOOKUP_BY_ID)
				FAIL(RPC_ERR_NO_DOMAIN,
				     "Domain not found: no domain with matching id %d", a.i1);
			if (h->proc == P_LOOKUP_BY_NAME)
				FAIL(RPC_ERR_NO_DOMAIN,
				     "Domain not found: no domain with matching name '%s'", a.name);
			FAIL(RPC_ERR_NO_DOMAIN,
			     "Domain not found: no domain with matching uuid '%s'", u);
		}
		rpc_begin_reply(o, h);
		put_dom(o, v);
		break;
	case P_LIST_ALL_DOMAINS: {
		size_t count_at;
		uint32_t n = 0;

		if (a.i1 < 0)
			a.i1 = 0;
		reg_lock();
		locked = true;
		rpc_begin_reply(o, h);
		count_at = o->len;
		xdr_put_u32(o, 0);
		for (int i = 0; i < reg_nr_vnodes() && n < DOMAIN_LIST_MAX; i++) {
			struct vnode *d = reg_vnode_at(i);

			if (!list_match(d, a.flags))
				continue;
			if (a.i1)
				put_dom(o, d);
			n++;
		}
		xdr_patch_u32(o, count_at, a.i1 ? n : 0);
		xdr_put_u32(o, n);
		break;
	}
	case P_DOMAIN_DEFINE_XML:
	case P_DOMAIN_DEFINE_XML_FLAGS:
		define(o, h, a.xml, a.flags, err, sizeof(err), &ecode);
		if (ecode)
			goto error;
		goto done; /* define wrote the whole reply */
	case P_DOMAIN_UNDEFINE:
	case P_DOMAIN_UNDEFINE_FLAGS:
		if (a.flags & ~127U)
			FAIL(RPC_ERR_INVALID_ARG,
			     "unsupported flags (0x%x) in function "
			     "virDomainUndefineFlags",
			     a.flags & ~127U);
		if (!v->persistent)
			FAIL(RPC_ERR_OPERATION_INVALID,
			     "Requested operation is not valid: cannot undefine transient domain");
		reg_unlock();
		locked = false;
		reg_ops_lock();
		reg_lock();
		v = reg_find_uuid(uuid);
		ecode = v ? reg_undefine(v, err, sizeof(err)) : 0;
		reg_unlock();
		reg_ops_unlock();
		if (ecode)
			goto error;
		log_info("undefined vNode %s", a.name ? a.name : "?");
		rpc_begin_reply(o, h);
		break;
	case P_DOMAIN_CREATE:
	case P_DOMAIN_CREATE_WITH_FLAGS:
		if (a.flags)
			FAIL(RPC_ERR_ARGUMENT_UNSUPPORTED,
			     "argument unsupported: lego starts vNodes running only (flags 0x%x)",
			     a.flags);
		reg_unlock();
		locked = false;
		ecode = vn_start(uuid, err, sizeof(err));
		if (ecode)
			goto error;
		rpc_begin_reply(o, h);
		if (h->proc == P_DOMAIN_CREATE_WITH_FLAGS) {
			reg_lock();
			locked = true;
			v = reg_find_uuid(uuid);
			if (!v)
				FAIL(RPC_ERR_NO_DOMAIN,
				     "Domain not found: undefined while starting");
			put_dom(o, v);
		}
		break;
	case P_DOMAIN_DESTROY:
	case P_DOMAIN_DESTROY_FLAGS:
	case P_DOMAIN_SHUTDOWN:
	case P_DOMAIN_SHUTDOWN_FLAGS: {
		bool destroy = h->proc == P_DOMAIN_DESTROY || h->proc == P_DOMAIN_DESTROY_FLAGS;

		/* destroy --graceful (1) and shutdown --mode signal (8) are what lego does. */
		if (a.flags & ~(destroy ? 1U : 8U))
			FAIL(RPC_ERR_ARGUMENT_UNSUPPORTED,
			     "argument unsupported: unsupported flags (0x%x)", a.flags);
		reg_unlock();
		locked = false;
		ecode = vn_stop(uuid, destroy, err, sizeof(err));
		if (ecode)
			goto error;
		rpc_begin_reply(o, h);
		break;
	}
	case P_DOMAIN_SUSPEND:
	case P_DOMAIN_RESUME:
		reg_unlock();
		locked = false;
		ecode = vn_pause(uuid, h->proc == P_DOMAIN_SUSPEND, err, sizeof(err));
		if (ecode)
			goto error;
		rpc_begin_reply(o, h);
		break;
	case P_DOMAIN_GET_XML_DESC: {
		char *xml = dom_xml_format(&v->def, a.flags & 2 ? -1 : v->id);

		if (!xml)
			FAIL(RPC_ERR_INTERNAL, "out of memory");
		rpc_begin_reply(o, h);
		xdr_put_string(o, xml);
		free(xml);
		break;
	}
	case P_DOMAIN_GET_STATE:
		if (a.flags)
			FAIL(RPC_ERR_INVALID_ARG,
			     "unsupported flags (0x%x) in function "
			     "virDomainGetState",
			     a.flags);
		rpc_begin_reply(o, h);
		xdr_put_i32(o, v->state);
		xdr_put_i32(o, v->reason);
		break;
	case P_DOMAIN_GET_INFO: {
		uint64_t cpu_ns = 0;
		uint64_t max_kib = v->def.memory_kib, cur_kib = v->def.current_kib;
		uint32_t vcpus = v->def.vcpus, state = (uint32_t)v->state;
		bool active = v->id >= 0;

		reg_unlock();
		locked = false;
		if (active && !vn_control(uuid, "stats", &js, err, sizeof(err)))
			cpu_ns = vn_json_u64(js, "cpu_time_ns");
		rpc_begin_reply(o, h);
		xdr_put_u32(o, state);
		xdr_put_u64(o, max_kib);
		xdr_put_u64(o, cur_kib);
		xdr_put_u32(o, vcpus);
		xdr_put_u64(o, cpu_ns);
		break;
	}
	case P_DOMAIN_GET_MAX_MEMORY:
		rpc_begin_reply(o, h);
		xdr_put_u64(o, v->def.memory_kib);
		break;
	case P_DOMAIN_GET_OS_TYPE:
		rpc_begin_reply(o, h);
		xdr_put_string(o, "hvm");
		break;
	case P_DOMAIN_IS_ACTIVE:
	case P_DOMAIN_IS_PERSISTENT:
		rpc_begin_reply(o, h);
		xdr_put_i32(o, h->proc == P_DOMAIN_IS_ACTIVE ? v->id >= 0 : v->persistent);
		break;
	case P_DOMAIN_IS_UPDATED:
	case P_DOMAIN_GET_AUTOSTART:
	case P_DOMAIN_HAS_MANAGED_SAVE:
	case P_DOMAIN_SNAPSHOT_NUM:
		rpc_begin_reply(o, h);
		xdr_put_i32(o, 0);
		break;
	case P_DOMAIN_MEMORY_STATS: {
		uint64_t max_kib, cur_kib;

		if (a.u1 > MEMORY_STATS_MAX)
			FAIL(RPC_ERR_RPC, "too many memory stats requested: %u > %d", a.u1,
			     MEMORY_STATS_MAX);
		if (a.flags)
			FAIL(RPC_ERR_INVALID_ARG, "unsupported flags (0x%x)", a.flags);
		if (v->id < 0)
			FAIL(RPC_ERR_OPERATION_INVALID,
			     "Requested operation is not valid: domain is not running");
		max_kib = v->def.memory_kib;
		cur_kib = v->def.current_kib;
		reg_unlock();
		locked = false;
		ecode = vn_control(uuid, "stats", &js, err, sizeof(err));
		if (ecode)
			goto error;
		memory_stats(o, h, max_kib, cur_kib, js, a.u1);
		goto done;
	}
	case P_DOMAIN_GET_JOB_INFO:
		job_info(o, h, v);
		break;
	case P_DOMAIN_ABORT_JOB:
		reg_unlock();
		locked = false;
		ecode = vn_migrate_abort(uuid, err, sizeof(err));
		if (ecode)
			goto error;
		rpc_begin_reply(o, h);
		break;
	case P_DOMAIN_MIGRATE_PERFORM3_PARAMS:
		ecode = start_migration(cl, h, &a, v, err, sizeof(err));
		if (ecode)
			goto error;
		goto sent; /* its thread answers */
	case P_DOMAIN_OPEN_CONSOLE:
		if (a.name && strcmp(a.name, "serial0") && strcmp(a.name, "console0"))
			FAIL(RPC_ERR_INTERNAL,
			     "internal error: character device %s is not using a PTY", a.name);
		if (a.flags & ~3U)
			FAIL(RPC_ERR_INVALID_ARG, "unsupported flags (0x%x)", a.flags);
		if (v->id < 0)
			FAIL(RPC_ERR_OPERATION_INVALID,
			     "Requested operation is not valid: domain is not running");
		reg_unlock();
		locked = false;
		stream_end(cl); /* a new console replaces the connection's old one */
		rpc_begin_reply(o, h);
		rpc_end(o);
		if (send_packet(cl, o)) {
			keep = false;
			goto sent;
		}
		pthread_mutex_lock(&cl->stream_lock);
		cl->stream_hdr = *h;
		memcpy(cl->stream_uuid, uuid, 16);
		cl->stream_stop = false;
		cl->streaming = !pthread_create(&cl->stream_thread, NULL, console_thread, cl);
		pthread_mutex_unlock(&cl->stream_lock);
		goto sent;
	}
	rpc_end(o);
	goto done;
error:
	if (h->proc == P_LOOKUP_BY_ID || h->proc == P_LOOKUP_BY_NAME || h->proc == P_LOOKUP_BY_UUID)
		log_debug("%s", err);
	else
		log_info("procedure %d failed: %s", h->proc, err);
	if (ecode == RPC_ERR_RPC)
		edomain = RPC_FROM_RPC;
	o->len = 0;
	o->err = NULL;
	rpc_error_reply(o, h, ecode, edomain, err);
done:
	if (locked)
		reg_unlock();
	free(a.name);
	free(a.xml);
	free(a.uri);
	tp_free(a.params, a.nparams);
	free(js);
	return keep;
sent: /* the reply went out already (or its thread sends it): o is emptied */
	o->len = 0;
	if (locked)
		reg_unlock();
	free(a.name);
	free(a.xml);
	free(a.uri);
	tp_free(a.params, a.nparams);
	free(js);
	return keep;
}

static void *serve(void *arg)
{
	struct client *cl = arg;
	uint8_t word[RPC_LEN_LEN], *body = NULL;

	for (;;) {
		struct rpc_hdr h;
		struct xdr_in x;
		struct xdr_out o;
		int64_t len;
		bool keep = true;

		if (fdio_read_all(cl->fd, word, sizeof(word), MONO_NEVER) != FDIO_OK)
			break;
		len = rpc_body_len(word);
		if (len < 0) {
			log_warn("client sent an impossible packet length: closing");
			break;
		}
		free(body);
		body = malloc((size_t)len);
		if (!body || fdio_read_all(cl->fd, body, (size_t)len, MONO_NEVER) != FDIO_OK)
			break;
		xdr_in_init(&x, body, (size_t)len);
		if (rpc_hdr_get(&x, &h)) {
			log_warn("client sent a malformed header (%s): closing", x.err);
			break;
		}
		if (h.type == RPC_STREAM && h.prog == RPC_REMOTE_PROGRAM &&
		    h.proc == P_DOMAIN_OPEN_CONSOLE) {
			stream_packet(cl, &h);
			continue;
		}
		xdr_out_init(&o, RPC_MESSAGE_MAX + RPC_LEN_LEN);
		if (h.prog == RPC_KEEPALIVE_PROGRAM && h.proc == RPC_KEEPALIVE_PING &&
		    h.type == RPC_MESSAGE) {
			struct rpc_hdr pong = h;

			pong.proc = RPC_KEEPALIVE_PONG;
			rpc_begin(&o, &pong);
			rpc_end(&o);
		} else if (h.type != RPC_CALL) {
			xdr_out_free(&o);
			continue; /* nothing else a client sends expects an answer here */
		} else if (h.prog != RPC_REMOTE_PROGRAM || h.vers != RPC_REMOTE_VERSION) {
			rpc_error_reply(&o, &h, RPC_ERR_RPC, RPC_FROM_RPC,
					"unknown program or version");
		} else {
			keep = dispatch(cl, &h, &x, &o);
		}
		if (o.err || (o.len && send_packet(cl, &o)))
			keep = false;
		xdr_out_free(&o);
		if (!keep)
			break;
	}
	stream_end(cl);
	/* A migration goes on without its client; its thread still holds cl. */
	pthread_mutex_lock(&cl->calls_lock);
	while (cl->calls)
		pthread_cond_wait(&cl->calls_done, &cl->calls_lock);
	pthread_mutex_unlock(&cl->calls_lock);
	free(body);
	close(cl->fd);
	pthread_mutex_destroy(&cl->write_lock);
	pthread_mutex_destroy(&cl->stream_lock);
	pthread_mutex_destroy(&cl->calls_lock);
	pthread_cond_destroy(&cl->calls_done);
	free(cl);
	return NULL;
}

void libvirt_serve_fd(int fd)
{
	struct client *cl = calloc(1, sizeof(*cl));
	pthread_t t;

	if (!cl) {
		close(fd);
		return;
	}
	cl->fd = fd;
	pthread_mutex_init(&cl->write_lock, NULL);
	pthread_mutex_init(&cl->stream_lock, NULL);
	pthread_mutex_init(&cl->calls_lock, NULL);
	pthread_cond_init(&cl->calls_done, NULL);
	if (pthread_create(&t, NULL, serve, cl)) {
		log_error("cannot serve a client: out of threads");
		close(fd);
		free(cl);
		return;
	}
	pthread_detach(t);
}
