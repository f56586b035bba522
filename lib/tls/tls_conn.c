/* tls_conn.c: stream connections over GnuTLS (or plain), non-blocking underneath so that
 * every read has a deadline and every write a limit. */
#include "tls_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/mem_budget.h"
#include "lib/mono_clock.h"
#include "lib/tcp.h"

/* TLS 1.2 and 1.3 with GnuTLS's usual choice of ciphers (virsh's own default is NORMAL). */
#define PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

static struct tls_conn *conn_new(int fd, const char *addr)
{
	struct tls_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->write_ms = TLS_CONN_WRITE_MS;
	snprintf(c->addr, sizeof(c->addr), "%s", addr ? addr : "?");
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return c;
}

struct tls_conn *tls_conn_plain(int fd, const char *addr)
{
	struct tls_conn *c = conn_new(fd, addr);

	if (!c)
		close(fd);
	return c;
}

/* Until fd is ready for events or the deadline: 0, or -1 with errno (ETIMEDOUT). */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int r = poll(&p, 1, mono_clock_ms_left(deadline_ms));

		if (r > 0)
			return 0;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

/* What GnuTLS waits for after GNUTLS_E_AGAIN. */
static short direction(const struct tls_conn *c)
{
	return gnutls_record_get_direction(c->session) ? POLLOUT : POLLIN;
}

/* Why a handshake failed, in words an operator can act on. */
static void describe(struct tls_conn *c, int rc, char *err, size_t errlen)
{
	gnutls_session_t s = c->session;
	gnutls_datum_t why = {0};

	switch (rc) {
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		snprintf(err, errlen, "the peer refused the TLS handshake: %s",
			 gnutls_alert_get_name(gnutls_alert_get(s)));
		break;
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
		gnutls_certificate_verification_status_print(
			gnutls_session_get_verify_cert_status(s), GNUTLS_CRT_X509, &why, 0);
		snprintf(err, errlen, "the peer's certificate is not valid: %s",
			 why.data ? (char *)why.data : "verification failed");
		gnutls_free(why.data);
		break;
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
		snprintf(err, errlen, "the peer presented no certificate");
		break;
	case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
	case GNUTLS_E_UNEXPECTED_PACKET:
		snprintf(err, errlen, "the peer does not speak TLS (a plaintext client?)");
		break;
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
		snprintf(err, errlen, "the peer closed the connection during the TLS handshake");
		break;
	default:
		snprintf(err, errlen, "TLS handshake failed: %s", gnutls_strerror(rc));
	}
}

static int handshake(struct tls_conn *c, int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = mono_clock_ms() + timeout_ms;
	int rc;

	while ((rc = gnutls_handshake(c->session)) < 0) {
		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
			if (wait_fd(c->fd, direction(c), deadline)) {
				snprintf(err, errlen, "no TLS handshake within %d ms", timeout_ms);
				return -1;
			}
		} else if (gnutls_error_is_fatal(rc)) {
			describe(c, rc, err, errlen);
			/* Tell the peer why (best effort), so that it can say so too. */
			gnutls_alert_send_appropriate(c->session, rc);
			return -1;
		}
	}
	return 0;
}

/* What the peer's certificate grants (it was verified in the handshake). */
static int peer_id(struct tls_conn *c, char *err, size_t errlen)
{
	unsigned n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(c->session, &n);
	gnutls_x509_crt_t crt;
	int rc;

	if (!certs || !n) {
		snprintf(err, errlen, "the peer presented no certificate");
		return -1;
	}
	if (gnutls_x509_crt_init(&crt) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
	if (rc < 0)
		snprintf(err, errlen, "the peer's certificate cannot be read: %s",
			 gnutls_strerror(rc));
	else
		rc = tls_pki_id_of(crt, &c->peer, err, errlen);
	gnutls_x509_crt_deinit(crt);
	return rc < 0 ? -1 : 0;
}

/* TLS on c, its handshake done (server or client side): 0, or -1 with err (c is then
 * plain again, for its owner to close). */
static int start(struct tls_conn *c, const struct tls_pki *pki, bool server, const char *host,
		 int timeout_ms, char *err, size_t errlen)
{
	gnutls_session_t s;
	int rc = gnutls_init(&s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_SIGNAL);

	if (rc < 0) {
		snprintf(err, errlen, "GnuTLS: %s", gnutls_strerror(rc));
		return -1;
	}
	c->session = s;
	if ((rc = gnutls_priority_set_direct(s, PRIORITY, NULL)) < 0 ||
	    (rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, tls_pki_credentials(pki))) <
		    0) {
		snprintf(err, errlen, "GnuTLS: %s", gnutls_strerror(rc));
		goto fail;
	}
	if (server)
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	/* The peer's certificate chain is checked in the handshake (and the host it was
	 * reached at, if given), so a bad one fails it with an alert the peer can report. */
	gnutls_session_set_verify_cert(s, host, 0);
	gnutls_transport_set_int(s, c->fd);
	gnutls_handshake_set_timeout(s, GNUTLS_INDEFINITE_TIMEOUT);
	if (handshake(c, timeout_ms, err, errlen) == 0 && peer_id(c, err, errlen) == 0)
		return 0;
fail:
	gnutls_deinit(s);
	c->session = NULL;
	c->peer = (struct tls_pki_id){0};
	return -1;
}

int tls_conn_upgrade(struct tls_conn *c, const struct tls_pki *pki, int timeout_ms, char *err,
		     size_t errlen)
{
	return start(c, pki, true, NULL, timeout_ms, err, errlen);
}

/* "controld or admin" for an error message. */
static void kinds_text(unsigned kinds, char *out, size_t len)
{
	size_t at = 0;

	out[0] = '\0';
	for (int k = 1; k <= TLS_KIND_MAX && at < len; k++)
		if (kinds & TLS_KIND_BIT(k))
			at += (size_t)snprintf(out + at, len - at, "%s%s", at ? " or " : "",
					       tls_pki_kind_name(k));
}

struct tls_conn *tls_conn_handshake(int fd, const char *addr, const struct tls_pki *pki,
				    const struct tls_conn_expect *want, int timeout_ms, char *err,
				    size_t errlen)
{
	char got[96], kinds[64];
	struct tls_conn *c = conn_new(fd, addr);

	if (!c) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (start(c, pki, false, want ? want->host : NULL, timeout_ms, err, errlen)) {
		tls_conn_close(c);
		return NULL;
	}
	if (want && (!(want->kinds & TLS_KIND_BIT(c->peer.kind)) ||
		     (want->name && strcmp(want->name, c->peer.name)))) {
		kinds_text(want->kinds, kinds, sizeof(kinds));
		snprintf(err, errlen, "%s is not the %s%s%s%s expected: its certificate grants %s",
			 addr, kinds, want->name ? " '" : "", want->name ? want->name : "",
			 want->name ? "'" : "", tls_pki_id_text(&c->peer, got, sizeof(got)));
		tls_conn_close(c);
		return NULL;
	}
	return c;
}

struct tls_conn *tls_conn_dial(const char *hostport, const struct tls_pki *pki,
			       const struct tls_conn_expect *want, int timeout_ms, char *err,
			       size_t errlen)
{
	int fd = tcp_connect(hostport, timeout_ms, err, errlen);

	if (fd < 0)
		return NULL;
	if (!pki)
		return tls_conn_plain(fd, hostport);
	return tls_conn_handshake(fd, hostport, pki, want, timeout_ms, err, errlen);
}

/* A record's outcome r (bytes, 0 at the end, or a GnuTLS error) as tls_conn_read reports
 * it: -2 to go on, FDIO_EOF, or -1 with errno. */
static int record_end(struct tls_conn *c, ssize_t r, size_t got)
{
	if (r == GNUTLS_E_PREMATURE_TERMINATION)
		r = 0; /* closed without a close_notify: as a plain close */
	if (r < 0 && !gnutls_error_is_fatal((int)r))
		return -2;
	if (r == GNUTLS_E_PULL_ERROR) {
		errno = ECONNRESET; /* the peer is gone (reset, killed) */
		return -1;
	}
	if (r == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		snprintf(c->why, sizeof(c->why), "TLS: the peer refused us: %s",
			 gnutls_alert_get_name(gnutls_alert_get(c->session)));
		errno = EPROTO;
		return -1;
	}
	if (r < 0) {
		snprintf(c->why, sizeof(c->why), "TLS: %s", gnutls_strerror((int)r));
		errno = EPROTO;
		return -1;
	}
	if (got)
		errno = ECONNRESET;
	return got ? -1 : FDIO_EOF;
}

int tls_conn_read(struct tls_conn *c, void *buf, size_t n, int64_t deadline_ms)
{
	uint8_t *p = buf;
	size_t got = 0;

	if (!c->session)
		return fdio_read_all(c->fd, buf, n, deadline_ms);
	if (c->has_peek && n) {
		p[got++] = c->peek;
		c->has_peek = false;
	}
	while (got < n) {
		ssize_t r;
		int rc;

		if (c->has_end) {
			c->has_end = false;
			r = c->end;
		} else {
			r = gnutls_record_recv(c->session, p + got, n - got);
		}
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (wait_fd(c->fd, direction(c), deadline_ms))
				return -1;
			continue;
		}
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		rc = record_end(c, r, got);
		if (rc != -2)
			return rc;
	}
	return FDIO_OK;
}

int tls_conn_write(struct tls_conn *c, const void *buf, size_t n)
{
	int64_t deadline = mono_clock_ms() + c->write_ms;
	const uint8_t *p = buf;

	while (n) {
		short ev = POLLOUT;
		ssize_t w;

		if (c->session) {
			w = gnutls_record_send(c->session, p, n);
			if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
				ev = direction(c);
				w = -2;
			} else if (w == GNUTLS_E_PUSH_ERROR) {
				errno = EPIPE; /* the peer is gone */
				return -1;
			} else if (w < 0) {
				snprintf(c->why, sizeof(c->why), "TLS: %s",
					 gnutls_strerror((int)w));
				errno = EPROTO;
				return -1;
			}
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				w = -2;
			else if (w < 0)
				return -1;
		}
		if (w == -2) {
			if (wait_fd(c->fd, ev, deadline))
				return -1;
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tls_conn_wait(struct tls_conn *c, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? MONO_NEVER : mono_clock_ms() + timeout_ms;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};

	if (c->has_peek || c->has_end ||
	    (c->session && gnutls_record_check_pending(c->session) > 0))
		return 1;
	for (;;) {
		int r = poll(&p, 1, mono_clock_ms_left(deadline));
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : 0;
		if (!c->session)
			return 1;
		/* A record may carry no data (a TLS 1.3 session ticket, a key update): only data,
		 * or the end, counts. */
		n = gnutls_record_recv(c->session, &c->peek, 1);
		if (n == 1) {
			c->has_peek = true;
			return 1;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED ||
		    (n < 0 && n != GNUTLS_E_PREMATURE_TERMINATION &&
		     !gnutls_error_is_fatal((int)n)))
			continue;
		c->has_end = true;
		c->end = (int)n;
		return 1;
	}
}

void tls_conn_shutdown(struct tls_conn *c)
{
	shutdown(c->fd, SHUT_RDWR);
}

void tls_conn_close(struct tls_conn *c)
{
	if (!c)
		return;
	if (c->budget)
		mem_budget_hold(c->budget, &c->held, 0);
	if (c->session) {
		/* Best effort: a peer that reads nothing does not get to hold us here. */
		gnutls_bye(c->session, GNUTLS_SHUT_WR);
		gnutls_deinit(c->session);
	}
	close(c->fd);
	free(c);
}

const char *tls_conn_strerror(const struct tls_conn *c, int err)
{
	if (err == EPROTO && c->why[0])
		return c->why;
	return fdio_strerror(err);
}

const char *tls_conn_who(const struct tls_conn *c, char *out, size_t len)
{
	char id[96];

	if (!c->session)
		snprintf(out, len, "%s (no TLS)", c->addr);
	else
		snprintf(out, len, "%s at %s", tls_pki_id_text(&c->peer, id, sizeof(id)), c->addr);
	return out;
}
