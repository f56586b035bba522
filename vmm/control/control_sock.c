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

#include "lib/log.h"
#include "vmm/migration/migrate.h"
#include "vmm/memory/pager.h"
#include "lib/parse.h"
#include "vmm/memory/remote_mem.h"
#include "lib/strbuf.h"
#include "vmm/kvm/vm.h"

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

/* "IDX@HOST:PORT" of the region commands. */
static int region_arg(const char *arg, int *idx, const char **addr)
{
	const char *at = strchr(arg, '@');
	char num[16];
	uint64_t v;

	if (!at || at == arg || (size_t)(at - arg) >= sizeof(num))
		return -1;
	memcpy(num, arg, (size_t)(at - arg));
	num[at - arg] = '\0';
	if (parse_uint(num, 0, INT32_MAX, &v) || !mp_addr_ok(at + 1, false))
		return -1;
	*idx = (int)v;
	*addr = at + 1;
	return 0;
}

/* regions, region-add, region-live, region-drop: the vRegions' copies (remote_mem.h). */
static void answer_regions(struct control_sock *cs, int fd, const char *cmd)
{
	struct remote_mem *rm = cs->t.rm;
	struct strbuf b;
	char err[400] = "";
	const char *addr;
	int idx, rc = 0;

	sb_init(&b, 1 << 20);
	if (!rm) {
		snprintf(err, sizeof(err), "this vNode's RAM is not on memory servers");
	} else if (!strcmp(cmd, "regions")) {
		remote_mem_describe(rm, &b);
	} else if (!strncmp(cmd, "server-lost ", 12)) {
		if (!mp_addr_ok(cmd + 12, false)) {
			snprintf(err, sizeof(err), "server-lost takes HOST:PORT");
		} else {
			int orphans = remote_mem_server_lost(rm, cmd + 12);

			log_info("control: %.80s: %d vRegion(s) left without a copy", cmd, orphans);
			sb_printf(&b, "{\"server\": \"%s\", \"orphaned_regions\": %d}", cmd + 12,
				  orphans);
			if (orphans && cs->t.pg)
				pager_fail(cs->t.pg);
		}
	} else if (region_arg(strchr(cmd, ' ') + 1, &idx, &addr)) {
		snprintf(err, sizeof(err), "%.12s takes INDEX@HOST:PORT", cmd);
	} else if (migrate_busy(cs->t.mig)) {
		snprintf(err, sizeof(err), "a migration is under way");
	} else {
		if (!strncmp(cmd, "region-add ", 11))
			rc = remote_mem_add_copy(rm, idx, addr, err, sizeof(err));
		else if (!strncmp(cmd, "region-live ", 12))
			rc = remote_mem_copy_live(rm, idx, addr, err, sizeof(err));
		else
			rc = remote_mem_drop_copy(rm, idx, addr, err, sizeof(err));
		if (!rc)
			sb_printf(&b, "{\"region\": %d, \"server\": \"%s\", \"done\": \"%.*s\"}",
				  idx, addr, (int)strcspn(cmd + 7, " "), cmd + 7);
		log_info("control: %.80s%s%s", cmd, rc ? " refused: " : "", rc ? err : "");
	}
	if (err[0]) {
		b.len = 0;
		b.failed = false;
		sb_printf(&b, "{\"error\": ");
		sb_json_str(&b, err);
		sb_printf(&b, "}");
	}
	if (b.failed) {
		b.len = 0;
		b.failed = false;
		sb_printf(&b, "{\"error\": \"reply too long\"}");
	}
	sb_printf(&b, "\n");
	if (write(fd, b.p, b.len) != (ssize_t)b.len)
		log_debug("control: client went away before the answer");
	sb_free(&b);
}

static void answer(struct control_sock *cs, int fd, const char *cmd)
{
	char out[2048];
	const char *err;
	int n;

	if (!strcmp(cmd, "regions") || !strncmp(cmd, "server-lost ", 12) ||
	    !strncmp(cmd, "region-add ", 11) || !strncmp(cmd, "region-live ", 12) ||
	    !strncmp(cmd, "region-drop ", 12)) {
		answer_regions(cs, fd, cmd);
		return;
	}
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
			     "\"migrate-resolve commit|abort\", \"regions\", "
			     "\"region-add INDEX@HOST:PORT\", \"region-live INDEX@HOST:PORT\", "
			     "\"region-drop INDEX@HOST:PORT\", \"server-lost HOST:PORT\", "
			     "\"help\"]}\n");
	} else {
		n = snprintf(out, sizeof(out),
			     "{\"error\": \"unknown command; try stats, flush, pause, resume, "
			     "migrate, migration, regions or help\"}\n");
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
