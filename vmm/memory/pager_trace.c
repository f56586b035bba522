/* pager_trace.c: the pager's trace mode: every missing-page fault's page number, in the order
 * served, as little-endian uint32s in a file (tests/tools/lru_replay replays it). */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "pager_internal.h"

#define TRACE_BUF 16384 /* entries buffered between writes */

int pager_trace_open(struct pager *pg, const char *path)
{
	pg->trace_buf = malloc(TRACE_BUF * sizeof(*pg->trace_buf));
	pg->trace = fopen(path, "wbe");
	if (!pg->trace || !pg->trace_buf) {
		log_error("pager: fault trace %s: %s", path,
			  pg->trace ? "out of memory" : strerror(errno));
		pager_trace_close(pg);
		return -1;
	}
	return 0;
}

static void trace_write(struct pager *pg)
{
	if (pg->trace_n && !pg->trace_failed &&
	    fwrite(pg->trace_buf, sizeof(*pg->trace_buf), pg->trace_n, pg->trace) != pg->trace_n) {
		/* The trace is a measuring aid: the vNode goes on, the trace says it is cut. */
		log_error("pager: writing the fault trace: %s; the trace ends here",
			  strerror(errno));
		pg->trace_failed = true;
	}
	pg->trace_n = 0;
}

/* Under pg->lock: a missing-page fault at page idx. */
void pager_trace_fault(struct pager *pg, uint64_t idx)
{
	/* Little-endian on disk whatever the host. */
	pg->trace_buf[pg->trace_n++] = htole32((uint32_t)idx);
	if (pg->trace_n == TRACE_BUF)
		trace_write(pg);
}

void pager_trace_close(struct pager *pg)
{
	if (pg->trace) {
		trace_write(pg);
		if (fclose(pg->trace) && !pg->trace_failed)
			log_error("pager: closing the fault trace: %s", strerror(errno));
	}
	pg->trace = NULL;
	free(pg->trace_buf);
	pg->trace_buf = NULL;
}
