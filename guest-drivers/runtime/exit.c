/* exit.c: debug-exit port write and the fatal-error path (message, then exit 1). */
#include "exit.h"

#include <stdarg.h>

#include "console.h"
#include "fmt.h"
#include "io.h"
#include "lib/proto/lego_guest_abi.h"

void exit_guest(uint32_t status)
{
	io_outl(LEGO_PORT_DEBUG_EXIT, status);
	for (;;)
		__asm__ __volatile__("hlt" : : : "memory");
}

void exit_fatal(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	console_printf("lego-guest: fatal: %s\n", msg);
	exit_guest(1);
}
