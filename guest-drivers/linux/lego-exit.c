/* lego-exit.c: lego-exit STATUS: ends the vNode with STATUS through lego-vmm's debug-exit port. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <termios.h>
#include <unistd.h>

#include "lib/proto/lego_guest_abi.h"

int main(int argc, char **argv)
{
	char *end;
	long status;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: lego-exit STATUS\n"
		       "Write STATUS (0..255) to lego-vmm's debug-exit port (0x%x): lego-vmm "
		       "stops\n"
		       "the vNode at once and exits with STATUS. Sync file systems first.\n"
		       "Needs root (/dev/port, or ioperm). Exit status (only if the port did not "
		       "end the VM): "
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
	/* The kernel writes the port for us through /dev/port: no I/O permission bitmap is
	 * involved (QEMU's emulated SVM, in the test bed, refuses user-mode port I/O through
	 * it once a vNode has migrated: it wants an available TSS in TR, KVM restores a busy
	 * one, as hardware has it). ioperm and a write of our own where /dev/port is missing. */
	int port = open("/dev/port", O_WRONLY | O_CLOEXEC);

	if (port < 0 && ioperm(LEGO_PORT_DEBUG_EXIT, 4, 1)) {
		perror("lego-exit: neither /dev/port nor ioperm");
		return 1;
	}
	fflush(NULL);
	/* The console's tty sends in the background: what the guest printed last must leave it
	 * before the VM ends. */
	for (int fd = 0; fd <= 2; fd++)
		if (isatty(fd))
			tcdrain(fd);
	if (port >= 0) {
		uint8_t b = (uint8_t)status;

		if (pwrite(port, &b, 1, LEGO_PORT_DEBUG_EXIT) != 1)
			perror("lego-exit: write to /dev/port");
		close(port);
	} else {
		outl((unsigned)status, LEGO_PORT_DEBUG_EXIT);
	}
	/* Under lego-vmm nothing runs after the write; elsewhere the port is nobody's. */
	sleep(1);
	fprintf(stderr, "lego-exit: port 0x%x did not end the machine: not a lego vNode?\n",
		LEGO_PORT_DEBUG_EXIT);
	return 1;
}
