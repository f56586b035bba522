/* pmon_requests.c: one connection, any number of requests, one reply each, served by the
 * netserver skeleton (mutual TLS, caps, deadlines). Only lego-controld and admins may ask:
 * their certificates say so. Every refusal is answered with a status and a reason and logged
 * (at most a few lines a second). */
#include "pmon_requests.h"

#include <errno.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cluster/cluster_io.h"
#include "lib/json_flat.h"
#include "lib/log.h"
#include "lib/netserver.h"
#include "lib/mono_clock.h"
#include "lib/proto/net_proto.h"
#include "pmon_adopt.h"
#include "lib/parse.h"
#include "pmon_args.h"
#include "pmon_net.h"
#include "pmon_ready.h"
#include "pmon_spawn.h"
#include "pmon_vmmctl.h"
#include "vmm/control/control_sock.h"

#define RECV_TIMEOUT_MS 10000  /* once a message has begun, the whole of it within this */
#define IDLE_TIMEOUT_MS 120000 /* lego-controld opens a connection per call */
#define CTL_TIMEOUT_MS	2000
#define CTL_SLOW_MS	8000 /* region-add: lego-vmm may connect to a new memory server */
/* A new lego-vmm makes its control socket once its RAM is open: a request waits for it up
 * to this, within what lego-controld waits for an answer (10 s) with the command's time. */
#define CTL_SOCKET_WAIT_MS 5000
#define CTL_BUDGET_MS	   9000
#define CTL_ANSWER_MAX	   CP_MAX_PAYLOAD /* `regions` lists every vRegion's copies */
#define MAX_CONNS	   256
#define MAX_PER_PEER	   64
#define MAX_PENDING	   32
#define BIG_MSG_BUDGET	   (8ULL << 20) /* VM_STARTs are at most 64 KiB of options */
#define REFUSALS_PER_SEC   20
#define LINGER_MS	   500

struct conn {
	struct pmon_ctx *p;
	struct tls_conn *c;
	char peer[160];
};

static const char *op_name(uint16_t op)
{
	static const char *const names[] = {
		"op 0",	       "REGISTER",  "HEARTBEAT",  "VM_START",	  "VM_STOP",	"VM_CTL",
		"VM_CONSOLE",  "VM_FORGET", "QUERY",	  "MIGRATE",	  "MIG_STATUS", "POOL_JOB",
		"POOL_STATUS", "NET_SET",   "NET_LEASES", "VM_CONSOLE_IN"};

	return op < sizeof(names) / sizeof(names[0]) ? names[op] : "unknown op";
}

/* A flood of bad requests must not become a flood of log lines. */
static bool may_log_refusal(void)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	static int64_t window;
	static int n;
	int64_t now = mono_clock_ms();
	int dropped = 0;
	bool ok;

	pthread_mutex_lock(&m);
	if (now - window >= 1000) {
		window = now;
		dropped = n - REFUSALS_PER_SEC;
		n = 0;
	}
	ok = n++ < REFUSALS_PER_SEC;
	pthread_mutex_unlock(&m);
	if (dropped > 0)
		log_warn("%d more refused requests not logged", dropped);
	return ok;
}

static int reply(struct conn *c, const struct wire_hdr *h, const void *payload, size_t len)
{
	return cluster_io_send(c->c, (uint16_t)(h->op | CP_REPLY), h->id, CP_OK, payload, len);
}

__attribute__((format(printf, 4, 5))) static int refuse(struct conn *c, const struct wire_hdr *h,
							uint32_t status, const char *fmt, ...)
{
	char text[CP_ERRTEXT_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (may_log_refusal())
		log_warn("%s: %s request %llu refused: %s: %s", c->peer, op_name(h->op),
			 (unsigned long long)h->id, cluster_proto_status_name(status), text);
	return cluster_io_send_error(c->c, h, status, "%s", text);
}

/* A memory file holding text, read from its start: its fd, or -1 with errno. */
static int pmon_secret_fd(const char *text)
{
	size_t len = strlen(text), done = 0;
	int fd = memfd_create("lego-capability", MFD_CLOEXEC);

	while (fd >= 0 && done < len) {
		ssize_t w = write(fd, text + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	return fd;
}

/* Its taps made and their --net options added to o (o->argv has room for them): 0, or a
 * cluster status with err. */
static int attach(const struct cluster_proto_vm_start *m, struct pmon_args *o, uint64_t *gen,
		  char (*opts)[NET_PROTO_ATTACH_MAX], char *err, size_t errlen)
{
	char taps[NET_PROTO_MAX_IFACES][NET_PROTO_IFNAME_MAX + 1], mac[18], ip[16];
	int rc;

	*gen = 0;
	if (!o->nr_net)
		return CP_OK;
	rc = pmon_net_attach(m->uuid, m->domid, m->name, o->net, o->nr_net, o->incoming, gen, taps,
			     err, errlen);
	for (int i = 0; rc == CP_OK && i < o->nr_net; i++) {
		net_proto_mac_format(o->net[i].mac, mac);
		net_proto_ip_format(o->net[i].ip,
				    ip); /* for its gratuitous ARP after a migration */
		snprintf(opts[i], sizeof(opts[i]), "tap=%s,mac=%s,ip=%s", taps[i], mac, ip);
		o->argv[o->argc++] = "--net";
		o->argv[o->argc++] = opts[i];
	}
	return rc;
}

static int vm_start(struct conn *c, const struct wire_hdr *h, const uint8_t *pl)
{
	struct pmon_ctx *p = c->p;
	struct cluster_proto_vm_start m;
	const char *args = NULL;
	char why[256], netopts[NET_PROTO_MAX_IFACES][NET_PROTO_ATTACH_MAX];
	char err[CP_ERRTEXT_MAX], id[UUID_STR_LEN];
	struct pmon_vms_entry *v = NULL;
	struct pmon_args o = {0};
	enum cluster_proto_status st;
	pid_t pid = -1;
	uint64_t gen = 0;
	int exec_errno = 0, secret_fd = -1;
	bool admitted;
	uint8_t out[4];

	st = cluster_proto_vm_start_get(pl, h->len, &m, &args, why, sizeof(why));
	if (st)
		return refuse(c, h, st, "%s", why);
	uuid_str_format(m.uuid, id);
	o.argv = calloc((size_t)m.argc + 2 * NET_PROTO_MAX_IFACES + 1, sizeof(*o.argv));
	if (!o.argv)
		return refuse(c, h, CP_EIO, "out of memory");
	if (pmon_args_check(args, m.argc, m.vcpus, &o, err, sizeof(err))) {
		free(o.argv);
		return refuse(c, h, CP_EINVAL, "vNode %s (%s): %s", m.name, id, err);
	}
	/* The capabilities and their key go to lego-vmm in memory, never on its command line
	 * (which every local user can read). */
	if (o.secret >= 0) {
		secret_fd = pmon_secret_fd(o.argv[o.secret]);
		if (secret_fd < 0) {
			free(o.argv);
			return refuse(c, h, CP_EIO,
				      "vNode %s (%s): cannot hand over its capabilities: %s",
				      m.name, id, strerror(errno));
		}
		o.argv[o.secret] = PMON_SPAWN_SECRET_PATH;
	}
	/* The record first: live with no pid, it holds the vNode's place while its taps are
	 * made without the table's lock (a network's dnsmasq may take a while to start); they
	 * are on their bridges before lego-vmm starts (a migration's before its GO). */
	pthread_mutex_lock(&p->vms.lock);
	st = pmon_vms_admit(&p->vms, &m, &v, err, sizeof(err));
	pthread_mutex_unlock(&p->vms.lock);
	admitted = st == CP_OK;
	if (admitted)
		st = attach(&m, &o, &gen, netopts, err, sizeof(err));
	/* Forked under the lock, so the reaper cannot see the pid before its record does. */
	pthread_mutex_lock(&p->vms.lock);
	if (st == CP_OK && (v->stop_asked || p->vms.closing)) {
		snprintf(err, sizeof(err), "stopped while its interfaces were being made");
		v->state = CP_VM_EXITED; /* as a lego-vmm that got SIGTERM */
		v->exit_status = 128 + SIGTERM;
		st = CP_EIO;
	} else if (st != CP_OK && admitted) {
		pmon_vms_drop(v);
	} else if (st == CP_OK) {
		struct pmon_spawn s = {.vmm = p->vmm,
				       .run_dir = p->run_dir,
				       .id = id,
				       .name = m.name,
				       .vnode_uid = m.vnode_uid,
				       .argv = o.argv,
				       .argc = o.argc,
				       .remote = o.remote,
				       .secret_fd = secret_fd,
				       .pki_dir = p->pki_dir,
				       .pki_name = p->name};

		pid = pmon_spawn(&s, &exec_errno, err, sizeof(err));
		if (pid < 0) {
			pmon_vms_drop(v);
			st = CP_EIO;
		} else {
			v->pid = pid;
			v->exec_errno = exec_errno;
			v->incoming = o.incoming;
			v->net_gen = gen;
			v->nr_taps = (uint8_t)o.nr_net;
			/* For a lego-pmon that restarts while it runs (pmon_adopt.h). */
			if (!exec_errno && !pmon_adopt_start_time(pid, &v->start_time))
				pmon_adopt_record(p->run_dir, v);
		}
	}
	pthread_mutex_unlock(&p->vms.lock);
	if (st != CP_OK && gen)
		pmon_net_detach(m.uuid, gen);
	free(o.argv);
	if (secret_fd >= 0)
		close(secret_fd);
	if (st)
		return refuse(c, h, st, "vNode %s (%s): %s", m.name, id, err);
	if (exec_errno)
		log_error("vNode %s (%s, domid %d): cannot execute %s: %s (pid %d exits 127)",
			  m.name, id, m.domid, p->vmm, strerror(exec_errno), (int)pid);
	else
		log_info("started %svNode %s (%s, domid %d) pid %d%s",
			 o.incoming ? "incoming " : "", m.name, id, m.domid, (int)pid,
			 o.nr_net ? " with its taps" : "");
	pmon_loop_kick(p);
	/* A start is answered once lego-vmm runs the vNode, or with its reason for not. */
	st = o.incoming ? CP_OK : pmon_ready_wait(p, m.uuid, pid, err, sizeof(err));
	if (st)
		return refuse(c, h, st, "%s", err);
	wire_put_le32(out, (uint32_t)pid);
	return reply(c, h, out, sizeof(out));
}

static int vm_stop(struct conn *c, const struct wire_hdr *h, const uint8_t *pl)
{
	struct pmon_ctx *p = c->p;
	struct cluster_proto_vm_stop m;
	char why[256];
	char id[UUID_STR_LEN], name[CP_NAME_LEN + 1];
	struct pmon_vms_entry *v;
	enum cluster_proto_status st = cluster_proto_vm_stop_get(pl, h->len, &m, why, sizeof(why));
	bool live;
	int status = 0;
	pid_t pid = 0;

	if (st)
		return refuse(c, h, st, "%s", why);
	uuid_str_format(m.uuid, id);
	pthread_mutex_lock(&p->vms.lock);
	v = pmon_vms_find(&p->vms, m.uuid);
	if (!v) {
		pthread_mutex_unlock(&p->vms.lock);
		return refuse(c, h, CP_ENOENT, "no vNode %s on this host", id);
	}
	live = pmon_vms_live(v);
	snprintf(name, sizeof(name), "%s", v->name);
	if (live) {
		pid = v->pid;
		if (pid > 0) /* live in the table: not reaped, so still ours */
			pmon_vms_signal(v, SIGTERM);
		else
			v->stop_asked = true; /* still starting: it will not */
		if (m.mode == CP_STOP_FORCE) {
			int64_t at = mono_clock_ms() + m.grace_ms;

			if (!v->kill_at || v->kill_at > at)
				v->kill_at = at;
		}
	} else {
		status = v->exit_status;
	}
	pthread_mutex_unlock(&p->vms.lock);
	if (!live)
		log_info("stop of vNode %s (%s): it already exited with status %d", name, id,
			 status);
	else if (m.mode == CP_STOP_FORCE)
		log_info(
			"stopping vNode %s (%s) pid %d: SIGTERM, SIGKILL if still running in %u ms",
			name, id, (int)pid, m.grace_ms);
	else
		log_info("stopping vNode %s (%s) pid %d: SIGTERM", name, id, (int)pid);
	if (live && m.mode == CP_STOP_FORCE)
		pmon_loop_wake(p);
	return reply(c, h, NULL, 0);
}

/* The state a control command leaves the vNode in, if it changes it. */
static uint32_t ctl_state(const char *cmd, const char *answer)
{
	if (strstr(answer, "\"error\""))
		return 0;
	if (!strcmp(cmd, "pause"))
		return CP_VM_PAUSED;
	if (!strcmp(cmd, "resume"))
		return CP_VM_RUNNING;
	return 0;
}

/* The lego-vmm a control request is for, while it waits for its control socket. */
struct ctl_target {
	struct pmon_ctx *p;
	uint8_t uuid[16];
	pid_t pid;
};

/* Does it still run (the same process)? */
static bool ctl_target_alive(void *arg)
{
	struct ctl_target *t = arg;
	struct pmon_vms_entry *v;
	bool alive;

	pthread_mutex_lock(&t->p->vms.lock);
	v = pmon_vms_find(&t->p->vms, t->uuid);
	alive = v && pmon_vms_live(v) && v->pid == t->pid;
	pthread_mutex_unlock(&t->p->vms.lock);
	return alive;
}

static int vm_ctl(struct conn *c, const struct wire_hdr *h, const uint8_t *pl)
{
	struct pmon_ctx *p = c->p;
	struct cluster_proto_vm_ctl m;
	char why[256];
	char id[UUID_STR_LEN], name[CP_NAME_LEN + 1], sock[PMON_SPAWN_PATH_MAX],
		err[CP_ERRTEXT_MAX];
	char *answer;
	struct pmon_vms_entry *v;
	enum cluster_proto_status st = cluster_proto_vm_ctl_get(pl, h->len, &m, why, sizeof(why));
	struct pmon_vmmctl_wait wait;
	struct ctl_target target;
	uint32_t state;
	pid_t pid;
	int rc, timeout;

	if (st)
		return refuse(c, h, st, "%s", why);
	uuid_str_format(m.uuid, id);
	pthread_mutex_lock(&p->vms.lock);
	v = pmon_vms_find(&p->vms, m.uuid);
	if (!v || !pmon_vms_live(v)) {
		int status = v ? v->exit_status : 0;

		pthread_mutex_unlock(&p->vms.lock);
		if (!v)
			return refuse(c, h, CP_ENOENT, "no vNode %s on this host", id);
		return refuse(c, h, CP_ENOENT,
			      "vNode %s is not running (it exited with status %d): no control "
			      "socket to ask",
			      id, status);
	}
	pid = v->pid;
	snprintf(name, sizeof(name), "%s", v->name);
	pthread_mutex_unlock(&p->vms.lock);
	pmon_spawn_path(sock, p->run_dir, id, "sock");
	answer = malloc(CTL_ANSWER_MAX);
	if (!answer)
		return refuse(c, h, CP_EIO, "vNode %s (%s): out of memory for the answer", name,
			      id);
	timeout = !strncmp(m.cmd, "region-add ", 11) ? CTL_SLOW_MS : CTL_TIMEOUT_MS;
	target = (struct ctl_target){.p = p, .pid = pid};
	memcpy(target.uuid, m.uuid, 16);
	wait = (struct pmon_vmmctl_wait){.wait_ms = CTL_BUDGET_MS - timeout < CTL_SOCKET_WAIT_MS
							    ? CTL_BUDGET_MS - timeout
							    : CTL_SOCKET_WAIT_MS,
					 .alive = ctl_target_alive,
					 .ctx = &target};
	if (pmon_vmmctl_command(sock, m.cmd, timeout, &wait, answer, CTL_ANSWER_MAX, err,
				sizeof(err))) {
		free(answer);
		return refuse(c, h, CP_EIO, "vNode %s (%s): %s", name, id, err);
	}
	state = ctl_state(m.cmd, answer);
	if (state) {
		pthread_mutex_lock(&p->vms.lock);
		v = pmon_vms_find(&p->vms, m.uuid);
		if (v && pmon_vms_live(v) && v->pid == pid)
			v->state = state;
		pthread_mutex_unlock(&p->vms.lock);
		log_info("vNode %s (%s) pid %d %s", name, id, (int)pid,
			 state == CP_VM_PAUSED ? "paused" : "resumed");
		pmon_loop_kick(p);
	} else if (!strncmp(m.cmd, "migrate", 7) && strcmp(m.cmd, "migration")) {
		/* migrate, migrate-cancel, migrate-resolve: events worth a line. */
		if (!strncmp(m.cmd, "migrate ", 8) && strstr(answer, "\"started\"")) {
			pthread_mutex_lock(&p->vms.lock);
			v = pmon_vms_find(&p->vms, m.uuid);
			if (v && pmon_vms_live(v) && v->pid == pid) {
				v->migrating = true;
				pmon_adopt_record(p->run_dir, v);
			}
			pthread_mutex_unlock(&p->vms.lock);
		}
		log_info("vNode %s (%s) pid %d: '%s': %s", name, id, (int)pid, m.cmd, answer);
	} else {
		log_debug("vNode %s (%s): control command '%s' answered", name, id, m.cmd);
	}
	rc = reply(c, h, answer, strlen(answer));
	free(answer);
	return rc;
}

static int vm_console(struct conn *c, const struct wire_hdr *h, const uint8_t *pl)
{
	struct pmon_ctx *p = c->p;
	struct cluster_proto_vm_console m;
	struct cluster_proto_vm_console_reply r = {0};
	char why[256];
	char id[UUID_STR_LEN], path[PMON_SPAWN_PATH_MAX];
	struct pmon_vms_entry *v;
	enum cluster_proto_status st =
		cluster_proto_vm_console_get(pl, h->len, &m, why, sizeof(why));
	struct stat sb;
	uint8_t *buf;
	ssize_t n = 0;
	int fd, rc;

	if (st)
		return refuse(c, h, st, "%s", why);
	uuid_str_format(m.uuid, id);
	/* The state first: once EXITED is seen, every byte is already in the file. */
	pthread_mutex_lock(&p->vms.lock);
	v = pmon_vms_find(&p->vms, m.uuid);
	r.state = v ? v->state : 0;
	pthread_mutex_unlock(&p->vms.lock);
	if (!v)
		return refuse(c, h, CP_ENOENT, "no vNode %s on this host", id);
	pmon_spawn_path(path, p->run_dir, id, "console");
	buf = malloc(CP_VM_CONSOLE_REPLY_LEN + (size_t)m.max);
	if (!buf)
		return refuse(c, h, CP_EIO, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno != ENOENT) {
		rc = refuse(c, h, CP_EIO, "cannot open the console of vNode %s: %s", id,
			    strerror(errno));
		free(buf);
		return rc;
	}
	/* No file yet: lego-vmm has not opened it, so nothing was written. */
	if (fd >= 0 && !fstat(fd, &sb)) {
		uint64_t size = (uint64_t)sb.st_size;

		r.offset = m.offset < size ? m.offset : size;
		n = pread(fd, buf + CP_VM_CONSOLE_REPLY_LEN,
			  size - r.offset < m.max ? (size_t)(size - r.offset) : m.max,
			  (off_t)r.offset);
	}
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		rc = refuse(c, h, CP_EIO, "cannot read the console of vNode %s: %s", id,
			    strerror(errno));
		free(buf);
		return rc;
	}
	cluster_proto_vm_console_reply_put(buf, &r);
	rc = reply(c, h, buf, CP_VM_CONSOLE_REPLY_LEN + (size_t)n);
	free(buf);
	return rc;
}

/* One console-in command to lego-vmm: how many of the n bytes its UART took, and how many
 * then wait for the guest; -1 with err. */
static int console_in_chunk(const char *sock, const uint8_t *bytes, size_t n, uint32_t *took,
			    uint32_t *queued, char *err, size_t errlen)
{
	char cmd[sizeof("console-in ") + 2 * CONTROL_SOCK_CONSOLE_IN_MAX], answer[512];
	const struct json_flat_member *a, *q, *e;
	struct json_flat_object *o;
	int rc = -1;

	memcpy(cmd, "console-in ", 11);
	parse_hex_format(cmd + 11, bytes, n);
	if (pmon_vmmctl_command(sock, cmd, CTL_TIMEOUT_MS, NULL, answer, sizeof(answer), err,
				errlen))
		return -1;
	o = malloc(sizeof(*o));
	if (!o || json_flat_parse(answer, o, err, errlen)) {
		if (!o)
			snprintf(err, errlen, "out of memory");
		free(o);
		return -1;
	}
	a = json_flat_get(o, "accepted");
	q = json_flat_get(o, "queued");
	e = json_flat_get(o, "error");
	if (e && e->type == JF_STRING)
		snprintf(err, errlen, "lego-vmm refused the input: %.200s", e->str);
	else if (!a || !a->is_uint || a->num > n || !q || !q->is_uint || q->num > UINT32_MAX)
		snprintf(err, errlen, "lego-vmm answered console-in with %.200s", answer);
	else
		rc = 0;
	if (!rc) {
		*took = (uint32_t)a->num;
		*queued = (uint32_t)q->num;
	}
	free(o);
	return rc;
}

/* Input for a vNode's console: to its lego-vmm in control-socket chunks until one is not
 * taken whole (the UART's FIFO is full, or a migration holds it); the reply says how far it
 * got, in order, and the sender keeps the rest. Console input is never logged. */
static int vm_console_in(struct conn *c, const struct wire_hdr *h, const uint8_t *pl)
{
	struct pmon_ctx *p = c->p;
	struct cluster_proto_vm_console_in m;
	struct cluster_proto_vm_console_in_reply r = {0};
	uint8_t out[CP_VM_CONSOLE_IN_REPLY_LEN];
	char why[256], id[UUID_STR_LEN], sock[PMON_SPAWN_PATH_MAX], err[CP_ERRTEXT_MAX];
	enum cluster_proto_status st =
		cluster_proto_vm_console_in_get(pl, h->len, &m, why, sizeof(why));
	struct pmon_vms_entry *v;
	bool live;

	if (st)
		return refuse(c, h, st, "%s", why);
	uuid_str_format(m.uuid, id);
	pthread_mutex_lock(&p->vms.lock);
	v = pmon_vms_find(&p->vms, m.uuid);
	live = v && pmon_vms_live(v);
	pthread_mutex_unlock(&p->vms.lock);
	if (!live)
		return refuse(c, h, CP_ENOENT, "no running vNode %s on this host", id);
	pmon_spawn_path(sock, p->run_dir, id, "sock");
	while (r.accepted < m.len) {
		size_t n = m.len - r.accepted;
		uint32_t took;

		if (n > CONTROL_SOCK_CONSOLE_IN_MAX)
			n = CONTROL_SOCK_CONSOLE_IN_MAX;
		if (console_in_chunk(sock, m.data + r.accepted, n, &took, &r.queued, err,
				     sizeof(err))) {
			if (r.accepted)
				break; /* what was taken stays taken: the reply says so */
			return refuse(c, h, CP_EIO, "console input for vNode %s: %s", id, err);
		}
		r.accepted += took;
		if (took < n)
			break;
	}
	log_debug("vNode %s: %u of %u console input bytes taken, %u wait for the guest", id,
		  r.accepted, m.len, r.queued);
	cluster_proto_vm_console_in_reply_put(out, &r);
	return reply(c, h, out, sizeof(out));
}

static int vm_forget(struct conn *c, const struct wire_hdr *h, const uint8_t *pl)
{
	struct pmon_ctx *p = c->p;
	uint8_t uuid[16];
	char why[256];
	char id[UUID_STR_LEN], name[CP_NAME_LEN + 1], path[PMON_SPAWN_PATH_MAX];
	struct pmon_vms_entry *v;
	enum cluster_proto_status st = cluster_proto_uuid_get(pl, h->len, uuid, why, sizeof(why));

	if (st)
		return refuse(c, h, st, "%s", why);
	uuid_str_format(uuid, id);
	pthread_mutex_lock(&p->vms.lock);
	v = pmon_vms_find(&p->vms, uuid);
	if (!v || pmon_vms_live(v)) {
		pid_t pid = v ? v->pid : 0;

		pthread_mutex_unlock(&p->vms.lock);
		if (!v)
			return refuse(c, h, CP_ENOENT, "no vNode %s on this host", id);
		return refuse(c, h, CP_EINVAL,
			      "vNode %s is still running (pid %d): stop it before forgetting it",
			      id, (int)pid);
	}
	snprintf(name, sizeof(name), "%s", v->name);
	pmon_vms_drop(v);
	/* Under the lock: a new vNode with this uuid must not lose its fresh files. */
	pmon_spawn_path(path, p->run_dir, id, "sock");
	unlink(path);
	pmon_spawn_path(path, p->run_dir, id, "console");
	unlink(path);
	pmon_adopt_forget(p->run_dir, id);
	pthread_mutex_unlock(&p->vms.lock);
	pmon_spawn_path(path, p->run_dir, id, "log");
	log_info("forgot vNode %s (%s); its log stays in %s", name, id, path);
	pmon_loop_kick(p);
	return reply(c, h, NULL, 0);
}

/* NET_SET: the networks and the other hosts, as lego-controld sees them. */
static int net_set(struct conn *c, const struct wire_hdr *h, const uint8_t *pl)
{
	struct net_proto_set *m = malloc(sizeof(*m));
	char why[CP_ERRTEXT_MAX];
	uint8_t out[NET_PROTO_SET_REPLY_LEN];
	uint32_t vtep = 0;
	int st;

	if (!m)
		return refuse(c, h, CP_EIO, "out of memory");
	st = net_proto_set_get(pl, h->len, m, why, sizeof(why));
	if (!st)
		st = pmon_net_set(m, &vtep, why, sizeof(why));
	if (!st)
		log_debug("networks: %u network(s), %u other host(s)", m->nr_nets, m->nr_peers);
	free(m);
	if (st)
		return refuse(c, h, (uint32_t)st, "%s", why);
	net_proto_set_reply_put(out, vtep);
	return reply(c, h, out, sizeof(out));
}

/* NET_LEASES: what this host's DHCP server of a network gave. */
static int net_leases(struct conn *c, const struct wire_hdr *h, const uint8_t *pl)
{
	char name[CP_NAME_LEN + 1], why[CP_ERRTEXT_MAX];
	struct net_proto_lease *l = NULL;
	uint32_t n = 0;
	uint8_t *out;
	int rc, st = net_proto_leases_get(pl, h->len, name, why, sizeof(why));

	if (!st && pmon_net_leases(name, &l, &n, why, sizeof(why)))
		st = CP_EIO;
	if (st)
		return refuse(c, h, (uint32_t)st, "%s", why);
	out = malloc(net_proto_leases_reply_len(n));
	if (!out) {
		free(l);
		return refuse(c, h, CP_EIO, "out of memory");
	}
	net_proto_leases_reply_put(out, l, n);
	rc = reply(c, h, out, net_proto_leases_reply_len(n));
	free(out);
	free(l);
	return rc;
}

/* What lego-pmon serves: a row per op with the certificates that may ask it. Running,
 * stopping and reading vNodes, and the networks, are for lego-controld and the operators. */
static const struct op_row {
	uint16_t op;
	unsigned kinds; /* TLS_KIND_BIT()s of the certificates that may ask it */
	int (*handler)(struct conn *c, const struct wire_hdr *h, const uint8_t *pl);
} ops[] = {
	{CP_VM_START, TLS_KINDS_OPERATOR, vm_start},
	{CP_VM_STOP, TLS_KINDS_OPERATOR, vm_stop},
	{CP_VM_CTL, TLS_KINDS_OPERATOR, vm_ctl},
	{CP_VM_CONSOLE, TLS_KINDS_OPERATOR, vm_console},
	{CP_VM_CONSOLE_IN, TLS_KINDS_OPERATOR, vm_console_in},
	{CP_VM_FORGET, TLS_KINDS_OPERATOR, vm_forget},
	{CP_NET_SET, TLS_KINDS_OPERATOR, net_set},
	{CP_NET_LEASES, TLS_KINDS_OPERATOR, net_leases},
};

/* 0 to go on with the connection, -1 to close it. */
static int handle(struct conn *c, const struct wire_hdr *h, const uint8_t *pl)
{
	const struct op_row *row = NULL;
	char have[96];

	if (h->status)
		return refuse(c, h, CP_EPROTO, "a request carries status %u (requests carry 0)",
			      h->status);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == h->op)
			row = &ops[i];
	/* A certificate that may ask nothing here learns nothing more (not even which ops
	 * exist): it is refused as such whatever it asks. */
	if (c->c->session &&
	    !((row ? row->kinds : TLS_KINDS_OPERATOR) & TLS_KIND_BIT(c->c->peer.kind)))
		return refuse(c, h, CP_EPERM,
			      "%s needs an admin or lego-controld certificate; yours grants %s",
			      op_name(h->op), tls_pki_id_text(&c->c->peer, have, sizeof(have)));
	if (!row)
		return refuse(c, h, CP_EBADOP,
			      "op %u (%s) is not served by lego-pmon: it serves VM_START, VM_STOP, "
			      "VM_CTL, VM_CONSOLE, VM_FORGET, NET_SET and NET_LEASES",
			      h->op, op_name(h->op));
	return row->handler(c, h, pl);
}

/* Closing with unread bytes would reset the connection, and a reset can destroy the error
 * reply before the peer reads it: send FIN, then discard what still comes for a moment. */
static void linger_close(struct tls_conn *c)
{
	int64_t deadline = mono_clock_ms() + LINGER_MS;
	char junk[4096];

	if (c->session)
		return; /* TLS: the close_notify says it all */
	shutdown(c->fd, SHUT_WR);
	while (mono_clock_ms() < deadline && tls_conn_wait(c, LINGER_MS) == 1 &&
	       recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
}

static void serve(struct netserver_client *nc)
{
	struct conn conn = {.p = nc->cfg->ctx, .c = nc->conn}, *c = &conn;
	bool more = true;

	tls_conn_who(c->c, c->peer, sizeof(c->peer));
	while (more) {
		struct wire_hdr h;
		uint8_t *pl;
		char why[256];

		switch (cluster_io_recv(c->c, IDLE_TIMEOUT_MS, RECV_TIMEOUT_MS, &h, &pl, why,
					sizeof(why))) {
		case CIO_MSG:
			more = handle(c, &h, pl) == 0;
			free(pl);
			break;
		case CIO_EOF:
			more = false;
			break;
		case CIO_BAD:
			refuse(c, &h, CP_EPROTO, "%s", why);
			linger_close(c->c);
			more = false;
			break;
		case CIO_FAILED:
			if (may_log_refusal())
				log_warn("%s: connection closed: %s", c->peer, why);
			more = false;
			break;
		}
	}
}

struct netserver *pmon_requests_start(struct pmon_ctx *p, int lfd, const struct tls_pki *pki)
{
	struct netserver_config cfg = {.what = "vNode requests",
				       .max_conns = MAX_CONNS,
				       .max_per_peer = MAX_PER_PEER,
				       .max_pending = MAX_PENDING,
				       .handshake_ms = TLS_CONN_HANDSHAKE_MS,
				       .idle_ms = IDLE_TIMEOUT_MS,
				       .read_ms = RECV_TIMEOUT_MS,
				       .budget = BIG_MSG_BUDGET,
				       .serve = serve,
				       .ctx = p};
	struct netserver *s = netserver_new(&cfg);

	if (!s || netserver_listen(s, lfd, pki, 0) || netserver_start(s)) {
		log_error("cannot serve requests: out of memory or threads");
		return NULL;
	}
	return s;
}
