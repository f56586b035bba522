/* tap_ok.h: TAP result lines for the test tools (one program per test file, so static). */
#ifndef LEGO_TAP_OK_H
#define LEGO_TAP_OK_H

#include <stdarg.h>
#include <stdio.h>

static int tests, failed;

__attribute__((format(printf, 2, 3))) static void ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tests++;
	failed += !cond;
	printf("%s %d - ", cond ? "ok" : "not ok", tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

#endif
