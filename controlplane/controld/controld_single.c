/* controld_single.c: the state directory's lock, and UNIX sockets taken only when free. */
#include "controld_single.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"

/* Lock path for as long as we live: the fd, or -1 with the holder's pid (as the file says)
 * in holder. */
static int lock_file(const char *path, char *holder, size_t hlen)
{
	char pid[32];
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	ssize_t n;

	snprintf(holder, hlen, "?");
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;

		n = pread(fd, pid, sizeof(pid) - 1, 0);
		if (n > 0) {
			pid[n] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			snprintf(holder, hlen, "%s", pid);
		}
		close(fd);
		errno = e;
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("cannot write my pid into %s: %s", path, strerror(errno));
	return fd; /* stays open: the lock lasts as long as we do */
}

int controld_single_lock_state(const char *dir)
{
	char path[4200], holder[32];

	snprintf(path, sizeof(path), "%s/lock", dir);
	if (lock_file(path, holder, sizeof(holder)) >= 0)
		return 0;
	if (errno == EWOULDBLOCK)
		log_error("state directory %s is in use by another lego-controld (pid %s): "
			  "refusing to start (two would edit the same state)",
			  dir, holder);
	else
		log_error("cannot lock %s: %s", path, strerror(errno));
	return -1;
}

/* Does a server answer on path? */
static int answers(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	memcpy(a.sun_path, path, strlen(path));
	rc = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

int controld_single_unix_listen(const char *path, mode_t mode)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char lock[sizeof(a.sun_path) + 8], holder[32];
	int fd;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	if (lock_file(lock, holder, sizeof(holder)) < 0) {
		if (errno == EWOULDBLOCK)
			log_error("another lego-controld (pid %s) serves on %s: refusing to start "
				  "(it would take over that socket)",
				  holder, path);
		else
			log_error("cannot lock %s: %s", lock, strerror(errno));
		return -1;
	}
	if (answers(path)) {
		log_error("a server answers on %s: refusing to start (it would take over that "
			  "socket)",
			  path);
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path));
	unlink(path); /* stale: nobody answers there */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128)) {
		log_error("cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	chmod(path, mode);
	return fd;
}
