/* console.c: --console's handler, and the guest's console and exit-status ports. */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "debug_exit.h"
#include "lib/log.h"
#include "lib/proto/lego_guest_abi.h"
#include "vmm/control/vmm_options.h"
#include "vmm/kvm/vm.h"

void console_config_init(struct vmm_options *c)
{
	c->console = (struct console_config){0};
}

int console_config_path(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->console.path = arg;
	return VMM_OPTIONS_OK;
}

int console_open(struct console *con, struct vm *vm, const struct console_config *cfg)
{
	memset(con, 0, sizeof(*con));
	con->fd = STDOUT_FILENO;
	if (cfg->path) {
		con->fd = open(cfg->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (con->fd < 0) {
			log_error("cannot open console file '%s': %s", cfg->path, strerror(errno));
			return -1;
		}
	}
	con->open = true;
	if (serial_init(&con->serial, &vm->pio, LEGO_PORT_CONSOLE, con->fd) ||
	    debug_exit_init(vm)) {
		log_error("cannot register the console and debug-exit ports");
		return -1;
	}
	return 0;
}

void console_close(struct console *con)
{
	if (con->fd > STDOUT_FILENO)
		close(con->fd);
	if (con->open)
		serial_destroy(&con->serial);
	con->open = false;
}
