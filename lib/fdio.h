/* fdio.h: whole-buffer reads and writes on a socket or pipe, with an optional deadline
 * (the one read_all/write_all of every lego program). */
#ifndef LEGO_FDIO_H
#define LEGO_FDIO_H

#include <stddef.h>
#include <stdint.h>

/* Write all n bytes (EINTR retried; SIGPIPE never raised on a socket). 0, or -1 with errno. */
int fdio_write_all(int fd, const void *buf, size_t n);

/* Read exactly n bytes before deadline_ms (a mono_clock_ms() time, or MONO_NEVER).
 * FDIO_OK when all came; FDIO_EOF when the peer closed before the first byte; -1 with errno
 * otherwise: ETIMEDOUT at the deadline, ECONNRESET when the peer closed in the middle. */
#define FDIO_OK	 0
#define FDIO_EOF 1
int fdio_read_all(int fd, void *buf, size_t n, int64_t deadline_ms);

/* What a failed fdio call's errno means, worded for a log line about a peer. */
const char *fdio_strerror(int err);

#endif
