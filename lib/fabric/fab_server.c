/* fab_server.c: signal thread, accept loop with admission and deadlines, and per-connection
 * request/reply threads. */
#include "fab_server.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/svc_notify.h"

#define POLL_MS	       200
#define THREAD_STACK   (512 * 1024) /* a connection's thread: requests need little */
#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000

struct conn_thread {
	pthread_t thread;
	struct fab_conn *conn;
	const struct fab_server_ops *ops;
	void *ctx;
	char host[64]; /* the peer's address without its port */
	int64_t accepted_ms;
	atomic_int_fast64_t last_ms; /* its last request */
	atomic_bool spoke;	     /* sent a request */
	atomic_bool established, kick, done;
	struct conn_thread *next;
};

/* The accept loop's view of its connections. */
struct server {
	struct conn_thread *threads;
	struct fab_server_limits lim;
	uint64_t refused, evicted, expired;
};

static atomic_bool stopping;
static sigset_t stop_signals;
static void (*on_reload)(void);

bool fab_server_stopping(void)
{
	return atomic_load(&stopping);
}

void fab_server_stop(void)
{
	atomic_store(&stopping, true);
}

static void *signal_thread(void *arg)
{
	int sig;

	(void)arg;
	while (sigwait(&stop_signals, &sig) == 0) {
		if (sig == SIGHUP) {
			log_info("received SIGHUP: reloading");
			svc_notify_reloading();
			if (on_reload)
				on_reload();
			svc_notify_ready(NULL);
			continue;
		}
		log_info("received signal %d: shutting down", sig);
		svc_notify_stopping();
		break;
	}
	atomic_store(&stopping, true);
	return NULL;
}

int fab_server_signals(void (*reload)(void))
{
	pthread_t t;

	on_reload = reload;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&t, NULL, signal_thread, NULL)) {
		log_error("cannot start the signal thread");
		return -1;
	}
	pthread_detach(t);
	return 0;
}

int fab_server_port_file(const char *path, const char *port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%s\n", port) < 0 || fclose(f) || rename(tmp, path)) {
		log_error("cannot write port file '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int fab_server_limits_fit(void)
{
	struct rlimit r;
	long fit = 65536;

	if (!getrlimit(RLIMIT_NOFILE, &r)) {
		if (r.rlim_cur < r.rlim_max) {
			r.rlim_cur = r.rlim_max;
			setrlimit(RLIMIT_NOFILE, &r);
			getrlimit(RLIMIT_NOFILE, &r);
		}
		if (r.rlim_cur != RLIM_INFINITY)
			fit = ((long)r.rlim_cur - 64) / FAB_SERVER_FDS_PER_CONN;
	}
	return fit < 16 ? 16 : fit > 65536 ? 65536 : (int)fit;
}

void fab_server_limits_default(struct fab_server_limits *lim)
{
	int fit = fab_server_limits_fit();

	*lim = (struct fab_server_limits){
		.max_conns = fit < 1024 ? fit : 1024,
		.handshake_ms = 10000,
		.idle_ms = 0,
	};
	lim->max_per_peer = lim->max_conns * 3 / 4;
	lim->max_handshaking = fab_server_limits_handshaking(lim->max_conns);
}

int fab_server_limits_handshaking(int max_conns)
{
	int n = max_conns / 8;

	return n < 2 ? 2 : n > 32 ? 32 : n;
}

static bool is_established(struct conn_thread *t, void *state)
{
	return !t->ops->established || t->ops->established(state);
}

static void *serve_conn(void *arg)
{
	struct conn_thread *t = arg;
	struct fab_conn *c = t->conn;
	void *state = t->ops->open(t->ctx, c);

	if (state && is_established(t, state))
		atomic_store(&t->established, true);
	while (state && !atomic_load(&stopping) && !atomic_load(&t->kick)) {
		size_t len = 0, out;
		int rc = fabric_recv_wait(c, POLL_MS, &len);

		if (rc == -ETIMEDOUT)
			continue;
		if (rc && rc != -EMSGSIZE)
			break;
		out = t->ops->handle(t->ctx, state, fabric_rbuf(c), rc ? fabric_bufsize(c) : len,
				     rc == -EMSGSIZE, fabric_sbuf(c));
		atomic_store(&t->last_ms, mono_clock_ms());
		atomic_store(&t->spoke, true);
		if (!atomic_load(&t->established) && is_established(t, state))
			atomic_store(&t->established, true);
		if (rc == -EMSGSIZE) {
			/* The rest of that message cannot be told from the next one. */
			fabric_send(c, out, 1000);
			log_warn("%s: closing the connection after a message over %zu bytes",
				 fabric_peer(c), fabric_bufsize(c));
			break;
		}
		if (fabric_post_recv(c) || fabric_send(c, out, 5000))
			break;
	}
	if (state)
		t->ops->close(t->ctx, state);
	atomic_store(&t->done, true);
	return NULL;
}

/* Join finished connection threads (all of them when all is set). */
static void reap(struct server *sv, bool all)
{
	struct conn_thread **pp = &sv->threads;

	while (*pp) {
		struct conn_thread *t = *pp;

		if (all)
			atomic_store(&t->kick, true);
		if (all || atomic_load(&t->done)) {
			pthread_join(t->thread, NULL);
			fabric_close(t->conn);
			*pp = t->next;
			free(t);
		} else {
			pp = &t->next;
		}
	}
}

/* Close what overstayed: handshakes past their deadline, established connections idle past
 * theirs. */
static void expire(struct server *sv)
{
	int64_t now = mono_clock_ms();

	for (struct conn_thread *t = sv->threads; t; t = t->next) {
		bool est = atomic_load(&t->established);

		if (atomic_load(&t->kick) || atomic_load(&t->done))
			continue;
		if (!est && now - t->accepted_ms > sv->lim.handshake_ms) {
			atomic_store(&t->kick, true);
			if (log_sampled(++sv->expired))
				log_warn("%s: closed: no HELLO%s within %d ms",
					 fabric_peer(t->conn),
					 t->ops->established ? " and capability" : "",
					 sv->lim.handshake_ms);
		} else if (est && sv->lim.idle_ms &&
			   now - atomic_load(&t->last_ms) > sv->lim.idle_ms) {
			atomic_store(&t->kick, true);
			log_info("%s: closed after %d ms without a request", fabric_peer(t->conn),
				 sv->lim.idle_ms);
		}
	}
}

/* Make room by closing the oldest connection still in its handshake (from host, if not
 * NULL), one that never said a word before one that did (a client finishes its handshake
 * within a round trip or two): true if there was one. */
static bool evict_handshaking(struct server *sv, const char *host, const char *why)
{
	struct conn_thread *oldest = NULL;

	for (struct conn_thread *t = sv->threads; t; t = t->next) {
		if (atomic_load(&t->established) || atomic_load(&t->kick) ||
		    atomic_load(&t->done) || (host && strcmp(t->host, host)))
			continue;
		if (!oldest || atomic_load(&oldest->spoke) > atomic_load(&t->spoke) ||
		    (atomic_load(&oldest->spoke) == atomic_load(&t->spoke) &&
		     t->accepted_ms < oldest->accepted_ms))
			oldest = t;
	}
	if (!oldest)
		return false;
	atomic_store(&oldest->kick, true);
	if (log_sampled(++sv->evicted))
		log_warn("%s: closed before its handshake ended: %s", fabric_peer(oldest->conn),
			 why);
	return true;
}

static void host_of(const char *peer, char *host, size_t len)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon ? (size_t)(colon - peer) : strlen(peer);

	snprintf(host, len, "%.*s", (int)n, peer);
}

/* fabric_accept's question: may a connection from peer come in? */
static bool admit(void *arg, const char *peer)
{
	struct server *sv = arg;
	int live = 0, leaving = 0, from_host = 0, handshaking = 0;
	char host[64];
	const char *why = NULL;

	host_of(peer, host, sizeof(host));
	for (struct conn_thread *t = sv->threads; t; t = t->next) {
		if (atomic_load(&t->done))
			continue;
		if (atomic_load(&t->kick)) {
			leaving++;
			continue;
		}
		live++;
		from_host += !strcmp(t->host, host);
		handshaking += !atomic_load(&t->established);
	}
	/* Kicked connections take a moment to go: they count against a hard ceiling. */
	if (live + leaving >= sv->lim.max_conns + sv->lim.max_handshaking)
		why = "too many connections closing";
	else if (from_host >= sv->lim.max_per_peer &&
		 !evict_handshaking(sv, host, "its address has the most connections"))
		why = "its address has the most connections it may";
	else if (live >= sv->lim.max_conns &&
		 !evict_handshaking(sv, NULL, "the server is at its connection limit"))
		why = "the server is at its connection limit";
	else if (handshaking >= sv->lim.max_handshaking)
		evict_handshaking(sv, NULL, "newer connections are waiting");
	if (why && log_sampled(++sv->refused))
		log_warn("%s: connection refused: %s (%d connections, %d from %s)", peer, why, live,
			 from_host, host);
	return !why;
}

/* An accept that failed (out of file descriptors, ...): wait before the next, longer each
 * time, with a log line for the first and then now and then. */
static void accept_backoff(int rc, int *backoff_ms, uint64_t *failures)
{
	if (log_sampled(++*failures))
		log_warn("accept failed: %s (%llu failures; next try in %d ms)", strerror(-rc),
			 (unsigned long long)*failures, *backoff_ms);
	usleep((useconds_t)*backoff_ms * 1000);
	*backoff_ms = *backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff_ms * 2;
}

static int start_thread(struct conn_thread *t)
{
	pthread_attr_t a;
	int rc;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, THREAD_STACK);
	rc = pthread_create(&t->thread, &a, serve_conn, t);
	pthread_attr_destroy(&a);
	return rc;
}

/* Connections told to go whose threads have not gone yet. */
static int leaving(const struct server *sv)
{
	int n = 0;

	for (const struct conn_thread *t = sv->threads; t; t = t->next)
		n += atomic_load(&t->kick) && !atomic_load(&t->done);
	return n;
}

void fab_server_run(struct fab_listener *l, size_t msg_max, const struct fab_server_ops *ops,
		    void *ctx, const struct fab_server_limits *lim)
{
	struct server sv = {.lim = *lim};
	int backoff_ms = BACKOFF_MIN_MS;
	uint64_t failures = 0;

	/* What a connection makes the provider allocate (0.45 MiB of queue entries on tcp)
	 * goes back to the system when it closes: a fixed mmap threshold, not glibc's
	 * growing one, under which freed blocks stay in the heap. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	while (!atomic_load(&stopping)) {
		struct fab_conn *c;
		struct conn_thread *t;
		int rc;

		/* A flood evicts handshakes as fast as it connects; each evicted connection holds
		 * its buffers until its thread sees the kick (within POLL_MS, longer on a loaded
		 * machine). Accept no more until they are few: new clients wait in the queue a
		 * moment instead of the server's memory growing with the flood's rate. */
		if (leaving(&sv) >= sv.lim.max_handshaking) {
			usleep(BACKOFF_MIN_MS * 1000);
			reap(&sv, false);
			continue;
		}
		rc = fabric_accept(l, 2 * msg_max, POLL_MS, admit, &sv, &c);
		reap(&sv, false);
		expire(&sv);
		if (rc == -EAGAIN || rc == -EINTR || rc == -ECONNREFUSED)
			continue;
		if (rc) {
			accept_backoff(rc, &backoff_ms, &failures);
			continue;
		}
		backoff_ms = BACKOFF_MIN_MS;
		t = calloc(1, sizeof(*t));
		if (!t) {
			log_error("out of memory for a connection from %s", fabric_peer(c));
			fabric_close(c);
			continue;
		}
		t->conn = c;
		t->ops = ops;
		t->ctx = ctx;
		t->accepted_ms = mono_clock_ms();
		atomic_store(&t->last_ms, t->accepted_ms);
		host_of(fabric_peer(c), t->host, sizeof(t->host));
		if (start_thread(t)) {
			log_error("cannot start a thread for %s", fabric_peer(c));
			fabric_close(c);
			free(t);
			continue;
		}
		t->next = sv.threads;
		sv.threads = t;
	}
	reap(&sv, true);
}
