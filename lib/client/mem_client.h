/* mem_client.h: one memory-protocol request and its reply on a libfabric connection, for
 * every client of lego-mmon (lego-vmm's remote memory, a server's fill, lego-controld).
 *
 * The request body is already at fabric_sbuf(c) + MP_HDR_LEN; mem_client_exchange adds the
 * header, sends, waits and checks the reply's header against the request (op, id, status range).
 */
#ifndef LEGO_MEM_CLIENT_H
#define LEGO_MEM_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/cap/cap_holder.h"
#include "lib/proto/mem_proto.h"

struct fab_conn;

/* What a client proves itself with where a server requires a capability (HELLO reply flag
 * MP_HELLO_AUTH): a holder's memory capability, or one given capability and the key of its
 * holder (a server's fill, lego-controld's own requests). */
struct mem_client_cred {
	struct cap_holder *holder;
	const struct cap_key *key;
	const uint8_t *cap;
	size_t cap_len;
};

struct mem_client_reply {
	enum mem_proto_status status;
	const uint8_t *payload; /* in the connection's receive buffer */
	size_t len;
};

enum mem_client_result {
	MC_OK = 0,	  /* a well-formed reply: see status */
	MC_LOST = -1,	  /* the connection broke (peer gone) */
	MC_TIMEOUT = -2,  /* no reply in time (the connection is broken now) */
	MC_MALFORMED = -3 /* a reply that does not answer the request */
};

enum mem_client_result mem_client_exchange(struct fab_conn *c, uint64_t id, unsigned op,
					   size_t body_len, int timeout_ms,
					   struct mem_client_reply *r);
/* Send the request without waiting (then mem_client_wait): lets a caller have one request in
 * flight on each of several connections. */
enum mem_client_result mem_client_send(struct fab_conn *c, uint64_t id, unsigned op,
				       size_t body_len, int timeout_ms);
enum mem_client_result mem_client_wait(struct fab_conn *c, uint64_t id, unsigned op, int timeout_ms,
				       struct mem_client_reply *r);
/* What went wrong, for messages: "connection lost (server gone?)", ... */
const char *mem_client_result_text(enum mem_client_result rc);
/* An error reply's text, made printable and NUL-terminated in buf. */
const char *mem_client_reply_text(const struct mem_client_reply *r, char *buf, size_t blen);

/* mem_client_exchange, with what went wrong in err ("READ: no reply in time", "OPEN refused: pool
 * full: TEXT"): 0, the status of a refusal, or -1 when no answer came. */
int mem_client_call(struct fab_conn *c, uint64_t id, unsigned op, size_t body_len, int timeout_ms,
		    struct mem_client_reply *r, char *err, size_t errlen);
/* After a HELLO answered with hr: AUTH with cred (request id id) if the server requires a
 * capability, nothing if it does not. 0 (*gen: the holder's generation presented, if
 * gen), or -1 / the refusal's status with err. */
int mem_client_auth(struct fab_conn *c, uint64_t id, const struct mem_client_cred *cred,
		    const struct mem_proto_hello_reply *hr, int timeout_ms, unsigned *gen,
		    char *err, size_t errlen);
/* Connect to the memory server at addr ("HOST:PORT"), say HELLO (request id 1) as vNode
 * vnode, named client, and AUTH with cred (request id 2) where the server requires it: 0
 * with the connection in *out and, if hr is not NULL, the server's HELLO reply; or -1 with
 * *out NULL and err saying why, naming addr. */
int mem_client_connect(const char *provider, const char *addr, uint64_t vnode, const char *client,
		       const struct mem_client_cred *cred, int timeout_ms, struct fab_conn **out,
		       struct mem_proto_hello_reply *hr, char *err, size_t errlen);

#endif
