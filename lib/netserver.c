/* netserver.c: accept thread, connection caps and a thread per admitted connection. */
#include "netserver.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/tcp.h"

#define MAX_LISTENERS  4
#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000
#define PEER_MAX       64

struct slot {
	bool used, pending, evicted;
	int fd;
	int64_t since;
	char peer[PEER_MAX]; /* what per-peer caps count: an address, or "uid N" */
};

struct listener {
	int fd, tag;
	const struct tls_pki *pki;
};

struct netserver {
	struct netserver_config cfg;
	pthread_mutex_t lock;
	struct slot *slots; /* cfg.max_conns of them */
	int nconns, npending;
	struct listener ls[MAX_LISTENERS];
	int nls;
	int wake_fd;
	bool closing;
	/* Refusals by kind, each sampled on its own (a flood of one kind must not silence the
	 * others' lines). */
	uint64_t over_cap, failed_handshakes, dropped, accept_failed;
	struct mem_budget budget;
};

struct conn_start {
	struct netserver *s;
	int slot, fd;
	const struct listener *l;
	char addr[TLS_CONN_ADDR_MAX];
};

struct netserver *netserver_new(const struct netserver_config *cfg)
{
	struct netserver *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->slots = calloc((size_t)cfg->max_conns, sizeof(*s->slots));
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!s->slots || s->wake_fd < 0) {
		if (s->wake_fd >= 0)
			close(s->wake_fd);
		free(s->slots);
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	mem_budget_init(&s->budget, cfg->budget);
	return s;
}

int netserver_listen(struct netserver *s, int lfd, const struct tls_pki *pki, int tag)
{
	if (s->nls >= MAX_LISTENERS)
		return -1;
	s->ls[s->nls++] = (struct listener){.fd = lfd, .tag = tag, .pki = pki};
	return 0;
}

/* A refusal worth a line now and then: a flood of one kind (counted in *count) is sampled. */
__attribute__((format(printf, 3, 4))) static void refused(struct netserver *s, uint64_t *count,
							  const char *fmt, ...)
{
	char text[512];
	va_list ap;
	uint64_t n = __atomic_add_fetch(count, 1, __ATOMIC_RELAXED);

	if (!log_sampled(n))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_warn("%s: %s%s", s->cfg.what, text,
		 n > 20 ? " (refusals are sampled: one line in 1000)" : "");
}

static void slot_free(struct netserver *s, int i)
{
	pthread_mutex_lock(&s->lock);
	if (s->slots[i].pending && !s->slots[i].evicted)
		s->npending--;
	s->slots[i].used = false;
	s->nconns--;
	pthread_mutex_unlock(&s->lock);
}

static void *conn_main(void *arg)
{
	struct conn_start *cs = arg;
	struct netserver *s = cs->s;
	struct netserver_client cl = {.tag = cs->l->tag, .cfg = &s->cfg};
	char err[256], who[160];

	cl.conn = tls_conn_plain(cs->fd, cs->addr);
	if (cl.conn && cs->l->pki &&
	    tls_conn_upgrade(cl.conn, cs->l->pki, s->cfg.handshake_ms, err, sizeof(err))) {
		refused(s, &s->failed_handshakes, "refused %s: %s", cs->addr, err);
		goto out;
	}
	if (!cl.conn)
		goto out;
	pthread_mutex_lock(&s->lock);
	if (!s->slots[cs->slot].evicted)
		s->npending--;
	s->slots[cs->slot].pending = false;
	pthread_mutex_unlock(&s->lock);
	log_debug("%s: %s connected", s->cfg.what, tls_conn_who(cl.conn, who, sizeof(who)));
	if (s->cfg.budget)
		cl.conn->budget = &s->budget;
	s->cfg.serve(&cl);
out:
	/* The slot goes first: whoever reuses the fd's number cannot be shut down as ours. */
	slot_free(s, cs->slot);
	tls_conn_close(cl.conn);
	free(cs);
	return NULL;
}

/* Room for a connection from peer: its slot, or -1 after saying why it was refused. */
static int admit(struct netserver *s, int fd, const char *peer, const char *addr)
{
	int free_slot = -1, same = 0, oldest = -1;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->cfg.max_conns; i++) {
		struct slot *e = &s->slots[i];

		if (!e->used) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		same += !strcmp(e->peer, peer);
		if (e->pending && !e->evicted && (oldest < 0 || e->since < s->slots[oldest].since))
			oldest = i;
	}
	if (free_slot < 0 || same >= s->cfg.max_per_peer) {
		int n = s->nconns;

		pthread_mutex_unlock(&s->lock);
		if (free_slot < 0)
			refused(s, &s->over_cap, "refused %s: already %d connections (at most %d)",
				addr, n, s->cfg.max_conns);
		else
			refused(s, &s->over_cap,
				"refused %s: already %d connections from %s (at most %d)", addr,
				same, peer, s->cfg.max_per_peer);
		return -1;
	}
	/* The handshakes are full: the oldest gives way (its thread sees its socket shut and
	 * frees the slot), so that strangers who never finish one hold at most max_pending of
	 * the slots, never all of them. */
	if (s->npending >= s->cfg.max_pending && oldest >= 0) {
		shutdown(s->slots[oldest].fd, SHUT_RDWR);
		s->slots[oldest].evicted = true;
		s->npending--;
		refused(s, &s->dropped,
			"dropped %s, still in its TLS handshake, for a new connection",
			s->slots[oldest].peer);
	}
	s->slots[free_slot] =
		(struct slot){.used = true, .pending = true, .fd = fd, .since = mono_clock_ms()};
	snprintf(s->slots[free_slot].peer, PEER_MAX, "%s", peer);
	s->nconns++;
	s->npending++;
	pthread_mutex_unlock(&s->lock);
	return free_slot;
}

/* Who is at the other end of fd: its address (and host, for the caps). */
static void identify(int fd, const struct sockaddr_storage *ss, char *addr, size_t alen, char *peer,
		     size_t plen)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	if (ss->ss_family == AF_UNIX) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
			snprintf(peer, plen, "uid %u", (unsigned)cred.uid);
			snprintf(addr, alen, "uid %u pid %d", (unsigned)cred.uid, (int)cred.pid);
		} else {
			snprintf(peer, plen, "uid ?");
			snprintf(addr, alen, "a local client");
		}
		return;
	}
	tcp_peer_name(ss, addr, alen, peer, plen);
}

static void accept_one(struct netserver *s, const struct listener *l, int *backoff)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl = sizeof(ss);
	char addr[TLS_CONN_ADDR_MAX], peer[PEER_MAX];
	struct conn_start *cs;
	pthread_t t;
	int one = 1, fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			uint64_t n = ++s->accept_failed;

			if (log_sampled(n))
				log_warn("%s: cannot accept a connection: %s (%llu times; waiting "
					 "%d ms before trying again)",
					 s->cfg.what, strerror(errno), (unsigned long long)n,
					 *backoff);
			poll(&(struct pollfd){.fd = s->wake_fd, .events = POLLIN}, 1, *backoff);
			*backoff = *backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff * 2;
		}
		return;
	}
	*backoff = BACKOFF_MIN_MS;
	if (ss.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	identify(fd, &ss, addr, sizeof(addr), peer, sizeof(peer));
	cs = calloc(1, sizeof(*cs));
	if (!cs) {
		close(fd);
		return;
	}
	*cs = (struct conn_start){.s = s, .fd = fd, .l = l};
	snprintf(cs->addr, sizeof(cs->addr), "%s", addr);
	cs->slot = admit(s, fd, peer, addr);
	if (cs->slot < 0) {
		close(fd);
		free(cs);
		return;
	}
	if (pthread_create(&t, NULL, conn_main, cs)) {
		refused(s, &s->over_cap, "refused %s: out of threads", addr);
		slot_free(s, cs->slot);
		close(fd);
		free(cs);
		return;
	}
	pthread_detach(t);
}

static void *accept_main(void *arg)
{
	struct netserver *s = arg;
	int backoff = BACKOFF_MIN_MS;

	for (;;) {
		struct pollfd p[MAX_LISTENERS + 1];
		int n;

		pthread_mutex_lock(&s->lock);
		n = s->closing ? 0 : s->nls;
		pthread_mutex_unlock(&s->lock);
		if (!n)
			return NULL;
		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){.fd = s->ls[i].fd, .events = POLLIN};
		p[n] = (struct pollfd){.fd = s->wake_fd, .events = POLLIN};
		if (poll(p, (nfds_t)n + 1, -1) < 0)
			continue;
		if (p[n].revents)
			continue; /* closing: seen at the top */
		for (int i = 0; i < n; i++)
			if (p[i].revents & POLLIN)
				accept_one(s, &s->ls[i], &backoff);
	}
}

int netserver_start(struct netserver *s)
{
	pthread_t t;

	if (pthread_create(&t, NULL, accept_main, s))
		return -1;
	pthread_detach(t);
	return 0;
}

void netserver_close_listeners(struct netserver *s)
{
	uint64_t one = 1;

	pthread_mutex_lock(&s->lock);
	s->closing = true;
	pthread_mutex_unlock(&s->lock);
	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		(void)0; /* a wake-up is pending anyway */
	/* The accept thread may still poll them: shut, not closed, until the process ends. */
	for (int i = 0; i < s->nls; i++)
		shutdown(s->ls[i].fd, SHUT_RDWR);
}

void netserver_count(struct netserver *s, int *conns, int *pending)
{
	pthread_mutex_lock(&s->lock);
	*conns = s->nconns;
	*pending = s->npending;
	pthread_mutex_unlock(&s->lock);
}
