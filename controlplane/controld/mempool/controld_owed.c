/* controld_owed.c: the vRegion copies lego-controld still has to free (controld_owed.h): the
 * ledger, its file in the state directory (`owed`), and the sweep. */
#include "controld_owed.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controld_memctl.h"
#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_vnode.h"
#include "lib/log.h"
#include "lib/strbuf.h"

#define OWED_FILE      "owed"
#define OWED_MAX       4096 /* (run, server) entries kept: past it, the oldest is given up */
#define SWEEP_MAX      8    /* entries a pass of the worker sweeps: it has steps to run too */
#define RETRY_MIN_MS   1000
#define RETRY_MAX_MS   30000
#define MEM_TIMEOUT_MS 5000

/* What one server may still hold of one run. */
struct owed {
	struct controld_owed_run run;
	char server[CP_NAME_LEN + 1], addr[CP_ADDR_LEN + 1];
	uint8_t bits[VMAP_MAX_REGIONS / 8];
	int64_t next_ms; /* not swept before (after a failure) */
	int backoff_ms;
	bool warned; /* its failure was logged */
};

/* A leaf lock (the registry lock may be held when it is taken, never the other way). */
static pthread_mutex_t olock = PTHREAD_MUTEX_INITIALIZER;
static struct owed *owed;
static int nr_owed, cap_owed;

static bool has(const struct owed *o, int r)
{
	return o->bits[r / 8] & (1u << (r % 8));
}

static int count(const struct owed *o)
{
	int n = 0;

	for (size_t i = 0; i < sizeof(o->bits); i++)
		n += __builtin_popcount(o->bits[i]);
	return n;
}

static struct owed *find(uint64_t uid, const char *server)
{
	for (int i = 0; i < nr_owed; i++)
		if (owed[i].run.uid == uid && !strcmp(owed[i].server, server))
			return &owed[i];
	return NULL;
}

static void remove_at(int i)
{
	owed[i] = owed[--nr_owed];
}

/* The ledger to the state directory (under olock). */
static void save(void)
{
	struct strbuf b;

	strbuf_init(&b, 0);
	for (int i = 0; i < nr_owed; i++) {
		const struct owed *o = &owed[i];
		const char *sep = "";

		strbuf_printf(&b, "%" PRIu64 " %s %" PRIu64 " %" PRIu64 " %d %s %s ", o->run.uid,
			      o->run.vnode, o->run.ram, o->run.region_size, o->run.nr_regions,
			      o->server, o->addr);
		for (int r = 0; r < o->run.nr_regions; r++) {
			int end = r;

			if (!has(o, r))
				continue;
			while (end + 1 < o->run.nr_regions && has(o, end + 1))
				end++;
			strbuf_printf(&b, end > r ? "%s%d-%d" : "%s%d", sep, r, end);
			sep = ",";
			r = end;
		}
		strbuf_printf(&b, "\n");
	}
	if (b.failed || controld_registry_store_put_file(OWED_FILE, b.p ? b.p : "", b.len))
		log_error(
			"memory pool: cannot record the vRegion copies still to free in the state "
			"directory: a restart of lego-controld would forget them");
	strbuf_free(&b);
}

/* An entry for (run, server), new if needed (under olock); NULL if out of memory. */
static struct owed *entry(const struct controld_owed_run *run, const char *server, const char *addr)
{
	struct owed *o = find(run->uid, server);

	if (o) {
		snprintf(o->addr, sizeof(o->addr), "%s", addr);
		return o;
	}
	if (nr_owed == OWED_MAX) {
		log_error("memory pool: %d memory servers' debts recorded, the most kept: vNode "
			  "%s's %d vRegion cop%s on %s are given up (they stay there)",
			  OWED_MAX, owed[0].run.vnode, count(&owed[0]),
			  count(&owed[0]) == 1 ? "y" : "ies", owed[0].server);
		memmove(&owed[0], &owed[1], (size_t)(--nr_owed) * sizeof(*owed));
	}
	if (nr_owed == cap_owed) {
		int cap = cap_owed ? 2 * cap_owed : 16;
		struct owed *grown = realloc(owed, (size_t)cap * sizeof(*owed));

		if (!grown)
			return NULL;
		owed = grown;
		cap_owed = cap;
	}
	o = &owed[nr_owed++];
	memset(o, 0, sizeof(*o));
	o->run = *run;
	snprintf(o->server, sizeof(o->server), "%s", server);
	snprintf(o->addr, sizeof(o->addr), "%s", addr);
	o->backoff_ms = RETRY_MIN_MS;
	return o;
}

/* Under olock: region r owed on server; false if it could not be recorded. */
static bool add_locked(const struct controld_owed_run *run, const char *server, const char *addr,
		       int r)
{
	struct owed *o;

	if (r < 0 || r >= run->nr_regions || r >= VMAP_MAX_REGIONS)
		return false;
	o = entry(run, server, addr);
	if (!o) {
		log_error("vNode %s: out of memory: its vRegion %d stays on memory server %s",
			  run->vnode, r, server);
		return false;
	}
	o->bits[r / 8] |= (uint8_t)(1u << (r % 8));
	return true;
}

void controld_owed_run_of(const struct controld_registry_vnode *v, struct controld_owed_run *run)
{
	memset(run, 0, sizeof(*run));
	run->uid = v->uid;
	snprintf(run->vnode, sizeof(run->vnode), "%s", v->def.name);
	run->ram = v->def.memory_kib * 1024;
	run->region_size = v->region_size;
	run->nr_regions = v->map.nr_regions;
}

void controld_owed_add(const struct controld_owed_run *run, const char *server, const char *addr,
		       const int *r, int n)
{
	int added = 0;

	pthread_mutex_lock(&olock);
	for (int i = 0; i < n; i++)
		added += add_locked(run, server, addr, r[i]);
	if (added)
		save();
	pthread_mutex_unlock(&olock);
}

void controld_owed_run_ended(const struct controld_registry_vnode *v)
{
	const struct vnode_map *m = &v->map;
	struct controld_owed_run run;
	int n = 0;

	if (!v->uid || !m->nr_regions)
		return;
	controld_owed_run_of(v, &run);
	pthread_mutex_lock(&olock);
	for (int s = 0; s < m->nr_mmons; s++)
		for (int r = 0; r < m->nr_regions; r++)
			if (vnode_map_has_copy(m, r, s))
				n += add_locked(&run, m->mmon[s], m->mmon_addr[s], r);
	if (n)
		save();
	pthread_mutex_unlock(&olock);
	log_debug("vNode %s (uid %" PRIu64 "): its run ended: its %d vRegion cop%s to be freed",
		  v->def.name, v->uid, n, n == 1 ? "y is" : "ies are");
}

/* Under olock: region r of uid no longer owed on server; true if it was. */
static bool clear_locked(uint64_t uid, const char *server, int r)
{
	struct owed *o = find(uid, server);

	if (!o || r < 0 || r >= VMAP_MAX_REGIONS || !has(o, r))
		return false;
	o->bits[r / 8] &= (uint8_t) ~(1u << (r % 8));
	if (!count(o))
		remove_at((int)(o - owed));
	return true;
}

void controld_owed_cancel(uint64_t uid, const char *server, int r)
{
	pthread_mutex_lock(&olock);
	if (clear_locked(uid, server, r))
		save();
	pthread_mutex_unlock(&olock);
}

/* Free region r of run on the server m is connected to: 0 (freed, or not there), or -1. */
static int free_one(struct controld_memctl *m, const struct controld_owed_run *run, int r,
		    bool *freed)
{
	return controld_memctl_free(
		       m, (uint32_t)r,
		       vnode_map_region_bytes(r, run->nr_regions, run->ram, run->region_size),
		       freed)
		       ? -1
		       : 0;
}

int controld_owed_settle(const struct controld_owed_run *run, const char *server, const char *addr,
			 int r, char *err, size_t errlen)
{
	struct controld_memctl m;
	struct owed *o;
	bool owes, freed = false;
	int rc;

	pthread_mutex_lock(&olock);
	o = find(run->uid, server);
	owes = o && r >= 0 && r < VMAP_MAX_REGIONS && has(o, r);
	pthread_mutex_unlock(&olock);
	if (!owes)
		return 0;
	rc = controld_memctl_connect(&m, controld_vnode_provider(), addr, run->uid, MEM_TIMEOUT_MS);
	if (!rc)
		rc = free_one(&m, run, r, &freed);
	if (rc)
		snprintf(err, errlen, "its old copy there could not be freed first: %s", m.err);
	controld_memctl_close(&m);
	if (rc)
		return -1;
	if (freed)
		log_info(
			"vNode %s vRegion %d: its old copy on %s freed before a new one goes there",
			run->vnode, r, server);
	controld_owed_cancel(run->uid, server, r);
	return 0;
}

/* Sweep one entry (a copy of it, the server at addr): the regions it freed, or with none. */
static void sweep_one(const struct owed *o, const char *addr, uint8_t *done, int *freed, char *err,
		      size_t errlen)
{
	struct controld_memctl m;

	memset(done, 0, sizeof(o->bits));
	*freed = 0;
	if (controld_memctl_connect(&m, controld_vnode_provider(), addr, o->run.uid,
				    MEM_TIMEOUT_MS)) {
		snprintf(err, errlen, "%s", m.err);
		return;
	}
	for (int r = 0; r < o->run.nr_regions; r++) {
		bool f = false;

		if (!has(o, r))
			continue;
		if (free_one(&m, &o->run, r, &f)) {
			snprintf(err, errlen, "%s", m.err);
			break;
		}
		done[r / 8] |= (uint8_t)(1u << (r % 8));
		*freed += f;
	}
	controld_memctl_close(&m);
}

/* Under olock: what a sweep of (uid, server) did: the regions done leave it; it ends, or
 * waits to be tried again. */
static void swept(const struct owed *copy, const uint8_t *done, int freed, const char *err,
		  int64_t now)
{
	struct owed *o = find(copy->run.uid, copy->server);
	int left;

	if (!o)
		return;
	for (size_t i = 0; i < sizeof(o->bits); i++)
		o->bits[i] &= (uint8_t)~done[i];
	left = count(o);
	if (freed)
		log_info("vNode %s: freed %d vRegion cop%s it left on memory server %s%s",
			 o->run.vnode, freed, freed == 1 ? "y" : "ies", o->server,
			 left ? " (not every one yet)" : "");
	if (!left) {
		if (o->warned)
			log_info("vNode %s: memory server %s holds none of its vRegions any more",
				 o->run.vnode, o->server);
		remove_at((int)(o - owed));
		return;
	}
	if (!o->warned)
		log_warn("vNode %s: %d vRegion cop%s on memory server %s could not be freed (%s): "
			 "tried again",
			 o->run.vnode, left, left == 1 ? "y" : "ies", o->server, err);
	o->warned = true;
	o->next_ms = now + o->backoff_ms;
	o->backoff_ms = o->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : o->backoff_ms * 2;
}

void controld_owed_sweep(int64_t now)
{
	struct owed work[SWEEP_MAX];
	char addr[SWEEP_MAX][CP_ADDR_LEN + 1];
	int n = 0;

	controld_registry_lock();
	pthread_mutex_lock(&olock);
	for (int i = 0; i < nr_owed && n < SWEEP_MAX; i++) {
		const struct controld_registry_component *c =
			controld_registry_find_component(CP_KIND_MMON, owed[i].server);

		if (!c || !c->alive || now < owed[i].next_ms)
			continue; /* a server that is down is swept once it is back */
		work[n] = owed[i];
		snprintf(addr[n++], sizeof(addr[0]), "%s", c->addr);
	}
	pthread_mutex_unlock(&olock);
	controld_registry_unlock();
	for (int i = 0; i < n; i++) {
		uint8_t done[sizeof(work[0].bits)];
		char err[600] = "";
		int freed;

		sweep_one(&work[i], addr[i], done, &freed, err, sizeof(err));
		pthread_mutex_lock(&olock);
		swept(&work[i], done, freed, err, now);
		save();
		pthread_mutex_unlock(&olock);
	}
}

uint32_t controld_owed_on(const char *server)
{
	uint32_t n = 0;

	pthread_mutex_lock(&olock);
	for (int i = 0; i < nr_owed; i++)
		if (!strcmp(owed[i].server, server))
			n += (uint32_t)count(&owed[i]);
	pthread_mutex_unlock(&olock);
	return n;
}

uint32_t controld_owed_total(void)
{
	uint32_t n = 0;

	pthread_mutex_lock(&olock);
	for (int i = 0; i < nr_owed; i++)
		n += (uint32_t)count(&owed[i]);
	pthread_mutex_unlock(&olock);
	return n;
}

/* "0-3,5" into o's regions: 0, or -1. */
static int parse_regions(struct owed *o, const char *text)
{
	const char *p = text;

	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (end == p || a < 0)
			return -1;
		p = end;
		if (*p == '-') {
			b = strtol(++p, &end, 10);
			if (end == p || b < a)
				return -1;
			p = end;
		}
		if (b >= o->run.nr_regions)
			return -1;
		for (long r = a; r <= b; r++)
			o->bits[r / 8] |= (uint8_t)(1u << (r % 8));
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
	}
	return count(o) ? 0 : -1;
}

/* One line of the file: 0, or -1 if it is not one this file holds. */
static int load_line(char *line)
{
	struct controld_owed_run run = {0};
	char name[DOM_NAME_MAX + 1], server[CP_NAME_LEN + 1], addr[CP_ADDR_LEN + 1], regions[8192];
	struct owed *o;

	if (sscanf(line, "%" SCNu64 " %64s %" SCNu64 " %" SCNu64 " %d %64s %128s %8191s", &run.uid,
		   name, &run.ram, &run.region_size, &run.nr_regions, server, addr, regions) != 8 ||
	    !run.uid || !run.region_size || run.nr_regions < 1 ||
	    run.nr_regions > VMAP_MAX_REGIONS || !cluster_proto_name_ok(server))
		return -1;
	snprintf(run.vnode, sizeof(run.vnode), "%s", name);
	o = entry(&run, server, addr);
	if (!o || parse_regions(o, regions)) {
		if (o)
			remove_at((int)(o - owed));
		return -1;
	}
	return 0;
}

void controld_owed_init(void)
{
	size_t len;
	char *text = controld_registry_store_get_file(OWED_FILE, &len), *save_ptr = NULL;

	pthread_mutex_lock(&olock);
	for (char *line = text ? strtok_r(text, "\n", &save_ptr) : NULL; line;
	     line = strtok_r(NULL, "\n", &save_ptr))
		if (load_line(line))
			log_error("state: %s: '%.80s' is not a vRegion debt: ignored", OWED_FILE,
				  line);
	pthread_mutex_unlock(&olock);
	free(text);
	if (controld_owed_total())
		log_info("memory pool: %u vRegion cop%s on memory servers still to free (from the "
			 "state directory)",
			 controld_owed_total(), controld_owed_total() == 1 ? "y" : "ies");
}
