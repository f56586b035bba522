/* pmon_vmmctl.h: one command to a running lego-vmm over its control socket. */
#ifndef LEGO_PMON_VMMCTL_H
#define LEGO_PMON_VMMCTL_H

#include <stddef.h>

/* Send "CMD\n" to the UNIX socket at path and read the one-line answer (without its
 * newline) into out, all within timeout_ms. 0, or -1 with err saying what failed. */
int pmon_vmmctl_command(const char *path, const char *cmd, int timeout_ms, char *out, size_t outlen,
			char *err, size_t errlen);

#endif
