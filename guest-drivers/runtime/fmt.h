/* fmt.h: printf-style formatting into a buffer (%d %i %u %x %X %s %c %p %%, l/ll/z/h). */
#ifndef GUEST_FMT_H
#define GUEST_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Like vsnprintf: writes at most size bytes including the terminating NUL (if size > 0)
 * and returns the length the full output would have had. Flags '-' and '0', a width
 * and a precision (numbers or '*') are supported. */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
