/* smon_client.h: a connection to a lego-smon and the storage protocol's calls over it.
 *
 * One thread uses a client at a time. Every call returns 0 or -errno: a refused request
 * gives the errno of its status (-ENOENT: no such volume, -ERANGE: beyond the end, ...),
 * with the server's text in smon_client_error(); a transport failure gives -ENOTCONN,
 * -ETIMEDOUT or the like and leaves the client broken (smon_client_broken) until it is
 * reconnected. */
#ifndef LEGO_SMON_CLIENT_H
#define LEGO_SMON_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cap/cap_holder.h"
#include "lib/proto/stor_proto.h"

struct smon_client;

/* Connect to host:port, say HELLO as client_name and, where the server requires a
 * capability, AUTH with holder's storage capability (holder may be NULL: none). The holder
 * is presented again before the next request whenever it changed (a renewal) or a
 * self-signed one is past half its life. On failure *out is NULL and err says why. */
int smon_client_connect(const char *provider, const char *host, const char *port,
			const char *client_name, struct cap_holder *holder, int timeout_ms,
			struct smon_client **out, char *err, size_t errlen);
/* Drop the connection and make a new one to the same server (HELLO and AUTH again). */
int smon_client_reconnect(struct smon_client *cl);
void smon_client_disconnect(struct smon_client *cl);

bool smon_client_broken(const struct smon_client *cl);
/* Poll this long for replies before sleeping, on this and later connections (see
 * fabric_set_spin_us). */
void smon_client_set_spin_us(struct smon_client *cl, int us);
/* What the last failed call said: the server's text or the transport's failure. */
const char *smon_client_error(const struct smon_client *cl);
/* The server's HELLO reply (name, backend, capacity). */
const struct stor_proto_hello_reply *smon_client_server(const struct smon_client *cl);
const char *smon_client_peer(const struct smon_client *cl);

int smon_client_vol_create(struct smon_client *cl, const char *vol, uint64_t size);
int smon_client_vol_delete(struct smon_client *cl, const char *vol);
int smon_client_vol_resize(struct smon_client *cl, const char *vol, uint64_t size);
int smon_client_vol_stat(struct smon_client *cl, const char *vol, struct stor_proto_vol_info *out);
/* Every volume, in name order, into a malloc'ed array (*n entries). */
int smon_client_vol_list(struct smon_client *cl, struct stor_proto_vol_info **out, size_t *n);

/* Block I/O: len <= SP_MAX_IO, offset and len multiples of 512. */
int smon_client_vol_read(struct smon_client *cl, const char *vol, uint64_t off, void *buf,
			 uint32_t len);
int smon_client_vol_write(struct smon_client *cl, const char *vol, uint64_t off, const void *buf,
			  uint32_t len);
int smon_client_vol_flush(struct smon_client *cl, const char *vol);
/* Zero-copy forms: write_buf is where smon_client_vol_write_buf sends len bytes from (fill it
 * first); smon_client_vol_read_ref points *data at the reply's len bytes (valid until the next
 * call). */
void *smon_client_write_buf(struct smon_client *cl);
int smon_client_vol_write_buf(struct smon_client *cl, const char *vol, uint64_t off, uint32_t len);
int smon_client_vol_read_ref(struct smon_client *cl, const char *vol, uint64_t off, uint32_t len,
			     const void **data);

/* A raw request of len bytes already in smon_client_raw_buf(), for tests that send malformed
 * ones; the reply's header and payload come back. */
void *smon_client_raw_buf(struct smon_client *cl);
int smon_client_raw_call(struct smon_client *cl, size_t len, struct wire_hdr *reply,
			 const void **payload);

#endif
