/* cluster_agent.c: register with lego-controld and keep sending heartbeats. */
#include "cluster_agent.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cluster_io.h"
#include "lib/log.h"
#include "lib/parse.h"

#define CONNECT_TIMEOUT_MS 2000
#define BACKOFF_MIN_MS	   100
#define BACKOFF_MAX_MS	   2000

struct cluster_agent {
	struct cluster_agent_config cfg;
	char addrs[CLUSTER_AGENT_ADDRS_MAX][CP_ADDR_LEN + 1];
	int naddrs, cur;
	char *controld; /* addrs[cur] */
	int wake_fd;	/* eventfd: kick (1) or stop (stop flag set) */
	bool stop;
	pthread_t thread;
	uint8_t *hb;
};

/* Wait up to ms, or until kicked or stopped; true if the agent should stop. A readable
 * sock means controld closed it (it never speaks first): *lost is set. */
static bool wait_event(struct cluster_agent *a, int sock, int ms, bool *lost)
{
	struct pollfd p[2] = {{.fd = a->wake_fd, .events = POLLIN}, {.fd = sock, .events = POLLIN}};
	uint64_t v;

	if (poll(p, sock >= 0 ? 2 : 1, ms) > 0) {
		if (p[0].revents & POLLIN && read(a->wake_fd, &v, sizeof(v)) < 0)
			(void)0; /* another reader got it: the wake-up happened anyway */
		if (sock >= 0 && p[1].revents)
			*lost = true;
	}
	return __atomic_load_n(&a->stop, __ATOMIC_ACQUIRE);
}

int cluster_agent_addrs_ok(const char *text)
{
	char host[256], port[16];
	int n = 0;

	for (const char *p = text;; n++) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char one[CP_ADDR_LEN + 1];

		if (n == CLUSTER_AGENT_ADDRS_MAX || len == 0 || len > CP_ADDR_LEN)
			return -1;
		memcpy(one, p, len);
		one[len] = '\0';
		if (parse_hostport(one, 1, host, sizeof(host), port, sizeof(port)))
			return -1;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

/* One connected session: register, then heartbeats until the connection fails. */
static void session(struct cluster_agent *a, struct tls_conn *c)
{
	uint8_t reg[CP_REGISTER_LEN], *reply;
	size_t rlen;
	char err[CP_ERRTEXT_MAX + 64];
	uint32_t interval, timeout;
	int rc;
	bool lost = false;

	cluster_proto_register_put(reg, &a->cfg.reg);
	rc = cluster_io_call(c, CP_REGISTER, reg, sizeof(reg), &reply, &rlen, CONNECT_TIMEOUT_MS,
			     err, sizeof(err));
	if (rc == CP_ESTANDBY) { /* the next address; the text names the leader */
		log_info("cluster: lego-controld %s: %s", a->controld, err);
		return;
	}
	if (rc != CP_OK) {
		log_error("cluster: lego-controld %s refused registration: %s", a->controld, err);
		return;
	}
	interval = rlen == 8 ? wire_get_le32(reply) : 0;
	timeout = rlen == 8 ? wire_get_le32(reply + 4) : 0;
	free(reply);
	if (interval < 10 || interval > 60000 || timeout < interval) {
		log_error("cluster: lego-controld %s sent a bad registration reply", a->controld);
		return;
	}
	log_info("cluster: registered with lego-controld %s as %s (heartbeat every %u ms)",
		 a->controld, a->cfg.reg.name, interval);
	for (;;) {
		size_t len = a->cfg.heartbeat(a->cfg.ctx, a->hb, CP_MAX_PAYLOAD);

		rc = cluster_io_call(c, CP_HEARTBEAT, a->hb, len, NULL, NULL, (int)timeout, err,
				     sizeof(err));
		if (rc != CP_OK) {
			log_warn("cluster: heartbeat to lego-controld %s failed: %s", a->controld,
				 err);
			return;
		}
		if (wait_event(a, c->fd, (int)interval, &lost))
			return;
		if (lost) {
			log_warn("cluster: lego-controld %s closed the connection", a->controld);
			return;
		}
	}
}

static void *agent_main(void *arg)
{
	struct cluster_agent *a = arg;
	/* Only lego-controld's own certificate: a stranger at its address gets nothing. */
	const struct tls_conn_expect want = {.kinds = TLS_KIND_BIT(TLS_KIND_CONTROLD)};
	int backoff = BACKOFF_MIN_MS;
	bool warned = false, lost;

	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		char err[512];
		struct tls_conn *c = tls_conn_dial(a->controld, a->cfg.pki, &want,
						   CONNECT_TIMEOUT_MS, err, sizeof(err));

		if (c) {
			session(a, c);
			tls_conn_close(c);
			backoff = BACKOFF_MIN_MS;
			warned = false;
		} else if (!warned) {
			log_warn("cluster: %s; retrying", err);
			warned = true;
		}
		/* Whichever ended the session, the leader may be elsewhere now. */
		a->cur = (a->cur + 1) % a->naddrs;
		a->controld = a->addrs[a->cur];
		if (wait_event(a, -1, backoff, &lost))
			break;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

int cluster_agent_start(struct cluster_agent **out, const struct cluster_agent_config *cfg)
{
	struct cluster_agent *a = calloc(1, sizeof(*a));

	if (!a)
		return -1;
	a->cfg = *cfg;
	for (const char *p = cfg->controld; p && a->naddrs < CLUSTER_AGENT_ADDRS_MAX;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		snprintf(a->addrs[a->naddrs++], CP_ADDR_LEN + 1, "%.*s", (int)len, p);
		p = comma ? comma + 1 : NULL;
	}
	if (!a->naddrs)
		a->naddrs = 1;
	a->controld = a->addrs[0];
	a->cfg.controld = NULL; /* the list is ours */
	a->hb = malloc(CP_MAX_PAYLOAD);
	a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!a->hb || a->wake_fd < 0 || pthread_create(&a->thread, NULL, agent_main, a)) {
		if (a->wake_fd >= 0)
			close(a->wake_fd);
		free(a->hb);
		free(a);
		return -1;
	}
	*out = a;
	return 0;
}

int cluster_agent_join(struct cluster_agent **out, const char *controld, const struct tls_pki *pki,
		       int kind, const char *name, const char *host, const char *port,
		       const char *provider, uint32_t cores, uint64_t capacity,
		       size_t (*heartbeat)(void *ctx, uint8_t *buf, size_t cap), void *ctx)
{
	struct cluster_agent_config cfg = {
		.controld = controld, .pki = pki, .heartbeat = heartbeat, .ctx = ctx};

	cfg.reg.kind = (uint32_t)kind;
	cfg.reg.cores = cores;
	cfg.reg.capacity_bytes = capacity;
	snprintf(cfg.reg.name, sizeof(cfg.reg.name), "%s", name);
	snprintf(cfg.reg.provider, sizeof(cfg.reg.provider), "%s", provider ? provider : "");
	if (parse_hostport_format(cfg.reg.addr, sizeof(cfg.reg.addr), host, port)) {
		log_error("cannot join the cluster: address %s:%s is too long", host, port);
		return -1;
	}
	if (cluster_agent_start(out, &cfg)) {
		log_error("cannot start the cluster agent");
		return -1;
	}
	return 0;
}

size_t cluster_agent_heartbeat_put(uint8_t *buf, uint64_t used_bytes, uint32_t used_cores)
{
	cluster_proto_heartbeat_put(buf,
				    &(struct cluster_proto_heartbeat){.used_bytes = used_bytes,
								      .used_cores = used_cores});
	return CP_HEARTBEAT_LEN;
}

void cluster_agent_kick(struct cluster_agent *a)
{
	uint64_t one = 1;

	if (a && write(a->wake_fd, &one, sizeof(one)) < 0)
		(void)0; /* counter saturated: a wake-up is pending anyway */
}

void cluster_agent_stop(struct cluster_agent *a)
{
	if (!a)
		return;
	__atomic_store_n(&a->stop, true, __ATOMIC_RELEASE);
	cluster_agent_kick(a);
	pthread_join(a->thread, NULL);
	close(a->wake_fd);
	free(a->hb);
	free(a);
}
