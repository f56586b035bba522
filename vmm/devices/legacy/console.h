/* console.h: the guest's console (the 8250 UART at LEGO_PORT_CONSOLE, writing to --console's
 * file or to stdout) and its exit-status port: the two ports of the lego guest ABI. */
#ifndef LEGO_CONSOLE_H
#define LEGO_CONSOLE_H

#include <stddef.h>

#include "serial.h"

struct vm;
struct vmm_options;

struct console_config {
	const char *path; /* NULL: stdout */
};

struct console {
	struct serial serial;
	int fd;
	bool open; /* serial is initialised */
};

void console_config_init(struct vmm_options *c);
/* Register both ports on vm's port bus, the UART writing to cfg's file (created, truncated)
 * or stdout. 0, or -1 (logged). */
int console_open(struct console *con, struct vm *vm, const struct console_config *cfg);
void console_close(struct console *con);

#endif
