/* wl_echo.c: echo: read the console's receive side (polled: LSR.DR, RBR) and answer each line
 * typed there, until a line "quit" or echo.lines lines, within echo.seconds. It shows that
 * what `virsh console` types reaches a guest's UART, without Linux. */
#include <stdbool.h>
#include <stdint.h>

#include "guest-drivers/runtime/console.h"
#include "guest-drivers/runtime/kstring.h"
#include "guest-drivers/runtime/timing.h"
#include "workloads.h"

#define ECHO_LINE_MAX 200 /* longer lines are cut (the rest is counted, not shown) */
#define ECHO_POLL_MS  1	  /* between LSR reads while nothing waits: each is a VM exit */

bool wl_echo(const struct workloads_ctx *ctx)
{
	const struct cmdline_opts *o = ctx->opts;
	struct timing_deadline d;
	char line[ECHO_LINE_MAX + 1];
	uint64_t lines = 0, bytes = 0;
	size_t len = 0;
	bool quit = false;

	console_printf("echo: type a line (\"quit\" ends)\n");
	timing_deadline_start(&d, o->echo_seconds * 1000);
	while (!quit && !(o->echo_lines && lines >= o->echo_lines)) {
		int c = console_getc();

		if (c < 0) {
			if (timing_deadline_passed(&d))
				break;
			timing_delay_ms(ECHO_POLL_MS);
			continue;
		}
		bytes++;
		if (c != '\r' && c != '\n') {
			if (len < ECHO_LINE_MAX && c >= 0x20 && c < 0x7f)
				line[len++] = (char)c;
			continue;
		}
		if (!len)
			continue; /* the \n of a \r\n, or an empty line */
		line[len] = '\0';
		lines++;
		console_printf("echo: line %lu: '%s'\n", lines, line);
		quit = !strcmp(line, "quit");
		len = 0;
	}
	if (quit || (o->echo_lines && lines >= o->echo_lines)) {
		console_printf("RESULT echo PASS lines=%lu bytes=%lu\n", lines, bytes);
		return true;
	}
	console_printf("RESULT echo FAIL lines=%lu bytes=%lu reason=timeout\n", lines, bytes);
	return false;
}
