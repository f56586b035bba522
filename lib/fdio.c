/* fdio.c: whole-buffer socket and pipe I/O with deadlines. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdio.h"
#include "mono_clock.h"

int fdio_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	int is_socket = 1;

	while (n) {
		ssize_t w = is_socket ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);

		if (w < 0 && errno == ENOTSOCK && is_socket) {
			is_socket = 0;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EPIPE;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int fdio_read_all(int fd, void *buf, size_t n, int64_t deadline_ms)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < n) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int pr = poll(&pf, 1, mono_clock_ms_left(deadline_ms));
		ssize_t r;

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -1;
		if (pr == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = read(fd, p + got, n - got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			if (!got)
				return FDIO_EOF;
			errno = ECONNRESET;
			return -1;
		}
		got += (size_t)r;
	}
	return FDIO_OK;
}

const char *fdio_strerror(int err)
{
	switch (err) {
	case ETIMEDOUT:
		return "timed out waiting for the peer";
	case ECONNRESET:
		return "the peer closed the connection";
	case EPIPE:
		return "the peer is gone";
	default:
		return strerror(err);
	}
}
