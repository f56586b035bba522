/* controld_registry.c: the registry's tables: components (capacity, use, liveness,
 * draining) and vNodes (definition, state, placement) under one lock. */
#include "controld_registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "controld_net.h"
#include "controld_registry_index.h"
#include "controld_registry_store.h"
#include "controlplane/controld/libvirt/libvirt_events.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/uuid_str.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t ops = PTHREAD_MUTEX_INITIALIZER;
static struct controld_registry_vnode *vnodes[REG_MAX_VNODES];
static int nr_vnodes;
static struct controld_registry_component comps[REG_MAX_COMPONENTS];
static int max_components = REG_MAX_COMPONENTS; /* --max-components */
static int nr_comps;

void controld_registry_lock(void)
{
	pthread_mutex_lock(&lock);
}

void controld_registry_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

void controld_registry_ops_lock(void)
{
	pthread_mutex_lock(&ops);
}

void controld_registry_ops_unlock(void)
{
	pthread_mutex_unlock(&ops);
}

/* ---- vNodes ----------------------------------------------------------------------------- */

int controld_registry_nr_vnodes(void)
{
	return nr_vnodes;
}

struct controld_registry_vnode *controld_registry_vnode_at(int i)
{
	return i >= 0 && i < nr_vnodes ? vnodes[i] : NULL;
}

struct controld_registry_vnode *controld_registry_find_name(const char *name)
{
	for (int i = 0; i < nr_vnodes; i++)
		if (!strcmp(vnodes[i]->def.name, name))
			return vnodes[i];
	return NULL;
}

struct controld_registry_vnode *controld_registry_find_uuid(const uint8_t uuid[16])
{
	struct controld_registry_vnode *v = controld_registry_index_find_uuid(uuid);

	if (v)
		return v;
	for (int i = 0; i < nr_vnodes; i++)
		if (!memcmp(vnodes[i]->def.uuid, uuid, 16)) {
			controld_registry_index_add_vnode(vnodes[i]); /* its uuid was set later */
			return vnodes[i];
		}
	return NULL;
}

struct controld_registry_vnode *controld_registry_find_id(int id)
{
	if (id < 1)
		return NULL;
	for (int i = 0; i < nr_vnodes; i++)
		if (vnodes[i]->id == id)
			return vnodes[i];
	return NULL;
}

void controld_registry_copy_sparse(void *dst, const void *src, size_t n)
{
	static const uint8_t zeros[512];

	for (size_t off = 0; off < n; off += sizeof(zeros)) {
		size_t k = n - off < sizeof(zeros) ? n - off : sizeof(zeros);
		const void *from = src ? (const uint8_t *)src + off : zeros;

		if (memcmp((uint8_t *)dst + off, from, k))
			memcpy((uint8_t *)dst + off, from, k);
	}
}

/* dst is fresh (zero pages): only src's non-zero blocks are written, and dst is not read
 * (reading it would fault each of its pages in once more). */
static void copy_nonzero(void *dst, const void *src, size_t n)
{
	static const uint8_t zeros[512];

	for (size_t off = 0; off < n; off += sizeof(zeros)) {
		size_t k = n - off < sizeof(zeros) ? n - off : sizeof(zeros);

		if (memcmp((const uint8_t *)src + off, zeros, k))
			memcpy((uint8_t *)dst + off, (const uint8_t *)src + off, k);
	}
}

/* A vNode's memory: pages of its own, zero until written. Its definition (41 KB of mostly
 * empty text fields) and vRegion map (8 KB for up to 1024 regions) are written with
 * controld_registry_copy_sparse, so what stays zero is never resident (10,000 vNodes
 * written in full would take 530 MB). */
/* LeakSanitizer does not scan mmap'd memory: a vNode's pages are a root region, or what
 * they point to (run_args, next_def) would be reported as leaked. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define VNODE_LSAN_ROOT(p) __lsan_register_root_region((p), sizeof(struct controld_registry_vnode))
#define VNODE_LSAN_UNROOT(p) \
	__lsan_unregister_root_region((p), sizeof(struct controld_registry_vnode))
#else
#define VNODE_LSAN_ROOT(p)   ((void)(p))
#define VNODE_LSAN_UNROOT(p) ((void)(p))
#endif

static struct controld_registry_vnode *vnode_alloc(void)
{
	void *p = mmap(NULL, sizeof(struct controld_registry_vnode), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	VNODE_LSAN_ROOT(p);
	return p;
}

struct controld_registry_vnode *controld_registry_new_vnode(const struct domain_xml_def *d)
{
	struct controld_registry_vnode *v;

	if (nr_vnodes >= REG_MAX_VNODES)
		return NULL;
	v = vnode_alloc();
	if (!v)
		return NULL;
	copy_nonzero(&v->def, d, sizeof(*d));
	v->id = -1;
	v->state = VN_SHUTOFF;
	v->reason = VN_SHUTOFF_UNKNOWN;
	v->exit_status = -1;
	vnodes[nr_vnodes++] = v;
	controld_registry_index_add_vnode(v);
	return v;
}

static void remove_vnode(struct controld_registry_vnode *v)
{
	for (int i = 0; i < nr_vnodes; i++) {
		if (vnodes[i] == v) {
			vnodes[i] = vnodes[--nr_vnodes];
			break;
		}
	}
	controld_registry_index_vnodes_changed();
	free(v->run_args);
	free(v->next_def);
	VNODE_LSAN_UNROOT(v);
	munmap(v, sizeof(*v));
}

const struct domain_xml_def *controld_registry_next_def(const struct controld_registry_vnode *v)
{
	return v->next_def ? v->next_def : &v->def;
}

/* A running vNode redefined: d waits for its next start (none if d is what runs). */
static int set_next_def(struct controld_registry_vnode *v, const struct domain_xml_def *d)
{
	if (!memcmp(d, &v->def, sizeof(*d))) {
		free(v->next_def);
		v->next_def = NULL;
		return 0;
	}
	if (!v->next_def)
		v->next_def = malloc(sizeof(*v->next_def));
	if (!v->next_def)
		return -1;
	*v->next_def = *d;
	return 0;
}

int controld_registry_set_run_args(struct controld_registry_vnode *v, const char *args,
				   uint32_t argc, uint32_t len, uint32_t vcpus, uint64_t excache)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		return -1;
	memcpy(copy, args, len);
	free(v->run_args);
	v->run_args = copy;
	v->run_argc = argc;
	v->run_args_len = len;
	v->run_vcpus = vcpus;
	v->run_excache = excache;
	return 0;
}

static void drop_run_args(struct controld_registry_vnode *v)
{
	free(v->run_args);
	v->run_args = NULL;
	v->run_argc = v->run_args_len = v->run_vcpus = 0;
	v->run_excache = 0;
}

/* The run's vRegion map goes, and with it what the memory pool had to do with the run (a
 * step it was in the middle of sees the run ended). */
static void forget_map(struct controld_registry_vnode *v)
{
	controld_registry_copy_sparse(&v->map, NULL, sizeof(v->map));
	v->replication = 0;
	v->map_version = 0;
	v->mem_lost = false;
	v->reconciled = false;
	v->pool_busy = false;
	v->step_to[0] = '\0';
	v->step_bytes = 0;
}

void controld_registry_drop_run(struct controld_registry_vnode *v)
{
	v->id = -1;
	v->host[0] = '\0';
	forget_map(v);
	memset(v->disk_uri, 0, sizeof(v->disk_uri));
	memset(&v->mig, 0, sizeof(v->mig));
	drop_run_args(v);
	v->run_nr_net = 0;
	memset(v->run_net, 0, sizeof(v->run_net));
}

int controld_registry_define(struct domain_xml_def *d, struct controld_registry_vnode **out,
			     char *err, size_t errlen)
{
	struct controld_registry_vnode *by_name = controld_registry_find_name(d->name),
				       *by_uuid = controld_registry_find_uuid(d->uuid), *v;
	char u[UUID_STR_LEN];
	int rc;

	if (by_name && memcmp(by_name->def.uuid, d->uuid, 16)) {
		uuid_str_format(by_name->def.uuid, u);
		snprintf(err, errlen, "operation failed: domain '%s' already exists with uuid %s",
			 d->name, u);
		return 28; /* VIR_ERR_DOM_EXIST */
	}
	if (by_uuid && strcmp(by_uuid->def.name, d->name)) {
		uuid_str_format(d->uuid, u);
		snprintf(err, errlen,
			 "operation failed: domain '%s' is already defined with uuid %s",
			 by_uuid->def.name, u);
		return 28;
	}
	if (by_name && by_name->mig.active) {
		snprintf(
			err, errlen,
			"Requested operation is not valid: vNode '%s' is migrating to %s: redefine "
			"it once that is over",
			d->name, by_name->mig.dest);
		return 55; /* VIR_ERR_OPERATION_INVALID */
	}
	rc = controld_net_assign(d, by_name, err, errlen);
	if (rc)
		return rc;
	v = by_name;
	if (!v) {
		v = controld_registry_new_vnode(d);
		if (!v) {
			snprintf(err, errlen, "too many vNodes (at most %d)", REG_MAX_VNODES);
			return 9; /* VIR_ERR_OPERATION_FAILED */
		}
	} else if (v->id >= 0) {
		/* An active vNode keeps running as it was started, and says so. */
		if (set_next_def(v, d)) {
			snprintf(err, errlen, "out of memory");
			return 9;
		}
	} else {
		controld_registry_copy_sparse(&v->def, d, sizeof(*d));
	}
	if (controld_registry_store_def(v)) {
		snprintf(err, errlen, "cannot save the definition in the state directory");
		if (!v->persistent && v->id < 0)
			remove_vnode(v);
		return 9;
	}
	v->persistent = true;
	*out = v;
	return 0;
}

int controld_registry_undefine(struct controld_registry_vnode *v, char *err, size_t errlen)
{
	if (controld_registry_store_remove_def(v)) {
		snprintf(err, errlen, "cannot remove the definition from the state directory");
		return 9;
	}
	v->persistent = false;
	free(v->next_def); /* a running one is now transient: only its live definition */
	v->next_def = NULL;
	if (v->id < 0)
		remove_vnode(v);
	return 0;
}

void controld_registry_assign_id(struct controld_registry_vnode *v)
{
	uint64_t uid = 0;

	v->id = controld_registry_store_take_id();
	while (!uid && getrandom(&uid, sizeof(uid), 0) != sizeof(uid))
		;
	v->uid = uid ? uid : 1;
}

int controld_registry_exit_reason(int status)
{
	if (status >= 0 && status < 64)
		return VN_SHUTOFF_SHUTDOWN;
	if (status == 125 || status >= 128)
		return VN_SHUTOFF_CRASHED;
	return VN_SHUTOFF_FAILED;
}

const char *controld_registry_reason_name(int state, int reason)
{
	static const char *const shutoff[] = {"unknown",  "shutdown", "destroyed", "crashed",
					      "migrated", "saved",    "failed"};

	if (state == VN_SHUTOFF)
		return reason >= 0 && reason < 7 ? shutoff[reason] : "unknown";
	if (state == VN_PAUSED)
		return "user";
	return reason == VN_RUNNING_MIGRATED   ? "migrated"
	       : reason == VN_RUNNING_UNPAUSED ? "unpaused"
					       : "booted";
}

void controld_registry_mark_stopped(struct controld_registry_vnode *v, int reason, int exit_status)
{
	controld_registry_store_remove_run(v);
	v->state = VN_SHUTOFF;
	v->reason = reason;
	v->exit_status = exit_status;
	bool starting = v->starting;

	v->confirmed = false;
	v->stopping = false;
	v->starting = false;
	if (exit_status >= 0)
		snprintf(v->last_exit, sizeof(v->last_exit), "%s: exit status %d",
			 controld_registry_reason_name(VN_SHUTOFF, reason), exit_status);
	else
		snprintf(v->last_exit, sizeof(v->last_exit), "%s",
			 controld_registry_reason_name(VN_SHUTOFF, reason));
	snprintf(v->last_host, sizeof(v->last_host), "%s", v->host);
	if (!starting) /* a start that failed was never reported started */
		libvirt_events_lifecycle(v->def.name, v->def.uuid, -1, LIBVIRT_EVENT_STOPPED,
					 libvirt_events_stopped_detail(reason));
	controld_registry_drop_run(v);
	if (!v->persistent) {
		remove_vnode(v);
		return;
	}
	if (v->next_def) { /* the live definition goes with the run */
		controld_registry_copy_sparse(&v->def, v->next_def, sizeof(v->def));
		free(v->next_def);
		v->next_def = NULL;
	}
}

/* ---- components --------------------------------------------------------------------------- */

int controld_registry_nr_components(void)
{
	return nr_comps;
}

struct controld_registry_component *controld_registry_component_at(int i)
{
	return i >= 0 && i < nr_comps ? &comps[i] : NULL;
}

struct controld_registry_component *controld_registry_find_component(int kind, const char *name)
{
	struct controld_registry_component *c = controld_registry_index_find_component(kind, name);

	if (c)
		return c;
	for (int i = 0; i < nr_comps; i++)
		if (comps[i].kind == kind && !strcmp(comps[i].name, name)) {
			controld_registry_index_add_component(i);
			return &comps[i];
		}
	return NULL;
}

static const char *kind_name(int kind)
{
	return kind == CP_KIND_PMON   ? "processor host"
	       : kind == CP_KIND_MMON ? "memory server"
				      : "storage server";
}

int controld_registry_set_draining(const char *name, bool on)
{
	struct controld_registry_component *c =
		controld_registry_find_component(CP_KIND_MMON, name);

	if (on == controld_registry_store_is_draining(name))
		return 0;
	if (controld_registry_store_mark_draining(name, on))
		return -1;
	if (c)
		c->draining = on;
	log_info("memory server %s %s", name,
		 on ? "is draining: nothing new is placed there"
		    : "is no longer draining: it takes new vRegions");
	return controld_registry_store_save_draining();
}

/* Does a running vNode name c (its host, a migration's destination, a copy in its map)? */
static bool named_by_a_run(const struct controld_registry_component *c)
{
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);

		if (v->id < 0)
			continue;
		if (c->kind == CP_KIND_PMON &&
		    (!strcmp(v->host, c->name) || (v->mig.active && !strcmp(v->mig.dest, c->name))))
			return true;
		if (c->kind == CP_KIND_MMON &&
		    (vnode_map_find(&v->map, c->name) >= 0 || !strcmp(v->step_to, c->name)))
			return true;
	}
	return false;
}

/* With the table full, the slot of the component down the longest that no running vNode
 * names: components come and go over a cluster's life. NULL if there is none. */
static struct controld_registry_component *reusable_slot(void)
{
	struct controld_registry_component *best = NULL;

	for (int i = 0; i < nr_comps; i++)
		if (!comps[i].alive && !named_by_a_run(&comps[i]) &&
		    (!best || comps[i].down_ms < best->down_ms))
			best = &comps[i];
	if (best)
		log_info("component table full (%d): forgot %s %s, down for %lld s and used by no "
			 "vNode",
			 max_components, kind_name(best->kind), best->name,
			 (long long)((mono_clock_ms() - best->down_ms) / 1000));
	return best;
}

void controld_registry_set_max_components(int n)
{
	max_components = n;
}

int controld_registry_register(const struct cluster_proto_register *r, uint64_t conn, char *err,
			       size_t errlen)
{
	struct controld_registry_component *c =
		controld_registry_find_component((int)r->kind, r->name);
	uint32_t registrations;

	if (c && c->alive && c->conn != conn) {
		snprintf(err, errlen, "a %s named '%s' is already registered (at %s)",
			 kind_name(c->kind), c->name, c->addr);
		return CP_EEXIST;
	}
	if (!c && nr_comps >= max_components) {
		c = reusable_slot();
		if (!c) {
			snprintf(err, errlen,
				 "too many components (at most %d, and none of those down is free "
				 "to forget)",
				 max_components);
			return CP_ENOSPC;
		}
		memset(c, 0, sizeof(*c));
	} else if (!c) {
		c = &comps[nr_comps++];
		memset(c, 0, sizeof(*c));
	}
	registrations = c->registrations;
	memset(c, 0, sizeof(*c));
	c->registrations = registrations + 1;
	c->draining = r->kind == CP_KIND_MMON && controld_registry_store_is_draining(r->name);
	c->kind = (int)r->kind;
	snprintf(c->name, sizeof(c->name), "%s", r->name);
	snprintf(c->addr, sizeof(c->addr), "%s", r->addr);
	controld_registry_index_add_component((int)(c - comps));
	c->cores = r->cores;
	c->capacity = r->capacity_bytes;
	c->alive = true;
	c->conn = conn;
	c->registered_ms = c->last_seen_ms = mono_clock_ms();
	log_info("%s %s registered at %s: %u cores, %.0f MiB%s", kind_name(c->kind), c->name,
		 c->addr, c->cores, (double)c->capacity / 1048576.0,
		 c->draining ? " (draining)" : "");
	return CP_OK;
}

void controld_registry_connection_lost(uint64_t conn)
{
	for (int i = 0; i < nr_comps; i++) {
		if (comps[i].conn == conn && comps[i].alive) {
			comps[i].alive = false;
			comps[i].conn = 0;
			comps[i].down_ms = mono_clock_ms();
			log_warn("%s %s is down (connection lost or heartbeats missed)",
				 kind_name(comps[i].kind), comps[i].name);
		}
	}
}
