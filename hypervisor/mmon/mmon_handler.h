/* mmon_handler.h: one memory-protocol request in, one reply out (no I/O here, so every
 * malformed input can be tested without a network). */
#ifndef LEGO_MMON_HANDLER_H
#define LEGO_MMON_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cap/cap.h"
#include "lib/cap/cap_verify.h"
#include "lib/proto/mem_proto.h"
#include "mmon_fill.h"
#include "mmon_pool.h"

#define MMON_HANDLER_MAX_BAD_AUTHS 8  /* refused AUTHs before a connection gets no more */
#define MMON_HANDLER_VNODE_CONNS   64 /* connections one vNode's capability may hold here */

/* What the server knows about one connection. */
struct mmon_handler_session {
	bool hello;
	uint64_t vnode;
	char client[MP_NAME_LEN + 1];
	const char *peer;		  /* for log lines */
	const char *server;		  /* this server's name */
	const struct mmon_fill_ctx *fill; /* how FILL reaches other servers (NULL: refused) */
	uint64_t bad_requests;
	/* Capabilities: verify NULL means none are asked for (--insecure-no-capabilities). */
	struct cap_verify *verify;
	const uint8_t *server_key; /* CAP_KEY_LEN bytes, for the HELLO reply (or NULL) */
	uint8_t challenge[CAP_KEY_CHALLENGE_LEN];
	bool authed;
	bool counted; /* among its vNode's connections (mmon_auth.c) */
	unsigned bad_auths;
	struct cap cap;		      /* the capability presented, once authed */
	struct mmon_pool_scope scope; /* what it lets this connection touch */
	/* RMA reads: rma.domain NULL means none offered; the regions registered for them. */
	struct mmon_pool_rma_conn rma;
	uint64_t *rma_handles;
	size_t nr_rma, max_rma;
};

/* Handle req[0..len) and write the reply into reply (capacity MP_MAX_MSG); returns its
 * length. truncated: the transport cut a message longer than its buffer (the reply is
 * E2BIG, and the caller then closes the connection). Never fails: bad input gets an error
 * reply and a log line. */
size_t mmon_handler_request(struct mmon_pool *pool, struct mmon_handler_session *s, const void *req,
			    size_t len, bool truncated, void *reply);
/* Whether the connection got past its handshake (HELLO, and AUTH where it is required). */
bool mmon_handler_established(const struct mmon_handler_session *s);
/* The connection ended: its RMA registrations go. */
void mmon_handler_end(struct mmon_pool *pool, struct mmon_handler_session *s);

#endif
