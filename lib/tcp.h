/* tcp.h: TCP sockets of the control channels: connect with a timeout, listen, and a peer's
 * address as text (TLS, if any, goes on top: lib/tls/tls_conn.h). */
#ifndef LEGO_TCP_H
#define LEGO_TCP_H

#include <stddef.h>
#include <sys/socket.h>

/* Connect to "HOST:PORT" within timeout_ms; the fd (close-on-exec, TCP_NODELAY, blocking) or
 * -1 with err filled. */
int tcp_connect(const char *hostport, int timeout_ms, char *err, size_t errlen);
/* Listen on "HOST:PORT" (port 0 picks one; the bound port is written to port): the fd, or
 * -1 with err. */
int tcp_listen(const char *hostport, char *port, size_t plen, char *err, size_t errlen);
/* "127.0.0.1:5555" or "[::1]:5555" for an AF_INET/AF_INET6 address; the host alone (the
 * peer's identity for per-peer limits) into host if not NULL. */
void tcp_peer_name(const struct sockaddr_storage *ss, char *out, size_t len, char *host,
		   size_t hlen);

#endif
