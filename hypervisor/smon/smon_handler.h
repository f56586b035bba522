/* smon_handler.h: one storage-protocol request in, one reply out. The only I/O is the
 * store's, so every malformed input can be tested without a network. */
#ifndef LEGO_SMON_HANDLER_H
#define LEGO_SMON_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cap/cap.h"
#include "lib/cap/cap_verify.h"
#include "lib/proto/stor_proto.h"
#include "smon_store.h"

#define SMON_HANDLER_MAX_BAD_AUTHS 8 /* refused AUTHs before a connection gets no more */

/* What the server knows about one connection. */
struct smon_handler_session {
	bool hello;
	char client[SP_NAME_LEN + 1];
	const char *peer;   /* for log lines */
	const char *server; /* this server's name */
	uint64_t requests, bad_requests;
	uint8_t *bounce; /* SP_MAX_IO bytes, 4 KiB-aligned: for stores with aligned_io */
	/* Capabilities: verify NULL means none are asked for (--insecure-no-capabilities). */
	struct cap_verify *verify;
	uint8_t challenge[CAP_KEY_CHALLENGE_LEN];
	bool authed;
	unsigned bad_auths;
	struct cap cap;
};

/* Handle req[0..len) and write the reply into reply (capacity SP_MAX_MSG); returns its
 * length. truncated: the transport cut a message longer than its buffer (the reply is
 * E2BIG, and the caller then closes the connection). Never fails: bad input gets an error
 * reply and a log line. */
size_t smon_handler_request(struct smon_store *st, struct smon_handler_session *s, const void *req,
			    size_t len, bool truncated, void *reply);
/* Whether the connection got past its handshake (HELLO, and AUTH where it is required). */
bool smon_handler_established(const struct smon_handler_session *s);

#endif
