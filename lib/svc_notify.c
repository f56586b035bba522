/* svc_notify.c: sd_notify(3)'s datagram to $NOTIFY_SOCKET (a path, or '@' for an abstract
 * socket), sent by hand. */
#include "svc_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

static struct sockaddr_un notify_addr;
static socklen_t notify_len; /* 0: no service manager */

void svc_notify_init(void)
{
	const char *env = getenv("NOTIFY_SOCKET");
	size_t n = env ? strlen(env) : 0;

	if (n < 2 || n >= sizeof(notify_addr.sun_path) || (env[0] != '/' && env[0] != '@')) {
		unsetenv("NOTIFY_SOCKET");
		return;
	}
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, env, n);
	if (env[0] == '@')
		notify_addr.sun_path[0] = '\0'; /* abstract: no terminating NUL counts */
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (env[0] == '/'));
	unsetenv("NOTIFY_SOCKET");
}

bool svc_notify_send(const char *state)
{
	int fd;
	ssize_t n;

	if (!notify_len)
		return false;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&notify_addr,
		   notify_len);
	if (n < 0)
		log_warn("cannot tell the service manager '%.40s': %s", state, strerror(errno));
	close(fd);
	return n == (ssize_t)strlen(state);
}

void svc_notify_ready(const char *status)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "READY=1%s%s", status ? "\nSTATUS=" : "", status ? status : "");
	svc_notify_send(msg);
}

void svc_notify_stopping(void)
{
	svc_notify_send("STOPPING=1");
}

void svc_notify_reloading(void)
{
	svc_notify_send("RELOADING=1");
}
