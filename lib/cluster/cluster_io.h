/* cluster_io.h: the cluster protocol's framing (cluster_proto.h) over a connection
 * (lib/tls/tls_conn.h: mutual TLS, or plain with --insecure): one message = header +
 * payload; replies matched by id. Used by lego-controld, lego-pmon, the registration agents
 * of every component, and legoctl. */
#ifndef LEGO_CLUSTER_IO_H
#define LEGO_CLUSTER_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/wire.h"
#include "lib/tls/tls_conn.h"

/* Send one message; 0, or -1 if the connection failed. */
int cluster_io_send(struct tls_conn *c, uint16_t op, uint64_t id, uint32_t status,
		    const void *payload, size_t len);
/* Send an error reply to request h: status and the formatted text. */
int cluster_io_send_error(struct tls_conn *c, const struct wire_hdr *h, uint32_t status,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

enum cluster_io_recv_result {
	CIO_MSG,    /* *payload (malloc'ed, NUL-terminated one byte past h->len) */
	CIO_EOF,    /* the peer closed between messages */
	CIO_BAD,    /* a malformed header (err says why): answer it, then close */
	CIO_FAILED, /* I/O error, timeout, or a length that cannot be honoured: close */
};
/* Receive one message: its first byte within idle_ms (-1: forever), then the whole of it
 * within read_ms more; err says what went wrong on CIO_BAD and CIO_FAILED. A message beyond
 * MEM_BUDGET_SMALL is charged to c's budget (if any) until the next one: CIO_FAILED if the
 * budget cannot cover it now. */
enum cluster_io_recv_result cluster_io_recv(struct tls_conn *c, int idle_ms, int read_ms,
					    struct wire_hdr *h, uint8_t **payload, char *err,
					    size_t errlen);

/* Call: send a request and wait for its reply (same id, op | CP_REPLY). Returns the reply's
 * status (CP_OK, or the error status with the peer's text in err), or -1 if the connection
 * failed (err says how). On CP_OK *reply (malloc'ed, may be NULL when reply is NULL) and
 * *rlen hold the payload. */
int cluster_io_call(struct tls_conn *c, uint16_t op, const void *req, size_t len, uint8_t **reply,
		    size_t *rlen, int timeout_ms, char *err, size_t errlen);

#endif
