/* controld_console.h: a vNode's console through the processor host that runs it: its output
 * as lego-pmon keeps it (read from an offset), and input for its UART (VM_CONSOLE_IN). */
#ifndef LEGO_CONTROLD_CONSOLE_H
#define LEGO_CONTROLD_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Console bytes from *offset (advanced), at most max into buf; *n bytes; *ended once the
 * vNode has stopped and everything was read. 0, or a libvirt error code with err. */
int controld_console_read(const uint8_t uuid[16], uint64_t *offset, void *buf, size_t max,
			  size_t *n, bool *ended, char *err, size_t errlen);

enum controld_console_input_result {
	CONTROLD_CONSOLE_IN_OK,	   /* *accepted of the bytes were taken (the rest: later) */
	CONTROLD_CONSOLE_IN_LATER, /* none now (the host is unreachable, a migration moves
				    * the vNode): err says why; try again */
	CONTROLD_CONSOLE_IN_GONE,  /* the vNode does not run: nothing will take it */
};

/* Input for the vNode's UART (at most CP_CONSOLE_IN_MAX bytes): how many it took, from the
 * first, in order. */
enum controld_console_input_result controld_console_input(const uint8_t uuid[16], const void *data,
							  size_t len, size_t *accepted, char *err,
							  size_t errlen);

#endif
