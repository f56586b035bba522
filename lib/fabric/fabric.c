/* fabric.c: connected libfabric endpoints, message calls with deadlines, RMA reads. */
#include "fabric.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "fabric_dl.h"
#include "lib/log.h"
#include "lib/mono_clock.h"

#define FAB_API		FI_VERSION(1, 9)
#define FAB_SLICE_MS	50 /* how often a wait also looks for a shutdown event */
#define FAB_QUEUE_DEPTH 16 /* send and receive queue entries per endpoint */

static int64_t fab_spin_ns = -1; /* how long a wait polls before sleeping */

struct fab_domain {
	struct fi_info *info;
	struct fid_fabric *fabric;
	bool borrowed_fabric; /* a connection's private domain: the listener's fabric */
	struct fid_domain *domain;
	uint64_t mr_mode;
	size_t key_size;
};

struct fab_listener {
	struct fab_domain d;
	struct fid_eq *eq;
	struct fid_pep *pep;
	bool private_domains;
	char port[16];
};

struct fab_mr {
	struct fid_mr *mr;
};

struct fab_conn {
	struct fab_domain *d;
	bool own_domain;
	struct fid_ep *ep;
	struct fid_eq *eq;
	struct fid_cq *cq;
	struct fid_mr *mr;
	void *desc;
	uint8_t *buf; /* 2 * bufsize: send half, then receive half */
	size_t bufsize;
	bool broken, recv_posted, recv_done, send_done, read_done;
	int recv_err;
	size_t recv_len;
	int64_t spin_ns; /* -1: the process default (fab_spin_ns) */
	char peer[64];
};

/* Poll up to 30 us (LEGO_FABRIC_SPIN_US) for a completion before sleeping, except on a
 * single CPU, where the peer or progress thread needs the CPU the poller would burn. On an
 * otherwise idle 2-CPU machine a 4 KiB request/reply to lego-smon took 12 us with polling
 * and 100 us without (a sleeping CPU wakes slowly); under load from other processes polling
 * costs more than it saves (79 us against 16 us), so LEGO_FABRIC_SPIN_US=0 suits there. */
static void spin_init(void)
{
	const char *e = getenv("LEGO_FABRIC_SPIN_US");

	if (fab_spin_ns >= 0)
		return;
	if (e)
		fab_spin_ns = atoll(e) * 1000;
	else
		fab_spin_ns = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 30000 : 0;
}

const char *fabric_default_provider(void)
{
	const char *p = getenv("LEGO_FABRIC_PROVIDER");

	return p && *p ? p : "tcp";
}

static int fi_to_errno(ssize_t rc)
{
	int e = (int)(rc < 0 ? -rc : rc);

	return e ? -e : -EIO;
}

static const char *fab_strerror(int err)
{
	return fabric_dl()->strerror(err);
}

/* Why a provider offers nothing for an address, in words an operator can act on: the
 * verbs provider needs the address of an RDMA device's netdev, so name the devices. */
static void no_endpoint_hint(const char *provider, char *out, size_t len)
{
	char devs[128] = "";
	size_t n = 0;
	DIR *d;

	*out = 0;
	if (strcmp(provider, "verbs") && strncmp(provider, "verbs;", 6)) {
		if (strcmp(provider, "tcp"))
			snprintf(out, len, " (lego runs on the providers tcp and verbs)");
		return;
	}
	d = opendir("/sys/class/infiniband");
	for (struct dirent *e; d && (e = readdir(d));)
		if (e->d_name[0] != '.' && n < sizeof(devs))
			n += (size_t)snprintf(devs + n, sizeof(devs) - n, "%s%s", n ? ", " : "",
					      e->d_name);
	if (d)
		closedir(d);
	snprintf(out, len,
		 " (RDMA devices here: %s; the address must be on an RDMA device's netdev, e.g. "
		 "Soft-RoCE: rdma link add rxe0 type rxe netdev NETDEV)",
		 n ? devs : "none");
}

static struct fi_info *make_hints(const char *provider)
{
	struct fi_info *h = fabric_dl()->dupinfo(NULL);

	if (!h)
		return NULL;
	h->ep_attr->type = FI_EP_MSG;
	h->caps = FI_MSG | FI_RMA;
	/* What verbs needs; providers that need less clear the bits in the answer. */
	h->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
	h->domain_attr->threading = FI_THREAD_SAFE;
	/* One request and its reply in flight per connection (and an RMA read): small queues
	 * keep an idle connection cheap (on tcp, the default 256 entries cost 450 KiB). */
	h->tx_attr->size = FAB_QUEUE_DEPTH;
	h->rx_attr->size = FAB_QUEUE_DEPTH;
	h->fabric_attr->prov_name = strdup(provider);
	return h;
}

static int domain_open(struct fab_domain *d, const char *provider, const char *host,
		       const char *port, bool source)
{
	struct fi_info *hints;
	int rc;

	if (!fabric_dl())
		return -ENOSYS;
	hints = make_hints(provider);
	spin_init();
	if (!hints)
		return -ENOMEM;
	rc = fabric_dl()->getinfo(FAB_API, host, port, source ? FI_SOURCE : 0, hints, &d->info);
	fabric_dl()->freeinfo(hints);
	if (rc) {
		char hint[400];

		d->info = NULL;
		no_endpoint_hint(provider, hint, sizeof(hint));
		log_error("fabric: provider '%s' offers no connected endpoint for %s:%s: %s%s",
			  provider, host, port, fab_strerror(-rc), hint);
		return fi_to_errno(rc);
	}
	d->mr_mode = d->info->domain_attr->mr_mode;
	d->key_size = d->info->domain_attr->mr_key_size;
	log_debug("fabric: provider %s, data progress %s", d->info->fabric_attr->prov_name,
		  d->info->domain_attr->data_progress == FI_PROGRESS_MANUAL ? "manual" : "auto");
	rc = fabric_dl()->fabric(d->info->fabric_attr, &d->fabric, NULL);
	if (!rc)
		rc = fi_domain(d->fabric, d->info, &d->domain, NULL);
	if (rc) {
		log_error("fabric: cannot open provider '%s' on device %s: %s", provider,
			  d->info->domain_attr->name ? d->info->domain_attr->name : "?",
			  fab_strerror(-rc));
		return fi_to_errno(rc);
	}
	return 0;
}

static void domain_close(struct fab_domain *d)
{
	if (d->domain)
		fi_close(&d->domain->fid);
	if (d->fabric && !d->borrowed_fabric)
		fi_close(&d->fabric->fid);
	if (d->info)
		fabric_dl()->freeinfo(d->info);
	memset(d, 0, sizeof(*d));
}

static int eq_open(struct fab_domain *d, struct fid_eq **eq)
{
	struct fi_eq_attr attr = {.size = 16, .wait_obj = FI_WAIT_UNSPEC};
	int rc = fi_eq_open(d->fabric, &attr, eq, NULL);

	if (rc) {
		*eq = NULL;
		return fi_to_errno(rc);
	}
	return 0;
}

static void sockaddr_text(const void *sa, char *out, size_t len)
{
	const struct sockaddr *s = sa;
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (s && s->sa_family == AF_INET) {
		const struct sockaddr_in *in = sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
	} else if (s && s->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, len, "%s:%u", ip, port);
}

/* A CM event on eq, waiting up to timeout_ms; returns the event or -errno. */
static int eq_wait(struct fid_eq *eq, int timeout_ms, struct fi_eq_cm_entry *entry)
{
	uint32_t event;
	ssize_t n = fi_eq_sread(eq, &event, entry, sizeof(*entry), timeout_ms, 0);

	if (n == -FI_EAVAIL) {
		struct fi_eq_err_entry err = {0};

		fi_eq_readerr(eq, &err, 0);
		return err.err ? -err.err : -EIO;
	}
	if (n == -FI_EAGAIN || n == -FI_ETIMEDOUT)
		return -ETIMEDOUT;
	if (n < 0)
		return fi_to_errno(n);
	return (int)event;
}

static void conn_free(struct fab_conn *c)
{
	if (!c)
		return;
	if (c->ep) {
		if (!c->broken)
			fi_shutdown(c->ep, 0);
		fi_close(&c->ep->fid);
	}
	if (c->mr)
		fi_close(&c->mr->fid);
	if (c->cq)
		fi_close(&c->cq->fid);
	if (c->eq)
		fi_close(&c->eq->fid);
	if (c->own_domain) {
		domain_close(c->d);
		free(c->d);
	}
	if (c->buf)
		munmap(c->buf, 2 * c->bufsize);
	free(c);
}

/* A key for a registration in d: the provider's own, or random bits as wide as it takes
 * (never the small sequential integers a guess would find). */
static uint64_t mr_key(const struct fab_domain *d)
{
	uint64_t k = 0;

	if (d->mr_mode & FI_MR_PROV_KEY)
		return 0;
	while (!k) {
		if (getrandom(&k, sizeof(k), 0) != sizeof(k))
			k = (uint64_t)mono_clock_ns() * 0x9e3779b97f4a7c15ULL;
		if (d->key_size && d->key_size < 8)
			k &= (1ULL << (8 * d->key_size)) - 1;
	}
	return k;
}

/* Endpoint, queues and the registered buffer for a connection using info. */
static int conn_setup(struct fab_conn *c, struct fi_info *info, size_t bufsize)
{
	struct fi_cq_attr cq_attr = {
		.size = 64, .format = FI_CQ_FORMAT_MSG, .wait_obj = FI_WAIT_UNSPEC};
	uint64_t key = mr_key(c->d);
	int rc;

	c->bufsize = bufsize;
	/* Mapped, not allocated: a closed connection's buffers go back to the system at once
	 * (a server holds a pair per connection, most never touched). */
	c->buf =
		mmap(NULL, 2 * bufsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->buf == MAP_FAILED) {
		c->buf = NULL;
		return -ENOMEM;
	}
	/* Not cleared: every byte sent is written first, and untouched pages cost no memory
	 * (a VMM holds several megabyte-sized buffers per storage-server disk). */
	rc = eq_open(c->d, &c->eq);
	if (rc)
		return rc;
	rc = fi_cq_open(c->d->domain, &cq_attr, &c->cq, NULL);
	if (!rc)
		rc = fi_endpoint(c->d->domain, info, &c->ep, NULL);
	if (!rc)
		rc = fi_ep_bind(c->ep, &c->eq->fid, 0);
	if (!rc)
		rc = fi_ep_bind(c->ep, &c->cq->fid, FI_TRANSMIT | FI_RECV);
	if (!rc)
		rc = fi_enable(c->ep);
	if (!rc)
		rc = fi_mr_reg(c->d->domain, c->buf, 2 * bufsize,
			       FI_SEND | FI_RECV | FI_READ | FI_WRITE, 0, key, 0, &c->mr, NULL);
	if (rc)
		return fi_to_errno(rc);
	c->desc = fi_mr_desc(c->mr);
	return 0;
}

int fabric_listen(const char *provider, const char *host, const char *port,
		  struct fab_listener **out)
{
	struct fab_listener *l = calloc(1, sizeof(*l));
	char addr[128];
	size_t alen = sizeof(addr);
	int rc;

	if (!l)
		return -ENOMEM;
	rc = domain_open(&l->d, provider, host, port, true);
	if (!rc)
		rc = eq_open(&l->d, &l->eq);
	if (!rc)
		rc = fi_passive_ep(l->d.fabric, l->d.info, &l->pep, NULL);
	if (!rc)
		rc = fi_pep_bind(l->pep, &l->eq->fid, 0);
	if (!rc)
		rc = fi_listen(l->pep);
	if (!rc)
		rc = fi_getname(&l->pep->fid, addr, &alen);
	if (rc)
		rc = fi_to_errno(rc);
	if (rc) {
		log_error("fabric: cannot listen on %s:%s: %s", host, port, fab_strerror(-rc));
		fabric_listener_close(l);
		return rc;
	}
	sockaddr_text(addr, addr + 64, 64);
	snprintf(l->port, sizeof(l->port), "%s", strrchr(addr + 64, ':') + 1);
	*out = l;
	return 0;
}

const char *fabric_listener_port(const struct fab_listener *l)
{
	return l->port;
}

/* Byte-stream providers emulate RMA through the target's progress thread: measured on tcp,
 * a one-page read took twice as long as a request/reply message. LEGO_FABRIC_RMA=emulated
 * uses it there anyway (with a domain per connection its keys are bound to the connection
 * as on verbs): the one-sided path then runs in tests without an RDMA device. */
static bool domain_has_rma(const struct fab_domain *d)
{
	const char *prov = d->info->fabric_attr->prov_name;
	const char *e = getenv("LEGO_FABRIC_RMA");

	if (!(d->info->caps & FI_RMA))
		return false;
	if (e && !strcmp(e, "emulated"))
		return true;
	return !(prov && (strstr(prov, "tcp") || strstr(prov, "sockets") || strstr(prov, "udp")));
}

bool fabric_listener_has_rma(const struct fab_listener *l)
{
	return domain_has_rma(&l->d);
}

void fabric_listener_private_domains(struct fab_listener *l)
{
	l->private_domains = true;
}

/* A private domain for a connection requested with info (the listener's fabric). */
static int private_domain(struct fab_listener *l, struct fab_conn *c, const struct fi_info *info)
{
	struct fab_domain *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	c->d = d;
	c->own_domain = true;
	d->info = fabric_dl()->dupinfo(info);
	d->fabric = l->d.fabric;
	d->borrowed_fabric = true;
	if (!d->info)
		return -ENOMEM;
	d->mr_mode = d->info->domain_attr->mr_mode;
	d->key_size = d->info->domain_attr->mr_key_size;
	rc = fi_domain(d->fabric, d->info, &d->domain, NULL);
	return rc ? fi_to_errno(rc) : 0;
}

void fabric_listener_close(struct fab_listener *l)
{
	if (!l)
		return;
	if (l->pep)
		fi_close(&l->pep->fid);
	if (l->eq)
		fi_close(&l->eq->fid);
	domain_close(&l->d);
	free(l);
}

int fabric_accept(struct fab_listener *l, size_t bufsize, int timeout_ms,
		  bool (*admit)(void *arg, const char *peer), void *arg, struct fab_conn **out)
{
	struct fi_eq_cm_entry entry;
	struct fab_conn *c;
	int ev, rc;

	ev = eq_wait(l->eq, timeout_ms, &entry);
	if (ev == -ETIMEDOUT)
		return -EAGAIN;
	if (ev < 0)
		return ev;
	if (ev != FI_CONNREQ) {
		log_debug("fabric: listener ignores event %d", ev);
		return -EAGAIN;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		fi_reject(l->pep, entry.info->handle, NULL, 0);
		fabric_dl()->freeinfo(entry.info);
		return -ENOMEM;
	}
	c->spin_ns = -1;
	c->d = &l->d;
	sockaddr_text(entry.info->dest_addr, c->peer, sizeof(c->peer));
	if (admit && !admit(arg, c->peer)) {
		fi_reject(l->pep, entry.info->handle, NULL, 0);
		fabric_dl()->freeinfo(entry.info);
		free(c);
		return -ECONNREFUSED;
	}
	rc = l->private_domains ? private_domain(l, c, entry.info) : 0;
	if (!rc)
		rc = conn_setup(c, entry.info, bufsize);
	if (!rc)
		rc = fabric_post_recv(c);
	if (!rc) {
		rc = fi_accept(c->ep, NULL, 0);
		rc = rc ? fi_to_errno(rc) : 0;
	}
	if (rc) {
		fi_reject(l->pep, entry.info->handle, NULL, 0);
		fabric_dl()->freeinfo(entry.info);
		c->broken = true;
		conn_free(c);
		return rc;
	}
	fabric_dl()->freeinfo(entry.info);
	ev = eq_wait(c->eq, timeout_ms > 0 ? timeout_ms : 5000, &entry);
	if (ev != FI_CONNECTED) {
		log_warn("fabric: connection from %s did not complete: %s", c->peer,
			 ev < 0 ? strerror(-ev) : "unexpected event");
		c->broken = true;
		conn_free(c);
		return -EAGAIN;
	}
	*out = c;
	return 0;
}

int fabric_connect(const char *provider, const char *host, const char *port, size_t bufsize,
		   int timeout_ms, struct fab_conn **out)
{
	struct fi_eq_cm_entry entry;
	struct fab_conn *c = calloc(1, sizeof(*c));
	int rc, ev;

	if (!c)
		return -ENOMEM;
	c->spin_ns = -1;
	c->own_domain = true;
	snprintf(c->peer, sizeof(c->peer), "%s:%s", host, port);
	c->d = calloc(1, sizeof(*c->d));
	if (!c->d) {
		free(c);
		return -ENOMEM;
	}
	rc = domain_open(c->d, provider, host, port, false);
	if (!rc)
		rc = conn_setup(c, c->d->info, bufsize);
	if (!rc) {
		rc = fi_connect(c->ep, c->d->info->dest_addr, NULL, 0);
		rc = rc ? fi_to_errno(rc) : 0;
	}
	if (!rc) {
		ev = eq_wait(c->eq, timeout_ms, &entry);
		if (ev != FI_CONNECTED)
			rc = ev < 0 ? ev : -ECONNREFUSED;
	}
	if (rc) {
		c->broken = true;
		conn_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void fabric_close(struct fab_conn *c)
{
	conn_free(c);
}

void *fabric_sbuf(struct fab_conn *c)
{
	return c->buf;
}

void *fabric_rbuf(struct fab_conn *c)
{
	return c->buf + c->bufsize;
}

size_t fabric_bufsize(const struct fab_conn *c)
{
	return c->bufsize;
}

const char *fabric_peer(const struct fab_conn *c)
{
	return c->peer;
}

void fabric_set_spin_us(struct fab_conn *c, int us)
{
	spin_init();
	c->spin_ns = us < 0 ? -1 : sysconf(_SC_NPROCESSORS_ONLN) > 1 ? (int64_t)us * 1000 : 0;
}

bool fabric_broken(const struct fab_conn *c)
{
	return c->broken;
}

bool fabric_has_rma(const struct fab_conn *c)
{
	return domain_has_rma(c->d);
}

struct fab_domain *fabric_conn_domain(struct fab_conn *c)
{
	return c->own_domain && c->d->borrowed_fabric ? c->d : NULL;
}

/* Drain completions into the connection's flags; returns -errno if it broke. */
static int cq_poll(struct fab_conn *c, int wait_ms)
{
	struct fi_cq_msg_entry e[8];
	ssize_t n = wait_ms > 0 ? fi_cq_sread(c->cq, e, 8, NULL, wait_ms) : fi_cq_read(c->cq, e, 8);

	if (n == -FI_EAVAIL) {
		struct fi_cq_err_entry err = {0};

		fi_cq_readerr(c->cq, &err, 0);
		if ((err.flags & FI_RECV) && err.err == FI_ETRUNC) {
			c->recv_done = true;
			c->recv_posted = false;
			c->recv_err = -EMSGSIZE;
			c->recv_len = err.len;
			return 0;
		}
		log_debug("fabric: %s: completion error: %s", c->peer, fab_strerror(err.err));
		c->broken = true;
		return -ENOTCONN;
	}
	if (n == -FI_EAGAIN || n == -FI_ETIMEDOUT)
		return 0;
	if (n < 0) {
		c->broken = true;
		return fi_to_errno(n);
	}
	for (ssize_t i = 0; i < n; i++) {
		if (e[i].flags & FI_RECV) {
			c->recv_done = true;
			c->recv_posted = false;
			c->recv_err = 0;
			c->recv_len = e[i].len;
		} else if (e[i].flags & FI_SEND) {
			c->send_done = true;
		} else if (e[i].flags & (FI_READ | FI_RMA)) {
			c->read_done = true;
		}
	}
	return 0;
}

/* Wait until *flag is set, the deadline passes (-ETIMEDOUT) or the peer goes away. */
static int wait_for(struct fab_conn *c, bool *flag, int timeout_ms, bool fatal_timeout)
{
	int64_t deadline = mono_clock_ms() + timeout_ms;
	int64_t spin_ns = c->spin_ns >= 0 ? c->spin_ns : fab_spin_ns;

	/* A reply on a fast fabric comes back within microseconds: poll briefly before
	 * sleeping, since a sleep and wake-up cost more than the round trip itself. */
	if (spin_ns > 0) {
		int64_t t0 = mono_clock_ns();

		while (!*flag && !c->broken) {
			int rc = cq_poll(c, 0);

			if (rc)
				return rc;
			if (mono_clock_ns() - t0 > spin_ns)
				break;
		}
	}
	while (!*flag) {
		struct fi_eq_cm_entry entry;
		int64_t left = deadline - mono_clock_ms();
		int rc;

		if (c->broken)
			return -ENOTCONN;
		if (left <= 0) {
			/* A late completion would land in a reused buffer. */
			if (fatal_timeout)
				c->broken = true;
			return -ETIMEDOUT;
		}
		rc = cq_poll(c, (int)(left < FAB_SLICE_MS ? left : FAB_SLICE_MS));
		if (rc)
			return rc;
		if (*flag)
			break;
		rc = eq_wait(c->eq, 0, &entry);
		if (rc == FI_SHUTDOWN || (rc < 0 && rc != -ETIMEDOUT)) {
			c->broken = true;
			return -ENOTCONN;
		}
	}
	return 0;
}

int fabric_post_recv(struct fab_conn *c)
{
	ssize_t rc;

	if (c->broken)
		return -ENOTCONN;
	c->recv_done = false;
	do
		rc = fi_recv(c->ep, fabric_rbuf(c), c->bufsize, c->desc, 0, NULL);
	while (rc == -FI_EAGAIN && cq_poll(c, 0) == 0);
	if (rc)
		return fi_to_errno(rc);
	c->recv_posted = true;
	return 0;
}

int fabric_post_recv_split(struct fab_conn *c, size_t hdr_len, void *dst, size_t dst_len)
{
	struct iovec iov[2] = {{.iov_base = fabric_rbuf(c), .iov_len = hdr_len},
			       {.iov_base = dst, .iov_len = dst_len}};
	void *desc[2] = {c->desc, NULL};
	ssize_t rc;

	if (c->broken)
		return -ENOTCONN;
	/* dst is not registered: only where the provider needs no local registration. */
	if ((c->d->mr_mode & FI_MR_LOCAL) || c->recv_posted || hdr_len > c->bufsize)
		return -EOPNOTSUPP;
	c->recv_done = false;
	do
		rc = fi_recvv(c->ep, iov, desc, 2, 0, NULL);
	while (rc == -FI_EAGAIN && cq_poll(c, 0) == 0);
	if (rc)
		return fi_to_errno(rc);
	c->recv_posted = true;
	return 0;
}

static int recv_wait(struct fab_conn *c, int timeout_ms, size_t *len, bool fatal_timeout)
{
	int rc = wait_for(c, &c->recv_done, timeout_ms, fatal_timeout);

	if (rc)
		return rc;
	*len = c->recv_len;
	return c->recv_err;
}

int fabric_recv_wait(struct fab_conn *c, int timeout_ms, size_t *len)
{
	return recv_wait(c, timeout_ms, len, false);
}

int fabric_send(struct fab_conn *c, size_t len, int timeout_ms)
{
	ssize_t rc;

	if (c->broken)
		return -ENOTCONN;
	if (len > c->bufsize)
		return -EMSGSIZE;
	c->send_done = false;
	do
		rc = fi_send(c->ep, fabric_sbuf(c), len, c->desc, 0, NULL);
	while (rc == -FI_EAGAIN && cq_poll(c, 0) == 0);
	if (rc)
		return fi_to_errno(rc);
	return wait_for(c, &c->send_done, timeout_ms, true);
}

int fabric_call_send(struct fab_conn *c, size_t req_len, int timeout_ms)
{
	int rc = c->recv_posted ? 0 : fabric_post_recv(c);

	return rc ? rc : fabric_send(c, req_len, timeout_ms);
}

int fabric_call_wait(struct fab_conn *c, size_t *reply_len, int timeout_ms)
{
	return recv_wait(c, timeout_ms, reply_len, true);
}

int fabric_call(struct fab_conn *c, size_t req_len, size_t *reply_len, int timeout_ms)
{
	int rc = fabric_call_send(c, req_len, timeout_ms);

	return rc ? rc : fabric_call_wait(c, reply_len, timeout_ms);
}

int fabric_rma_read(struct fab_conn *c, size_t len, uint64_t raddr, uint64_t key, int timeout_ms)
{
	ssize_t rc;

	if (c->broken)
		return -ENOTCONN;
	if (len > c->bufsize)
		return -EMSGSIZE;
	c->read_done = false;
	do
		rc = fi_read(c->ep, fabric_rbuf(c), len, c->desc, 0, raddr, key, NULL);
	while (rc == -FI_EAGAIN && cq_poll(c, 0) == 0);
	if (rc)
		return fi_to_errno(rc);
	return wait_for(c, &c->read_done, timeout_ms, true);
}

int fabric_mr_reg(struct fab_domain *d, void *addr, size_t len, struct fab_mr **out,
		  uint64_t *raddr, uint64_t *key)
{
	struct fab_mr *m = calloc(1, sizeof(*m));
	uint64_t req = mr_key(d);
	int rc;

	if (!m)
		return -ENOMEM;
	rc = fi_mr_reg(d->domain, addr, len, FI_REMOTE_READ | FI_REMOTE_WRITE, 0, req, 0, &m->mr,
		       NULL);
	if (rc) {
		free(m);
		return fi_to_errno(rc);
	}
	*key = fi_mr_key(m->mr);
	*raddr = d->mr_mode & FI_MR_VIRT_ADDR ? (uint64_t)(uintptr_t)addr : 0;
	*out = m;
	return 0;
}

void fabric_mr_close(struct fab_mr *mr)
{
	if (!mr)
		return;
	fi_close(&mr->mr->fid);
	free(mr);
}
