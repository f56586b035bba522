/* controld_registry_store.c: the registry's state directory (see controld_registry.h):
 * domains/NAME.xml, run/UUID.run, next-id and draining, each replaced atomically, and all
 * of it read back when lego-controld starts. */
#include "controld_registry_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controld_net.h"
#include "controld_single.h"
#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/strbuf.h"
#include "lib/uuid_str.h"

#define FILE_MAX   (1 << 20)					 /* largest state file read back */
#define OWNERS_MAX (REG_MAX_REGIONS * (VMAP_MAX_COPIES * 3) + 1) /* "0+1,..." */

static char dir[4096], dom_dir[4200], run_dir[4200];
static char draining[REG_MAX_COMPONENTS][CP_NAME_LEN + 1]; /* memory servers' names */
static int nr_draining;
static int next_id = 1;

/* ---- files ---------------------------------------------------------------------------- */

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Replace path with data atomically and durably. */
static int write_file(const char *d, const char *name, const char *data, size_t len)
{
	char path[4400], tmp[4400];
	int fd, rc = -1;

	snprintf(path, sizeof(path), "%s/%s", d, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", d, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (fdio_write_all(fd, data, len)) {
		close(fd);
		goto out;
	}
	if (fsync(fd) || close(fd) || rename(tmp, path) || fsync_dir(d))
		goto out;
	rc = 0;
out:
	if (rc) {
		log_error("state: cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	return rc;
}

static int remove_file(const char *d, const char *name)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s", d, name);
	if (unlink(path) && errno != ENOENT) {
		log_error("state: cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	fsync_dir(d);
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(FILE_MAX + 1);
	n = buf ? fread(buf, 1, FILE_MAX + 1, f) : 0;
	fclose(f);
	if (!buf || n > FILE_MAX) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

int controld_registry_store_put_file(const char *name, const char *data, size_t len)
{
	return write_file(dir, name, data, len);
}

char *controld_registry_store_get_file(const char *name, size_t *len)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_file(path, len);
}

/* ---- what the tables keep ---------------------------------------------------------------- */

static void save_next_id(void)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%d\n", next_id);

	write_file(dir, "next-id", text, (size_t)n);
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
	char name[DOM_NAME_MAX + 8];
	char *xml = domain_xml_format(controld_registry_next_def(v), -1);
	int rc;

	if (!xml)
		return -1;
	snprintf(name, sizeof(name), "%s.xml", v->def.name);
	rc = write_file(dom_dir, name, xml, strlen(xml));
	free(xml);
	return rc;
}

int controld_registry_store_remove_def(const struct controld_registry_vnode *v)
{
	char name[DOM_NAME_MAX + 8];

	snprintf(name, sizeof(name), "%s.xml", v->def.name);
	return remove_file(dom_dir, name);
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
	snprintf(name, sizeof(name), "%s.run", uuid);
	if (!b.failed)
		rc = write_file(run_dir, name, b.p, b.len);
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
	snprintf(name, sizeof(name), "%s.xml", uuid);
	rc = write_file(run_dir, name, xml, strlen(xml));
	free(xml);
	return rc;
}

void controld_registry_store_remove_run(const struct controld_registry_vnode *v)
{
	char name[48], uuid[UUID_STR_LEN];

	uuid_str_format(v->def.uuid, uuid);
	snprintf(name, sizeof(name), "%s.run", uuid);
	remove_file(run_dir, name);
	snprintf(name, sizeof(name), "%s.xml", uuid);
	remove_file(run_dir, name);
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
		rc = write_file(dir, "draining", b.p ? b.p : "", b.len);
	strbuf_free(&b);
	return rc;
}

int controld_registry_store_put(const char *sub, const char *name, const char *text)
{
	char d[4400];

	snprintf(d, sizeof(d), "%s/%s", dir, sub);
	if (mkdir(d, 0700) && errno != EEXIST) {
		log_error("state: cannot create %s: %s", d, strerror(errno));
		return -1;
	}
	return write_file(d, name, text, strlen(text));
}

void controld_registry_store_each(const char *sub, const char *suffix,
				  void (*fn)(const char *path, char *text, void *ctx), void *ctx)
{
	char d[4400];
	DIR *dp;
	struct dirent *e;

	snprintf(d, sizeof(d), "%s/%s", dir, sub);
	dp = opendir(d);
	while (dp && (e = readdir(dp))) {
		size_t n = strlen(e->d_name), k = strlen(suffix), len;
		char path[4700], *text;

		if (e->d_name[0] == '.' || n <= k || strcmp(e->d_name + n - k, suffix))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d, e->d_name);
		text = read_file(path, &len);
		if (!text) {
			log_error("state: cannot read %s", path);
			continue;
		}
		fn(path, text, ctx);
		free(text);
	}
	if (dp)
		closedir(dp);
}

/* ---- loading ------------------------------------------------------------------------------ */

static void load_draining(void)
{
	char path[4300], *text, *save = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/draining", dir);
	text = read_file(path, &len);
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

static int mkdir_p(const char *path)
{
	if (mkdir(path, 0700) && errno != EEXIST) {
		log_error("state: cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void load_domains(void)
{
	DIR *d = opendir(dom_dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[4500], err[512];
		struct domain_xml_def def;
		size_t len, n = strlen(e->d_name);
		char *xml;
		int rc;

		if (e->d_name[0] == '.' || n < 5 || strcmp(e->d_name + n - 4, ".xml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dom_dir, e->d_name);
		xml = read_file(path, &len);
		if (!xml) {
			log_error("state: cannot read %s", path);
			continue;
		}
		rc = domain_xml_parse(xml, len, &def, err, sizeof(err));
		free(xml);
		if (rc || !def.has_uuid || controld_registry_find_name(def.name) ||
		    controld_registry_find_uuid(def.uuid)) {
			log_error("state: %s is not a usable definition: %s", path,
				  rc ? err : "duplicate or missing uuid");
			continue;
		}
		struct controld_registry_vnode *v = controld_registry_new_vnode(&def);

		if (v)
			v->persistent = true;
	}
	if (d)
		closedir(d);
}

/* run/UUID.xml: the live definition of a run (a running vNode redefined since keeps
 * the new one for its next start; a transient one is back). NULL if none is usable. */
static struct controld_registry_vnode *load_live(const char *u, const uint8_t uuid[16])
{
	struct controld_registry_vnode *v = controld_registry_find_uuid(uuid);
	struct domain_xml_def *live = malloc(sizeof(*live));
	char path[4500], err[512], *xml;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s.xml", run_dir, u);
	xml = live ? read_file(path, &len) : NULL;
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

static void load_runs(void)
{
	DIR *d = opendir(run_dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[4500];
		uint8_t uuid[16];
		struct controld_registry_vnode *v;
		size_t len;
		char *text, u[UUID_STR_LEN];

		if (strlen(e->d_name) != 40 || strcmp(e->d_name + 36, ".run"))
			continue;
		memcpy(u, e->d_name, 36);
		u[36] = '\0';
		snprintf(path, sizeof(path), "%s/%s", run_dir, e->d_name);
		v = uuid_str_parse(u, uuid) ? NULL : load_live(u, uuid);
		text = v ? read_file(path, &len) : NULL;
		if (!text || load_run(v, text)) {
			log_error("state: %s does not describe a defined vNode's run: ignored",
				  path);
			free(text);
			if (v && !v->persistent)
				controld_registry_mark_stopped(v, VN_SHUTOFF_UNKNOWN, -1);
			else if (v)
				controld_registry_drop_run(v);
			continue;
		}
		free(text);
		v->state = VN_RUNNING;
		v->reason = VN_RUNNING_BOOTED;
		v->started_ms = mono_clock_ms();
		if (v->id >= next_id)
			next_id = v->id + 1;
		if (v->mig.active)
			log_info("vNode %s (id %d) was migrating from %s to %s: resuming that",
				 v->def.name, v->id, v->host, v->mig.dest);
		else
			log_info("vNode %s (id %d) was running on %s: waiting for that host to "
				 "confirm",
				 v->def.name, v->id, v->host);
	}
	if (d)
		closedir(d);
}

int controld_registry_store_init(const char *state_dir)
{
	char path[4300], *text;
	size_t len;

	snprintf(dir, sizeof(dir), "%s", state_dir);
	snprintf(dom_dir, sizeof(dom_dir), "%s/domains", dir);
	snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
	/* Ours alone before anything is read: two would edit the same state. */
	if (mkdir_p(dir) || controld_single_lock_state(dir) || mkdir_p(dom_dir) || mkdir_p(run_dir))
		return -1;
	snprintf(path, sizeof(path), "%s/next-id", dir);
	text = read_file(path, &len);
	if (text) {
		long id = strtol(text, NULL, 10);

		if (id > 0 && id < INT32_MAX / 2)
			next_id = (int)id;
		free(text);
	}
	load_draining();
	load_domains();
	load_runs();
	log_info("state: %d vNode definition(s) in %s", controld_registry_nr_vnodes(), dir);
	return 0;
}
