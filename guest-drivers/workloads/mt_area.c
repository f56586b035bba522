/* mt_area.c: the memtest area (free RAM above the heap) and the capped mismatch reports. */
#include "mt_area.h"

#include "guest-drivers/runtime/alloc.h"
#include "guest-drivers/runtime/console.h"

static uint64_t reported;

/* Up to size bytes of free RAM above the heap, from the lowest range up. */
static void pick_area(const struct boot_info *bi, uint64_t size, struct mt_area *a)
{
	uint64_t floor = (alloc_top() + MT_PAGE - 1) & ~(MT_PAGE - 1);

	a->nr = 0;
	a->bytes = 0;
	for (int i = 0; i < bi->nr_ram && a->bytes < size; i++) {
		uint64_t start = bi->ram[i].base, end = bi->ram[i].base + bi->ram[i].size;
		uint64_t take;

		if (start < floor)
			start = floor;
		start = (start + MT_PAGE - 1) & ~(MT_PAGE - 1);
		end &= ~(MT_PAGE - 1);
		if (start >= end)
			continue;
		take = end - start;
		if (take > size - a->bytes)
			take = size - a->bytes;
		a->ext[a->nr].base = start;
		a->ext[a->nr].size = take;
		a->nr++;
		a->bytes += take;
	}
}

bool mt_area_claim(const struct boot_info *bi, uint64_t size, const char *name, struct mt_area *a)
{
	pick_area(bi, size, a);
	if (a->bytes < size) {
		console_printf("%s: memtest.size=%lu does not fit: %lu bytes of RAM are free above "
			       "0x%lx\n",
			       name, size, a->bytes, alloc_top());
		return false;
	}
	for (int i = 0; i < a->nr; i++)
		console_printf("%s: [0x%lx, 0x%lx) %lu KiB\n", name, a->ext[i].base,
			       a->ext[i].base + a->ext[i].size, a->ext[i].size >> 10);
	return true;
}

uint64_t mt_area_addr(const struct mt_area *a, uint64_t off)
{
	for (int i = 0; i < a->nr; i++) {
		if (off < a->ext[i].size)
			return a->ext[i].base + off;
		off -= a->ext[i].size;
	}
	return 0; /* not reached: callers stay below a->bytes */
}

void mt_area_reports_reset(void)
{
	reported = 0;
}

bool mt_area_report(void)
{
	return __atomic_fetch_add(&reported, 1, __ATOMIC_RELAXED) < MT_MAX_REPORTS;
}

void mt_area_mismatch(const char *name, const char *what, unsigned cpu, uint64_t addr,
		      uint64_t want, uint64_t got)
{
	if (mt_area_report())
		console_printf(
			"%s: %s: vCPU %u: mismatch at 0x%lx: expected 0x%016lx got 0x%016lx\n",
			name, what, cpu, addr, want, got);
}

void mt_area_reports_done(const char *name, uint64_t errors)
{
	if (errors > MT_MAX_REPORTS)
		console_printf("%s: %lu more mismatches not shown\n", name,
			       errors - MT_MAX_REPORTS);
}
