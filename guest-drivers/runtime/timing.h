/* timing.h: milliseconds from io_rdtsc and lego,tsc-khz, and bounded waits (deadlines). */
#ifndef GUEST_TIMING_H
#define GUEST_TIMING_H

#include <stdbool.h>
#include <stdint.h>

void timing_init(uint32_t tsc_khz);
uint32_t timing_tsc_khz(void);

/* Milliseconds since start (an io_rdtsc() value); 0 if the TSC frequency is unknown. */
uint64_t timing_elapsed_ms(uint64_t start_tsc);
/* Microseconds since start; 0 if the TSC frequency is unknown. */
uint64_t timing_elapsed_us(uint64_t start_tsc);

/* A timeout: by the TSC when its frequency is known, else by counting checks (each
 * check is assumed to take at least DEADLINE_FALLBACK_NS, so it only errs long). */
struct timing_deadline {
	uint64_t end_tsc;
	uint64_t checks_left;
	bool by_tsc;
};

#define DEADLINE_FALLBACK_NS 10

void timing_deadline_start(struct timing_deadline *d, uint64_t ms);
bool timing_deadline_passed(struct timing_deadline *d);

/* Spin (pause) for about ms milliseconds. */
void timing_delay_ms(uint64_t ms);

#endif
