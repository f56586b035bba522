/* cluster_io.h: blocking TCP transport for the cluster protocol (cluster_proto.h): one
 * message = header + payload; replies matched by id. Used by lego-controld, lego-pmon, the
 * registration agents of every component, and legoctl. */
#ifndef LEGO_CLUSTER_IO_H
#define LEGO_CLUSTER_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/wire.h"

/* Connect to "HOST:PORT" within timeout_ms; the fd (close-on-exec, TCP_NODELAY) or -1 with
 * err filled. */
int cluster_io_connect(const char *hostport, int timeout_ms, char *err, size_t errlen);
/* Listen on "HOST:PORT" (port 0 picks one; the bound port is written to port). */
int cluster_io_listen(const char *hostport, char *port, size_t plen, char *err, size_t errlen);

/* Send one message; 0, or -1 if the connection failed. */
int cluster_io_send(int fd, uint16_t op, uint64_t id, uint32_t status, const void *payload,
		    size_t len);
/* Send an error reply to request h: status and the formatted text. */
int cluster_io_send_error(int fd, const struct wire_hdr *h, uint32_t status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

enum cluster_io_recv_result {
	CIO_MSG,    /* *payload (malloc'ed, NUL-terminated one byte past h->len) */
	CIO_EOF,    /* the peer closed between messages */
	CIO_BAD,    /* a malformed header (err says why): answer it, then close */
	CIO_FAILED, /* I/O error, timeout, or a length that cannot be honoured: close */
};
/* Receive one message, waiting at most timeout_ms (-1: forever) for its header and then
 * as long again for its payload; err says what went wrong on CIO_BAD and CIO_FAILED. */
enum cluster_io_recv_result cluster_io_recv(int fd, int timeout_ms, struct wire_hdr *h,
					    uint8_t **payload, char *err, size_t errlen);

/* Call: send a request and wait for its reply (same id, op | CP_REPLY). Returns the reply's
 * status (CP_OK, or the error status with the peer's text in err), or -1 if the connection
 * failed (err says how). On CP_OK *reply (malloc'ed, may be NULL when reply is NULL) and
 * *rlen hold the payload. */
int cluster_io_call(int fd, uint16_t op, const void *req, size_t len, uint8_t **reply, size_t *rlen,
		    int timeout_ms, char *err, size_t errlen);

#endif
