/* console.h: line output on the 8250 UART at LEGO_PORT_CONSOLE, safe from every vCPU, and
 * polled input from it. */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stddef.h>

/* Write n bytes under the console lock. */
void console_write(const char *s, size_t n);

/* Format (see fmt.h) and write as one unit: one call per line keeps vCPUs' lines whole.
 * Output longer than 1 KiB is truncated. */
int console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The next byte received (LSR.DR, then RBR), or -1 if none waits. */
int console_getc(void);

#endif
