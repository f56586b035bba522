/* pmon_vmmctl.h: one command to a running lego-vmm over its control socket. */
#ifndef LEGO_PMON_VMMCTL_H
#define LEGO_PMON_VMMCTL_H

#include <stdbool.h>
#include <stddef.h>

/* How to wait for a lego-vmm's control socket that is not there yet (a new lego-vmm makes it
 * once its RAM is open): up to wait_ms, while alive(ctx) says the lego-vmm still runs. */
struct pmon_vmmctl_wait {
	int wait_ms;
	bool (*alive)(void *ctx);
	void *ctx;
};

/* Send "CMD\n" to the UNIX socket at path and read the one-line answer (without its
 * newline) into out, within timeout_ms of connecting; a socket that is missing (or not
 * listening yet) is waited for as wait says (NULL: not at all). 0, or -1 with err saying what
 * failed. */
int pmon_vmmctl_command(const char *path, const char *cmd, int timeout_ms,
			const struct pmon_vmmctl_wait *wait, char *out, size_t outlen, char *err,
			size_t errlen);

#endif
