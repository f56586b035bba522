/* mono_clock.h: the one monotonic clock of every lego program, in ns, us and ms, for
 * deadlines and figures (never the wall clock, which may jump). */
#ifndef LEGO_MONO_CLOCK_H
#define LEGO_MONO_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t mono_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t mono_clock_us(void)
{
	return mono_clock_ns() / 1000;
}

static inline int64_t mono_clock_ms(void)
{
	return mono_clock_ns() / 1000000;
}

/* Milliseconds left until a mono_clock_ms() deadline, for poll(2): 0 once it has passed, -1
 * (wait forever) for MONO_NEVER. */
#define MONO_NEVER INT64_MAX
static inline int mono_clock_ms_left(int64_t deadline_ms)
{
	int64_t left;

	if (deadline_ms == MONO_NEVER)
		return -1;
	left = deadline_ms - mono_clock_ms();
	if (left <= 0)
		return 0;
	return left > 1000000000 ? 1000000000 : (int)left;
}

#endif
