/* cluster_io.c: framing of cluster-protocol messages over blocking TCP sockets. */
#include "cluster_io.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/mono_clock.h"
#include "lib/parse.h"
#include "lib/proto/cluster_proto.h"

static struct addrinfo *resolve(const char *hostport, bool passive, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	char host[256], port[16];
	int rc;

	if (parse_hostport(hostport, 0, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "'%s' is not HOST:PORT", hostport);
		return NULL;
	}
	if (passive)
		hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve '%s': %s", hostport, gai_strerror(rc));
		return NULL;
	}
	return res;
}

int cluster_io_connect(const char *hostport, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo *res = resolve(hostport, false, err, errlen);
	int fd = -1, one = 1;

	if (!res)
		return -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		struct pollfd p;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			snprintf(err, errlen, "cannot connect to %s: %s", hostport,
				 strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)
			goto next;
		p = (struct pollfd){.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, timeout_ms) != 1) {
			errno = ETIMEDOUT;
			goto next;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
			errno = soerr ? soerr : errno;
			goto next;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		freeaddrinfo(res);
		return fd;
	next:
		snprintf(err, errlen, "cannot connect to %s: %s", hostport, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return -1;
}

int cluster_io_listen(const char *hostport, char *port, size_t plen, char *err, size_t errlen)
{
	struct addrinfo *res = resolve(hostport, true, err, errlen);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, one = 1;

	if (!res)
		return -1;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		snprintf(err, errlen, "cannot listen on %s: %s", hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	snprintf(port, plen, "%u",
		 ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port));
	return fd;
}

int cluster_io_send(int fd, uint16_t op, uint64_t id, uint32_t status, const void *payload,
		    size_t len)
{
	uint8_t hdr[CP_HDR_LEN];

	if (len > CP_MAX_PAYLOAD)
		return -1;
	wire_hdr_put(hdr, &(struct wire_hdr){.magic = CP_MAGIC,
					     .version = CP_VERSION,
					     .op = op,
					     .id = id,
					     .status = status,
					     .len = (uint32_t)len});
	if (len == 0)
		return fdio_write_all(fd, hdr, sizeof(hdr));
	/* One segment for small messages: two writes would cost a round trip with Nagle off
	 * on some stacks. */
	if (len <= 4096) {
		uint8_t buf[CP_HDR_LEN + 4096];

		memcpy(buf, hdr, sizeof(hdr));
		memcpy(buf + CP_HDR_LEN, payload, len);
		return fdio_write_all(fd, buf, CP_HDR_LEN + len);
	}
	return fdio_write_all(fd, hdr, sizeof(hdr)) || fdio_write_all(fd, payload, len) ? -1 : 0;
}

int cluster_io_send_error(int fd, const struct wire_hdr *h, uint32_t status, const char *fmt, ...)
{
	uint8_t text[CP_ERRTEXT_MAX];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = wire_text_vput(text, sizeof(text), fmt, ap);
	va_end(ap);
	return cluster_io_send(fd, (uint16_t)(h->op | CP_REPLY), h->id, status, text, n);
}

/* A deadline timeout_ms from now, for fdio_read_all (-1: none). */
static int64_t deadline_in(int timeout_ms)
{
	return timeout_ms < 0 ? MONO_NEVER : mono_clock_ms() + timeout_ms;
}

enum cluster_io_recv_result cluster_io_recv(int fd, int timeout_ms, struct wire_hdr *h,
					    uint8_t **payload, char *err, size_t errlen)
{
	uint8_t hdr[CP_HDR_LEN], *buf;
	uint32_t len;
	int rc = fdio_read_all(fd, hdr, sizeof(hdr), deadline_in(timeout_ms));

	*payload = NULL;
	if (rc == FDIO_EOF)
		return CIO_EOF;
	if (rc != FDIO_OK) {
		snprintf(err, errlen, "connection failed or timed out");
		return CIO_FAILED;
	}
	len = wire_get_le32(hdr + 20);
	/* Magic, version and reserved bytes before waiting for a payload: a peer speaking
	 * something else gets its error reply rather than a timeout or a silent close. */
	switch (wire_hdr_get(hdr, (size_t)CP_HDR_LEN + len, CP_MAGIC, CP_VERSION, CP_MAX_PAYLOAD, h,
			     err, errlen)) {
	case WIRE_HDR_OK:
		break;
	case WIRE_HDR_BAD:
		return CIO_BAD;
	case WIRE_HDR_TOOBIG:
		snprintf(err, errlen, "message longer than the protocol allows");
		return CIO_FAILED;
	}
	buf = malloc((size_t)CP_HDR_LEN + len + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return CIO_FAILED;
	}
	memcpy(buf, hdr, sizeof(hdr));
	if (len && fdio_read_all(fd, buf + CP_HDR_LEN, len, deadline_in(timeout_ms)) != FDIO_OK) {
		free(buf);
		snprintf(err, errlen, "connection failed or timed out inside a message");
		return CIO_FAILED;
	}
	buf[CP_HDR_LEN + len] = '\0';
	if (cluster_proto_hdr_get(buf, (size_t)CP_HDR_LEN + len, h, err, errlen) != CP_OK) {
		free(buf);
		return CIO_BAD;
	}
	memmove(buf, buf + CP_HDR_LEN, (size_t)len + 1);
	*payload = buf;
	return CIO_MSG;
}

int cluster_io_call(int fd, uint16_t op, const void *req, size_t len, uint8_t **reply, size_t *rlen,
		    int timeout_ms, char *err, size_t errlen)
{
	static uint64_t next_id;
	uint64_t id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	struct wire_hdr h;
	uint8_t *p;
	char why[WIRE_TEXT_MAX];

	if (reply)
		*reply = NULL;
	if (rlen)
		*rlen = 0;
	if (cluster_io_send(fd, op, id, 0, req, len)) {
		snprintf(err, errlen, "cannot send: %s", strerror(errno));
		return -1;
	}
	switch (cluster_io_recv(fd, timeout_ms, &h, &p, why, sizeof(why))) {
	case CIO_MSG:
		break;
	case CIO_EOF:
		snprintf(err, errlen, "the peer closed the connection");
		return -1;
	default:
		snprintf(err, errlen, "bad reply: %s", why);
		return -1;
	}
	if (h.op != (op | CP_REPLY) || h.id != id) {
		snprintf(err, errlen, "reply does not match the request (op %u id %llu)", h.op,
			 (unsigned long long)h.id);
		free(p);
		return -1;
	}
	if (h.status != CP_OK) {
		snprintf(err, errlen, "%s",
			 h.len ? (char *)p : cluster_proto_status_name(h.status));
		free(p);
		return (int)h.status;
	}
	if (reply)
		*reply = p;
	else
		free(p);
	if (rlen)
		*rlen = h.len;
	return CP_OK;
}
