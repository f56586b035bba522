/* tls_conn.h: one stream connection of a lego program, mutual TLS (GnuTLS) or plain: whole
 * reads with deadlines, whole writes bounded in time, and the identity the peer's
 * certificate grants. Every control channel (the cluster port, lego-pmon's port, the
 * libvirt protocol, the live-migration stream) reads and writes through it.
 *
 * Threads: one may read while another writes (writers serialise among themselves); only
 * tls_conn_shutdown may be called from a third, to wake both. */
#ifndef LEGO_TLS_CONN_H
#define LEGO_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_pki.h"

#define TLS_CONN_WRITE_MS     30000 /* a peer that reads nothing for this long is gone */
#define TLS_CONN_ADDR_MAX     80
#define TLS_CONN_HANDSHAKE_MS 10000

struct mem_budget;

struct tls_conn {
	int fd;
	void *session;		      /* gnutls_session_t; NULL: plain */
	struct tls_pki_id peer;	      /* what the peer's certificate grants (kind NONE: plain) */
	char addr[TLS_CONN_ADDR_MAX]; /* the peer: "127.0.0.1:40312", "[::1]:7400", "uid 0" */
	int write_ms;		      /* each write's limit */
	struct mem_budget *budget;    /* a server's: big messages are charged to it (NULL: none) */
	uint64_t held;		      /* what this connection holds of it */
	char why[160];		      /* the last TLS failure, for fdio_strerror's EPROTO */
	/* What tls_conn_wait read to know that data (not a session ticket) came: a byte, or
	 * the end (0, or a GnuTLS error) for the next read to report. */
	uint8_t peek;
	bool has_peek, has_end;
	int end;
};

/* What a client requires of the server it reached. */
struct tls_conn_expect {
	unsigned kinds;	  /* TLS_KIND_BIT()s accepted */
	const char *name; /* the name it must have (NULL: any) */
	/* A host name or address its certificate must be valid for (subjectAltName), where
	 * the peer's name is not known (NULL: no check). */
	const char *host;
};

/* A connection over fd (taken over; made non-blocking) without TLS. */
struct tls_conn *tls_conn_plain(int fd, const char *addr);
/* The server side of the handshake on a plain connection, requiring a client certificate
 * signed by the cluster CA, within timeout_ms: 0 (c->peer set), or -1 with err saying why
 * (c stays plain, for its owner to close). */
int tls_conn_upgrade(struct tls_conn *c, const struct tls_pki *pki, int timeout_ms, char *err,
		     size_t errlen);
/* The client side: our certificate, and the server's checked against want. */
struct tls_conn *tls_conn_handshake(int fd, const char *addr, const struct tls_pki *pki,
				    const struct tls_conn_expect *want, int timeout_ms, char *err,
				    size_t errlen);
/* Connect to "HOST:PORT" within timeout_ms, then TLS with pki (plain if pki is NULL) and the
 * server checked against want (NULL: any certificate of the cluster CA): the connection, or
 * NULL with err. */
struct tls_conn *tls_conn_dial(const char *hostport, const struct tls_pki *pki,
			       const struct tls_conn_expect *want, int timeout_ms, char *err,
			       size_t errlen);

/* Exactly n bytes before deadline_ms (mono_clock_ms, or MONO_NEVER): FDIO_OK, FDIO_EOF (the
 * peer closed before the first byte), or -1 with errno (ETIMEDOUT, ECONNRESET, EPROTO: a TLS
 * error, c->why says which). */
int tls_conn_read(struct tls_conn *c, void *buf, size_t n, int64_t deadline_ms);
/* Write all n bytes within c->write_ms: 0, or -1 with errno. */
int tls_conn_write(struct tls_conn *c, const void *buf, size_t n);
/* Wait up to timeout_ms (-1: forever) until something can be read: 1, 0 on timeout, -1. */
int tls_conn_wait(struct tls_conn *c, int timeout_ms);
/* Wake whoever waits on c (both directions fail from now on); any thread. */
void tls_conn_shutdown(struct tls_conn *c);
/* End the session, close the fd and free (NULL: nothing). */
void tls_conn_close(struct tls_conn *c);
/* What errno after a failed read or write means, for a log line about the peer. */
const char *tls_conn_strerror(const struct tls_conn *c, int err);
/* "pmon 'h1' at 127.0.0.1:5555" or "127.0.0.1:5555 (plain)". */
const char *tls_conn_who(const struct tls_conn *c, char *out, size_t len);

#endif
