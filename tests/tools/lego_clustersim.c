/* lego_clustersim.c: one process that is a whole cluster's components for lego-controld:
 * N processor hosts, M memory servers and S storage servers, each speaking the real cluster
 * protocol (lib/cluster: framing, mutual TLS with its own certificate) from its own
 * loopback address: REGISTER with its kind and name, a HEARTBEAT every interval lego-controld
 * asks for (a processor host's with the statuses of the vNodes it runs), reconnecting and
 * registering again when lego-controld goes away (given several lego-controld addresses, it
 * follows the leader as lego's agents do: the next address whenever a session ends or a
 * standby refuses). Each processor host listens on a port of
 * its own and answers lego-controld's calls as lego-pmon does, without running a guest:
 * VM_START is a running vNode (its `regions` answer built from the options, as lego-vmm's),
 * VM_STOP an exit, VM_FORGET, VM_CTL, VM_CONSOLE and VM_CONSOLE_IN. One epoll loop holds every
 * heartbeat connection and listener; a few threads do the TLS handshakes (connecting, and
 * lego-controld's calls). See usage() for the options. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/cluster/cluster_agent.h"
#include "lib/cluster/cluster_io.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/parse.h"
#include "lib/proto/cluster_proto.h"
#include "lib/proto/net_proto.h"
#include "lib/proto/vmm_regions.h"
#include "lib/tcp.h"
#include "lib/tls/tls_pki.h"

#define CONNECT_MS  5000
#define BACKOFF_MIN 100
#define BACKOFF_MAX 2000
#define MAX_THREADS 64
#define EV_LISTEN   (1ULL << 32) /* epoll data: a pmon's listener, else a heartbeat conn */

struct vm {
	struct cluster_proto_vm_status st;
	uint64_t excache;
	char *regions; /* lego-vmm's `regions` answer for this run */
};

struct comp {
	int kind; /* cp_kind */
	int index;
	char name[CP_NAME_LEN + 1];
	char src[32]; /* the loopback address it connects from */
	char addr[CP_ADDR_LEN + 1];
	struct tls_pki *pki;
	int lfd;	    /* a processor host's request port (-1: none) */
	struct tls_conn *c; /* the heartbeat connection (NULL: down or connecting) */
	bool queued, muted; /* waits for a connector; silenced by SIGUSR1 */
	bool awaiting;	    /* a heartbeat's reply is due */
	int64_t next_hb, sent, retry_at;
	int backoff;
	uint32_t hb_ms, timeout_ms;
	int cur;	/* the lego-controld address it dials (opt.addrs) */
	struct vm *vms; /* a processor host's vNodes */
	int nr_vms, cap_vms;
	uint32_t next_pid; /* the pid its next simulated lego-vmm gets */
	uint64_t next_id;  /* its next heartbeat's message id */
};

static struct {
	const char *controld, *pki_dir, *prefix, *status_file;
	char addrs[CLUSTER_AGENT_ADDRS_MAX][CP_ADDR_LEN + 1]; /* --controld, split */
	int naddrs;
	int nr[4]; /* by cp_kind */
	uint32_t cores;
	uint64_t pmon_mem, mmon_mem, smon_space;
	int connect_threads, call_threads;
	const char *mute[64];
	int nr_mute;
	bool list_names, verbose;
} opt = {.prefix = "sim",
	 .cores = 64,
	 .pmon_mem = 256ULL << 30,
	 .mmon_mem = 1ULL << 40,
	 .smon_space = 10ULL << 40,
	 .connect_threads = 4,
	 .call_threads = 4};

static struct comp *comps;
static int nr_comps;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t connect_cv = PTHREAD_COND_INITIALIZER, call_cv = PTHREAD_COND_INITIALIZER;
static int *connect_q, connect_head, connect_tail; /* ring of comp indexes */
static struct call {
	int fd, comp;
} * call_q;
static int call_head, call_tail, call_cap = 4096;
static volatile sig_atomic_t got_usr1, got_term;
static int ep;
static uint64_t calls_served, registrations;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lego_clustersim --controld HOST:PORT[,HOST:PORT...] [options]\n"
		"  A simulated lego cluster for lego-controld: processor hosts, memory\n"
		"  servers and storage servers in one process, each registering and sending\n"
		"  heartbeats over the real cluster protocol with its own certificate, from\n"
		"  its own loopback address (127.10.x.y pmons, 127.20.x.y mmons, 127.30.x.y\n"
		"  smons). Processor hosts answer VM_START as a running vNode without\n"
		"  starting a guest, VM_STOP as its exit.\n"
		"Options:\n"
		"  --controld HOST:PORT[,HOST:PORT...]  lego-controld's cluster port; with\n"
		"                         several (lego-controld on RADOS: a leader and\n"
		"                         standbys), each component follows the leader as\n"
		"                         lego-pmon does: the next address when a session ends\n"
		"                         or a standby refuses (at most 8)\n"
		"  --pki DIR              the cluster PKI (default $LEGO_PKI): it must hold\n"
		"                         KIND-NAME.pem and KIND-NAME-key.pem for every component\n"
		"                         (--list-names says which)\n"
		"  --pmons N, --mmons M, --smons S   how many of each (default 0)\n"
		"  --prefix P             names are P-pNNNN, P-mNNNN, P-sNNNN (default sim)\n"
		"  --cores C              cores each processor host offers (default 64)\n"
		"  --pmon-mem BYTES       its memory for ExCaches (default 256G)\n"
		"  --mmon-mem BYTES       each memory server's pool (default 1T)\n"
		"  --smon-space BYTES     each storage server's space (default 10T)\n"
		"  --mute NAME            on SIGUSR1, NAME stops its heartbeats (the connection\n"
		"                         stays open: lego-controld must notice the silence) and\n"
		"                         does not join again, as a hung host would; repeatable\n"
		"  --status-file F        rewritten every 500 ms: 'components N', 'up N'\n"
		"                         (registered now), 'registrations N', 'vms N',\n"
		"                         'calls N' (lego-controld's calls served)\n"
		"  --connect-threads N    threads doing TLS handshakes and REGISTERs (default 4)\n"
		"  --call-threads N       threads serving lego-controld's calls (default 4)\n"
		"  --list-names           print 'KIND NAME' for each component and exit (to issue\n"
		"                         their certificates: legoctl pki issue DIR KIND NAME)\n"
		"  --verbose              log every registration and call\n"
		"  --help                 this text\n"
		"SIGTERM or SIGINT ends it.\n");
}

static const char *kind_word(int kind)
{
	return kind == CP_KIND_PMON ? "pmon" : kind == CP_KIND_MMON ? "mmon" : "smon";
}

static int tls_kind(int kind)
{
	return kind == CP_KIND_PMON   ? TLS_KIND_PMON
	       : kind == CP_KIND_MMON ? TLS_KIND_MMON
				      : TLS_KIND_SMON;
}

/* ---- lego-controld's calls to a processor host ------------------------------------- */

static struct vm *find_vm(struct comp *p, const uint8_t uuid[16])
{
	for (int i = 0; i < p->nr_vms; i++)
		if (!memcmp(p->vms[i].st.uuid, uuid, 16))
			return &p->vms[i];
	return NULL;
}

static const char *mmon_name_at(const char *addr)
{
	for (int i = 0; i < nr_comps; i++)
		if (comps[i].kind == CP_KIND_MMON && !strcmp(comps[i].addr, addr))
			return comps[i].name;
	return "";
}

/* lego-vmm's `regions` answer for the options of a VM_START: its --mmon servers and
 * --region-owners copies (every copy live), as vmm/control/control_json.c writes it. */
static char *regions_json(const char *args, uint32_t argc)
{
	const char *mmon[VR_MAX_SERVERS], *owners = "";
	int nm = 0;
	size_t cap = 4096, n = 0;
	char *out = malloc(cap);

	for (uint32_t i = 0; i + 1 < argc; i++, args += strlen(args) + 1) {
		const char *val = args + strlen(args) + 1;

		if (!strcmp(args, "--mmon") && nm < VR_MAX_SERVERS)
			mmon[nm++] = val;
		else if (!strcmp(args, "--region-owners"))
			owners = val;
	}
#define PUT(...)                                                                     \
	do {                                                                         \
		int w_;                                                              \
		while (out && (w_ = snprintf(out + n, cap - n, __VA_ARGS__)) >= 0 && \
		       (size_t)w_ >= cap - n) {                                      \
			char *b_ = realloc(out, cap * 2);                            \
			if (!b_)                                                     \
				free(out);                                           \
			out = b_;                                                    \
			cap *= 2;                                                    \
		}                                                                    \
		if (!out)                                                            \
			return NULL;                                                 \
		n += (size_t)w_;                                                     \
	} while (0)
	PUT("{\"servers\":[");
	for (int i = 0; i < nm; i++)
		PUT("%s{\"addr\":\"%s\",\"name\":\"%s\",\"lost\":false}", i ? "," : "", mmon[i],
		    mmon_name_at(mmon[i]));
	PUT("],\"regions\":[[");
	for (const char *p = owners; *p; p++) {
		if (*p == ',')
			PUT("],[");
		else if (*p == '+')
			PUT(",");
		else if (*p >= '0' && *p <= '9') {
			int s = (int)strtol(p, (char **)&p, 10);

			p--;
			PUT("{\"server\":%d,\"state\":\"live\",\"failed\":false}", s);
		}
	}
	PUT("]],\"copies_lost\":0,\"redirects\":0}");
#undef PUT
	return out;
}

static void vm_start(struct comp *p, struct tls_conn *c, const struct wire_hdr *h,
		     const uint8_t *pl)
{
	struct cluster_proto_vm_start vs;
	const char *args;
	char err[256];
	uint8_t out[4];
	int rc = cluster_proto_vm_start_get(pl, h->len, &vs, &args, err, sizeof(err));
	struct vm *v;

	if (rc != CP_OK) {
		cluster_io_send_error(c, h, (uint32_t)rc, "bad VM_START: %s", err);
		return;
	}
	pthread_mutex_lock(&lock);
	v = find_vm(p, vs.uuid);
	if (v && v->st.state != CP_VM_EXITED) {
		pthread_mutex_unlock(&lock);
		cluster_io_send_error(c, h, CP_EEXIST, "vNode %s runs here already", vs.name);
		return;
	}
	if (!v && p->nr_vms == CP_MAX_VMS) {
		pthread_mutex_unlock(&lock);
		cluster_io_send_error(c, h, CP_ENOSPC, "this host runs %d vNodes", CP_MAX_VMS);
		return;
	}
	if (!v && p->nr_vms == p->cap_vms) {
		int cap = p->cap_vms ? p->cap_vms * 2 : 16;
		struct vm *m = realloc(p->vms, (size_t)cap * sizeof(*m));

		if (!m) {
			pthread_mutex_unlock(&lock);
			cluster_io_send_error(c, h, CP_EIO, "out of memory");
			return;
		}
		p->vms = m;
		p->cap_vms = cap;
	}
	if (!v) {
		v = &p->vms[p->nr_vms++];
		memset(v, 0, sizeof(*v));
	}
	free(v->regions);
	v->regions = regions_json(args, vs.argc);
	v->st = (struct cluster_proto_vm_status){.vnode_uid = vs.vnode_uid,
						 .domid = vs.domid,
						 .pid = 100000 + p->next_pid++,
						 .state = CP_VM_RUNNING,
						 .vcpus = vs.vcpus};
	memcpy(v->st.uuid, vs.uuid, 16);
	v->excache = vs.excache_bytes;
	wire_put_le32(out, v->st.pid);
	p->next_hb = 0; /* as lego-pmon's agent is kicked: the news goes out at once */
	pthread_mutex_unlock(&lock);
	if (opt.verbose)
		log_info("%s: started vNode %s (domain %d)", p->name, vs.name, vs.domid);
	cluster_io_send(c, CP_VM_START | CP_REPLY, h->id, CP_OK, out, sizeof(out));
}

static void vm_stop(struct comp *p, struct tls_conn *c, const struct wire_hdr *h, const uint8_t *pl)
{
	struct cluster_proto_vm_stop s;
	char err[256];
	int rc = cluster_proto_vm_stop_get(pl, h->len, &s, err, sizeof(err));
	struct vm *v;

	if (rc != CP_OK) {
		cluster_io_send_error(c, h, (uint32_t)rc, "bad VM_STOP: %s", err);
		return;
	}
	pthread_mutex_lock(&lock);
	v = find_vm(p, s.uuid);
	if (v && v->st.state != CP_VM_EXITED) {
		/* lego-vmm's exit on SIGTERM (0), or SIGKILL's (128 + 9) when forced. */
		v->st.state = CP_VM_EXITED;
		v->st.exit_status = s.mode == CP_STOP_FORCE && s.grace_ms == 0 ? 137 : 0;
		p->next_hb = 0;
	}
	pthread_mutex_unlock(&lock);
	if (!v)
		cluster_io_send_error(c, h, CP_ENOENT, "no such vNode here");
	else
		cluster_io_send(c, CP_VM_STOP | CP_REPLY, h->id, CP_OK, NULL, 0);
}

static void vm_forget(struct comp *p, struct tls_conn *c, const struct wire_hdr *h,
		      const uint8_t *pl)
{
	uint8_t uuid[16];
	char err[256];
	int rc = cluster_proto_uuid_get(pl, h->len, uuid, err, sizeof(err));
	struct vm *v = NULL;

	if (rc != CP_OK) {
		cluster_io_send_error(c, h, (uint32_t)rc, "bad VM_FORGET: %s", err);
		return;
	}
	pthread_mutex_lock(&lock);
	v = find_vm(p, uuid);
	rc = !v ? CP_ENOENT : v->st.state != CP_VM_EXITED ? CP_EINVAL : CP_OK;
	if (rc == CP_OK) {
		free(v->regions);
		*v = p->vms[--p->nr_vms];
	}
	pthread_mutex_unlock(&lock);
	if (rc != CP_OK)
		cluster_io_send_error(c, h, (uint32_t)rc, "%s",
				      rc == CP_ENOENT ? "no such vNode here" : "it still runs");
	else
		cluster_io_send(c, CP_VM_FORGET | CP_REPLY, h->id, CP_OK, NULL, 0);
}

static void vm_ctl(struct comp *p, struct tls_conn *c, const struct wire_hdr *h, const uint8_t *pl)
{
	struct cluster_proto_vm_ctl m;
	char err[256], *answer = NULL;
	int rc = cluster_proto_vm_ctl_get(pl, h->len, &m, err, sizeof(err));
	struct vm *v;

	if (rc != CP_OK) {
		cluster_io_send_error(c, h, (uint32_t)rc, "bad VM_CTL: %s", err);
		return;
	}
	pthread_mutex_lock(&lock);
	v = find_vm(p, m.uuid);
	if (v && v->st.state != CP_VM_EXITED)
		answer = strdup(!strcmp(m.cmd, "regions") && v->regions ? v->regions
				: !strcmp(m.cmd, "stats")		? "{\"simulated\":true}"
									: "{\"ok\":true}");
	pthread_mutex_unlock(&lock);
	if (!answer)
		cluster_io_send_error(c, h, CP_ENOENT, "no running vNode with that uuid here");
	else
		cluster_io_send(c, CP_VM_CTL | CP_REPLY, h->id, CP_OK, answer, strlen(answer));
	free(answer);
}

static void vm_console(struct comp *p, struct tls_conn *c, const struct wire_hdr *h,
		       const uint8_t *pl)
{
	struct cluster_proto_vm_console m;
	struct cluster_proto_vm_console_reply r = {0};
	uint8_t out[CP_VM_CONSOLE_REPLY_LEN];
	char err[256];
	int rc = cluster_proto_vm_console_get(pl, h->len, &m, err, sizeof(err));
	struct vm *v;

	if (rc != CP_OK) {
		cluster_io_send_error(c, h, (uint32_t)rc, "bad VM_CONSOLE: %s", err);
		return;
	}
	pthread_mutex_lock(&lock);
	v = find_vm(p, m.uuid);
	if (v)
		r.state = v->st.state;
	pthread_mutex_unlock(&lock);
	if (!v) {
		cluster_io_send_error(c, h, CP_ENOENT, "no such vNode here");
		return;
	}
	cluster_proto_vm_console_reply_put(out, &r); /* a guest that printed nothing */
	cluster_io_send(c, CP_VM_CONSOLE | CP_REPLY, h->id, CP_OK, out, sizeof(out));
}

static void vm_console_in(struct comp *p, struct tls_conn *c, const struct wire_hdr *h,
			  const uint8_t *pl)
{
	struct cluster_proto_vm_console_in m;
	struct cluster_proto_vm_console_in_reply r = {0};
	uint8_t out[CP_VM_CONSOLE_IN_REPLY_LEN];
	char err[256];
	int rc = cluster_proto_vm_console_in_get(pl, h->len, &m, err, sizeof(err));
	bool found;

	if (rc != CP_OK) {
		cluster_io_send_error(c, h, (uint32_t)rc, "bad VM_CONSOLE_IN: %s", err);
		return;
	}
	pthread_mutex_lock(&lock);
	found = find_vm(p, m.uuid) != NULL;
	pthread_mutex_unlock(&lock);
	if (!found) {
		cluster_io_send_error(c, h, CP_ENOENT, "no such vNode here");
		return;
	}
	r.accepted = m.len; /* the simulated guest reads everything */
	cluster_proto_vm_console_in_reply_put(out, &r);
	cluster_io_send(c, CP_VM_CONSOLE_IN | CP_REPLY, h->id, CP_OK, out, sizeof(out));
}

/* The networks' state: a host on loopback has no VXLAN address (vtep 0), as lego-pmon's. */
static void net_set(struct comp *p, struct tls_conn *c, const struct wire_hdr *h, const uint8_t *pl)
{
	struct net_proto_set *m = malloc(sizeof(*m));
	uint8_t out[NET_PROTO_SET_REPLY_LEN];
	char err[256] = "out of memory";
	int rc = m ? net_proto_set_get(pl, h->len, m, err, sizeof(err)) : CP_EIO;

	(void)p;
	free(m);
	if (rc != CP_OK) {
		cluster_io_send_error(c, h, (uint32_t)rc, "bad NET_SET: %s", err);
		return;
	}
	net_proto_set_reply_put(out, 0);
	cluster_io_send(c, CP_NET_SET | CP_REPLY, h->id, CP_OK, out, sizeof(out));
}

static void net_leases(struct comp *p, struct tls_conn *c, const struct wire_hdr *h,
		       const uint8_t *pl)
{
	char name[CP_NAME_LEN + 1], err[256];
	uint8_t out[NET_PROTO_LEASES_REPLY_LEN];
	int rc = net_proto_leases_get(pl, h->len, name, err, sizeof(err));

	(void)p;
	if (rc != CP_OK) {
		cluster_io_send_error(c, h, (uint32_t)rc, "bad NET_LEASES: %s", err);
		return;
	}
	net_proto_leases_reply_put(out, NULL, 0); /* no vNode here asked for an address */
	cluster_io_send(c, CP_NET_LEASES | CP_REPLY, h->id, CP_OK, out, sizeof(out));
}

static const struct {
	uint16_t op;
	void (*handle)(struct comp *p, struct tls_conn *c, const struct wire_hdr *h,
		       const uint8_t *pl);
} call_ops[] = {
	{CP_VM_START, vm_start}, {CP_VM_STOP, vm_stop},	      {CP_VM_FORGET, vm_forget},
	{CP_VM_CTL, vm_ctl},	 {CP_VM_CONSOLE, vm_console}, {CP_VM_CONSOLE_IN, vm_console_in},
	{CP_NET_SET, net_set},	 {CP_NET_LEASES, net_leases},
};

/* One connection from lego-controld to processor host p, as lego-pmon serves it. */
static void serve_call(struct comp *p, int fd)
{
	struct tls_conn *c = tls_conn_plain(fd, "lego-controld");
	char err[512];

	if (!c) {
		close(fd);
		return;
	}
	if (tls_conn_upgrade(c, p->pki, TLS_CONN_HANDSHAKE_MS, err, sizeof(err))) {
		log_warn("%s: TLS handshake with a caller failed: %s", p->name, err);
		tls_conn_close(c);
		return;
	}
	if (c->peer.kind != TLS_KIND_CONTROLD) {
		log_warn("%s: refused a caller whose certificate is not lego-controld's", p->name);
		tls_conn_close(c);
		return;
	}
	for (;;) {
		struct wire_hdr h;
		uint8_t *pl;
		size_t i;
		enum cluster_io_recv_result r =
			cluster_io_recv(c, 30000, 10000, &h, &pl, err, sizeof(err));

		if (r == CIO_BAD)
			cluster_io_send_error(c, &h, CP_EPROTO, "%s", err);
		if (r != CIO_MSG)
			break;
		for (i = 0; i < sizeof(call_ops) / sizeof(call_ops[0]); i++)
			if (call_ops[i].op == h.op)
				break;
		if (i < sizeof(call_ops) / sizeof(call_ops[0]))
			call_ops[i].handle(p, c, &h, pl);
		else
			cluster_io_send_error(c, &h, CP_EBADOP, "op %u is not simulated", h.op);
		free(pl);
		__atomic_add_fetch(&calls_served, 1, __ATOMIC_RELAXED);
	}
	tls_conn_close(c);
}

static void *call_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct call k;

		pthread_mutex_lock(&lock);
		while (call_head == call_tail)
			pthread_cond_wait(&call_cv, &lock);
		k = call_q[call_head];
		call_head = (call_head + 1) % call_cap;
		pthread_mutex_unlock(&lock);
		serve_call(&comps[k.comp], k.fd);
	}
	return NULL;
}

/* ---- joining: connect from the component's address, TLS, REGISTER ------------------- */

static void queue_connect(struct comp *m) /* under lock */
{
	if (m->queued)
		return;
	m->queued = true;
	connect_q[connect_tail] = m->index;
	connect_tail = (connect_tail + 1) % (nr_comps + 1);
	pthread_cond_signal(&connect_cv);
}

/* The connection of m failed or lego-controld refused it: close it and join again. */
static void drop(struct comp *m, const char *why) /* under lock */
{
	if (m->c) {
		if (opt.verbose)
			log_warn("%s: %s: connecting again", m->name, why);
		tls_conn_close(m->c); /* closing the fd takes it out of the epoll set */
		m->c = NULL;
	}
	m->awaiting = false;
	/* Whichever ended the session, the leader may be elsewhere now (as cluster_agent). */
	m->cur = (m->cur + 1) % opt.naddrs;
	if (m->muted)
		return; /* a silenced host stays away, as a hung one does */
	m->retry_at = mono_clock_ms() + m->backoff;
	m->backoff = m->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : m->backoff * 2;
	queue_connect(m);
}

static struct tls_conn *dial(struct comp *m, char *err, size_t errlen)
{
	const struct tls_conn_expect want = {.kinds = TLS_KIND_BIT(TLS_KIND_CONTROLD)};
	struct sockaddr_in src = {.sin_family = AF_INET};
	char host[256], port[16];
	struct sockaddr_in dst = {.sin_family = AF_INET};
	const char *to = opt.addrs[m->cur];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || parse_hostport(to, 1, host, sizeof(host), port, sizeof(port)) ||
	    inet_pton(AF_INET, host, &dst.sin_addr) != 1) {
		snprintf(err, errlen, "cannot connect to %s (an IPv4 address:port is needed)", to);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	dst.sin_port = htons((uint16_t)atoi(port));
	inet_pton(AF_INET, m->src, &src.sin_addr);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
		snprintf(err, errlen, "connect from %s to %s: %s", m->src, to, strerror(errno));
		close(fd);
		return NULL;
	}
	return tls_conn_handshake(fd, to, m->pki, &want, CONNECT_MS, err, errlen);
}

static bool join(struct comp *m)
{
	struct cluster_proto_register reg = {.kind = (uint32_t)m->kind};
	uint8_t buf[CP_REGISTER_LEN], *reply = NULL;
	size_t rlen = 0;
	char err[CP_ERRTEXT_MAX + 256];
	struct tls_conn *c = dial(m, err, sizeof(err));
	int rc;

	if (!c) {
		if (opt.verbose)
			log_warn("%s: %s", m->name, err);
		return false;
	}
	reg.cores = m->kind == CP_KIND_PMON ? opt.cores : 0;
	reg.capacity_bytes = m->kind == CP_KIND_PMON   ? opt.pmon_mem
			     : m->kind == CP_KIND_MMON ? opt.mmon_mem
						       : opt.smon_space;
	snprintf(reg.name, sizeof(reg.name), "%s", m->name);
	snprintf(reg.addr, sizeof(reg.addr), "%s", m->addr);
	cluster_proto_register_put(buf, &reg);
	rc = cluster_io_call(c, CP_REGISTER, buf, sizeof(buf), &reply, &rlen, CONNECT_MS, err,
			     sizeof(err));
	if (rc == CP_OK && rlen == 8) {
		m->hb_ms = wire_get_le32(reply);
		m->timeout_ms = wire_get_le32(reply + 4);
	}
	free(reply);
	if (rc == CP_ESTANDBY) { /* the text names the leader: the next address */
		if (opt.verbose)
			log_info("%s: %s: %s", m->name, opt.addrs[m->cur], err);
		tls_conn_close(c);
		return false;
	}
	if (rc != CP_OK || rlen != 8 || m->hb_ms < 10 || m->timeout_ms < m->hb_ms) {
		log_warn("%s: registration refused: %s", m->name, rc == CP_OK ? "bad reply" : err);
		tls_conn_close(c);
		return false;
	}
	pthread_mutex_lock(&lock);
	m->c = c;
	m->next_hb = 0; /* the first heartbeat at once, as lego's agents do */
	m->awaiting = false;
	m->backoff = BACKOFF_MIN;
	registrations++;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd,
		  &(struct epoll_event){.events = EPOLLIN, .data.u64 = (uint64_t)m->index});
	pthread_mutex_unlock(&lock);
	if (opt.verbose)
		log_info("%s: registered with %s (heartbeat every %u ms)", m->name,
			 opt.addrs[m->cur], m->hb_ms);
	return true;
}

static void *connect_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct comp *m;
		int64_t wait;

		pthread_mutex_lock(&lock);
		while (connect_head == connect_tail)
			pthread_cond_wait(&connect_cv, &lock);
		m = &comps[connect_q[connect_head]];
		connect_head = (connect_head + 1) % (nr_comps + 1);
		m->queued = false;
		wait = m->retry_at - mono_clock_ms();
		pthread_mutex_unlock(&lock);
		if (wait > 0)
			usleep((useconds_t)wait * 1000);
		if (!join(m)) {
			pthread_mutex_lock(&lock);
			drop(m, "joining failed");
			pthread_mutex_unlock(&lock);
		}
	}
	return NULL;
}

/* ---- the event loop: heartbeats and their replies, calls accepted --------------------- */

static void send_heartbeat(struct comp *m, uint8_t *buf, int64_t now) /* under lock */
{
	struct cluster_proto_heartbeat hb = {0};
	size_t len = CP_HEARTBEAT_LEN;

	for (int i = 0; i < m->nr_vms; i++) {
		cluster_proto_vm_status_put(buf + len, &m->vms[i].st);
		len += CP_VM_STATUS_LEN;
		if (m->vms[i].st.state != CP_VM_EXITED) {
			hb.used_cores += m->vms[i].st.vcpus;
			hb.used_bytes += m->vms[i].excache;
		}
	}
	hb.nr_vms = (uint32_t)m->nr_vms;
	cluster_proto_heartbeat_put(buf, &hb);
	if (cluster_io_send(m->c, CP_HEARTBEAT, ++m->next_id, CP_OK, buf, len)) {
		drop(m, "sending a heartbeat failed");
		return;
	}
	m->awaiting = true;
	m->sent = now;
	m->next_hb = now + m->hb_ms;
}

static void read_reply(struct comp *m) /* under lock */
{
	struct wire_hdr h;
	uint8_t *p = NULL;
	char err[256];

	if (!m->c || tls_conn_wait(m->c, 0) == 0)
		return; /* a session ticket, or nothing yet */
	if (cluster_io_recv(m->c, 1000, 1000, &h, &p, err, sizeof(err)) != CIO_MSG) {
		drop(m, "lego-controld closed the connection");
	} else if (h.op != (CP_HEARTBEAT | CP_REPLY) || h.status != CP_OK) {
		log_warn("%s: lego-controld answered a heartbeat with %s: %.*s", m->name,
			 cluster_proto_status_name(h.status), (int)h.len, p ? (char *)p : "");
		drop(m, "heartbeat refused");
	} else {
		m->awaiting = false;
	}
	free(p);
}

static void accept_calls(struct comp *p)
{
	for (;;) {
		int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return;
		pthread_mutex_lock(&lock);
		if ((call_tail + 1) % call_cap == call_head) {
			close(fd); /* lego-controld retries, or reports the host unreachable */
		} else {
			call_q[call_tail] = (struct call){.fd = fd, .comp = p->index};
			call_tail = (call_tail + 1) % call_cap;
			pthread_cond_signal(&call_cv);
		}
		pthread_mutex_unlock(&lock);
	}
}

static void write_status(void)
{
	char tmp[4096];
	int up = 0, vms = 0;
	FILE *f;

	if (!opt.status_file)
		return;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nr_comps; i++) {
		up += comps[i].c != NULL;
		vms += comps[i].nr_vms;
	}
	pthread_mutex_unlock(&lock);
	snprintf(tmp, sizeof(tmp), "%s.tmp", opt.status_file);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "components %d\nup %d\nregistrations %lu\nvms %d\ncalls %lu\n", nr_comps, up,
		(unsigned long)registrations, vms,
		(unsigned long)__atomic_load_n(&calls_served, __ATOMIC_RELAXED));
	if (fclose(f) == 0)
		rename(tmp, opt.status_file);
}

static void mute_listed(void)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nr_comps; i++)
		for (int k = 0; k < opt.nr_mute; k++)
			if (!strcmp(comps[i].name, opt.mute[k]) && !comps[i].muted) {
				comps[i].muted = true;
				log_info("%s: silent from now on (SIGUSR1)", comps[i].name);
			}
	pthread_mutex_unlock(&lock);
}

static void event_loop(void)
{
	struct epoll_event ev[256];
	uint8_t *buf = malloc(CP_HEARTBEAT_LEN + (size_t)CP_MAX_VMS * CP_VM_STATUS_LEN);
	int64_t next_status = 0;

	while (buf && !got_term) {
		int n = epoll_wait(ep, ev, 256, 10);
		int64_t now = mono_clock_ms();

		for (int i = 0; i < n; i++) {
			uint64_t d = ev[i].data.u64;

			if (d & EV_LISTEN) {
				accept_calls(&comps[d & 0xffffffffu]);
				continue;
			}
			pthread_mutex_lock(&lock);
			read_reply(&comps[d]);
			pthread_mutex_unlock(&lock);
		}
		pthread_mutex_lock(&lock);
		for (int i = 0; i < nr_comps; i++) {
			struct comp *m = &comps[i];

			if (!m->c)
				continue;
			if (m->awaiting && now - m->sent > m->timeout_ms)
				drop(m, "no heartbeat reply in time");
			else if (!m->awaiting && !m->muted && now >= m->next_hb)
				send_heartbeat(m, buf, now);
		}
		pthread_mutex_unlock(&lock);
		if (got_usr1) {
			got_usr1 = 0;
			mute_listed();
		}
		if (now >= next_status) {
			write_status();
			next_status = now + 500;
		}
	}
	free(buf);
}

/* ---- setup ---------------------------------------------------------------------------- */

static int setup_comp(struct comp *m, int kind, int index, int nth, char *err, size_t errlen)
{
	static const int net[] = {[CP_KIND_PMON] = 10, [CP_KIND_MMON] = 20, [CP_KIND_SMON] = 30};
	static const char letter[] = {
		[CP_KIND_PMON] = 'p', [CP_KIND_MMON] = 'm', [CP_KIND_SMON] = 's'};

	m->kind = kind;
	m->index = index;
	m->lfd = -1;
	m->backoff = BACKOFF_MIN;
	snprintf(m->name, sizeof(m->name), "%s-%c%04d", opt.prefix, letter[kind], nth);
	/* 127.NET.x.y, y in 1..250: every component has an address of its own, as on a real
	 * network (lego-controld limits connections per address). */
	snprintf(m->src, sizeof(m->src), "127.%d.%d.%d", net[kind] & 0xff, (nth / 250) & 0xff,
		 nth % 250 + 1);
	if (opt.list_names)
		return 0;
	m->pki = tls_pki_load(opt.pki_dir, tls_kind(kind), m->name, err, errlen);
	if (!m->pki)
		return -1;
	if (kind == CP_KIND_PMON) {
		char port[16];

		m->lfd = tcp_listen("127.0.0.1:0", port, sizeof(port), err, errlen);
		if (m->lfd < 0 || fcntl(m->lfd, F_SETFL, O_NONBLOCK))
			return -1;
		snprintf(m->addr, sizeof(m->addr), "127.0.0.1:%s", port);
	} else {
		/* Where it would serve its data protocol (nothing answers there). */
		snprintf(m->addr, sizeof(m->addr), "%s:%d", m->src,
			 kind == CP_KIND_MMON ? 7100 : 7200);
	}
	return 0;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static int parse_options(int argc, char **argv)
{
	static const struct option lo[] = {{"controld", 1, NULL, 'c'},
					   {"pki", 1, NULL, 'k'},
					   {"pmons", 1, NULL, 'P'},
					   {"mmons", 1, NULL, 'M'},
					   {"smons", 1, NULL, 'S'},
					   {"prefix", 1, NULL, 'x'},
					   {"cores", 1, NULL, 'C'},
					   {"pmon-mem", 1, NULL, 'p'},
					   {"mmon-mem", 1, NULL, 'm'},
					   {"smon-space", 1, NULL, 's'},
					   {"mute", 1, NULL, 'u'},
					   {"status-file", 1, NULL, 'f'},
					   {"connect-threads", 1, NULL, 'T'},
					   {"call-threads", 1, NULL, 'L'},
					   {"list-names", 0, NULL, 'l'},
					   {"verbose", 0, NULL, 'v'},
					   {"help", 0, NULL, 'h'},
					   {0}};
	int o, bad = 0;
	uint64_t v;

	opt.pki_dir = getenv("LEGO_PKI");
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'c':
			opt.controld = optarg;
			break;
		case 'k':
			opt.pki_dir = optarg;
			break;
		case 'x':
			opt.prefix = optarg;
			break;
		case 'f':
			opt.status_file = optarg;
			break;
		case 'l':
			opt.list_names = true;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'u':
			if (opt.nr_mute == 64)
				bad = 1;
			else
				opt.mute[opt.nr_mute++] = optarg;
			break;
		case 'P':
		case 'M':
		case 'S':
		case 'C':
		case 'T':
		case 'L':
			if (parse_uint(optarg, 0, 100000, &v)) {
				bad = 1;
				break;
			}
			if (o == 'P' || o == 'M' || o == 'S')
				opt.nr[o == 'P'	  ? CP_KIND_PMON
				       : o == 'M' ? CP_KIND_MMON
						  : CP_KIND_SMON] = (int)v;
			else if (o == 'C')
				opt.cores = (uint32_t)v;
			else if (o == 'T')
				opt.connect_threads = v < 1 || v > MAX_THREADS ? (bad = 1) : (int)v;
			else
				opt.call_threads = v < 1 || v > MAX_THREADS ? (bad = 1) : (int)v;
			break;
		case 'p':
		case 'm':
		case 's':
			if (parse_size(optarg, &v)) {
				bad = 1;
				break;
			}
			*(o == 'p'   ? &opt.pmon_mem
			  : o == 'm' ? &opt.mmon_mem
				     : &opt.smon_space) = v;
			break;
		default:
			bad = 1;
		}
	}
	if (opt.controld && !cluster_agent_addrs_ok(opt.controld))
		for (const char *p = opt.controld; p; opt.naddrs++) {
			const char *comma = strchr(p, ',');

			snprintf(opt.addrs[opt.naddrs], CP_ADDR_LEN + 1, "%.*s",
				 (int)(comma ? (size_t)(comma - p) : strlen(p)), p);
			p = comma ? comma + 1 : NULL;
		}
	else if (opt.controld)
		bad = 1;
	if (optind < argc || (!opt.list_names && (!opt.controld || !opt.pki_dir)) || bad ||
	    opt.nr[CP_KIND_PMON] > 9999 || opt.nr[CP_KIND_MMON] > 9999 ||
	    opt.nr[CP_KIND_SMON] > 9999 || strlen(opt.prefix) > CP_NAME_LEN - 6) {
		fprintf(stderr, "lego_clustersim: bad usage (--controld HOST:PORT[,...] and --pki "
				"are needed; at most 9999 of each kind)\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	char err[512];
	pthread_t t;
	int64_t t0;

	log_init("lego_clustersim");
	if (parse_options(argc, argv))
		return EX_USAGE;
	nr_comps = opt.nr[CP_KIND_PMON] + opt.nr[CP_KIND_MMON] + opt.nr[CP_KIND_SMON];
	comps = calloc((size_t)nr_comps + 1, sizeof(*comps));
	connect_q = calloc((size_t)nr_comps + 1, sizeof(*connect_q));
	call_q = calloc((size_t)call_cap, sizeof(*call_q));
	if (!comps || !connect_q || !call_q)
		return EX_OSERR;
	/* A listener and a connection per processor host, a connection per server, calls. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	t0 = mono_clock_ms();
	for (int kind = CP_KIND_PMON, i = 0; kind <= CP_KIND_SMON; kind++)
		for (int k = 0; k < opt.nr[kind]; k++, i++)
			if (setup_comp(&comps[i], kind, i, k + 1, err, sizeof(err))) {
				fprintf(stderr, "lego_clustersim: %s: %s\n", comps[i].name, err);
				return EX_CONFIG;
			} else if (opt.list_names) {
				printf("%s %s\n", kind_word(kind), comps[i].name);
			}
	if (opt.list_names)
		return 0;
	log_info("%d components set up (certificates loaded, listeners open) in %" PRId64 " ms",
		 nr_comps, mono_clock_ms() - t0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return EX_OSERR;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nr_comps; i++) {
		if (comps[i].lfd >= 0)
			epoll_ctl(ep, EPOLL_CTL_ADD, comps[i].lfd,
				  &(struct epoll_event){.events = EPOLLIN,
							.data.u64 = EV_LISTEN | (uint64_t)i});
		queue_connect(&comps[i]);
	}
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < opt.connect_threads; i++)
		if (pthread_create(&t, NULL, connect_thread, NULL))
			return EX_OSERR;
	for (int i = 0; i < opt.call_threads; i++)
		if (pthread_create(&t, NULL, call_thread, NULL))
			return EX_OSERR;
	event_loop();
	log_info("stopping: %lu registrations, %lu calls served", (unsigned long)registrations,
		 (unsigned long)calls_served);
	write_status();
	return 0;
}
