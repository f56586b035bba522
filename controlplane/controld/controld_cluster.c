/* controld_cluster.c: lego-controld's cluster port: components register and send
 * heartbeats; legoctl asks for views. A thread per connection. */
#include "controld_cluster.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cluster/cluster_io.h"
#include "controlplane/controld/mempool/controld_mempool.h"
#include "controld_migrate.h"
#include "controld_query.h"
#include "controld_registry.h"
#include "controld_vnode.h"
#include "lib/log.h"

#define IDLE_TIMEOUT_MS 60000 /* a connection that never registers (legoctl) */

static int heartbeat_ms = 1000, timeout_ms = 5000;

struct conn {
	int fd;
	uint64_t id;
	char peer[64];
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
		cluster_io_send_error(c->fd, h, (uint32_t)rc, "bad heartbeat: %s", err);
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
		cluster_io_send_error(c->fd, h, CP_ENOTREG,
				      "register first (or only pmons report vNodes)");
		goto out;
	}
	cluster_io_send(c->fd, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, NULL, 0);
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
		cluster_io_send_error(c->fd, h, (uint32_t)rc, "bad query: %s", why);
		return;
	}
	strbuf_init(&b, CP_MAX_PAYLOAD);
	rc = controld_query_render(&q, &b, err, sizeof(err));
	if (rc)
		cluster_io_send_error(c->fd, h, (uint32_t)rc, "%s", err);
	else if (b.failed)
		cluster_io_send_error(c->fd, h, CP_EIO,
				      "the answer is larger than a message allows");
	else
		cluster_io_send(c->fd, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, b.p, b.len);
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
		cluster_io_send_error(c->fd, h, (uint32_t)rc, "bad migration request: %s", why);
		return;
	}
	controld_registry_lock();
	v = controld_registry_find_name(m.vnode);
	if (v)
		memcpy(uuid, v->def.uuid, 16);
	controld_registry_unlock();
	if (!v) {
		cluster_io_send_error(c->fd, h, CP_ENOENT, "no vNode named '%s'", m.vnode);
		return;
	}
	snprintf(t.host, sizeof(t.host), "%s", m.host);
	log_info("cluster: %s asks to migrate vNode %s to %s", c->peer, m.vnode, m.host);
	rc = controld_migrate_run(uuid, &t, &res, err, sizeof(err));
	if (rc) {
		cluster_io_send_error(c->fd, h, cp_code(rc), "%s", err);
		return;
	}
	r = (struct cluster_proto_mig_report){
		.total_us = res.total_us, .downtime_us = res.downtime_us, .bytes = res.bytes};
	snprintf(r.from, sizeof(r.from), "%s", res.from);
	snprintf(r.to, sizeof(r.to), "%s", res.to);
	cluster_proto_mig_report_put(out, &r);
	cluster_io_send(c->fd, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, out, sizeof(out));
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
		cluster_io_send_error(c->fd, h, (uint32_t)rc, "bad migration status request: %s",
				      why);
		return;
	}
	controld_registry_lock();
	v = controld_registry_find_name(name);
	if (v)
		controld_migrate_progress(v, &pr);
	controld_registry_unlock();
	if (!v) {
		cluster_io_send_error(c->fd, h, CP_ENOENT, "no vNode named '%s'", name);
		return;
	}
	cluster_proto_mig_progress_put(out, &pr);
	cluster_io_send(c->fd, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, out, sizeof(out));
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
		cluster_io_send_error(c->fd, h, (uint32_t)rc, "bad pool job: %s", why);
		return;
	}
	log_info("cluster: %s asks for the %s%s%s", c->peer, cluster_proto_pool_what_name(j.what),
		 j.server[0] ? " of memory server " : " of the memory pool", j.server);
	rc = controld_mempool_job(&j, c->peer, &r, err, sizeof(err));
	if (rc) {
		cluster_io_send_error(c->fd, h, (uint32_t)rc, "%s", err);
		return;
	}
	cluster_proto_pool_report_put(out, &r);
	cluster_io_send(c->fd, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, out, sizeof(out));
}

static void handle_pool_status(struct conn *c, const struct wire_hdr *h)
{
	struct cluster_proto_pool_progress pr;
	uint8_t out[CP_POOL_PROGRESS_LEN];
	char why[256];
	int rc = cluster_proto_pool_status_get(h->len, why, sizeof(why));

	if (rc != CP_OK) {
		cluster_io_send_error(c->fd, h, (uint32_t)rc, "bad pool status request: %s", why);
		return;
	}
	controld_registry_lock();
	controld_mempool_progress(&pr);
	controld_registry_unlock();
	cluster_proto_pool_progress_put(out, &pr);
	cluster_io_send(c->fd, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, out, sizeof(out));
}

static void *serve(void *arg)
{
	struct conn *c = arg;
	bool registered = false;

	for (;;) {
		struct wire_hdr h;
		uint8_t *p;
		char err[256];
		enum cluster_io_recv_result r = cluster_io_recv(
			c->fd, registered ? timeout_ms : IDLE_TIMEOUT_MS, &h, &p, err, sizeof(err));

		if (r == CIO_BAD) {
			log_warn("cluster: %s sent a malformed message (%s): closing", c->peer,
				 err);
			cluster_io_send_error(c->fd, &h, CP_EPROTO, "%s", err);
			break;
		}
		if (r != CIO_MSG) {
			if (r == CIO_FAILED)
				log_warn("cluster: %s: %s", c->peer, err);
			break;
		}
		if (h.op & CP_REPLY) {
			cluster_io_send_error(c->fd, &h, CP_EBADOP,
					      "replies are not expected here");
		} else if (h.op == CP_REGISTER) {
			struct cluster_proto_register reg;
			int rc = cluster_proto_register_get(p, h.len, &reg, err, sizeof(err));

			if (rc == CP_OK && registered) {
				rc = CP_EINVAL;
				snprintf(err, sizeof(err), "register once per connection");
			} else if (rc == CP_OK) {
				controld_registry_lock();
				rc = controld_registry_register(&reg, c->id, err, sizeof(err));
				controld_registry_unlock();
			}
			if (rc == CP_OK) {
				uint8_t out[8];

				wire_put_le32(out, (uint32_t)heartbeat_ms);
				wire_put_le32(out + 4, (uint32_t)timeout_ms);
				cluster_io_send(c->fd, CP_REGISTER | CP_REPLY, h.id, CP_OK, out,
						sizeof(out));
				registered = true;
			} else {
				cluster_io_send_error(c->fd, &h, (uint32_t)rc,
						      "registration refused: %s", err);
			}
		} else if (h.op == CP_HEARTBEAT) {
			handle_heartbeat(c, &h, p);
		} else if (h.op == CP_QUERY) {
			handle_query(c, &h, p);
		} else if (h.op == CP_MIGRATE) {
			handle_migrate(c, &h, p);
		} else if (h.op == CP_MIG_STATUS) {
			handle_mig_status(c, &h, p);
		} else if (h.op == CP_POOL_JOB) {
			handle_pool_job(c, &h, p);
		} else if (h.op == CP_POOL_STATUS) {
			handle_pool_status(c, &h);
		} else {
			cluster_io_send_error(c->fd, &h, CP_EBADOP, "unknown op %u", h.op);
		}
		free(p);
	}
	controld_registry_lock();
	controld_registry_connection_lost(c->id);
	controld_registry_unlock();
	close(c->fd);
	free(c);
	return NULL;
}

static void *accept_loop(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	uint64_t next = 1;

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		struct conn *c;
		pthread_t t;

		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				log_warn("cluster: accept: %s", strerror(errno));
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->id = next++;
		snprintf(c->peer, sizeof(c->peer), "connection %llu", (unsigned long long)c->id);
		if (pthread_create(&t, NULL, serve, c)) {
			log_error("cluster: cannot serve a connection: out of threads");
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

int controld_cluster_listen(const char *addr, int hb_ms, char *port, size_t plen)
{
	char err[256];
	pthread_t t;
	int fd = cluster_io_listen(addr, port, plen, err, sizeof(err));

	if (fd < 0) {
		log_error("cluster: %s", err);
		return -1;
	}
	heartbeat_ms = hb_ms;
	timeout_ms = hb_ms * 5;
	if (pthread_create(&t, NULL, accept_loop, (void *)(intptr_t)fd)) {
		close(fd);
		return -1;
	}
	pthread_detach(t);
	return 0;
}
