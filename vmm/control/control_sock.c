/* control_sock.c: the control socket: listen, accept one client at a time, read its command
 * line and write the answer (control_cmds.c). */
#include "control_sock.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_cmds.h"
#include "lib/fdio.h"
#include "lib/log.h"

#define CMD_MAX	       320
#define CLIENT_WAIT_MS 2000 /* a client that sends nothing cannot hold the socket longer */

struct control_sock {
	int fd, stop_fd;
	char path[108];
	struct control_sock_target t;
	pthread_t thread;
};

static void answer(struct control_sock *cs, int fd, const char *cmd)
{
	static const char oom[] = "{\"error\": \"out of memory\"}\n";
	char *line = control_cmds_answer(&cs->t, cmd);

	if (line ? fdio_write_all(fd, line, strlen(line)) : fdio_write_all(fd, oom, strlen(oom)))
		log_debug("control: client went away before the answer");
	free(line);
}

static void serve_client(struct control_sock *cs, int fd)
{
	char cmd[CMD_MAX + 1];
	size_t len = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (len < CMD_MAX && poll(&p, 1, CLIENT_WAIT_MS) == 1) {
		ssize_t n = read(fd, cmd + len, CMD_MAX - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(cmd, '\n', len))
			break;
	}
	cmd[len] = '\0';
	cmd[strcspn(cmd, "\r\n")] = '\0';
	if (len)
		answer(cs, fd, cmd);
}

static void *control_thread(void *arg)
{
	struct control_sock *cs = arg;
	struct pollfd fds[2] = {{.fd = cs->fd, .events = POLLIN},
				{.fd = cs->stop_fd, .events = POLLIN}};

	for (;;) {
		int c;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		if (!(fds[0].revents & POLLIN))
			continue;
		c = accept4(cs->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve_client(cs, c);
		close(c);
	}
	return NULL;
}

int control_sock_start(struct control_sock **out, const char *path,
		       const struct control_sock_target *t)
{
	struct control_sock *cs = calloc(1, sizeof(*cs));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t salen = sizeof(sa);
	int err;

	if (!cs)
		return -1;
	if (strlen(path) >= sizeof(sa.sun_path) || !path[0] || !strcmp(path, "@")) {
		log_error("control socket path '%s' is empty or longer than %zu bytes", path,
			  sizeof(sa.sun_path) - 1);
		free(cs);
		return -1;
	}
	/* "@name" is Linux's abstract namespace: no file, so it works on any filesystem
	 * (network filesystems cannot hold sockets) and vanishes with the process. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (path[0] == '@') {
		sa.sun_path[0] = '\0';
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	}
	snprintf(cs->path, sizeof(cs->path), "%s", path);
	cs->t = *t;
	cs->stop_fd = eventfd(0, EFD_CLOEXEC);
	cs->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (path[0] != '@')
		unlink(path);
	err = cs->fd < 0 || cs->stop_fd < 0 || bind(cs->fd, (struct sockaddr *)&sa, salen) ||
			      listen(cs->fd, 8)
		      ? errno
		      : pthread_create(&cs->thread, NULL, control_thread, cs);
	if (err) {
		log_error("cannot serve control socket '%s': %s%s", path, strerror(err),
			  err == ENXIO || err == EOPNOTSUPP
				  ? " (this filesystem cannot hold sockets; try '@NAME')"
				  : "");
		if (cs->fd >= 0)
			close(cs->fd);
		if (cs->stop_fd >= 0)
			close(cs->stop_fd);
		free(cs);
		return -1;
	}
	*out = cs;
	return 0;
}

void control_sock_stop(struct control_sock *cs)
{
	uint64_t one = 1;

	if (!cs)
		return;
	if (write(cs->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(cs->thread, NULL);
	close(cs->fd);
	close(cs->stop_fd);
	if (cs->path[0] != '@')
		unlink(cs->path);
	free(cs);
}
