/* control_sock.c: accept loop and command handling for the control socket. */
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

#include "log.h"
#include "pager.h"

#define CMD_MAX	       64
#define CLIENT_WAIT_MS 2000 /* a client that sends nothing cannot hold the socket longer */

struct control_sock {
	int fd, stop_fd;
	char path[108];
	uint64_t vnode;
	struct pager *pg;
	pthread_t thread;
};

static void answer(struct control_sock *cs, int fd, const char *cmd)
{
	char out[2048];
	int n;

	if (!strcmp(cmd, "stats")) {
		struct pager_stats st;
		char js[1536];

		if (cs->pg) {
			pager_get_stats(cs->pg, &st);
			pager_stats_json(&st, js, sizeof(js));
		} else {
			snprintf(js, sizeof(js), "null");
		}
		n = snprintf(out, sizeof(out), "{\"vnode\": %llu, \"pager\": %s}\n",
			     (unsigned long long)cs->vnode, js);
	} else if (!strcmp(cmd, "flush")) {
		int64_t pages = cs->pg ? pager_flush(cs->pg) : 0;

		if (pages < 0)
			n = snprintf(out, sizeof(out),
				     "{\"error\": \"flush failed: memory server lost\"}\n");
		else
			n = snprintf(out, sizeof(out), "{\"flushed_pages\": %lld}\n",
				     (long long)pages);
	} else if (!strcmp(cmd, "help")) {
		n = snprintf(out, sizeof(out),
			     "{\"commands\": [\"stats\", \"flush\", \"help\"]}\n");
	} else {
		n = snprintf(out, sizeof(out),
			     "{\"error\": \"unknown command; try stats, flush or help\"}\n");
	}
	if (write(fd, out, (size_t)n) != n)
		log_debug("control: client went away before the answer");
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

int control_sock_start(struct control_sock **out, const char *path, uint64_t vnode,
		       struct pager *pg)
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
	cs->vnode = vnode;
	cs->pg = pg;
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
