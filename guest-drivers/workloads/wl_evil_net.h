/* wl_evil_net.h: the evil workload's cases on a virtio-net device (wl_evil_net.c). */
#ifndef GUEST_WL_EVIL_NET_H
#define GUEST_WL_EVIL_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "workloads.h"

/* Run every case on the NIC at base, adding to the counts; true if all passed. */
bool wl_evil_net(const struct workloads_ctx *ctx, uint64_t base, unsigned *nr_cases,
		 unsigned *nr_failed);

#endif
