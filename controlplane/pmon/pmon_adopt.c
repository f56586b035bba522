/* pmon_adopt.c: run files of the vNodes lego-pmon runs, and the adoption, after a restart,
 * of the lego-vmm processes they name. */
#include "pmon_adopt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/parse.h"
#include "lib/uuid_str.h"
#include "pmon_net.h"
#include "pmon_spawn.h"
#include "pmon_vmmctl.h"

#define ASK_TIMEOUT_MS 2000
#define CMDLINE_MAX    65536 /* lego-vmm's options: at most 64 KiB (VM_START) and ours */
#define RUN_FILE_MAX   8192  /* the longest run file read (8 interfaces take about 1.5 KiB) */

/* Write text to path whole, through path.tmp and a rename: 0, or -1 with errno. */
static int write_whole(const char *path, const char *text)
{
	char tmp[PMON_SPAWN_PATH_MAX + 8];
	size_t len = strlen(text), done = 0;
	int fd, e;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	e = errno;
	if (done < len || close(fd) || rename(tmp, path)) {
		e = done < len ? e : errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

/* Its interfaces, as a JSON array (NULL: out of memory): a restarted lego-pmon keeps their
 * taps (pmon_net_adopt). */
static json_t *ifaces_json(const struct pmon_vms_entry *v)
{
	struct pmon_net_iface ifs[NET_PROTO_MAX_IFACES];
	int n = v->nr_taps ? pmon_net_ifaces(v->uuid, ifs, NET_PROTO_MAX_IFACES) : 0;
	json_t *a = json_array();
	char mac[18], ip[16];

	for (int i = 0; a && i < n; i++) {
		net_proto_mac_format(ifs[i].a.mac, mac);
		net_proto_ip_format(ifs[i].a.ip, ip);
		if (json_array_append_new(a, json_pack("{s:i, s:s, s:s, s:s, s:s, s:i}", "index",
						       ifs[i].idx, "tap", ifs[i].tap, "network",
						       ifs[i].a.network, "mac", mac, "ip", ip,
						       "prefix", (int)ifs[i].a.prefix))) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

int pmon_adopt_record(const char *run_dir, const struct pmon_vms_entry *v)
{
	char path[PMON_SPAWN_PATH_MAX], uid[24];
	json_t *o;
	char *text;
	int rc = -1;

	/* The uid is 64 bits unsigned, beyond what a JSON number holds here: as text. */
	snprintf(uid, sizeof(uid), "%" PRIu64, v->vnode_uid);
	o = json_pack("{s:s, s:s, s:i, s:s, s:i, s:I, s:i, s:I, s:b, s:b, s:i, s:o*}", "uuid",
		      v->id, "name", v->name, "domid", (int)v->domid, "vnode_uid", uid, "vcpus",
		      (int)v->vcpus, "excache_bytes", (json_int_t)v->excache_bytes, "pid",
		      (int)v->pid, "start_time", (json_int_t)v->start_time, "incoming", v->incoming,
		      "migrating", v->migrating, "taps", (int)v->nr_taps, "ifaces", ifaces_json(v));
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	pmon_spawn_path(path, run_dir, v->id, "run");
	if (text)
		rc = write_whole(path, text);
	if (rc)
		log_warn("vNode %s (%s): cannot write its run file %s: %s: a restarted lego-pmon "
			 "will not adopt it",
			 v->name, v->id, path, text ? strerror(errno) : "out of memory");
	free(text);
	json_decref(o);
	return rc;
}

int pmon_adopt_start_time(pid_t pid, uint64_t *out)
{
	char path[64], buf[1024], *p;
	unsigned long long st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "PID (COMM) STATE ..." with COMM free text: the fields start after its last ')';
	 * starttime is field 22, the 20th after it. */
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	p++;
	for (int i = 0; i < 19; i++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -1;
	}
	if (sscanf(p, " %llu", &st) != 1)
		return -1;
	*out = st;
	return 0;
}

int pmon_adopt_exit_status(const char *run_dir, const char *id)
{
	char path[PMON_SPAWN_PATH_MAX], buf[32];
	long status;
	ssize_t n;
	int fd;

	pmon_spawn_path(path, run_dir, id, "exit");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%ld", &status) != 1 || status < 0 || status > 255)
		return -1;
	return (int)status;
}

void pmon_adopt_child_exited(const char *run_dir, const uint8_t uuid[16], int status)
{
	char id[UUID_STR_LEN], path[PMON_SPAWN_PATH_MAX], text[16];

	uuid_str_format(uuid, id);
	pmon_spawn_path(path, run_dir, id, "exit");
	snprintf(text, sizeof(text), "%d\n", status);
	/* A lego-vmm killed by a signal wrote none; one that did says the same as waitpid. */
	if (access(path, F_OK) && write_whole(path, text))
		log_warn("vNode %s: cannot write its exit status to %s: %s", id, path,
			 strerror(errno));
}

void pmon_adopt_forget(const char *run_dir, const char *id)
{
	char path[PMON_SPAWN_PATH_MAX];

	pmon_spawn_path(path, run_dir, id, "run");
	unlink(path);
	pmon_spawn_path(path, run_dir, id, "exit");
	unlink(path);
}

/* A run file's interfaces (a JSON array) for the vNode of domain id domid: how many (in
 * ifs), or -1 with err. */
static int parse_ifaces(json_t *arr, int32_t domid, struct pmon_net_iface *ifs, char *err,
			size_t errlen)
{
	char tap[NET_PROTO_IFNAME_MAX + 1];
	unsigned seen = 0;
	json_error_t je;
	size_t i;
	json_t *e;

	if (!json_is_array(arr) || json_array_size(arr) > NET_PROTO_MAX_IFACES) {
		snprintf(err, errlen, "ifaces is not an array of at most %d", NET_PROTO_MAX_IFACES);
		return -1;
	}
	json_array_foreach(arr, i, e)
	{
		const char *t, *net, *mac, *ip;
		json_int_t idx, prefix;
		struct pmon_net_iface *f = &ifs[i];

		if (json_unpack_ex(e, &je, JSON_STRICT, "{s:I, s:s, s:s, s:s, s:s, s:I}", "index",
				   &idx, "tap", &t, "network", &net, "mac", &mac, "ip", &ip,
				   "prefix", &prefix)) {
			snprintf(err, errlen, "interface %zu: %s", i, je.text);
			return -1;
		}
		if (idx >= 0 && idx < NET_PROTO_MAX_IFACES)
			net_proto_tap_name(domid, (int)idx, tap);
		if (idx < 0 || idx >= NET_PROTO_MAX_IFACES || seen & 1u << idx || strcmp(t, tap) ||
		    !*net || strlen(net) > CP_NAME_LEN || net_proto_mac_parse(mac, f->a.mac) ||
		    net_proto_ip_parse(ip, &f->a.ip) || prefix < 1 || prefix > 30) {
			snprintf(err, errlen,
				 "interface %zu: a bad index, tap, network, MAC, "
				 "address or prefix",
				 i);
			return -1;
		}
		seen |= 1u << idx;
		f->idx = (int)idx;
		snprintf(f->tap, sizeof(f->tap), "%s", tap);
		snprintf(f->a.network, sizeof(f->a.network), "%s", net);
		f->a.prefix = (uint32_t)prefix;
	}
	return (int)json_array_size(arr);
}

/* A run file's text as a record (not yet live nor adopted), with its interfaces (*nifs: -1
 * if the file, an older lego-pmon's, does not list them): 0, or -1 with err. */
static int parse_run(const char *text, const char *id, struct pmon_vms_entry *v,
		     struct pmon_net_iface *ifs, int *nifs, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &je), *arr = NULL;
	const char *uuid = NULL, *name = NULL, *uid_text = NULL;
	json_int_t domid = 0, vcpus = 0, bytes = 0, pid = 0, start = 0, taps = 0;
	int incoming = 0, migrating = 0, rc = -1;
	uint64_t uid = 0;

	if (!o) {
		snprintf(err, errlen, "not JSON: %s", je.text);
		return -1;
	}
	if (json_unpack_ex(o, &je, JSON_STRICT,
			   "{s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:b, s:b, s:I, s?o}", "uuid",
			   &uuid, "name", &name, "domid", &domid, "vnode_uid", &uid_text, "vcpus",
			   &vcpus, "excache_bytes", &bytes, "pid", &pid, "start_time", &start,
			   "incoming", &incoming, "migrating", &migrating, "taps", &taps, "ifaces",
			   &arr)) {
		snprintf(err, errlen, "%s", je.text);
	} else if (strcmp(uuid, id) || uuid_str_parse(uuid, v->uuid)) {
		snprintf(err, errlen, "its uuid '%.40s' is not its file's", uuid);
	} else if (!*name || strlen(name) > CP_NAME_LEN) {
		snprintf(err, errlen, "a vNode name of %zu bytes", strlen(name));
	} else if (parse_uint(uid_text, 0, UINT64_MAX, &uid)) {
		snprintf(err, errlen, "a vnode_uid that is not a number");
	} else if (domid < 0 || domid > INT32_MAX || vcpus < 1 || vcpus > UINT16_MAX || bytes < 0 ||
		   pid < 2 || pid > INT32_MAX || start < 0 || taps < 0 || taps > UINT8_MAX) {
		snprintf(err, errlen, "a number out of its range");
	} else if (arr && (*nifs = parse_ifaces(arr, (int32_t)domid, ifs, err, errlen)) < 0) {
		/* err says why */
	} else {
		if (!arr)
			*nifs = -1;
		memcpy(v->id, id, UUID_STR_LEN);
		snprintf(v->name, sizeof(v->name), "%s", name);
		for (char *c = v->name; *c; c++) /* our file, but log lines stay lines */
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		v->domid = (int32_t)domid;
		v->vnode_uid = uid;
		v->vcpus = (uint32_t)vcpus;
		v->excache_bytes = (uint64_t)bytes;
		v->pid = (pid_t)pid;
		v->start_time = (uint64_t)start;
		v->incoming = incoming;
		v->migrating = migrating;
		v->nr_taps = (uint8_t)taps;
		rc = 0;
	}
	json_decref(o);
	return rc;
}

/* Does pid's command line hold "--control SOCK" (lego-pmon's lego-vmm for this vNode)? */
static bool runs_vnode(pid_t pid, const char *sock)
{
	char path[64], *buf = malloc(CMDLINE_MAX + 1);
	size_t len = 0, want = strlen(sock) + 1;
	bool found = false;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	while (buf && fd >= 0 && len < CMDLINE_MAX &&
	       (n = read(fd, buf + len, CMDLINE_MAX - len)) > 0)
		len += (size_t)n;
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; buf && i + 10 + want <= len && !found; i++)
		found = (i == 0 || buf[i - 1] == '\0') && !memcmp(buf + i, "--control", 10) &&
			!memcmp(buf + i + 10, sock, want);
	free(buf);
	return found;
}

/* Is v's process the one its run file names? A pidfd to it, or -1 with why. */
static int same_process(const char *run_dir, const struct pmon_vms_entry *v, char *why,
			size_t whylen)
{
	char sock[PMON_SPAWN_PATH_MAX];
	uint64_t start;
	int fd;

	pmon_spawn_path(sock, run_dir, v->id, "sock");
	if (pmon_adopt_start_time(v->pid, &start)) {
		snprintf(why, whylen, "pid %d is gone", (int)v->pid);
		return -1;
	}
	if (start != v->start_time) {
		snprintf(why, whylen,
			 "pid %d is another process now (started at tick %" PRIu64 ", not %" PRIu64
			 "): not adopted",
			 (int)v->pid, start, v->start_time);
		return -1;
	}
	if (!runs_vnode(v->pid, sock)) {
		snprintf(why, whylen,
			 "pid %d does not run lego-vmm with --control %.300s: not adopted",
			 (int)v->pid, sock);
		return -1;
	}
	fd = (int)syscall(SYS_pidfd_open, v->pid, 0);
	/* Asked again through the pidfd's process: the pid did not change hands meanwhile. */
	if (fd >= 0 && (pmon_adopt_start_time(v->pid, &start) || start != v->start_time)) {
		close(fd);
		fd = -1;
		errno = ESRCH;
	}
	if (fd < 0)
		snprintf(why, whylen, "pid %d: pidfd_open: %s", (int)v->pid, strerror(errno));
	return fd;
}

/* Its state, as its lego-vmm says: CP_VM_RUNNING or CP_VM_PAUSED. */
static uint32_t ask_state(const char *run_dir, const struct pmon_vms_entry *v)
{
	char sock[PMON_SPAWN_PATH_MAX], answer[4096], err[256];

	pmon_spawn_path(sock, run_dir, v->id, "sock");
	if (pmon_vmmctl_command(sock, "stats", ASK_TIMEOUT_MS, NULL, answer, sizeof(answer), err,
				sizeof(err))) {
		log_warn("vNode %s (%s) pid %d does not answer on its control socket (%s): "
			 "adopted all the same, to be stopped if need be",
			 v->name, v->id, (int)v->pid, err);
		return CP_VM_RUNNING;
	}
	return strstr(answer, "\"state\": \"paused\"") ? CP_VM_PAUSED : CP_VM_RUNNING;
}

/* One run file (RUNDIR/ID.run): its vNode adopted (1), recorded as exited (0), or the file
 * removed as bad (-1). */
static int adopt_one(struct pmon_ctx *p, const char *id)
{
	char path[PMON_SPAWN_PATH_MAX], text[RUN_FILE_MAX], err[256], why[512];
	struct pmon_net_iface ifs[NET_PROTO_MAX_IFACES];
	struct pmon_vms_entry v = {.pidfd = -1};
	ssize_t n = -1;
	bool unknown = false;
	int fd, rc, nifs = -1, kept = 0;

	pmon_spawn_path(path, p->run_dir, id, "run");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	if (n <= 0 || n == sizeof(text) - 1 ||
	    (text[n] = '\0', parse_run(text, id, &v, ifs, &nifs, err, sizeof(err)))) {
		log_warn("run file %s: %s: removed", path,
			 n <= 0			 ? "unreadable"
			 : n == sizeof(text) - 1 ? "too long"
						 : err);
		unlink(path);
		return -1;
	}
	v.pidfd = same_process(p->run_dir, &v, why, sizeof(why));
	if (v.pidfd >= 0) {
		v.adopted = true;
		v.state = ask_state(p->run_dir, &v);
		/* Its taps stay (its lego-vmm holds them) and go back on their bridges. */
		if (nifs > 0)
			kept = pmon_net_adopt(v.uuid, v.name, ifs, nifs, &v.net_gen);
	} else {
		v.state = CP_VM_EXITED;
		v.exit_status = pmon_adopt_exit_status(p->run_dir, id);
		unknown = v.exit_status < 0;
		if (unknown)
			v.exit_status = PMON_VMS_EXIT_UNKNOWN;
	}
	pthread_mutex_lock(&p->vms.lock);
	rc = pmon_vms_insert(&p->vms, &v);
	pthread_mutex_unlock(&p->vms.lock);
	if (rc) {
		log_error("vNode %s (%s): no room in the table for it: left alone", v.name, id);
		if (v.pidfd >= 0)
			close(v.pidfd);
		if (v.net_gen)
			pmon_net_detach(v.uuid, v.net_gen);
		return 0;
	}
	if (v.state == CP_VM_EXITED) {
		log_warn("vNode %s (%s, domid %d) ended while lego-pmon was down (%s): exit "
			 "status %d%s; reported as exited until lego-controld forgets it",
			 v.name, id, v.domid, why, v.exit_status,
			 unknown ? " (it left none: unknown)" : "");
		return 0;
	}
	log_info("adopted vNode %s (%s, domid %d) pid %d, %s, left running by an earlier "
		 "lego-pmon; %d of its %u interface(s) kept",
		 v.name, id, v.domid, (int)v.pid, v.state == CP_VM_PAUSED ? "paused" : "running",
		 kept, v.nr_taps);
	if (nifs < 0 && v.nr_taps)
		log_warn("vNode %s (%s): its run file does not list its interfaces (an older "
			 "lego-pmon's): their taps go, it runs without its network until restarted",
			 v.name, id);
	return 1;
}

int pmon_adopt_all(struct pmon_ctx *p)
{
	DIR *d = opendir(p->run_dir);
	struct dirent *e;
	int n = 0, found = 0;

	if (!d) {
		log_error("cannot read run directory %s: %s", p->run_dir, strerror(errno));
		return 0;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char id[UUID_STR_LEN];
		uint8_t u[16];

		if (len != UUID_STR_LEN - 1 + 4 || strcmp(e->d_name + UUID_STR_LEN - 1, ".run"))
			continue;
		memcpy(id, e->d_name, UUID_STR_LEN - 1);
		id[UUID_STR_LEN - 1] = '\0';
		if (uuid_str_parse(id, u))
			continue;
		found++;
		n += adopt_one(p, id) > 0;
	}
	closedir(d);
	if (found)
		log_info("run directory: %d vNode(s) left by an earlier lego-pmon, %d adopted",
			 found, n);
	return n;
}

bool pmon_adopt_exited(struct pmon_ctx *p, int pidfd)
{
	char id[UUID_STR_LEN] = "";
	pid_t pid = 0;
	int last = 0, status;
	bool unknown;
	uint8_t uuid[16];
	uint64_t gen;

	pthread_mutex_lock(&p->vms.lock);
	for (int i = 0; i < PMON_VMS_MAX && !pid; i++) {
		struct pmon_vms_entry *v = &p->vms.vm[i];

		if (v->used && v->adopted && pmon_vms_live(v) && v->pidfd == pidfd) {
			pid = v->pid;
			last = v->last_signal;
			memcpy(id, v->id, UUID_STR_LEN);
			memcpy(uuid, v->uuid, 16);
		}
	}
	pthread_mutex_unlock(&p->vms.lock);
	if (!pid)
		return false;
	status = pmon_adopt_exit_status(p->run_dir, id);
	/* None left: a signal it cannot catch, or a crash; when we had sent SIGKILL, that was
	 * it. */
	if (status < 0 && last == SIGKILL)
		status = 128 + SIGKILL;
	unknown = status < 0;
	if (unknown)
		status = PMON_VMS_EXIT_UNKNOWN;
	pmon_adopt_child_exited(p->run_dir, uuid, status);
	if (!pmon_vms_reaped(&p->vms, pid, status, status > 128 && !unknown, unknown, uuid, &gen))
		return false;
	if (gen) /* the taps it kept go with it */
		pmon_net_detach(uuid, gen);
	return true;
}
