/* fab_server.h: the skeleton every lego server daemon shares: signals taken by one thread,
 * a libfabric listener, one thread per connection running request -> reply. */
#ifndef LEGO_FAB_SERVER_H
#define LEGO_FAB_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "fabric.h"

struct fab_server_ops {
	/* A connection arrived: its state (NULL refuses it). */
	void *(*open)(void *ctx, const char *peer);
	/* One message in (truncated: it was longer than the buffer and was cut), its reply
	 * written to reply (capacity: msg_max); returns the reply's length. */
	size_t (*handle)(void *ctx, void *conn, const void *req, size_t len, bool truncated,
			 void *reply);
	/* The connection ended. */
	void (*close)(void *ctx, void *conn);
};

/* Block SIGINT and SIGTERM in this and every later thread and start a thread that waits
 * for them. Call before any thread starts or library is loaded: the RDMA stacks under
 * libfabric install handlers of their own that would otherwise win. */
int fab_server_signals(void);
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
		    void *ctx);

#endif
