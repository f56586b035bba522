/* timing.c: TSC-based elapsed time and deadlines (with a counting fallback for tsc-khz 0). */
#include "timing.h"

#include "io.h"

static uint32_t tsc_khz;

void timing_init(uint32_t khz)
{
	tsc_khz = khz;
}

uint32_t timing_tsc_khz(void)
{
	return tsc_khz;
}

uint64_t timing_elapsed_ms(uint64_t start_tsc)
{
	if (!tsc_khz)
		return 0;
	return (io_rdtsc() - start_tsc) / tsc_khz;
}

uint64_t timing_elapsed_us(uint64_t start_tsc)
{
	if (!tsc_khz)
		return 0;
	return (io_rdtsc() - start_tsc) * 1000 / tsc_khz;
}

void timing_deadline_start(struct timing_deadline *d, uint64_t ms)
{
	d->by_tsc = tsc_khz != 0;
	d->end_tsc = io_rdtsc() + ms * tsc_khz;
	d->checks_left = ms * (1000000 / DEADLINE_FALLBACK_NS);
}

bool timing_deadline_passed(struct timing_deadline *d)
{
	if (d->by_tsc)
		return (int64_t)(io_rdtsc() - d->end_tsc) >= 0;
	if (!d->checks_left)
		return true;
	d->checks_left--;
	return false;
}

void timing_delay_ms(uint64_t ms)
{
	struct timing_deadline d;

	timing_deadline_start(&d, ms);
	while (!timing_deadline_passed(&d))
		io_cpu_relax();
}
