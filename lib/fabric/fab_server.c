/* fab_server.c: signal thread, accept loop and per-connection request/reply threads. */
#include "fab_server.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

#define POLL_MS 200

struct conn_thread {
	pthread_t thread;
	struct fab_conn *conn;
	const struct fab_server_ops *ops;
	void *ctx;
	atomic_bool done;
	struct conn_thread *next;
};

static atomic_bool stopping;
static sigset_t stop_signals;

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
	if (sigwait(&stop_signals, &sig) == 0)
		log_info("received signal %d: shutting down", sig);
	atomic_store(&stopping, true);
	return NULL;
}

int fab_server_signals(void)
{
	pthread_t t;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
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

static void *serve_conn(void *arg)
{
	struct conn_thread *t = arg;
	struct fab_conn *c = t->conn;
	void *state = t->ops->open(t->ctx, fabric_peer(c));

	while (state && !atomic_load(&stopping)) {
		size_t len = 0, out;
		int rc = fabric_recv_wait(c, POLL_MS, &len);

		if (rc == -ETIMEDOUT)
			continue;
		if (rc && rc != -EMSGSIZE)
			break;
		out = t->ops->handle(t->ctx, state, fabric_rbuf(c), rc ? fabric_bufsize(c) : len,
				     rc == -EMSGSIZE, fabric_sbuf(c));
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
static void reap(struct conn_thread **list, bool all)
{
	struct conn_thread **pp = list;

	while (*pp) {
		struct conn_thread *t = *pp;

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

void fab_server_run(struct fab_listener *l, size_t msg_max, const struct fab_server_ops *ops,
		    void *ctx)
{
	struct conn_thread *threads = NULL;

	while (!atomic_load(&stopping)) {
		struct fab_conn *c;
		struct conn_thread *t;
		int rc = fabric_accept(l, 2 * msg_max, POLL_MS, &c);

		reap(&threads, false);
		if (rc == -EAGAIN || rc == -EINTR)
			continue;
		if (rc) {
			log_warn("accept failed: %s", strerror(-rc));
			continue;
		}
		t = calloc(1, sizeof(*t));
		if (!t || (t->conn = c, t->ops = ops, t->ctx = ctx,
			   pthread_create(&t->thread, NULL, serve_conn, t))) {
			log_error("cannot start a thread for %s", fabric_peer(c));
			fabric_close(c);
			free(t);
			continue;
		}
		t->next = threads;
		threads = t;
	}
	reap(&threads, true);
}
