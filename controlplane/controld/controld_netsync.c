/* controld_netsync.c: NET_SET to every processor host whose view of the networks and of the
 * other hosts is out of date (a thread, and on demand before a start), and NET_LEASES
 * gathered from every host. */
#include "controld_netsync.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controld_net.h"
#include "controld_registry.h"
#include "controld_vnode.h"
#include "lib/log.h"
#include "lib/mono_clock.h"

#define POLL_MS	     200
#define RETRY_LOG_MS 10000 /* a host that keeps refusing is logged this often */
#define MAX_HOSTS    REG_MAX_COMPONENTS

static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER; /* one NET_SET at a time */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

/* The cluster's state as every host must see it (under the registry lock): never 0. */
static uint64_t signature(void)
{
	uint64_t h = 14695981039346656037ULL;

	for (int i = 0; i < controld_net_count(); i++)
		h = fnv(h, &controld_net_at(i)->n, sizeof(struct net_proto_net));
	for (int i = 0; i < controld_registry_nr_components(); i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);

		if (c->kind == CP_KIND_PMON && c->alive) {
			h = fnv(h, c->name, strlen(c->name) + 1);
			h = fnv(h, &c->vtep, sizeof(c->vtep));
		}
	}
	return h ? h : 1;
}

static bool stale(const struct controld_registry_component *c, uint64_t sig)
{
	return c->kind == CP_KIND_PMON && c->alive &&
	       (c->net_sig != sig || c->net_sig_reg != c->registrations);
}

/* What host must be told (under the registry lock): every network, every other live host's
 * VXLAN address. */
static void desired(const char *host, struct net_proto_set *m)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < controld_net_count(); i++)
		m->nets[m->nr_nets++] = controld_net_at(i)->n;
	for (int i = 0; i < controld_registry_nr_components(); i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);
		bool dup = false;

		if (c->kind != CP_KIND_PMON || !c->alive || !c->vtep || !strcmp(c->name, host) ||
		    m->nr_peers == NET_PROTO_MAX_PEERS)
			continue;
		for (uint32_t k = 0; k < m->nr_peers; k++)
			dup |= m->peers[k] == c->vtep;
		if (!dup)
			m->peers[m->nr_peers++] = c->vtep;
	}
}

/* One NET_SET to host if it is stale (under sync_lock): CP_OK, or why not. */
static int sync_one(const char *host, char *err, size_t errlen)
{
	struct net_proto_set *m = malloc(sizeof(*m));
	struct controld_registry_component *c;
	uint8_t *req = NULL, *reply = NULL;
	uint64_t sig;
	uint32_t reg = 0, vtep = 0;
	size_t rlen = 0, len;
	int rc = CP_EIO;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return CP_EIO;
	}
	controld_registry_lock();
	sig = signature();
	c = controld_registry_find_component(CP_KIND_PMON, host);
	if (c && stale(c, sig)) {
		reg = c->registrations;
		desired(host, m);
	}
	controld_registry_unlock();
	if (!c || !reg) {
		free(m);
		if (c)
			return CP_OK; /* up to date */
		snprintf(err, errlen, "processor host '%s' is not registered", host);
		return CP_ENOENT;
	}
	len = net_proto_set_len(m);
	req = malloc(len);
	if (req) {
		net_proto_set_put(req, m);
		rc = controld_vnode_pmon_call(host, CP_NET_SET, req, len, &reply, &rlen, err,
					      errlen);
		if (rc == CP_OK)
			rc = net_proto_set_reply_get(reply, rlen, &vtep, err, errlen);
	}
	if (rc == CP_OK) {
		controld_registry_lock();
		c = controld_registry_find_component(CP_KIND_PMON, host);
		if (c && c->registrations == reg) {
			if (c->vtep != vtep) {
				char ip[16];

				net_proto_ip_format(vtep, ip);
				log_info("processor host %s: VXLAN address %s (%u network(s), %u "
					 "other host(s))",
					 host, vtep ? ip : "none", m->nr_nets, m->nr_peers);
			}
			c->vtep = vtep;
			c->net_sig = sig;
			c->net_sig_reg = reg;
		}
		controld_registry_unlock();
	}
	free(reply);
	free(req);
	free(m);
	return rc;
}

int controld_netsync_host(const char *host, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&sync_lock);
	rc = sync_one(host, err, errlen);
	pthread_mutex_unlock(&sync_lock);
	return rc;
}

static void *sync_main(void *arg)
{
	char(*hosts)[CP_NAME_LEN + 1] = calloc(MAX_HOSTS, sizeof(*hosts));
	int64_t last_log = 0;

	(void)arg;
	for (; hosts;) {
		char err[CP_ERRTEXT_MAX + 128];
		uint64_t sig;
		int n = 0;

		usleep(POLL_MS * 1000);
		controld_registry_lock();
		sig = signature();
		for (int i = 0; i < controld_registry_nr_components() && n < MAX_HOSTS; i++) {
			const struct controld_registry_component *c =
				controld_registry_component_at(i);

			if (stale(c, sig))
				snprintf(hosts[n++], sizeof(hosts[0]), "%s", c->name);
		}
		controld_registry_unlock();
		for (int i = 0; i < n; i++) {
			if (controld_netsync_host(hosts[i], err, sizeof(err)) == CP_OK)
				continue;
			if (mono_clock_ms() - last_log >= RETRY_LOG_MS) {
				last_log = mono_clock_ms();
				log_warn("networks: processor host %s not updated (retrying): %s",
					 hosts[i], err);
			}
		}
	}
	log_error("networks: out of memory: processor hosts are not kept up to date");
	return NULL;
}

int controld_netsync_start(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, sync_main, NULL))
		return -1;
	pthread_detach(t);
	return 0;
}

/* Add host's leases to the set, one per MAC, the latest expiry winning. */
static int merge(struct net_proto_lease **all, uint32_t *n, const struct net_proto_lease *l,
		 uint32_t nl)
{
	for (uint32_t i = 0; i < nl; i++) {
		uint32_t k = 0;
		struct net_proto_lease *grown;

		while (k < *n && memcmp((*all)[k].mac, l[i].mac, 6))
			k++;
		if (k < *n) {
			bool never = !l[i].expiry || !(*all)[k].expiry;

			if (never || l[i].expiry > (*all)[k].expiry) {
				(*all)[k] = l[i];
				if (never)
					(*all)[k].expiry = 0;
			}
			continue;
		}
		if (*n >= NET_PROTO_MAX_LEASES)
			return 0;
		grown = realloc(*all, (*n + 1) * sizeof(**all));
		if (!grown)
			return -1;
		*all = grown;
		(*all)[(*n)++] = l[i];
	}
	return 0;
}

int controld_netsync_leases(const char *net, struct net_proto_lease **out, uint32_t *n, char *err,
			    size_t errlen)
{
	char(*hosts)[CP_NAME_LEN + 1] = calloc(MAX_HOSTS, sizeof(*hosts));
	uint8_t req[NET_PROTO_LEASES_LEN];
	struct net_proto_lease *all = NULL;
	uint32_t nall = 0, keep = 0;
	int nh = 0, rc = 0;

	*out = NULL;
	*n = 0;
	if (!hosts) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	controld_registry_lock();
	for (int i = 0; i < controld_registry_nr_components() && nh < MAX_HOSTS; i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);

		if (c->kind == CP_KIND_PMON && c->alive)
			snprintf(hosts[nh++], sizeof(hosts[0]), "%s", c->name);
	}
	controld_registry_unlock();
	net_proto_leases_put(req, net);
	for (int i = 0; i < nh && !rc; i++) {
		uint8_t *reply = NULL;
		struct net_proto_lease *l = NULL;
		uint32_t nl = 0;
		size_t rlen = 0;
		char why[CP_ERRTEXT_MAX + 128];

		if (controld_vnode_pmon_call(hosts[i], CP_NET_LEASES, req, sizeof(req), &reply,
					     &rlen, why, sizeof(why)) != CP_OK ||
		    net_proto_leases_reply_get(reply, rlen, &l, &nl, why, sizeof(why)) != CP_OK)
			log_debug("network %s: no leases from %s: %s", net, hosts[i], why);
		else if (merge(&all, &nall, l, nl))
			rc = -1;
		free(l);
		free(reply);
	}
	free(hosts);
	if (rc) {
		free(all);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* A lease outlives its vNode on a host: only the interfaces that exist count. */
	controld_registry_lock();
	for (uint32_t i = 0; i < nall; i++)
		if (controld_net_mac_known(net, all[i].mac))
			all[keep++] = all[i];
	controld_registry_unlock();
	if (!keep) {
		free(all);
		all = NULL;
	}
	*out = all;
	*n = keep;
	return 0;
}
