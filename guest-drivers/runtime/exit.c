/* exit.c: debug-exit port write and the fatal-error path (message, then exit 1). */
#include "exit.h"

#include <stdarg.h>

#include "console.h"
#include "fmt.h"
#include "io.h"
#include "lib/proto/lego_guest_abi.h"

void guest_exit(uint32_t status)
{
	outl(LEGO_PORT_DEBUG_EXIT, status);
	for (;;)
		__asm__ __volatile__("hlt" : : : "memory");
}

void guest_fatal(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kprintf("lego-guest: fatal: %s\n", msg);
	guest_exit(1);
}
