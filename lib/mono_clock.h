/* mono_clock.h: the monotonic clock in microseconds and milliseconds, for deadlines and
 * figures (never the wall clock, which may jump). */
#ifndef LEGO_MONO_CLOCK_H
#define LEGO_MONO_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t mono_ms(void)
{
	return mono_us() / 1000;
}

#endif
