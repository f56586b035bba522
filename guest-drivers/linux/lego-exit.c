/* lego-exit.c: lego-exit STATUS: ends the vNode with STATUS through lego-vmm's debug-exit port. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <termios.h>
#include <unistd.h>

#include "lego_guest_abi.h"

int main(int argc, char **argv)
{
	char *end;
	long status;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: lego-exit STATUS\n"
		       "Write STATUS (0..255) to lego-vmm's debug-exit port (0x%x): lego-vmm "
		       "stops\n"
		       "the vNode at once and exits with STATUS. Sync file systems first.\n"
		       "Needs root (ioperm). Exit status (only if the port did not end the VM): "
		       "1.\n",
		       LEGO_PORT_DEBUG_EXIT);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "Usage: lego-exit STATUS (see --help)\n");
		return 64;
	}
	status = strtol(argv[1], &end, 10);
	if (*end || end == argv[1] || status < 0 || status > 255) {
		fprintf(stderr, "lego-exit: STATUS '%s' must be 0..255\n", argv[1]);
		return 64;
	}
	if (ioperm(LEGO_PORT_DEBUG_EXIT, 4, 1)) {
		perror("lego-exit: ioperm");
		return 1;
	}
	fflush(NULL);
	/* The console's tty sends in the background: what the guest printed last must leave it
	 * before the VM ends. */
	for (int fd = 0; fd <= 2; fd++)
		if (isatty(fd))
			tcdrain(fd);
	outl((unsigned)status, LEGO_PORT_DEBUG_EXIT);
	/* Under lego-vmm nothing runs after the write; elsewhere the port is nobody's. */
	sleep(1);
	fprintf(stderr, "lego-exit: port 0x%x did not end the machine: not a lego vNode?\n",
		LEGO_PORT_DEBUG_EXIT);
	return 1;
}
