/* pmon_ready.c: waiting for a new lego-vmm to report its vNode running, and its own reason
 * when it ends first. */
#include "pmon_ready.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/uuid_str.h"
#include "pmon_spawn.h"
#include "pmon_vmmctl.h"

#define ASK_TIMEOUT_MS 2000
#define POLL_MS	       20
#define LOG_TAIL       8192 /* the end of the log is enough for its last error */

/* The lego-vmm being waited for. */
struct target {
	struct pmon_ctx *p;
	const uint8_t *uuid;
	pid_t pid;
};

/* Its record, if it is still that process: live or not (under the lock). */
static struct pmon_vms_entry *record(const struct target *t)
{
	struct pmon_vms_entry *v = pmon_vms_find(&t->p->vms, t->uuid);

	return v && v->pid == t->pid ? v : NULL;
}

static bool alive(void *arg)
{
	const struct target *t = arg;
	struct pmon_vms_entry *v;
	bool live;

	pthread_mutex_lock(&t->p->vms.lock);
	v = record(t);
	live = v && pmon_vms_live(v);
	pthread_mutex_unlock(&t->p->vms.lock);
	return live;
}

void pmon_ready_reason(const char *run_dir, const char *id, char *out, size_t outlen)
{
	char path[PMON_SPAWN_PATH_MAX], buf[LOG_TAIL + 1], *line, *save = NULL;
	const char *last = "", *last_error = NULL;
	off_t end;
	ssize_t n;
	int fd;

	out[0] = '\0';
	pmon_spawn_path(path, run_dir, id, "log");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	n = end < 0 ? -1 : pread(fd, buf, LOG_TAIL, end > LOG_TAIL ? end - LOG_TAIL : 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *e = strstr(line, "] error: ");

		if (e)
			last_error = e + 9;
		last = line;
	}
	snprintf(out, outlen, "%s", last_error ? last_error : last);
	/* What lego-vmm printed goes to a client: only printable text. */
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
}

/* It ended: its status and its reason into err. */
static enum cluster_proto_status ended(const struct target *t, const char *id, const char *name,
				       char *err, size_t errlen)
{
	char why[512];
	int status = -1, exec_errno = 0;
	struct pmon_vms_entry *v;

	for (int i = 0; i < 100; i++) { /* the reaper records the exit within moments */
		pthread_mutex_lock(&t->p->vms.lock);
		v = record(t);
		if (v && !pmon_vms_live(v)) {
			status = v->exit_status;
			exec_errno = v->exec_errno;
		}
		pthread_mutex_unlock(&t->p->vms.lock);
		if (status >= 0)
			break;
		usleep(POLL_MS * 1000);
	}
	if (exec_errno)
		snprintf(why, sizeof(why), "lego-vmm could not be executed: %s",
			 strerror(exec_errno));
	else
		pmon_ready_reason(t->p->run_dir, id, why, sizeof(why));
	snprintf(err, errlen, "vNode %s: lego-vmm exited with status %d before running it%s%s",
		 name, status, why[0] ? ": " : "", why);
	log_error("%s", err);
	return CP_EIO;
}

enum cluster_proto_status pmon_ready_wait(struct pmon_ctx *p, const uint8_t uuid[16], pid_t pid,
					  char *err, size_t errlen)
{
	struct target t = {.p = p, .uuid = uuid, .pid = pid};
	int64_t deadline = mono_clock_ms() + p->start_wait_ms;
	char sock[PMON_SPAWN_PATH_MAX], id[UUID_STR_LEN], name[CP_NAME_LEN + 1] = "";
	char answer[4096], why[512] = "no answer yet";
	struct pmon_vms_entry *v;

	if (!p->start_wait_ms)
		return CP_OK;
	uuid_str_format(uuid, id);
	pthread_mutex_lock(&p->vms.lock);
	v = record(&t);
	if (v)
		snprintf(name, sizeof(name), "%s", v->name);
	pthread_mutex_unlock(&p->vms.lock);
	pmon_spawn_path(sock, p->run_dir, id, "sock");
	while (mono_clock_ms() < deadline) {
		int64_t left = deadline - mono_clock_ms();
		struct pmon_vmmctl_wait w = {
			.wait_ms = (int)(left > 0 ? left : 0), .alive = alive, .ctx = &t};

		if (!alive(&t))
			return ended(&t, id, name, err, errlen);
		if (pmon_vmmctl_command(sock, "stats", ASK_TIMEOUT_MS, &w, answer, sizeof(answer),
					why, sizeof(why))) {
			usleep(POLL_MS * 1000);
			continue;
		}
		if (strstr(answer, "\"state\": \"running\"") ||
		    strstr(answer, "\"state\": \"paused\""))
			return 0;
		snprintf(why, sizeof(why), "it says %.200s", answer);
		usleep(POLL_MS * 1000);
	}
	if (!alive(&t))
		return ended(&t, id, name, err, errlen);
	/* Neither running nor ended: a start that cannot be answered is not left half done. */
	pthread_mutex_lock(&p->vms.lock);
	v = record(&t);
	if (v && pmon_vms_live(v)) {
		kill(pid, SIGTERM);
		v->kill_at = mono_clock_ms() + 2000;
	}
	pthread_mutex_unlock(&p->vms.lock);
	pmon_loop_wake(p);
	snprintf(err, errlen,
		 "vNode %s: lego-vmm did not report it running within %d ms (last: %s): stopped",
		 name, p->start_wait_ms, why);
	log_error("%s", err);
	return CP_EIO;
}
