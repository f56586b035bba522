/* pmon_vmmctl.c: the client side of lego-vmm's control socket (vmm/control/control_sock.c). */
#include "pmon_vmmctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/proto/cluster_proto.h"
#include "pmon_vms.h"

#define CONNECT_POLL_MS 20 /* how often a missing control socket is looked for */

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

/* Connect to the socket at sa (path), waiting for it as w says: the socket, or -1 with err. */
static int connect_waiting(const struct sockaddr_un *sa, const struct pmon_vmmctl_wait *w,
			   const char *path, char *err, size_t errlen)
{
	int64_t t0 = mono_clock_ms(), until = t0 + (w ? w->wait_ms : 0);

	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), e;

		if (fd < 0) {
			snprintf(err, errlen, "cannot make a socket: %s", strerror(errno));
			return -1;
		}
		if (!connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
			if (mono_clock_ms() - t0 >= CONNECT_POLL_MS)
				log_debug("lego-vmm's control socket %s answered after %lld ms",
					  path, (long long)(mono_clock_ms() - t0));
			return fd;
		}
		e = errno;
		close(fd);
		/* Not made yet, or made but not listening yet: a new lego-vmm opens its RAM
		 * first. Anything else, a lego-vmm that ended, or the wait over: failed. */
		if ((e != ENOENT && e != ECONNREFUSED) || !w) {
			snprintf(err, errlen, "cannot connect to lego-vmm's control socket %s: %s",
				 path, strerror(e));
			return -1;
		}
		if (w->alive && !w->alive(w->ctx)) {
			snprintf(err, errlen,
				 "lego-vmm ended before its control socket %s answered (%s)", path,
				 strerror(e));
			return -1;
		}
		if (mono_clock_ms() >= until) {
			snprintf(
				err, errlen,
				"lego-vmm's control socket %s does not answer after %d ms (%s): is "
				"it still opening its RAM?",
				path, w->wait_ms, strerror(e));
			return -1;
		}
		usleep(CONNECT_POLL_MS * 1000);
	}
}

int pmon_vmmctl_command(const char *path, const char *cmd, int timeout_ms,
			const struct pmon_vmmctl_wait *wait, char *out, size_t outlen, char *err,
			size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline;
	char req[CP_CMD_MAX + 2];
	size_t got = 0, reqlen = (size_t)snprintf(req, sizeof(req), "%s\n", cmd), sent = 0;
	int fd = -1;
	const char *what = "send to";

	if (strlen(path) >= sizeof(sa.sun_path) || reqlen >= sizeof(req)) {
		snprintf(err, errlen, "control socket path or command too long");
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = connect_waiting(&sa, wait, path, err, errlen);
	deadline = mono_clock_ms() + timeout_ms;
	if (fd < 0)
		return -1;
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
