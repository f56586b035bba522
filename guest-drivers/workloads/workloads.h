/* workloads.h: the workloads selectable with run= (each prints one RESULT line). */
#ifndef GUEST_WORKLOADS_H
#define GUEST_WORKLOADS_H

#include <stdbool.h>

#include "guest-drivers/runtime/boot_info.h"
#include "cmdline.h"

struct workloads_ctx {
	const struct boot_info *bi;
	const struct cmdline_opts *opts;
};

/* Each returns true if every check passed. */
bool wl_memtest(const struct workloads_ctx *ctx);
bool wl_blktest(const struct workloads_ctx *ctx);
bool wl_evil(const struct workloads_ctx *ctx);
bool wl_fill(const struct workloads_ctx *ctx);
bool wl_echo(const struct workloads_ctx *ctx);

/* memtest.mode=zipf and kv (wl_zipf.c, wl_kv.c), run by wl_memtest. */
bool wl_zipf(const struct workloads_ctx *ctx);
bool wl_kv(const struct workloads_ctx *ctx);

/* The end of the highest RAM range (the first address after guest RAM). */
uint64_t ram_end(const struct boot_info *bi);

#endif
