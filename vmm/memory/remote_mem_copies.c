/* remote_mem_copies.c: the control plane's changes to the vRegions' copies while the vNode
 * runs (a copy added, made live, dropped; a server lost) and what it is told of them. */
#include <stdio.h>
#include <string.h>

#include "lib/client/mem_client.h"
#include "lib/log.h"
#include "remote_mem.h"
#include "remote_mem_internal.h"

static bool bad_index(const struct remote_mem *rm, int idx, char *err, size_t errlen)
{
	if (idx >= 0 && idx < rm->nr_regions)
		return false;
	snprintf(err, errlen, "vRegion %d does not exist (this vNode has %d)", idx, rm->nr_regions);
	return true;
}

int remote_mem_copies_add(struct remote_mem *rm, int idx, const char *addr, char *err,
			  size_t errlen)
{
	struct remote_mem_region *g;
	struct mem_proto_open_reply o;
	struct remote_mem_failure f = {0};
	int server, k, rc = -1;
	bool created;

	if (bad_index(rm, idx, err, errlen))
		return -1;
	g = &rm->regions[idx];
	pthread_mutex_lock(&rm->ctl_lock);
	server = remote_mem_server_by_addr(rm, addr, &created, err, errlen);
	if (server < 0)
		goto out;
	/* Held until a copy names it (or the add fails: then nothing refers to it). */
	/* A server new to this vNode: every channel connects now, before any copy there is
	 * in use (so that no pager thread stalls on a connect, and none races this one). */
	for (int ch = 0; created && ch <= rm->nr_channels; ch++)
		if (!remote_mem_conn(rm, server, ch, &f)) {
			remote_mem_lose_server(rm, server, f.what);
			snprintf(err, errlen, "%s: %s", addr, f.what);
			goto out;
		}
	if (remote_mem_open_on(rm, idx, server, remote_mem_ctl_channel(rm),
			       MP_OPEN_CREATE | MP_OPEN_JOIN, &o, &f)) {
		if (f.lost)
			remote_mem_lose_server(rm, server, f.what);
		snprintf(err, errlen, "%s: %s", addr, f.what);
		goto out;
	}
	pthread_rwlock_wrlock(&g->lock);
	k = remote_mem_find_copy(g, server);
	if (k >= 0 && g->copies[k].state == RM_COPY_LIVE && !atomic_load(&g->copies[k].failed)) {
		snprintf(err, errlen, "vRegion %d already has a live copy on %s", idx, addr);
	} else if (k < 0 && g->nr_copies == RM_MAX_COPIES) {
		snprintf(err, errlen, "vRegion %d has %d copies, the most it can", idx,
			 RM_MAX_COPIES);
	} else {
		remote_mem_set_copy(rm, &g->copies[k >= 0 ? k : g->nr_copies++], k < 0, server,
				    RM_COPY_JOINING, &o);
		rc = 0;
	}
	pthread_rwlock_unlock(&g->lock);
	if (!rc)
		log_info("vRegion %d: new copy joining on %s (%s)", idx, addr,
			 rm->servers[server].name);
out:
	if (server >= 0)
		remote_mem_server_put(rm, server);
	pthread_mutex_unlock(&rm->ctl_lock);
	return rc;
}

int remote_mem_copies_live(struct remote_mem *rm, int idx, const char *addr, char *err,
			   size_t errlen)
{
	struct remote_mem_region *g;
	int server, k, rc = -1;

	if (bad_index(rm, idx, err, errlen))
		return -1;
	g = &rm->regions[idx];
	pthread_mutex_lock(&rm->ctl_lock);
	server = remote_mem_server_find(rm, addr);
	pthread_rwlock_wrlock(&g->lock);
	k = server < 0 ? -1 : remote_mem_find_copy(g, server);
	if (k < 0)
		snprintf(err, errlen, "vRegion %d has no copy on %s", idx, addr);
	else if (atomic_load(&g->copies[k].failed))
		snprintf(err, errlen, "vRegion %d's copy on %s failed: it cannot go live", idx,
			 addr);
	else
		rc = 0;
	if (!rc)
		g->copies[k].state = RM_COPY_LIVE;
	pthread_rwlock_unlock(&g->lock);
	if (server >= 0)
		remote_mem_server_put(rm, server);
	pthread_mutex_unlock(&rm->ctl_lock);
	if (!rc)
		log_info("vRegion %d: its copy on %s is live", idx, addr);
	return rc;
}

int remote_mem_copies_drop(struct remote_mem *rm, int idx, const char *addr, char *err,
			   size_t errlen)
{
	struct remote_mem_region *g;
	int n = atomic_load(&rm->nr_servers), k = -1, live_other = 0, rc = -1;

	if (bad_index(rm, idx, err, errlen))
		return -1;
	g = &rm->regions[idx];
	pthread_mutex_lock(&rm->ctl_lock);
	pthread_rwlock_wrlock(&g->lock);
	/* A copy there that failed (or whose server was lost) goes first; then a live one. */
	for (int pass = 0; pass < 2 && k < 0; pass++)
		for (int j = 0; j < g->nr_copies && k < 0; j++) {
			int s = atomic_load(&g->copies[j].server);

			if (s < n && !strcmp(rm->servers[s].addr, addr) &&
			    (pass || !remote_mem_usable(rm, &g->copies[j], false)))
				k = j;
		}
	for (int j = 0; j < g->nr_copies; j++)
		live_other += j != k && g->copies[j].state == RM_COPY_LIVE &&
			      remote_mem_usable(rm, &g->copies[j], true);
	if (k < 0) {
		/* Already gone (dropped before, or never there): nothing to do. */
		rc = 0;
	} else if (!live_other && remote_mem_usable(rm, &g->copies[k], true)) {
		snprintf(err, errlen, "the copy on %s is vRegion %d's last live copy", addr, idx);
	} else {
		remote_mem_remove_copy(rm, g, k);
		rc = 0;
		log_info("vRegion %d: its copy on %s is dropped", idx, addr);
	}
	pthread_rwlock_unlock(&g->lock);
	pthread_mutex_unlock(&rm->ctl_lock);
	return rc;
}

int remote_mem_copies_server_lost(struct remote_mem *rm, const char *addr, int *failed)
{
	int stay = 0, server = remote_mem_server_find(rm, addr);
	char label[400];

	*failed = 0;
	if (server < 0)
		return 0;
	/* Held while it is looked at: its entry must stay this server's. */
	remote_mem_server_label(rm, server, label, sizeof(label));
	for (int i = 0; i < rm->nr_regions; i++) {
		struct remote_mem_region *g = &rm->regions[i];
		int k, live_other = 0;

		/* The write lock: no I/O on the region changes its copies while they are weighed.
		 */
		pthread_rwlock_wrlock(&g->lock);
		k = remote_mem_find_copy(g, server);
		for (int j = 0; k >= 0 && j < g->nr_copies; j++)
			live_other += j != k && g->copies[j].state == RM_COPY_LIVE &&
				      remote_mem_usable(rm, &g->copies[j], true);
		if (k >= 0 && !live_other && g->copies[k].state == RM_COPY_LIVE &&
		    remote_mem_usable(rm, &g->copies[k], true)) {
			stay++;
		} else if (k >= 0 && !atomic_exchange(&g->copies[k].failed, true)) {
			atomic_fetch_add(&rm->copies_lost, 1);
			(*failed)++;
		}
		pthread_rwlock_unlock(&g->lock);
	}
	if (!stay)
		remote_mem_lose_server(rm, server, "the control plane says it is gone");
	else
		log_warn("%s: the control plane says it is lost: %d cop%s there failed; %d kept, "
			 "the "
			 "last live copies of their vRegions (this VMM's own requests decide)",
			 label, *failed, *failed == 1 ? "y" : "ies", stay);
	remote_mem_server_put(rm, server);
	return stay;
}

int remote_mem_copies_servers(struct remote_mem *rm, struct remote_mem_server_view *out)
{
	int n;

	pthread_mutex_lock(&rm->servers_lock);
	n = atomic_load(&rm->nr_servers);
	for (int s = 0; s < n; s++) {
		snprintf(out[s].addr, sizeof(out[s].addr), "%s", rm->servers[s].addr);
		snprintf(out[s].name, sizeof(out[s].name), "%s", rm->servers[s].name);
		out[s].lost = atomic_load(&rm->servers[s].dead);
	}
	pthread_mutex_unlock(&rm->servers_lock);
	return n;
}

int remote_mem_copies_region(struct remote_mem *rm, int idx, struct remote_mem_copy_view *out)
{
	struct remote_mem_region *g = &rm->regions[idx];
	int n;

	pthread_rwlock_rdlock(&g->lock);
	n = g->nr_copies;
	for (int k = 0; k < n; k++) {
		out[k] = (struct remote_mem_copy_view){
			.server = atomic_load(&g->copies[k].server),
			.live = g->copies[k].state == RM_COPY_LIVE,
			.failed = !remote_mem_usable(rm, &g->copies[k], false)};
		remote_mem_server_hold(rm, out[k].server);
	}
	pthread_rwlock_unlock(&g->lock);
	return n;
}

void remote_mem_copies_region_done(struct remote_mem *rm, const struct remote_mem_copy_view *cv,
				   int n)
{
	for (int k = 0; k < n; k++)
		remote_mem_server_put(rm, cv[k].server);
}

uint64_t remote_mem_copies_lost(struct remote_mem *rm)
{
	return atomic_load(&rm->copies_lost);
}

uint64_t remote_mem_copies_redirects(struct remote_mem *rm)
{
	return atomic_load(&rm->redirects);
}
