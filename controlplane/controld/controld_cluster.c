/* controld_cluster.c: lego-controld's cluster port: components register and send
 * heartbeats; legoctl asks for views and drives migrations and pool jobs. Served by the
 * netserver skeleton (mutual TLS, caps, a thread per connection); each op is a row saying
 * which certificates may ask it. */
#include "controld_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cluster/cluster_io.h"
#include "controlplane/controld/mempool/controld_mempool.h"
#include "controld_lease.h"
#include "controld_migrate.h"
#include "controld_query.h"
#include "controld_registry.h"
#include "controld_vnode.h"
#include "lib/log.h"
#include "lib/netserver.h"
#include "lib/tcp.h"

#define IDLE_TIMEOUT_MS 60000			   /* a connection that never registers (legoctl) */
#define READ_TIMEOUT_MS 10000			   /* a message, once begun */
#define MAX_CONNS	(REG_MAX_COMPONENTS + 256) /* every component and some operators */
#define MAX_PER_PEER	64
#define MAX_PENDING	64
#define BIG_MSG_BUDGET	(32ULL << 20) /* messages over 64 KiB being read at once */

static int heartbeat_ms = 1000, timeout_ms = 5000;
static uint64_t next_conn = 1, refusals;

struct conn {
	struct tls_conn *c;
	uint64_t id;
	bool registered;
	char peer[160]; /* who, for log lines */
};

static void handle_heartbeat(struct conn *c, const struct wire_hdr *h, const uint8_t *p)
{
	struct cluster_proto_heartbeat hb;
	struct cluster_proto_vm_status *vms = NULL;
	uint8_t(*forget)[16] = NULL;
	char host[CP_NAME_LEN + 1] = "";
	char err[256];
	int nforget = 0, rc = cluster_proto_heartbeat_get(p, h->len, &hb, err, sizeof(err));
	struct controld_registry_component *comp;

	if (rc == CP_OK && hb.nr_vms) {
		vms = calloc(hb.nr_vms, sizeof(*vms));
		forget = calloc(hb.nr_vms, sizeof(*forget));
		if (!vms || !forget) {
			rc = CP_EIO;
			snprintf(err, sizeof(err), "out of memory");
		}
		for (uint32_t i = 0; i < hb.nr_vms && rc == CP_OK; i++)
			rc = cluster_proto_vm_status_get(p + CP_HEARTBEAT_LEN +
								 (size_t)i * CP_VM_STATUS_LEN,
							 &vms[i], err, sizeof(err));
	}
	if (rc != CP_OK) {
		cluster_io_send_error(c->c, h, (uint32_t)rc, "bad heartbeat: %s", err);
		goto out;
	}
	controld_registry_lock();
	comp = controld_registry_heartbeat(c->id, &hb, vms, forget, &nforget);
	if (comp && comp->kind != CP_KIND_PMON && hb.nr_vms)
		comp = NULL; /* only processor hosts run vNodes */
	if (comp)
		snprintf(host, sizeof(host), "%s", comp->name);
	controld_registry_unlock();
	if (!comp) {
		cluster_io_send_error(c->c, h, CP_ENOTREG,
				      "register first (or only pmons report vNodes)");
		goto out;
	}
	cluster_io_send(c->c, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, NULL, 0);
	for (int i = 0; i < nforget; i++) {
		char why[CP_ERRTEXT_MAX + 64];
		int frc = controld_vnode_pmon_call(host, CP_VM_FORGET, forget[i], 16, NULL, NULL,
						   why, sizeof(why));

		if (frc != CP_OK && frc != CP_ENOENT)
			log_warn("cannot tell %s to forget an exited vNode: %s", host, why);
	}
out:
	free(vms);
	free(forget);
}

static void handle_query(struct conn *c, const struct wire_hdr *h, const uint8_t *p)
{
	struct cluster_proto_query q;
	struct strbuf b;
	char err[256], why[256];
	int rc = cluster_proto_query_get(p, h->len, &q, why, sizeof(why));

	if (rc != CP_OK) {
		cluster_io_send_error(c->c, h, (uint32_t)rc, "bad query: %s", why);
		return;
	}
	strbuf_init(&b, CP_MAX_PAYLOAD);
	rc = controld_query_render(&q, &b, err, sizeof(err));
	if (rc)
		cluster_io_send_error(c->c, h, (uint32_t)rc, "%s", err);
	else if (b.failed)
		cluster_io_send_error(c->c, h, CP_EIO,
				      "the answer is larger than a message allows");
	else
		cluster_io_send(c->c, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, b.p, b.len);
	strbuf_free(&b);
}

/* A libvirt error code as the cluster protocol's status. */
static uint32_t cp_code(int libvirt_code)
{
	switch (libvirt_code) {
	case 42: /* VIR_ERR_NO_DOMAIN */
		return CP_ENOENT;
	case 8:	 /* INVALID_ARG */
	case 55: /* OPERATION_INVALID */
	case 84: /* OPERATION_UNSUPPORTED */
		return CP_EINVAL;
	default:
		return CP_EIO;
	}
}

/* MIGRATE: answered when the migration is over (this connection's thread waits). */
static void handle_migrate(struct conn *c, const struct wire_hdr *h, const uint8_t *p)
{
	struct cluster_proto_migrate m;
	struct controld_migrate_target t = {0};
	struct controld_migrate_result res;
	struct cluster_proto_mig_report r;
	struct controld_registry_vnode *v;
	uint8_t uuid[16], out[CP_MIG_REPORT_LEN];
	char err[1024], why[256];
	int rc = cluster_proto_migrate_get(p, h->len, &m, why, sizeof(why));

	if (rc != CP_OK) {
		cluster_io_send_error(c->c, h, (uint32_t)rc, "bad migration request: %s", why);
		return;
	}
	controld_registry_lock();
	v = controld_registry_find_name(m.vnode);
	if (v)
		memcpy(uuid, v->def.uuid, 16);
	controld_registry_unlock();
	if (!v) {
		cluster_io_send_error(c->c, h, CP_ENOENT, "no vNode named '%s'", m.vnode);
		return;
	}
	snprintf(t.host, sizeof(t.host), "%s", m.host);
	log_info("cluster: %s asks to migrate vNode %s to %s", c->peer, m.vnode, m.host);
	rc = controld_migrate_run(uuid, &t, &res, err, sizeof(err));
	if (rc) {
		cluster_io_send_error(c->c, h, cp_code(rc), "%s", err);
		return;
	}
	r = (struct cluster_proto_mig_report){
		.total_us = res.total_us, .downtime_us = res.downtime_us, .bytes = res.bytes};
	snprintf(r.from, sizeof(r.from), "%s", res.from);
	snprintf(r.to, sizeof(r.to), "%s", res.to);
	cluster_proto_mig_report_put(out, &r);
	cluster_io_send(c->c, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, out, sizeof(out));
}

static void handle_mig_status(struct conn *c, const struct wire_hdr *h, const uint8_t *p)
{
	struct cluster_proto_mig_progress pr;
	struct controld_registry_vnode *v;
	uint8_t out[CP_MIG_PROGRESS_LEN];
	char name[CP_NAME_LEN + 1];
	char why[256];
	int rc = cluster_proto_mig_status_get(p, h->len, name, why, sizeof(why));

	if (rc != CP_OK) {
		cluster_io_send_error(c->c, h, (uint32_t)rc, "bad migration status request: %s",
				      why);
		return;
	}
	controld_registry_lock();
	v = controld_registry_find_name(name);
	if (v)
		controld_migrate_progress(v, &pr);
	controld_registry_unlock();
	if (!v) {
		cluster_io_send_error(c->c, h, CP_ENOENT, "no vNode named '%s'", name);
		return;
	}
	cluster_proto_mig_progress_put(out, &pr);
	cluster_io_send(c->c, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, out, sizeof(out));
}

/* POOL_JOB: answered when the job is over (this connection's thread waits). */
static void handle_pool_job(struct conn *c, const struct wire_hdr *h, const uint8_t *p)
{
	struct cluster_proto_pool_job j;
	struct cluster_proto_pool_report r;
	uint8_t out[CP_POOL_REPORT_LEN];
	char err[1024], why[256];
	int rc = cluster_proto_pool_job_get(p, h->len, &j, why, sizeof(why));

	if (rc != CP_OK) {
		cluster_io_send_error(c->c, h, (uint32_t)rc, "bad pool job: %s", why);
		return;
	}
	log_info("cluster: %s asks for the %s%s%s", c->peer, cluster_proto_pool_what_name(j.what),
		 j.server[0] ? " of memory server " : " of the memory pool", j.server);
	rc = controld_mempool_job(&j, c->peer, &r, err, sizeof(err));
	if (rc) {
		cluster_io_send_error(c->c, h, (uint32_t)rc, "%s", err);
		return;
	}
	cluster_proto_pool_report_put(out, &r);
	cluster_io_send(c->c, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, out, sizeof(out));
}

static void handle_pool_status(struct conn *c, const struct wire_hdr *h, const uint8_t *p)
{
	struct cluster_proto_pool_progress pr;
	uint8_t out[CP_POOL_PROGRESS_LEN];
	char why[256];
	int rc = cluster_proto_pool_status_get(h->len, why, sizeof(why));

	(void)p;
	if (rc != CP_OK) {
		cluster_io_send_error(c->c, h, (uint32_t)rc, "bad pool status request: %s", why);
		return;
	}
	controld_registry_lock();
	controld_mempool_progress(&pr);
	controld_registry_unlock();
	cluster_proto_pool_progress_put(out, &pr);
	cluster_io_send(c->c, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, out, sizeof(out));
}

/* REGISTER: only the kind and name the peer's certificate grants. */
static void handle_register(struct conn *c, const struct wire_hdr *h, const uint8_t *p)
{
	static const int kinds[] = {[CP_KIND_PMON] = TLS_KIND_PMON,
				    [CP_KIND_MMON] = TLS_KIND_MMON,
				    [CP_KIND_SMON] = TLS_KIND_SMON};
	const struct tls_pki_id *id = &c->c->peer;
	struct cluster_proto_register reg;
	char err[256], have[96];
	int rc = cluster_proto_register_get(p, h->len, &reg, err, sizeof(err));

	if (rc == CP_OK && c->registered) {
		rc = CP_EINVAL;
		snprintf(err, sizeof(err), "register once per connection");
	} else if (rc == CP_OK && c->c->session &&
		   (id->kind != kinds[reg.kind] || strcmp(id->name, reg.name))) {
		rc = CP_EPERM;
		snprintf(err, sizeof(err), "the certificate presented grants %s, not %s '%s'",
			 tls_pki_id_text(id, have, sizeof(have)),
			 tls_pki_kind_name(kinds[reg.kind]), reg.name);
		if (log_sampled(__atomic_add_fetch(&refusals, 1, __ATOMIC_RELAXED)))
			log_warn("cluster: refused the registration of %s from %s: %s", reg.name,
				 c->peer, err);
	} else if (rc == CP_OK && reg.provider[0] && controld_vnode_provider() &&
		   strcmp(reg.provider, controld_vnode_provider())) {
		/* One fabric per cluster: its lego-vmm could not reach this server. */
		rc = CP_EINVAL;
		snprintf(err, sizeof(err),
			 "%s '%s' serves on the fabric provider '%s'; this cluster's is '%s' "
			 "(lego-controld --provider)",
			 reg.kind == CP_KIND_MMON ? "lego-mmon" : "lego-smon", reg.name,
			 reg.provider, controld_vnode_provider());
		log_warn("cluster: refused the registration of %s from %s: %s", reg.name, c->peer,
			 err);
	} else if (rc == CP_OK) {
		controld_registry_lock();
		rc = controld_registry_register(&reg, c->id, err, sizeof(err));
		controld_registry_unlock();
	}
	if (rc == CP_OK) {
		uint8_t out[8];

		wire_put_le32(out, (uint32_t)heartbeat_ms);
		wire_put_le32(out + 4, (uint32_t)timeout_ms);
		cluster_io_send(c->c, CP_REGISTER | CP_REPLY, h->id, CP_OK, out, sizeof(out));
		c->registered = true;
	} else {
		cluster_io_send_error(c->c, h, (uint32_t)rc, "registration refused: %s", err);
	}
}

#define COMPONENTS \
	(TLS_KIND_BIT(TLS_KIND_PMON) | TLS_KIND_BIT(TLS_KIND_MMON) | TLS_KIND_BIT(TLS_KIND_SMON))

/* Who may ask what. QUERY too is for operators: a vNode's view names its vRegions' servers
 * and ids on them, which components have no need of. */
static const struct op_row {
	uint16_t op;
	const char *name;
	unsigned kinds; /* certificates that may ask it */
	void (*handle)(struct conn *c, const struct wire_hdr *h, const uint8_t *p);
} ops[] = {
	{CP_REGISTER, "REGISTER", COMPONENTS, handle_register},
	{CP_HEARTBEAT, "HEARTBEAT", COMPONENTS, handle_heartbeat},
	{CP_QUERY, "QUERY", TLS_KINDS_OPERATOR, handle_query},
	{CP_MIGRATE, "MIGRATE", TLS_KINDS_OPERATOR, handle_migrate},
	{CP_MIG_STATUS, "MIG_STATUS", TLS_KINDS_OPERATOR, handle_mig_status},
	{CP_POOL_JOB, "POOL_JOB", TLS_KINDS_OPERATOR, handle_pool_job},
	{CP_POOL_STATUS, "POOL_STATUS", TLS_KINDS_OPERATOR, handle_pool_status},
};

static void dispatch(struct conn *c, const struct wire_hdr *h, const uint8_t *p)
{
	const struct op_row *row = NULL;
	char have[96];

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == h->op)
			row = &ops[i];
	if (h->op & CP_REPLY) {
		cluster_io_send_error(c->c, h, CP_EBADOP, "replies are not expected here");
	} else if (!row) {
		cluster_io_send_error(c->c, h, CP_EBADOP, "unknown op %u", h->op);
	} else if (c->c->session && !(row->kinds & TLS_KIND_BIT(c->c->peer.kind))) {
		tls_pki_id_text(&c->c->peer, have, sizeof(have));
		if (log_sampled(__atomic_add_fetch(&refusals, 1, __ATOMIC_RELAXED)))
			log_warn("cluster: refused %s from %s: it needs a%s certificate", row->name,
				 c->peer,
				 row->kinds == COMPONENTS
					 ? " processor host, memory or storage server"
					 : "n admin or lego-controld");
		cluster_io_send_error(
			c->c, h, CP_EPERM, "%s needs a%s certificate; yours grants %s", row->name,
			row->kinds == COMPONENTS ? " processor host, memory or storage server"
						 : "n admin or lego-controld",
			have);
	} else if (controld_lease_standby()) {
		/* Only to a peer whose certificate the CA signed for this op. */
		char leader[400];

		controld_lease_leader(leader, sizeof(leader));
		cluster_io_send_error(c->c, h, CP_ESTANDBY,
				      "this lego-controld stands by; the leader is %s", leader);
	} else {
		row->handle(c, h, p);
	}
}

static void serve(struct netserver_client *cl)
{
	struct conn c = {.c = cl->conn, .id = __atomic_fetch_add(&next_conn, 1, __ATOMIC_RELAXED)};

	tls_conn_who(c.c, c.peer, sizeof(c.peer));
	for (;;) {
		struct wire_hdr h;
		uint8_t *p;
		char err[256];
		enum cluster_io_recv_result r =
			cluster_io_recv(c.c, c.registered ? timeout_ms : IDLE_TIMEOUT_MS,
					READ_TIMEOUT_MS, &h, &p, err, sizeof(err));

		if (r == CIO_BAD) {
			log_warn("cluster: %s sent a malformed message (%s): closing", c.peer, err);
			cluster_io_send_error(c.c, &h, CP_EPROTO, "%s", err);
			break;
		}
		if (r != CIO_MSG) {
			if (r == CIO_FAILED)
				log_warn("cluster: %s: %s", c.peer, err);
			break;
		}
		dispatch(&c, &h, p);
		free(p);
	}
	controld_registry_lock();
	controld_registry_connection_lost(c.id);
	controld_registry_unlock();
}

int controld_cluster_listen(const char *addr, int hb_ms, const struct tls_pki *pki, char *port,
			    size_t plen)
{
	static const struct netserver_config cfg = {.what = "cluster port",
						    .max_conns = MAX_CONNS,
						    .max_per_peer = MAX_PER_PEER,
						    .max_pending = MAX_PENDING,
						    .handshake_ms = TLS_CONN_HANDSHAKE_MS,
						    .idle_ms = IDLE_TIMEOUT_MS,
						    .read_ms = READ_TIMEOUT_MS,
						    .budget = BIG_MSG_BUDGET,
						    .serve = serve};
	char err[256];
	struct netserver *s;
	int fd = tcp_listen(addr, port, plen, err, sizeof(err));

	if (fd < 0) {
		log_error("cluster: %s", err);
		return -1;
	}
	heartbeat_ms = hb_ms;
	timeout_ms = hb_ms * 5;
	s = netserver_new(&cfg);
	if (!s || netserver_listen(s, fd, pki, 0) || netserver_start(s)) {
		log_error("cluster: cannot start serving: out of memory or threads");
		return -1;
	}
	return 0;
}
