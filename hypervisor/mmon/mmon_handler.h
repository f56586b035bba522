/* mmon_handler.h: one memory-protocol request in, one reply out (no I/O here, so every
 * malformed input can be tested without a network). */
#ifndef LEGO_MMON_HANDLER_H
#define LEGO_MMON_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/mem_proto.h"
#include "mmon_fill.h"
#include "mmon_pool.h"

/* What the server knows about one connection. */
struct mmon_handler_session {
	bool hello;
	uint64_t vnode;
	char client[MP_NAME_LEN + 1];
	const char *peer;		  /* for log lines */
	const char *server;		  /* this server's name */
	bool rma;			  /* offer RMA reads */
	const struct mmon_fill_ctx *fill; /* how FILL reaches other servers (NULL: refused) */
	uint64_t bad_requests;
};

/* Handle req[0..len) and write the reply into reply (capacity MP_MAX_MSG); returns its
 * length. truncated: the transport cut a message longer than its buffer (the reply is
 * E2BIG, and the caller then closes the connection). Never fails: bad input gets an error
 * reply and a log line. */
size_t mmon_handler_request(struct mmon_pool *pool, struct mmon_handler_session *s, const void *req,
			    size_t len, bool truncated, void *reply);

#endif
