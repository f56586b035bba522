/* first_byte.c: run a command and time its first byte of stdout and its exit (bench helper).
 * Usage: first_byte CMD [ARGS...]; prints "first_byte_ms=F total_ms=T status=S maxrss_kib=R"
 * on stderr and discards the command's stdout. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/mono_clock.h"

extern char **environ;

static double ms_since(int64_t t0_ns)
{
	return (double)(mono_clock_ns() - t0_ns) / 1e6;
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	int64_t t0;
	struct rusage ru;
	double first = -1;
	char buf[4096];
	int pipefd[2], status;
	pid_t pid;
	ssize_t n;

	if (argc < 2 || !strcmp(argv[1], "--help")) {
		fprintf(argc < 2 ? stderr : stdout,
			"Usage: first_byte CMD [ARGS...]\nTimes CMD's first byte of stdout and its "
			"exit; prints first_byte_ms=F total_ms=T status=S maxrss_kib=R on "
			"stderr.\n");
		return argc < 2 ? 2 : 0;
	}
	if (pipe(pipefd))
		return perror("pipe"), 2;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	t0 = mono_clock_ns();
	errno = posix_spawnp(&pid, argv[1], &fa, NULL, argv + 1, environ);
	if (errno)
		return perror(argv[1]), 2;
	close(pipefd[1]);
	while ((n = read(pipefd[0], buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (first < 0)
			first = ms_since(t0);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return perror("wait4"), 2;
	fprintf(stderr, "first_byte_ms=%.3f total_ms=%.3f status=%d maxrss_kib=%ld\n", first,
		ms_since(t0), WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
		ru.ru_maxrss);
	return 0;
}
