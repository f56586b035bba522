/* pmon_spawn.c: fork and exec of lego-vmm. The child only calls async-signal-safe
 * functions: the parent is multi-threaded. */
#include "pmon_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define EXIT_EXEC_FAILED 127

void pmon_spawn_path(char *out, const char *run_dir, const char *id, const char *ext)
{
	snprintf(out, PMON_SPAWN_PATH_MAX, "%s/%s.%s", run_dir, id, ext);
}

/* The operator reads the log: say what was started, and when. */
static void log_header(int fd, const struct pmon_spawn *s, char *const *argv)
{
	char line[8192];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	gmtime_r(&now, &tm);
	n = snprintf(line, sizeof(line),
		     "--- lego-pmon %04d-%02d-%02d %02d:%02d:%02d UTC: vNode %s (%s):",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     s->name, s->id);
	for (int i = 0; argv[i] && n > 0 && (size_t)n < sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %s", argv[i]);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(fd, line, (size_t)n) != n)
		(void)0; /* the log is for people; the vNode runs without it */
}

static void child(const char *vmm, char *const *argv, int null_fd, int log_fd, int report_fd,
		  int secret_fd)
{
	/* Out of the way of the fds set up next. */
	int sfd = secret_fd >= 0 ? fcntl(secret_fd, F_DUPFD_CLOEXEC, 10) : -1;
	sigset_t none;
	int e;

	setsid(); /* a terminal's Ctrl-C to lego-pmon must not reach the vNode */
	if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
		_exit(EXIT_EXEC_FAILED);
	/* The fd that reports exec failures is close-on-exec; everything else goes now. */
	if (report_fd != 3 && dup3(report_fd, 3, O_CLOEXEC) < 0)
		_exit(EXIT_EXEC_FAILED);
	/* The secret (its capabilities) stays open for lego-vmm as fd 4, and nowhere else. */
	if (secret_fd >= 0 && (sfd < 0 || dup2(sfd, 4) < 0))
		_exit(EXIT_EXEC_FAILED);
	syscall(SYS_close_range, secret_fd >= 0 ? 5U : 4U, ~0U, 0U);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Every signal's default action: an ignored one is inherited across exec (a shell
	 * ignores SIGINT and SIGQUIT for what it runs in the background, lego-pmon SIGPIPE), and
	 * the vNode must die of what kills a process. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	execv(vmm, argv);
	e = errno;
	if (write(3, &e, sizeof(e)) != sizeof(e))
		(void)0; /* the parent then sees only the exit status */
	_exit(EXIT_EXEC_FAILED);
}

pid_t pmon_spawn(const struct pmon_spawn *s, int *exec_errno, char *err, size_t errlen)
{
	char sock[PMON_SPAWN_PATH_MAX], console[PMON_SPAWN_PATH_MAX], logp[PMON_SPAWN_PATH_MAX],
		exitp[PMON_SPAWN_PATH_MAX], uid[24];
	char **argv = calloc((size_t)s->argc + 14, sizeof(*argv));
	int log_fd = -1, null_fd = -1, pfd[2] = {-1, -1}, n = 0, e = 0;
	pid_t pid = -1;
	ssize_t r;

	*exec_errno = 0;
	pmon_spawn_path(sock, s->run_dir, s->id, "sock");
	pmon_spawn_path(console, s->run_dir, s->id, "console");
	pmon_spawn_path(logp, s->run_dir, s->id, "log");
	pmon_spawn_path(exitp, s->run_dir, s->id, "exit");
	snprintf(uid, sizeof(uid), "%llu", (unsigned long long)s->vnode_uid);
	if (!argv) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	argv[n++] = (char *)s->vmm;
	for (uint32_t i = 0; i < s->argc; i++)
		argv[n++] = (char *)s->argv[i];
	if (s->remote) {
		argv[n++] = "--vnode-id";
		argv[n++] = uid;
		/* Only this host's certificate may carry the vNode's state to another. */
		if (s->pki_dir) {
			argv[n++] = "--pki";
			argv[n++] = (char *)s->pki_dir;
			argv[n++] = "--pki-name";
			argv[n++] = (char *)s->pki_name;
		} else {
			argv[n++] = "--insecure-migration";
		}
	}
	argv[n++] = "--control";
	argv[n++] = sock;
	argv[n++] = "--console";
	argv[n++] = console;
	argv[n++] = "--exit-file";
	argv[n++] = exitp;
	log_fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (log_fd < 0 || null_fd < 0 || pipe2(pfd, O_CLOEXEC)) {
		snprintf(err, errlen, "cannot prepare lego-vmm's files (%s): %s", logp,
			 strerror(errno));
		goto out;
	}
	/* A lego-vmm killed by SIGKILL leaves its socket behind; an earlier run, its status. */
	unlink(sock);
	unlink(exitp);
	log_header(log_fd, s, argv);
	pid = fork();
	if (pid == 0)
		child(s->vmm, argv, null_fd, log_fd, pfd[1], s->secret_fd);
	if (pid < 0) {
		snprintf(err, errlen, "cannot fork lego-vmm: %s", strerror(errno));
		goto out;
	}
	close(pfd[1]);
	pfd[1] = -1;
	/* EOF: the exec closed the pipe; an int: the exec failed with that errno. */
	do
		r = read(pfd[0], &e, sizeof(e));
	while (r < 0 && errno == EINTR);
	if (r == sizeof(e)) {
		char line[PMON_SPAWN_PATH_MAX + 128];
		int len = snprintf(line, sizeof(line), "--- lego-pmon: cannot execute %s: %s\n",
				   s->vmm, strerror(e));

		*exec_errno = e ? e : EIO;
		if (len > 0 && write(log_fd, line, strnlen(line, sizeof(line))) < 0)
			(void)0;
	}
out:
	if (log_fd >= 0)
		close(log_fd);
	if (null_fd >= 0)
		close(null_fd);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(argv);
	return pid;
}
