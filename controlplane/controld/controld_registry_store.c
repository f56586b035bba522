/* controld_registry_store.c: the registry's state directory (see controld_registry.h):
 * domains/NAME.xml, run/UUID.run, next-id and draining, each replaced atomically, and all
 * of it read back when lego-controld starts. */
#include "controld_registry_store.h"

#include <errno.h>
#include <inttypes.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controld_net.h"
#include "controld_state.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/strbuf.h"
#include "lib/uuid_str.h"

#define OWNERS_MAX (REG_MAX_REGIONS * (VMAP_MAX_COPIES * 3) + 1) /* "0+1,..." */

static char draining[REG_MAX_COMPONENTS][CP_NAME_LEN + 1]; /* memory servers' names */
static int nr_draining;
static int next_id = 1;

int controld_registry_store_put_file(const char *name, const char *data, size_t len)
{
	return controld_state_put(name, data, len);
}

char *controld_registry_store_get_file(const char *name, size_t *len)
{
	return controld_state_get(name, len);
}

/* ---- what the tables keep ---------------------------------------------------------------- */

static void save_next_id(void)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%d\n", next_id);

	controld_state_put("next-id", text, (size_t)n);
}

int controld_registry_store_take_id(void)
{
	int id = next_id++;

	save_next_id();
	return id;
}

void controld_registry_store_see_id(int id)
{
	if (id < next_id)
		return;
	next_id = id + 1;
	save_next_id();
}

int controld_registry_store_def(const struct controld_registry_vnode *v)
{
	char name[DOM_NAME_MAX + 16];
	char *xml = domain_xml_format(controld_registry_next_def(v), -1);
	int rc;

	if (!xml)
		return -1;
	snprintf(name, sizeof(name), "domains/%s.xml", v->def.name);
	rc = controld_state_put(name, xml, strlen(xml));
	free(xml);
	return rc;
}

int controld_registry_store_remove_def(const struct controld_registry_vnode *v)
{
	char name[DOM_NAME_MAX + 16];

	snprintf(name, sizeof(name), "domains/%s.xml", v->def.name);
	return controld_state_remove(name);
}

int controld_registry_store_save_run(const struct controld_registry_vnode *v)
{
	char name[48], uuid[UUID_STR_LEN];
	struct strbuf b;
	const char *a = v->run_args;
	char *owners;
	int rc = -1;

	strbuf_init(&b, 0);
	uuid_str_format(v->def.uuid, uuid);
	strbuf_printf(&b, "host %s\nid %d\nuid %" PRIu64 "\nregion_size %" PRIu64 "\n", v->host,
		      v->id, v->uid, v->region_size);
	for (int i = 0; i < v->map.nr_mmons; i++)
		strbuf_printf(&b, "mmon %s %s\n", v->map.mmon[i], v->map.mmon_addr[i]);
	owners = malloc(OWNERS_MAX);
	if (!owners || vnode_map_format_owners(&v->map, owners, OWNERS_MAX) < 0)
		b.failed = true;
	else
		strbuf_printf(&b, "owners %s\nreplication %d\nmap_version %" PRIu64 "\n", owners,
			      v->replication, v->map_version);
	free(owners);
	for (int i = 0; i < v->def.nr_disks && v->disk_uri[i][0]; i++)
		strbuf_printf(&b, "disk %s\n", v->disk_uri[i]);
	if (a) {
		strbuf_printf(&b, "vcpus %u\nexcache %" PRIu64 "\n", v->run_vcpus, v->run_excache);
		for (uint32_t i = 0; i < v->run_argc; i++, a += strlen(a) + 1)
			strbuf_printf(&b, "arg %s\n", a);
	}
	if (v->mig.active)
		strbuf_printf(&b, "migrating %s %d\n", v->mig.dest, v->mig.dest_pid);
	snprintf(name, sizeof(name), "run/%s.run", uuid);
	if (!b.failed)
		rc = controld_state_put(name, b.p, b.len);
	else
		log_error("state: out of memory writing the run file of vNode %s", v->def.name);
	strbuf_free(&b);
	return rc;
}

int controld_registry_store_save_live(const struct controld_registry_vnode *v)
{
	char name[48], uuid[UUID_STR_LEN];
	char *xml = domain_xml_format(&v->def, -1);
	int rc;

	if (!xml)
		return -1;
	uuid_str_format(v->def.uuid, uuid);
	snprintf(name, sizeof(name), "run/%s.xml", uuid);
	rc = controld_state_put(name, xml, strlen(xml));
	free(xml);
	return rc;
}

void controld_registry_store_remove_run(const struct controld_registry_vnode *v)
{
	char name[48], uuid[UUID_STR_LEN];

	uuid_str_format(v->def.uuid, uuid);
	snprintf(name, sizeof(name), "run/%s.run", uuid);
	controld_state_remove(name);
	snprintf(name, sizeof(name), "run/%s.xml", uuid);
	controld_state_remove(name);
}

bool controld_registry_store_is_draining(const char *name)
{
	for (int i = 0; i < nr_draining; i++)
		if (!strcmp(draining[i], name))
			return true;
	return false;
}

int controld_registry_store_mark_draining(const char *name, bool on)
{
	if (on) {
		if (nr_draining == REG_MAX_COMPONENTS)
			return -1;
		snprintf(draining[nr_draining++], sizeof(draining[0]), "%s", name);
	} else {
		for (int i = 0; i < nr_draining; i++)
			if (!strcmp(draining[i], name))
				memcpy(draining[i], draining[--nr_draining], sizeof(draining[0]));
	}
	return 0;
}

int controld_registry_store_save_draining(void)
{
	struct strbuf b;
	int rc = -1;

	strbuf_init(&b, 0);
	for (int i = 0; i < nr_draining; i++)
		strbuf_printf(&b, "%s\n", draining[i]);
	if (!b.failed)
		rc = controld_state_put("draining", b.p ? b.p : "", b.len);
	strbuf_free(&b);
	return rc;
}

int controld_registry_store_put(const char *sub, const char *name, const char *text)
{
	char key[512];

	snprintf(key, sizeof(key), "%s/%s", sub, name);
	return controld_state_put(key, text, strlen(text));
}

/* ---- loading ------------------------------------------------------------------------------ */

static void load_draining(void)
{
	const char *path = "draining";
	char *text, *save = NULL;
	size_t len;

	text = controld_state_get(path, &len);
	for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!cluster_proto_name_ok(line) || controld_registry_store_is_draining(line) ||
		    nr_draining == REG_MAX_COMPONENTS) {
			log_error("state: %s: '%.64s' is not a memory server's name: ignored", path,
				  line);
			continue;
		}
		snprintf(draining[nr_draining++], sizeof(draining[0]), "%s", line);
		log_info("memory server %s is draining (from the state directory)", line);
	}
	free(text);
}

/* One "arg TEXT" line of a run file appended to v's options. */
static int load_arg(struct controld_registry_vnode *v, const char *text)
{
	size_t n = strlen(text) + 1;
	char *grown;

	for (const char *c = text; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return -1;
	if (v->run_argc >= CP_MAX_ARGS || v->run_args_len + n > CP_ARGS_MAX)
		return -1;
	grown = realloc(v->run_args, v->run_args_len + n);
	if (!grown)
		return -1;
	memcpy(grown + v->run_args_len, text, n);
	v->run_args = grown;
	v->run_args_len += (uint32_t)n;
	v->run_argc++;
	return 0;
}

/* A run file read back: the vNode is active until its host says otherwise. */
static int load_run(struct controld_registry_vnode *v, char *text)
{
	char *save = NULL, *owners = NULL;
	int nm = 0, nd = 0;
	bool have_vcpus = false;

	v->replication = 1; /* older run files: one copy of each vRegion */
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char a[CP_NAME_LEN + 1], b[CP_ADDR_LEN + 1];
		int pid;

		if (!strncmp(line, "arg ", 4)) {
			if (load_arg(v, line + 4))
				return -1;
			continue;
		}
		if (!strncmp(line, "disk ", 5)) {
			if (nd >= DOM_MAX_DISKS || strlen(line + 5) >= sizeof(v->disk_uri[0]))
				return -1;
			snprintf(v->disk_uri[nd++], sizeof(v->disk_uri[0]), "%s", line + 5);
			continue;
		}
		if (sscanf(line, "host %64s", v->host) == 1)
			continue;
		if (sscanf(line, "id %d", &v->id) == 1 ||
		    sscanf(line, "uid %" SCNu64, &v->uid) == 1 ||
		    sscanf(line, "region_size %" SCNu64, &v->region_size) == 1 ||
		    sscanf(line, "excache %" SCNu64, &v->run_excache) == 1 ||
		    sscanf(line, "map_version %" SCNu64, &v->map_version) == 1)
			continue;
		if (sscanf(line, "replication %d", &v->replication) == 1 && v->replication >= 1 &&
		    v->replication <= VMAP_MAX_COPIES)
			continue;
		if (sscanf(line, "vcpus %u", &v->run_vcpus) == 1) {
			have_vcpus = true;
			continue;
		}
		if (sscanf(line, "migrating %64s %d", a, &pid) == 2 && pid >= 0) {
			v->mig = (struct controld_registry_migration){.active = true,
								      .restored = true,
								      .dest_pid = pid,
								      .src_exit = -1,
								      .phase = CP_MIG_STARTING};
			snprintf(v->mig.dest, sizeof(v->mig.dest), "%s", a);
			continue;
		}
		if (sscanf(line, "mmon %64s %128s", a, b) == 2 && nm < REG_MAX_MMONS) {
			snprintf(v->map.mmon[nm], sizeof(v->map.mmon[nm]), "%s", a);
			snprintf(v->map.mmon_addr[nm], sizeof(v->map.mmon_addr[nm]), "%s", b);
			nm++;
			continue;
		}
		if (!strcmp(line, "owners") || !strncmp(line, "owners ", 7)) {
			owners = line + (line[6] ? 7 : 6); /* read once the servers are known */
			continue;
		}
		return -1;
	}
	v->map.nr_mmons = nm;
	if (!v->host[0] || v->id < 1 || !v->uid)
		return -1;
	if (owners && vnode_map_parse_owners(&v->map, owners))
		return -1;
	/* lego-vmm's options come with the vCPUs and ExCache they hold, or not at all. */
	if (v->run_args && (!have_vcpus || v->run_vcpus < 1 || v->run_vcpus > 64))
		return -1;
	if (!v->run_args)
		v->run_vcpus = 0;
	return controld_net_run_from_args(v);
}

/* The definitions loaded so far, by name and by uuid (the registry's own lookups scan its
 * table when they miss, as every one does here: 10,000 definitions took seconds). */
struct loaded {
	void *names, *uuids; /* tsearch trees of struct domain_xml_def * */
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct domain_xml_def *)a)->name,
		      ((const struct domain_xml_def *)b)->name);
}

static int cmp_uuid(const void *a, const void *b)
{
	return memcmp(((const struct domain_xml_def *)a)->uuid,
		      ((const struct domain_xml_def *)b)->uuid, 16);
}

static void load_domain(const char *path, char *xml, size_t len, void *ctx)
{
	char err[512];
	struct domain_xml_def def;
	struct controld_registry_vnode *v;
	struct loaded *l = ctx;
	int rc = domain_xml_parse(xml, len, &def, err, sizeof(err));

	if (rc || !def.has_uuid || tfind(&def, &l->names, cmp_name) ||
	    tfind(&def, &l->uuids, cmp_uuid)) {
		log_error("state: %s is not a usable definition: %s", path,
			  rc ? err : "duplicate or missing uuid");
		return;
	}
	v = controld_registry_new_vnode(&def);
	if (!v)
		return;
	v->persistent = true;
	/* The vNode's own copy: it stays while the state is loaded. */
	if (!tsearch(&v->def, &l->names, cmp_name) || !tsearch(&v->def, &l->uuids, cmp_uuid))
		log_warn("state: out of memory: duplicates of %s may go unnoticed", path);
}

static void no_free(void *p)
{
	(void)p;
}

/* Whether a run's live definition is, byte for byte, v's stored one (both are written by
 * domain_xml_format: a vNode not redefined since its start). */
static bool same_as_defined(const struct controld_registry_vnode *v, const char *xml, size_t len)
{
	char path[DOM_NAME_MAX + 16], *def;
	size_t dlen;
	bool same;

	snprintf(path, sizeof(path), "domains/%s.xml", v->def.name);
	def = controld_state_get(path, &dlen);
	same = def && dlen == len && !memcmp(def, xml, len);
	free(def);
	return same;
}

/* run/UUID.xml: the live definition of a run (a running vNode redefined since keeps
 * the new one for its next start; a transient one is back). NULL if none is usable. */
static struct controld_registry_vnode *load_live(const char *u, const uint8_t uuid[16])
{
	struct controld_registry_vnode *v = controld_registry_find_uuid(uuid);
	struct domain_xml_def *live = malloc(sizeof(*live));
	char path[64], err[512], *xml;
	size_t len;

	snprintf(path, sizeof(path), "run/%s.xml", u);
	xml = live ? controld_state_get(path, &len) : NULL;
	if (xml && v && same_as_defined(v, xml, len)) { /* the common case: nothing to parse */
		free(xml);
		free(live);
		return v;
	}
	if (!xml || domain_xml_parse(xml, len, live, err, sizeof(err)) || !live->has_uuid ||
	    memcmp(live->uuid, uuid, 16) || (v && strcmp(v->def.name, live->name)) ||
	    (!v && controld_registry_find_name(live->name))) {
		if (xml)
			log_error("state: %s is not the live definition of vNode %s: ignored", path,
				  u);
		free(xml);
		free(live);
		return v;
	}
	free(xml);
	if (!v) {
		v = controld_registry_new_vnode(live); /* transient: no domains/NAME.xml */
	} else if (memcmp(live, &v->def, sizeof(*live))) {
		v->next_def = malloc(sizeof(*v->next_def));
		if (v->next_def) {
			*v->next_def = v->def;
			controld_registry_copy_sparse(&v->def, live, sizeof(*live));
		}
	}
	free(live);
	return v;
}

/* run/UUID.run: a vNode's run (path names it in logs). */
static void load_run_file(const char *path, char *text, size_t len, void *ctx)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	uint8_t uuid[16];
	struct controld_registry_vnode *v;
	char u[UUID_STR_LEN];

	(void)len;
	(void)ctx;
	if (strlen(base) != 40 || strcmp(base + 36, ".run"))
		return;
	memcpy(u, base, 36);
	u[36] = '\0';
	v = uuid_str_parse(u, uuid) ? NULL : load_live(u, uuid);
	if (!v || load_run(v, text)) {
		log_error("state: %s does not describe a defined vNode's run: ignored", path);
		if (v && !v->persistent)
			controld_registry_mark_stopped(v, VN_SHUTOFF_UNKNOWN, -1);
		else if (v)
			controld_registry_drop_run(v);
		return;
	}
	v->state = VN_RUNNING;
	v->reason = VN_RUNNING_BOOTED;
	v->started_ms = mono_clock_ms();
	if (v->id >= next_id)
		next_id = v->id + 1;
	if (v->mig.active)
		log_info("vNode %s (id %d) was migrating from %s to %s: resuming that", v->def.name,
			 v->id, v->host, v->mig.dest);
	else
		log_info("vNode %s (id %d) was running on %s: waiting for that host to confirm",
			 v->def.name, v->id, v->host);
}

int controld_registry_store_init(void)
{
	struct loaded l = {0};
	char *text;
	size_t len;

	text = controld_state_get("next-id", &len);
	if (text) {
		long id = strtol(text, NULL, 10);

		if (id > 0 && id < INT32_MAX / 2)
			next_id = (int)id;
		free(text);
	}
	load_draining();
	controld_state_each("domains", ".xml", load_domain, &l);
	tdestroy(l.names, no_free);
	tdestroy(l.uuids, no_free);
	controld_state_each("run", ".run", load_run_file, NULL);
	log_info("state: %d vNode definition(s) in %s", controld_registry_nr_vnodes(),
		 controld_state_where());
	return 0;
}
