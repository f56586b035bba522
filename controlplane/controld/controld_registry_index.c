/* controld_registry_index.c: hash indexes over the registry's tables, so that what a
 * 1000-host, 10,000-vNode cluster asks many times a second (every heartbeat's vNode
 * statuses, the vNodes on a host, a component by name) costs O(1) rather than a scan of a
 * table. Each index is a hint checked against the table: callers fall back to a scan on a
 * miss, so an index that missed a change is slower, never wrong. Under the registry lock. */
#include "controld_registry_index.h"

#include <string.h>

#include "lib/mono_clock.h"

#define UUID_SLOTS   (REG_MAX_VNODES * 2) /* powers of two, at most half full */
#define COMP_SLOTS   (REG_MAX_COMPONENTS * 2)
#define HOST_BUCKETS 4096
#define HOST_MAX_AGE 100 /* ms: the per-host lists are rebuilt at least this often */

static struct controld_registry_vnode *by_uuid[UUID_SLOTS];
static int nr_uuid;
static int by_comp[COMP_SLOTS]; /* component slot + 1; 0: empty */
static int nr_comp;
/* The vNodes with a run, chained per bucket of their host's name. */
static int host_head[HOST_BUCKETS], host_next[REG_MAX_VNODES];
static struct controld_registry_vnode *host_vn[REG_MAX_VNODES];
static bool host_stale = true;
static int64_t host_built_ms;

static uint64_t hash(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL; /* FNV-1a */
	return h ^ (h >> 29);
}

static uint64_t name_hash(int kind, const char *name)
{
	return hash(name, strlen(name), 0xcbf29ce484222325ULL ^ (uint64_t)kind);
}

/* ---- vNodes by uuid --------------------------------------------------------------------- */

void controld_registry_index_add_vnode(struct controld_registry_vnode *v)
{
	size_t i = hash(v->def.uuid, 16, 0xcbf29ce484222325ULL) & (UUID_SLOTS - 1);

	if (nr_uuid >= UUID_SLOTS / 2)
		return; /* full of stale entries: the next removal rebuilds it */
	while (by_uuid[i] && by_uuid[i] != v)
		i = (i + 1) & (UUID_SLOTS - 1);
	if (!by_uuid[i])
		nr_uuid++;
	by_uuid[i] = v;
	host_stale = true;
}

void controld_registry_index_vnodes_changed(void)
{
	memset(by_uuid, 0, sizeof(by_uuid));
	nr_uuid = 0;
	for (int i = 0; i < controld_registry_nr_vnodes(); i++)
		controld_registry_index_add_vnode(controld_registry_vnode_at(i));
	host_stale = true;
}

struct controld_registry_vnode *controld_registry_index_find_uuid(const uint8_t uuid[16])
{
	size_t i = hash(uuid, 16, 0xcbf29ce484222325ULL) & (UUID_SLOTS - 1);

	for (; by_uuid[i]; i = (i + 1) & (UUID_SLOTS - 1))
		if (!memcmp(by_uuid[i]->def.uuid, uuid, 16))
			return by_uuid[i];
	return NULL;
}

/* ---- components by kind and name ----------------------------------------------------------- */

static void comp_rebuild(void);

void controld_registry_index_add_component(int slot)
{
	const struct controld_registry_component *c = controld_registry_component_at(slot);
	size_t i;

	if (!c)
		return;
	if (nr_comp >= COMP_SLOTS / 2) {
		comp_rebuild(); /* stale entries of reused slots */
		return;
	}
	i = name_hash(c->kind, c->name) & (COMP_SLOTS - 1);
	while (by_comp[i] && by_comp[i] != slot + 1)
		i = (i + 1) & (COMP_SLOTS - 1);
	if (!by_comp[i])
		nr_comp++;
	by_comp[i] = slot + 1;
}

static void comp_rebuild(void)
{
	memset(by_comp, 0, sizeof(by_comp));
	nr_comp = 0;
	for (int s = 0; s < controld_registry_nr_components(); s++)
		controld_registry_index_add_component(s);
}

struct controld_registry_component *controld_registry_index_find_component(int kind,
									   const char *name)
{
	size_t i = name_hash(kind, name) & (COMP_SLOTS - 1);

	for (; by_comp[i]; i = (i + 1) & (COMP_SLOTS - 1)) {
		struct controld_registry_component *c =
			controld_registry_component_at(by_comp[i] - 1);

		if (c && c->kind == kind && !strcmp(c->name, name))
			return c;
	}
	return NULL;
}

/* ---- the vNodes on a processor host --------------------------------------------------------- */

static void host_rebuild(int64_t now)
{
	int n = 0;

	for (int b = 0; b < HOST_BUCKETS; b++)
		host_head[b] = -1;
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		struct controld_registry_vnode *v = controld_registry_vnode_at(i);
		size_t b;

		if (v->id < 0 || !v->host[0])
			continue;
		b = name_hash(CP_KIND_PMON, v->host) & (HOST_BUCKETS - 1);
		host_vn[n] = v;
		host_next[n] = host_head[b];
		host_head[b] = n++;
	}
	host_stale = false;
	host_built_ms = now;
}

int controld_registry_index_on_host(const char *host, struct controld_registry_vnode **out, int max)
{
	int64_t now = mono_clock_ms();
	int n = 0;

	if (host_stale || now - host_built_ms >= HOST_MAX_AGE)
		host_rebuild(now);
	for (int k = host_head[name_hash(CP_KIND_PMON, host) & (HOST_BUCKETS - 1)];
	     k >= 0 && n < max; k = host_next[k])
		if (host_vn[k]->id >= 0 && !strcmp(host_vn[k]->host, host))
			out[n++] = host_vn[k];
	return n;
}
