/* fab_server.h: the skeleton every lego server daemon shares: signals taken by one thread,
 * a libfabric listener, one thread per connection running request -> reply, within bounds.
 *
 * The bounds (struct fab_server_limits) keep a daemon serving whatever a peer does: a cap on
 * connections in total and from one address; connections that have not finished their
 * handshake (HELLO, and AUTH where a capability is required) are few, last at most
 * handshake_ms, and the oldest of them makes room for a newer one; an established
 * connection silent for idle_ms is closed (if idle_ms is set); accept errors back off. Each
 * connection's buffering is its fixed pair of buffers, and its thread's stack is bounded. */
#ifndef LEGO_FAB_SERVER_H
#define LEGO_FAB_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "fabric.h"

#define FAB_SERVER_FDS_PER_CONN 8 /* what one connection costs (tcp provider: measured) */

struct fab_server_ops {
	/* A connection arrived: its state (NULL refuses it). */
	void *(*open)(void *ctx, struct fab_conn *c);
	/* One message in (truncated: it was longer than the buffer and was cut), its reply
	 * written to reply (capacity: msg_max); returns the reply's length. */
	size_t (*handle)(void *ctx, void *conn, const void *req, size_t len, bool truncated,
			 void *reply);
	/* The connection ended. */
	void (*close)(void *ctx, void *conn);
	/* Whether the connection got past its handshake (NULL: at once). */
	bool (*established)(void *conn);
};

struct fab_server_limits {
	int max_conns;	     /* connections at once */
	int max_per_peer;    /* from one address */
	int max_handshaking; /* not yet established */
	int handshake_ms;    /* to get established */
	int idle_ms;	     /* established and silent this long: closed (0: never) */
};

/* The defaults, with max_conns within what the process's file descriptor limit (raised to
 * its hard limit here) allows. */
void fab_server_limits_default(struct fab_server_limits *lim);
/* How many connections the file descriptor limit (raised to its hard limit here) has room
 * for. */
int fab_server_limits_fit(void);
/* How many connections of max_conns may be in their handshake at once. */
int fab_server_limits_handshaking(int max_conns);

/* Block SIGINT, SIGTERM and SIGHUP in this and every later thread and start a thread that
 * waits for them: the first two stop the server, SIGHUP calls reload (if not NULL; e.g. the
 * capability keys again, for a key rotation). Call before any thread starts or library is
 * loaded: the RDMA stacks under libfabric install handlers of their own that would
 * otherwise win. */
int fab_server_signals(void (*reload)(void));
/* A signal arrived (or fab_server_stop was called). */
bool fab_server_stopping(void);
void fab_server_stop(void);

/* Write port (a line) to path atomically. */
int fab_server_port_file(const char *path, const char *port);

/* Serve l until stopping: a thread per connection, buffers of twice msg_max so an
 * oversized message still arrives whole and gets its error reply; a message longer than
 * that gets its reply and then the connection is closed. Returns when every connection
 * thread has finished. */
void fab_server_run(struct fab_listener *l, size_t msg_max, const struct fab_server_ops *ops,
		    void *ctx, const struct fab_server_limits *lim);

#endif
