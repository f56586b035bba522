/* wl_fill.c: fill: write a non-random pattern into every page of a RAM area (one vCPU), and
 * optionally read it all back. It gives a vNode a full RAM to move, as a benchmark's guest
 * would have, at memory speed (memtest's patterns are far heavier). */
#include <stdbool.h>
#include <stdint.h>

#include "guest-drivers/runtime/console.h"
#include "guest-drivers/runtime/io.h"
#include "mt_area.h"
#include "guest-drivers/runtime/timing.h"
#include "workloads.h"

#define FILL_NAME "fill"

/* Word w of the page at physical address a: distinct per page and word, not random. */
static inline uint64_t fill_word(uint64_t a, uint64_t w)
{
	return (a >> 12) * 0x0101010101010101ULL + w + 1;
}

bool wl_fill(const struct workloads_ctx *ctx)
{
	const struct cmdline_opts *o = ctx->opts;
	struct mt_area area;
	uint64_t t0, errors = 0, fill_ms, verify_ms = 0;

	if (!mt_area_claim(ctx->bi, o->fill_size, FILL_NAME, &area)) {
		console_printf("RESULT " FILL_NAME
			       " FAIL bytes=%lu errors=0 ms=0 reason=no-space\n",
			       o->fill_size);
		return false;
	}
	mt_area_reports_reset();
	t0 = io_rdtsc();
	for (uint64_t off = 0; off < area.bytes; off += MT_PAGE) {
		uint64_t a = mt_area_addr(&area, off);
		volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)a;

		for (uint64_t w = 0; w < MT_PAGE / 8; w++)
			p[w] = fill_word(a, w);
	}
	fill_ms = timing_elapsed_ms(t0);
	console_printf(FILL_NAME ": %lu MiB written in %lu ms\n", area.bytes >> 20, fill_ms);
	if (o->fill_verify) {
		t0 = io_rdtsc();
		for (uint64_t off = 0; off < area.bytes; off += MT_PAGE) {
			uint64_t a = mt_area_addr(&area, off);
			const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)a;

			for (uint64_t w = 0; w < MT_PAGE / 8; w++) {
				uint64_t got = p[w];

				if (got != fill_word(a, w)) {
					errors++;
					mt_area_mismatch(FILL_NAME, "fill", 0, a + w * 8,
							 fill_word(a, w), got);
				}
			}
		}
		verify_ms = timing_elapsed_ms(t0);
	}
	mt_area_reports_done(FILL_NAME, errors);
	console_printf(
		"RESULT " FILL_NAME " %s bytes=%lu verified=%lu errors=%lu ms=%lu verify_ms=%lu\n",
		errors ? "FAIL" : "PASS", area.bytes, o->fill_verify, errors, fill_ms, verify_ms);
	return !errors;
}
