/* remote_mem_internal.h: what remote_mem's files share (remote_mem.c: servers, connections,
 * one request to one copy, open and close; remote_mem_io.c: page reads and replicated
 * write-back; remote_mem_copies.c: the control plane's changes to the copies). Nothing else
 * includes it. */
#ifndef LEGO_REMOTE_MEM_INTERNAL_H
#define LEGO_REMOTE_MEM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/client/mem_client.h"
#include "remote_mem.h"

/* What went wrong with one request to one server. */
struct remote_mem_failure {
	bool lost; /* the server is unreachable: every copy there is gone */
	char what[256];
	char moved_to[MP_OWNER_LEN + 1]; /* OPEN answered EREDIRECT: where it went */
};

/* The last failure of a request that went to every copy: what, and the server's label
 * (taken while a copy named its entry: the entry may be reused once the copy is gone). */
struct remote_mem_last_failure {
	struct remote_mem_failure f;
	char server[400]; /* "" if no copy failed */
};

/* What to do after an error reply from a copy. */
enum remote_mem_next {
	REMOTE_MEM_NEXT_FAIL,	  /* the copy is of no use any more */
	REMOTE_MEM_NEXT_RETRY,	  /* reopened (stale epoch): send again */
	REMOTE_MEM_NEXT_REDIRECT, /* the region moved: follow, then send again */
};

/* The reason I/O failed, once (the first one is what the vNode stops with). The server's
 * entry must be held (a copy names it under a region lock, or remote_mem_server_hold). */
__attribute__((format(printf, 3, 4))) void remote_mem_set_error(struct remote_mem *rm, int server,
								const char *fmt, ...);
/* The same with the server's label taken earlier ("memory server NAME (HOST:PORT)"). */
__attribute__((format(printf, 3, 4))) void
remote_mem_set_error_at(struct remote_mem *rm, const char *label, const char *fmt, ...);
/* Note f, from the copy on server, as the last failure (its label taken now). */
void remote_mem_note_failure(const struct remote_mem *rm, int server,
			     const struct remote_mem_failure *f,
			     struct remote_mem_last_failure *last);
/* The channel of the control functions (one past the I/O channels). */
int remote_mem_ctl_channel(const struct remote_mem *rm);
/* The server is unreachable: never used again (logged once). */
void remote_mem_lose_server(struct remote_mem *rm, int server, const char *why);
/* Channel ch's connection to server, made on first use by the channel's own thread; NULL
 * with f filled. */
struct fab_conn *remote_mem_conn(struct remote_mem *rm, int server, int ch,
				 struct remote_mem_failure *f);
/* Show the capability again on channel ch's connection to server (a renewal came late). */
int remote_mem_reauth(struct remote_mem *rm, int server, int ch, struct remote_mem_failure *f);
/* The entry for "HOST:PORT", held: the live one with that address, or a new one (*created;
 * an entry no copy names and no thread holds is reused for it); -1 with err. */
int remote_mem_server_by_addr(struct remote_mem *rm, const char *addr, bool *created, char *err,
			      size_t errlen);
/* The live entry for addr, held, or -1. */
int remote_mem_server_find(struct remote_mem *rm, const char *addr);
/* Hold an entry the caller already reaches safely (a copy names it under a region lock), so
 * that it stays that server's after the lock is let go; and let it go. */
void remote_mem_server_hold(struct remote_mem *rm, int server);
void remote_mem_server_put(struct remote_mem *rm, int server);
/* Call op on server through ch; the body is already in the connection's send buffer. */
int remote_mem_copy_call(struct remote_mem *rm, int server, int ch, unsigned op, size_t body_len,
			 struct mem_client_reply *r, struct remote_mem_failure *f);
/* OPEN region idx on server (CREATE and JOIN as asked): its handle, epoch and RMA key. */
int remote_mem_open_on(struct remote_mem *rm, int idx, int server, int ch, uint32_t flags,
		       struct mem_proto_open_reply *out, struct remote_mem_failure *f);
/* Point copy cp at server (a new copy of the region, or one that moves to another server:
 * the entries' counts follow) with what its OPEN answered. Under the region's write lock (or
 * before any other thread runs). */
void remote_mem_set_copy(struct remote_mem *rm, struct remote_mem_copy *cp, bool is_new, int server,
			 int state, const struct mem_proto_open_reply *o);
/* Copy k of region g goes (the later ones move up). Under the region's write lock. */
void remote_mem_remove_copy(struct remote_mem *rm, struct remote_mem_region *g, int k);
/* Mark a copy (or, when its server is lost, the server) failed; a warning says what it
 * cost. Under the region's read lock. */
void remote_mem_copy_failed(struct remote_mem *rm, int idx, struct remote_mem_copy *cp,
			    const struct remote_mem_failure *f);
/* Not failed, its server not lost, and (for a read) live. */
bool remote_mem_usable(const struct remote_mem *rm, const struct remote_mem_copy *cp,
		       bool for_read);
/* After an error reply r from copy cp: reopen after a stale epoch (once), or name where the
 * region moved (owner), or give up. */
enum remote_mem_next remote_mem_on_refusal(struct remote_mem *rm, int idx,
					   struct remote_mem_copy *cp, int ch,
					   const struct mem_client_reply *r, char *owner,
					   size_t olen, bool *reopened,
					   struct remote_mem_failure *f);
/* Region g's copy on server, or -1. */
int remote_mem_find_copy(const struct remote_mem_region *g, int server);
/* Region idx's copy on from_server moved to owner ("NAME@HOST:PORT"): open it there and make
 * that the copy's server. Takes the region's write lock itself. */
int remote_mem_follow_redirect(struct remote_mem *rm, int idx, int from_server, const char *owner,
			       int ch, struct remote_mem_failure *why);

#endif
