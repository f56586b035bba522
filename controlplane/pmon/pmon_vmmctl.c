/* pmon_vmmctl.c: the client side of lego-vmm's control socket (vmm/control/control_sock.c). */
#include "pmon_vmmctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/mono_clock.h"
#include "lib/proto/cluster_proto.h"
#include "pmon_vms.h"

/* Wait for ev on fd until deadline; 0, or -1 with errno (ETIMEDOUT when it passed). */
static int wait_for(int fd, short ev, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = ev};
		int left = mono_clock_ms_left(deadline), rc;

		if (!left) {
			errno = ETIMEDOUT;
			return -1;
		}
		rc = poll(&p, 1, left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* The answer goes to another host as text: only printable ASCII. */
static int printable(const char *line, const char *path, char *err, size_t errlen)
{
	for (const char *c = line; *c; c++) {
		if (*c < 0x20 || *c > 0x7e) {
			snprintf(err, errlen,
				 "lego-vmm's control socket %s answered with a non-printable byte "
				 "0x%02x",
				 path, (unsigned char)*c);
			return -1;
		}
	}
	return 0;
}

int pmon_vmmctl_command(const char *path, const char *cmd, int timeout_ms, char *out, size_t outlen,
			char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = mono_clock_ms() + timeout_ms;
	char req[CP_CMD_MAX + 2];
	size_t got = 0, reqlen = (size_t)snprintf(req, sizeof(req), "%s\n", cmd), sent = 0;
	int fd = -1;
	const char *what = "connect";

	if (strlen(path) >= sizeof(sa.sun_path) || reqlen >= sizeof(req)) {
		snprintf(err, errlen, "control socket path or command too long");
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto fail;
	what = "send to";
	while (sent < reqlen) {
		ssize_t w = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_for(fd, POLLOUT, deadline))
				goto fail;
			continue;
		}
		if (w < 0)
			goto fail;
		sent += (size_t)w;
	}
	what = "read from";
	while (got < outlen - 1) {
		ssize_t r = recv(fd, out + got, outlen - 1 - got, 0);
		char *nl;

		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_for(fd, POLLIN, deadline))
				goto fail;
			continue;
		}
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		got += (size_t)r;
		out[got] = '\0';
		nl = memchr(out, '\n', got);
		if (nl) {
			*nl = '\0';
			close(fd);
			return printable(out, path, err, errlen);
		}
	}
	close(fd);
	snprintf(err, errlen,
		 "lego-vmm's control socket %s gave no complete answer line (%zu bytes)", path,
		 got);
	return -1;
fail:
	snprintf(err, errlen, "cannot %s lego-vmm's control socket %s: %s", what, path,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}
