/* migrate_io.c: whole messages over the migration socket, with deadlines. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/cluster/cluster_io.h"
#include "lib/proto/mig_proto.h"
#include "migrate.h"

uint64_t mig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int mig_send(int fd, uint16_t type, const void *payload, size_t len)
{
	uint8_t small[MIG_HDR_LEN + 4096];

	if (len > MIG_MAX_PAYLOAD)
		return -1;
	mig_hdr_put(small, type, (uint32_t)len);
	/* A short message leaves in one segment (the socket has TCP_NODELAY). */
	if (len <= sizeof(small) - MIG_HDR_LEN) {
		if (len)
			memcpy(small + MIG_HDR_LEN, payload, len);
		return cio_write_all(fd, small, MIG_HDR_LEN + len);
	}
	if (cio_write_all(fd, small, MIG_HDR_LEN))
		return -1;
	return cio_write_all(fd, payload, len);
}

/* Read exactly len bytes before the deadline. */
static int read_full(int fd, void *buf, size_t len, uint64_t deadline, char *why, size_t why_len)
{
	size_t got = 0;

	while (got < len) {
		uint64_t now = mig_now_ns();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (now >= deadline) {
			snprintf(why, why_len, "timed out waiting for the peer");
			return -1;
		}
		if (poll(&p, 1, (int)((deadline - now) / 1000000 + 1)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(why, why_len, "poll: %s", strerror(errno));
			return -1;
		}
		if (!p.revents)
			continue;
		n = read(fd, (uint8_t *)buf + got, len - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(why, why_len, "%s",
				 n ? strerror(errno) : "the peer closed the connection");
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int mig_recv(int fd, int timeout_ms, uint16_t *type, uint8_t **payload, uint32_t *len, char *why,
	     size_t why_len)
{
	uint64_t deadline = mig_now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	uint8_t hdr[MIG_HDR_LEN];
	struct mig_hdr h;
	const char *bad;

	*payload = NULL;
	if (read_full(fd, hdr, sizeof(hdr), deadline, why, why_len))
		return -1;
	if (mig_hdr_get(hdr, &h, &bad)) {
		snprintf(why, why_len, "malformed message: %s", bad);
		return -1;
	}
	if (h.len) {
		*payload = malloc(h.len + 1); /* +1: an ERROR's text gets a NUL */
		if (!*payload) {
			snprintf(why, why_len, "out of memory for a %u-byte message", h.len);
			return -1;
		}
		if (read_full(fd, *payload, h.len, deadline, why, why_len)) {
			free(*payload);
			*payload = NULL;
			return -1;
		}
		(*payload)[h.len] = 0;
	}
	*type = h.type;
	*len = h.len;
	return 0;
}
