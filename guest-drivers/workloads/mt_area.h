/* mt_area.h: what memtest's modes share: the test area above the heap and capped reports. */
#ifndef GUEST_MT_AREA_H
#define GUEST_MT_AREA_H

#include <stdbool.h>
#include <stdint.h>

#include "guest-drivers/runtime/boot_info.h"

#define MT_PAGE	       4096ULL
#define MT_LINE	       64ULL
#define MT_MAX_REPORTS 8

struct mt_area {
	int nr;
	struct boot_info_range ext[BOOT_MAX_RAM]; /* page-aligned pieces, in logical order */
	uint64_t bytes;
};

/* size bytes of free RAM above alloc_top(), from the lowest range up, listed on the console
 * as "name: [base, end) N KiB". Allocate a mode's bookkeeping from the heap first: the area
 * starts where the heap ends. False (with a message naming name) if less is free. */
bool mt_area_claim(const struct boot_info *bi, uint64_t size, const char *name, struct mt_area *a);

/* Physical address of logical offset off (below a->bytes) in the area. */
uint64_t mt_area_addr(const struct mt_area *a, uint64_t off);

/* Failed checks are printed up to MT_MAX_REPORTS per mode run, from any vCPU. */
void mt_area_reports_reset(void);
bool mt_area_report(void); /* counts one; true while it should still be printed */
void mt_area_mismatch(const char *name, const char *what, unsigned cpu, uint64_t addr,
		      uint64_t want, uint64_t got);
void mt_area_reports_done(const char *name, uint64_t errors); /* "N more ... not shown" */

#endif
