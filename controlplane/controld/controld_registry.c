/* controld_registry.c: components, vNodes, and their persistence in the state directory. */
#include "controld_registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/strbuf.h"
#include "lib/uuid_str.h"

#define FILE_MAX   (1 << 20)					 /* largest state file read back */
#define OWNERS_MAX (REG_MAX_REGIONS * (VMAP_MAX_COPIES * 3) + 1) /* "0+1,..." */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t ops = PTHREAD_MUTEX_INITIALIZER;
static char dir[4096], dom_dir[4200], run_dir[4200];
static struct vnode *vnodes[REG_MAX_VNODES];
static int nr_vnodes;
static struct component comps[REG_MAX_COMPONENTS];
static int nr_comps;
static char draining[REG_MAX_COMPONENTS][CP_NAME_LEN + 1]; /* memory servers' names */
static int nr_draining;
static int next_id = 1;

void reg_lock(void)
{
	pthread_mutex_lock(&lock);
}

void reg_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

void reg_ops_lock(void)
{
	pthread_mutex_lock(&ops);
}

void reg_ops_unlock(void)
{
	pthread_mutex_unlock(&ops);
}

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
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);

		if (w <= 0) {
			close(fd);
			goto out;
		}
		off += (size_t)w;
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

static void save_next_id(void)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%d\n", next_id);

	write_file(dir, "next-id", text, (size_t)n);
}

static int save_def(const struct vnode *v)
{
	char name[DOM_NAME_MAX + 8];
	char *xml = dom_xml_format(&v->def, -1);
	int rc;

	if (!xml)
		return -1;
	snprintf(name, sizeof(name), "%s.xml", v->def.name);
	rc = write_file(dom_dir, name, xml, strlen(xml));
	free(xml);
	return rc;
}

int reg_save_run(const struct vnode *v)
{
	char name[48], uuid[UUID_STR_LEN];
	struct strbuf b;
	const char *a = v->run_args;
	char *owners;
	int rc = -1;

	sb_init(&b, 0);
	uuid_str_format(v->def.uuid, uuid);
	sb_printf(&b, "host %s\nid %d\nuid %" PRIu64 "\nregion_size %" PRIu64 "\n", v->host, v->id,
		  v->uid, v->region_size);
	for (int i = 0; i < v->map.nr_mmons; i++)
		sb_printf(&b, "mmon %s %s\n", v->map.mmon[i], v->map.mmon_addr[i]);
	owners = malloc(OWNERS_MAX);
	if (!owners || vmap_format_owners(&v->map, owners, OWNERS_MAX) < 0)
		b.failed = true;
	else
		sb_printf(&b, "owners %s\nreplication %d\nmap_version %" PRIu64 "\n", owners,
			  v->replication, v->map_version);
	free(owners);
	for (int i = 0; i < v->def.nr_disks && v->disk_uri[i][0]; i++)
		sb_printf(&b, "disk %s\n", v->disk_uri[i]);
	if (a) {
		sb_printf(&b, "vcpus %u\nexcache %" PRIu64 "\n", v->run_vcpus, v->run_excache);
		for (uint32_t i = 0; i < v->run_argc; i++, a += strlen(a) + 1)
			sb_printf(&b, "arg %s\n", a);
	}
	if (v->mig.active)
		sb_printf(&b, "migrating %s %d\n", v->mig.dest, v->mig.dest_pid);
	snprintf(name, sizeof(name), "%s.run", uuid);
	if (!b.failed)
		rc = write_file(run_dir, name, b.p, b.len);
	else
		log_error("state: out of memory writing the run file of vNode %s", v->def.name);
	sb_free(&b);
	return rc;
}

int reg_set_run_args(struct vnode *v, const char *args, uint32_t argc, uint32_t len, uint32_t vcpus,
		     uint64_t excache)
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

static void drop_run_args(struct vnode *v)
{
	free(v->run_args);
	v->run_args = NULL;
	v->run_argc = v->run_args_len = v->run_vcpus = 0;
	v->run_excache = 0;
}

/* One "arg TEXT" line of a run file appended to v's options. */
static int load_arg(struct vnode *v, const char *text)
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

/* The run's vRegion map goes, and with it what the memory pool had to do with the run (a
 * step it was in the middle of sees the run ended). */
static void forget_map(struct vnode *v)
{
	memset(&v->map, 0, sizeof(v->map));
	v->replication = 0;
	v->map_version = 0;
	v->mem_lost = false;
	v->pool_busy = false;
	v->step_to[0] = '\0';
	v->step_bytes = 0;
}

static void remove_run(const struct vnode *v)
{
	char name[48], uuid[UUID_STR_LEN];

	uuid_str_format(v->def.uuid, uuid);
	snprintf(name, sizeof(name), "%s.run", uuid);
	remove_file(run_dir, name);
}

/* A run file read back: the vNode is active until its host says otherwise. */
static int load_run(struct vnode *v, char *text)
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
			v->mig = (struct vn_migration){.active = true,
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
	if (owners && vmap_parse_owners(&v->map, owners))
		return -1;
	/* lego-vmm's options come with the vCPUs and ExCache they hold, or not at all. */
	if (v->run_args && (!have_vcpus || v->run_vcpus < 1 || v->run_vcpus > 64))
		return -1;
	if (!v->run_args)
		v->run_vcpus = 0;
	return 0;
}

/* ---- vNodes ----------------------------------------------------------------------------- */

int reg_nr_vnodes(void)
{
	return nr_vnodes;
}

struct vnode *reg_vnode_at(int i)
{
	return i >= 0 && i < nr_vnodes ? vnodes[i] : NULL;
}

struct vnode *reg_find_name(const char *name)
{
	for (int i = 0; i < nr_vnodes; i++)
		if (!strcmp(vnodes[i]->def.name, name))
			return vnodes[i];
	return NULL;
}

struct vnode *reg_find_uuid(const uint8_t uuid[16])
{
	for (int i = 0; i < nr_vnodes; i++)
		if (!memcmp(vnodes[i]->def.uuid, uuid, 16))
			return vnodes[i];
	return NULL;
}

struct vnode *reg_find_id(int id)
{
	if (id < 1)
		return NULL;
	for (int i = 0; i < nr_vnodes; i++)
		if (vnodes[i]->id == id)
			return vnodes[i];
	return NULL;
}

static struct vnode *new_vnode(const struct dom_def *d)
{
	struct vnode *v;

	if (nr_vnodes >= REG_MAX_VNODES)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->def = *d;
	v->id = -1;
	v->state = VN_SHUTOFF;
	v->reason = VN_SHUTOFF_UNKNOWN;
	v->exit_status = -1;
	vnodes[nr_vnodes++] = v;
	return v;
}

static void remove_vnode(struct vnode *v)
{
	for (int i = 0; i < nr_vnodes; i++) {
		if (vnodes[i] == v) {
			vnodes[i] = vnodes[--nr_vnodes];
			break;
		}
	}
	free(v->run_args);
	free(v);
}

int reg_define(const struct dom_def *d, struct vnode **out, char *err, size_t errlen)
{
	struct vnode *by_name = reg_find_name(d->name), *by_uuid = reg_find_uuid(d->uuid), *v;
	char u[UUID_STR_LEN];

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
	v = by_name;
	if (!v) {
		v = new_vnode(d);
		if (!v) {
			snprintf(err, errlen, "too many vNodes (at most %d)", REG_MAX_VNODES);
			return 9; /* VIR_ERR_OPERATION_FAILED */
		}
	} else {
		/* A new definition; an active vNode keeps running as it was started. */
		v->def = *d;
	}
	if (save_def(v)) {
		snprintf(err, errlen, "cannot save the definition in the state directory");
		if (!v->persistent && v->id < 0)
			remove_vnode(v);
		return 9;
	}
	v->persistent = true;
	*out = v;
	return 0;
}

int reg_undefine(struct vnode *v, char *err, size_t errlen)
{
	char name[DOM_NAME_MAX + 8];

	snprintf(name, sizeof(name), "%s.xml", v->def.name);
	if (remove_file(dom_dir, name)) {
		snprintf(err, errlen, "cannot remove the definition from the state directory");
		return 9;
	}
	v->persistent = false;
	if (v->id < 0)
		remove_vnode(v);
	return 0;
}

void reg_assign_id(struct vnode *v)
{
	uint64_t uid = 0;

	v->id = next_id++;
	save_next_id();
	while (!uid && getrandom(&uid, sizeof(uid), 0) != sizeof(uid))
		;
	v->uid = uid ? uid : 1;
}

void reg_mark_stopped(struct vnode *v, int reason, int exit_status)
{
	remove_run(v);
	v->id = -1;
	v->state = VN_SHUTOFF;
	v->reason = reason;
	v->exit_status = exit_status;
	v->confirmed = false;
	v->stopping = false;
	snprintf(v->last_host, sizeof(v->last_host), "%s", v->host);
	v->host[0] = '\0';
	forget_map(v);
	memset(v->disk_uri, 0, sizeof(v->disk_uri));
	memset(&v->mig, 0, sizeof(v->mig));
	drop_run_args(v);
	if (!v->persistent)
		remove_vnode(v);
}

/* ---- components --------------------------------------------------------------------------- */

int reg_nr_components(void)
{
	return nr_comps;
}

struct component *reg_component_at(int i)
{
	return i >= 0 && i < nr_comps ? &comps[i] : NULL;
}

struct component *reg_find_component(int kind, const char *name)
{
	for (int i = 0; i < nr_comps; i++)
		if (comps[i].kind == kind && !strcmp(comps[i].name, name))
			return &comps[i];
	return NULL;
}

static const char *kind_name(int kind)
{
	return kind == CP_KIND_PMON   ? "processor host"
	       : kind == CP_KIND_MMON ? "memory server"
				      : "storage server";
}

static bool is_draining(const char *name)
{
	for (int i = 0; i < nr_draining; i++)
		if (!strcmp(draining[i], name))
			return true;
	return false;
}

static int save_draining(void)
{
	struct strbuf b;
	int rc = -1;

	sb_init(&b, 0);
	for (int i = 0; i < nr_draining; i++)
		sb_printf(&b, "%s\n", draining[i]);
	if (!b.failed)
		rc = write_file(dir, "draining", b.p ? b.p : "", b.len);
	sb_free(&b);
	return rc;
}

int reg_set_draining(const char *name, bool on)
{
	struct component *c = reg_find_component(CP_KIND_MMON, name);

	if (on == is_draining(name))
		return 0;
	if (on) {
		if (nr_draining == REG_MAX_COMPONENTS)
			return -1;
		snprintf(draining[nr_draining++], sizeof(draining[0]), "%s", name);
	} else {
		for (int i = 0; i < nr_draining; i++)
			if (!strcmp(draining[i], name))
				memcpy(draining[i], draining[--nr_draining], sizeof(draining[0]));
	}
	if (c)
		c->draining = on;
	log_info("memory server %s %s", name,
		 on ? "is draining: nothing new is placed there"
		    : "is no longer draining: it takes new vRegions");
	return save_draining();
}

static void load_draining(void)
{
	char path[4300], *text, *save = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/draining", dir);
	text = read_file(path, &len);
	for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!cp_name_ok(line) || is_draining(line) || nr_draining == REG_MAX_COMPONENTS) {
			log_error("state: %s: '%.64s' is not a memory server's name: ignored", path,
				  line);
			continue;
		}
		snprintf(draining[nr_draining++], sizeof(draining[0]), "%s", line);
		log_info("memory server %s is draining (from the state directory)", line);
	}
	free(text);
}

int reg_register(const struct cp_register *r, uint64_t conn, char *err, size_t errlen)
{
	struct component *c = reg_find_component((int)r->kind, r->name);
	uint32_t registrations;

	if (c && c->alive && c->conn != conn) {
		snprintf(err, errlen, "a %s named '%s' is already registered (at %s)",
			 kind_name(c->kind), c->name, c->addr);
		return CP_EEXIST;
	}
	if (!c) {
		if (nr_comps >= REG_MAX_COMPONENTS) {
			snprintf(err, errlen, "too many components (at most %d)",
				 REG_MAX_COMPONENTS);
			return CP_ENOSPC;
		}
		c = &comps[nr_comps++];
		memset(c, 0, sizeof(*c));
	}
	registrations = c->registrations;
	memset(c, 0, sizeof(*c));
	c->registrations = registrations + 1;
	c->draining = r->kind == CP_KIND_MMON && is_draining(r->name);
	c->kind = (int)r->kind;
	snprintf(c->name, sizeof(c->name), "%s", r->name);
	snprintf(c->addr, sizeof(c->addr), "%s", r->addr);
	c->cores = r->cores;
	c->capacity = r->capacity_bytes;
	c->alive = true;
	c->conn = conn;
	c->registered_ms = c->last_seen_ms = mono_ms();
	log_info("%s %s registered at %s: %u cores, %.0f MiB%s", kind_name(c->kind), c->name,
		 c->addr, c->cores, (double)c->capacity / 1048576.0,
		 c->draining ? " (draining)" : "");
	return CP_OK;
}

void reg_connection_lost(uint64_t conn)
{
	for (int i = 0; i < nr_comps; i++) {
		if (comps[i].conn == conn && comps[i].alive) {
			comps[i].alive = false;
			comps[i].conn = 0;
			comps[i].down_ms = mono_ms();
			log_warn("%s %s is down (connection lost or heartbeats missed)",
				 kind_name(comps[i].kind), comps[i].name);
		}
	}
}

static struct component *by_conn(uint64_t conn)
{
	for (int i = 0; i < nr_comps; i++)
		if (comps[i].conn == conn && comps[i].alive)
			return &comps[i];
	return NULL;
}

/* lego-vmm frees its vRegions on every exit it lives through: a normal end, a failure,
 * SIGINT, SIGTERM, SIGHUP. Any other signal (SIGKILL, a crash) leaves them behind. */
static bool leaves_regions(int exit_status)
{
	return exit_status > 128 && exit_status != 128 + 1 && exit_status != 128 + 2 &&
	       exit_status != 128 + 15;
}

bool reg_frees_regions(int exit_status)
{
	return !leaves_regions(exit_status);
}

void reg_leftover(const struct vnode *v, struct vn_leftover *l)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", v->def.name);
	l->uid = v->uid;
	l->ram = v->def.memory_kib * 1024;
	l->region_size = v->region_size;
	l->map = v->map;
}

static void add_leftover(const struct vnode *v, struct vn_leftover **left, int *nleft)
{
	struct vn_leftover *l, *grown;

	if (!v->map.nr_regions)
		return;
	grown = realloc(*left, (size_t)(*nleft + 1) * sizeof(**left));
	if (!grown) {
		log_error("vNode %s: out of memory: its vRegions stay on the memory servers",
			  v->def.name);
		return;
	}
	*left = grown;
	l = &grown[(*nleft)++];
	reg_leftover(v, l);
}

/* While v migrates: a status from its destination, or its source's exit, is recorded for
 * the migration to act on. true if s was taken so. */
static bool migration_report(struct vnode *v, const struct component *c,
			     const struct cp_vm_status *s)
{
	struct vn_migration *m = &v->mig;

	if (!m->active || v->id != s->domid)
		return false;
	if (!strcmp(c->name, m->dest)) {
		/* Until its VM_START answered, a record there may be an older run's. */
		if (m->dest_pid > 0 && (uint32_t)m->dest_pid == s->pid) {
			if (s->state == CP_VM_EXITED && m->dest_state != CP_VM_EXITED)
				log_info("vNode %s (id %d): the destination lego-vmm on %s exited "
					 "with status %d",
					 v->def.name, v->id, c->name, s->exit_status);
			m->dest_state = (int)s->state;
			m->dest_exit = s->state == CP_VM_EXITED ? s->exit_status : -1;
		}
		return true;
	}
	if (!strcmp(c->name, v->host) && s->state == CP_VM_EXITED) {
		if (m->src_exit < 0)
			log_info(
				"vNode %s (id %d): the source lego-vmm on %s exited with status %d "
				"while migrating to %s",
				v->def.name, v->id, c->name, s->exit_status, m->dest);
		m->src_exit = s->exit_status;
		return true;
	}
	return false;
}

/* Reconcile one vNode status a processor host reported. */
static bool reconcile(struct component *c, const struct cp_vm_status *s, struct vn_leftover **left,
		      int *nleft)
{
	struct vnode *v = reg_find_uuid(s->uuid);
	char u[UUID_STR_LEN];

	uuid_str_format(s->uuid, u);
	if (v && migration_report(v, c, s))
		return false; /* kept until the migration is over: then it is forgotten */
	if (s->state == CP_VM_EXITED) {
		if (v && v->id == s->domid && !strcmp(v->host, c->name)) {
			int reason = v->stopping	    ? v->stop_reason
				     : s->exit_status < 125 ? VN_SHUTOFF_SHUTDOWN
							    : VN_SHUTOFF_CRASHED;

			log_info("vNode %s (id %d) on %s exited with status %d", v->def.name, v->id,
				 c->name, s->exit_status);
			if (leaves_regions(s->exit_status))
				add_leftover(v, left, nleft);
			reg_mark_stopped(v, reason, s->exit_status);
			return false; /* forget it next time: a console reader may want the tail */
		}
		return true;
	}
	if (!v) {
		log_warn("%s runs vNode %s (id %d), which is not defined here", c->name, u,
			 s->domid);
		return false;
	}
	if (v->id < 0) {
		/* Running but unknown to us (a run file lost): adopt it. */
		v->id = s->domid;
		v->uid = s->vnode_uid;
		snprintf(v->host, sizeof(v->host), "%s", c->name);
		if (s->domid >= next_id) {
			next_id = s->domid + 1;
			save_next_id();
		}
		v->started_ms = mono_ms();
		log_warn("vNode %s (id %d) found running on %s: adopted", v->def.name, v->id,
			 c->name);
	} else if (v->id != s->domid || strcmp(v->host, c->name)) {
		log_warn("%s reports vNode %s as id %d, but it runs as id %d on %s", c->name,
			 v->def.name, s->domid, v->id, v->host);
		return false;
	}
	if (!v->confirmed)
		log_info("vNode %s (id %d) confirmed running on %s", v->def.name, v->id, c->name);
	v->confirmed = true;
	if (s->state == CP_VM_PAUSED && v->state != VN_PAUSED) {
		v->state = VN_PAUSED;
		v->reason = VN_PAUSED_USER;
	} else if (s->state == CP_VM_RUNNING && v->state != VN_RUNNING) {
		v->state = VN_RUNNING;
		v->reason = VN_RUNNING_UNPAUSED;
	}
	return false;
}

struct component *reg_heartbeat(uint64_t conn, const struct cp_heartbeat *hb,
				const struct cp_vm_status *vms, uint8_t (*forget)[16], int *nforget,
				struct vn_leftover **left, int *nleft)
{
	struct component *c = by_conn(conn);
	int64_t now = mono_ms();

	*nforget = 0;
	if (!c)
		return NULL;
	c->used_bytes = hb->used_bytes;
	c->used_cores = hb->used_cores;
	c->last_seen_ms = now;
	if (c->kind != CP_KIND_PMON)
		return c;
	for (uint32_t i = 0; i < hb->nr_vms; i++)
		if (reconcile(c, &vms[i], left, nleft))
			memcpy(forget[(*nforget)++], vms[i].uuid, 16);
	/* vNodes placed here that the host no longer knows (it restarted): gone. A start in
	 * flight may predate the heartbeat, hence the grace period. */
	for (int i = 0; i < nr_vnodes; i++) {
		struct vnode *v = vnodes[i];
		bool listed = false;

		if (v->id < 0 || strcmp(v->host, c->name) || now - v->started_ms < 3000)
			continue;
		for (uint32_t k = 0; k < hb->nr_vms && !listed; k++)
			listed = !memcmp(vms[k].uuid, v->def.uuid, 16);
		if (!listed && v->mig.active) {
			v->mig.src_gone = true; /* the migration finds out where it runs */
			continue;
		}
		if (!listed) {
			log_warn("vNode %s (id %d) is no longer on %s: marking it crashed",
				 v->def.name, v->id, c->name);
			add_leftover(v, left, nleft);
			reg_mark_stopped(v, VN_SHUTOFF_CRASHED, -1);
			i--; /* the array may have shifted */
		}
	}
	return c;
}

/* ---- loading ------------------------------------------------------------------------------ */

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
		struct dom_def def;
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
		rc = dom_xml_parse(xml, len, &def, err, sizeof(err));
		free(xml);
		if (rc || !def.has_uuid || reg_find_name(def.name) || reg_find_uuid(def.uuid)) {
			log_error("state: %s is not a usable definition: %s", path,
				  rc ? err : "duplicate or missing uuid");
			continue;
		}
		struct vnode *v = new_vnode(&def);

		if (v)
			v->persistent = true;
	}
	if (d)
		closedir(d);
}

static void load_runs(void)
{
	DIR *d = opendir(run_dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[4500];
		uint8_t uuid[16];
		struct vnode *v;
		size_t len;
		char *text, u[UUID_STR_LEN];

		if (strlen(e->d_name) != 40 || strcmp(e->d_name + 36, ".run"))
			continue;
		memcpy(u, e->d_name, 36);
		u[36] = '\0';
		snprintf(path, sizeof(path), "%s/%s", run_dir, e->d_name);
		v = uuid_str_parse(u, uuid) ? NULL : reg_find_uuid(uuid);
		text = v ? read_file(path, &len) : NULL;
		if (!text || load_run(v, text)) {
			log_error("state: %s does not describe a defined vNode's run: ignored",
				  path);
			free(text);
			if (v) {
				v->id = -1;
				v->host[0] = '\0';
				forget_map(v);
				memset(v->disk_uri, 0, sizeof(v->disk_uri));
				memset(&v->mig, 0, sizeof(v->mig));
				drop_run_args(v);
			}
			continue;
		}
		free(text);
		v->state = VN_RUNNING;
		v->reason = VN_RUNNING_BOOTED;
		v->started_ms = mono_ms();
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

int reg_init(const char *state_dir)
{
	char path[4300], *text;
	size_t len;

	snprintf(dir, sizeof(dir), "%s", state_dir);
	snprintf(dom_dir, sizeof(dom_dir), "%s/domains", dir);
	snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
	if (mkdir_p(dir) || mkdir_p(dom_dir) || mkdir_p(run_dir))
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
	log_info("state: %d vNode definition(s) in %s", nr_vnodes, dir);
	return 0;
}
