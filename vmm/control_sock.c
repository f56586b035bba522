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
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "migrate.h"
#include "pager.h"
#include "vm.h"

#define CMD_MAX	       320
#define CLIENT_WAIT_MS 2000 /* a client that sends nothing cannot hold the socket longer */

struct control_sock {
	int fd, stop_fd;
	char path[108];
	struct control_target t;
	pthread_t thread;
};

static int answer_stats(struct control_sock *cs, char *out, size_t len)
{
	const struct control_target *t = &cs->t;
	struct pager_stats st;
	char js[1536];

	if (t->pg) {
		pager_get_stats(t->pg, &st);
		pager_stats_json(&st, js, sizeof(js));
	} else {
		snprintf(js, sizeof(js), "null");
	}
	return snprintf(
		out, len,
		"{\"vnode\": %llu, \"state\": \"%s\", \"vcpus\": %d, \"mem_bytes\": %llu, "
		"\"cpu_time_ns\": %llu, \"console_bytes\": %llu, \"pager\": %s}\n",
		(unsigned long long)t->vnode, vm_is_paused(t->vm) ? "paused" : "running", t->vcpus,
		(unsigned long long)t->mem_bytes, (unsigned long long)vm_vcpu_cpu_ns(t->vm),
		(unsigned long long)__atomic_load_n(t->console_bytes, __ATOMIC_RELAXED), js);
}

static void answer(struct control_sock *cs, int fd, const char *cmd)
{
	char out[2048];
	const char *err;
	int n;

	if (!strcmp(cmd, "stats")) {
		n = answer_stats(cs, out, sizeof(out));
	} else if (!strcmp(cmd, "flush")) {
		int64_t pages = cs->t.pg ? pager_flush(cs->t.pg) : 0;

		if (pages < 0)
			n = snprintf(out, sizeof(out),
				     "{\"error\": \"flush failed: memory server lost\"}\n");
		else
			n = snprintf(out, sizeof(out), "{\"flushed_pages\": %lld}\n",
				     (long long)pages);
	} else if (!strcmp(cmd, "migration")) {
		n = migrate_status_json(cs->t.mig, out, sizeof(out) - 1);
		if (n > 0 && (size_t)n < sizeof(out) - 1)
			out[n++] = '\n';
	} else if (!strncmp(cmd, "migrate ", 8) || !strcmp(cmd, "migrate-cancel") ||
		   !strncmp(cmd, "migrate-resolve ", 16)) {
		const char *done;

		if (!strncmp(cmd, "migrate ", 8)) {
			err = migrate_start(cs->t.mig, cmd + 8);
			done = "started";
		} else if (!strcmp(cmd, "migrate-cancel")) {
			err = migrate_cancel(cs->t.mig);
			done = "cancelling";
		} else {
			done = "resolved";
			if (!strcmp(cmd + 16, "commit") || !strcmp(cmd + 16, "abort"))
				err = migrate_resolve(cs->t.mig, !strcmp(cmd + 16, "commit"));
			else
				err = "migrate-resolve takes commit or abort";
		}
		if (err)
			n = snprintf(out, sizeof(out), "{\"error\": \"%s\"}\n", err);
		else
			n = snprintf(out, sizeof(out), "{\"migration\": \"%s\"}\n", done);
		log_info("control: %.40s%s%s", cmd, err ? " refused: " : "", err ? err : "");
	} else if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume")) {
		bool pause = !strcmp(cmd, "pause");
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (migrate_busy(cs->t.mig))
			err = "a migration is under way";
		else
			err = pause ? vm_pause(cs->t.vm) : vm_resume(cs->t.vm);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (err)
			n = snprintf(out, sizeof(out), "{\"error\": \"%s: %s\"}\n", cmd, err);
		else
			n = snprintf(out, sizeof(out), "{\"state\": \"%s\"}\n",
				     pause ? "paused" : "running");
		/* How long the vCPUs took to park matters to whoever pauses (migration). */
		log_info("control: %s%s%s (%.1f ms)", cmd, err ? " refused: " : "", err ? err : "",
			 (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
				 (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	} else if (!strcmp(cmd, "help")) {
		n = snprintf(out, sizeof(out),
			     "{\"commands\": [\"stats\", \"flush\", \"pause\", \"resume\", "
			     "\"migrate HOST:PORT\", \"migration\", \"migrate-cancel\", "
			     "\"migrate-resolve commit|abort\", \"help\"]}\n");
	} else {
		n = snprintf(out, sizeof(out),
			     "{\"error\": \"unknown command; try stats, flush, pause, resume, "
			     "migrate, migration or help\"}\n");
	}
	if (n < 0 || (size_t)n >= sizeof(out))
		n = snprintf(out, sizeof(out), "{\"error\": \"reply too long\"}\n");
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

int control_sock_start(struct control_sock **out, const char *path, const struct control_target *t)
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
