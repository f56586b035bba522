/* net_nics.h: the vNode's NICs: each --net's tap and its virtio-net device (vhost-net its
 * data path) in the virtio-mmio window after the disks; paused, resumed and released with a
 * live migration; announced where the vNode arrives. */
#ifndef LEGO_NET_NICS_H
#define LEGO_NET_NICS_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "net_backlog.h"
#include "net_config.h"
#include "net_tap.h"

struct vm;
struct virtio_mmio_dev;
struct net_announce;

struct net_nics_nic {
	char tap[IFNAMSIZ];
	int tap_fd, ifindex;
	uint8_t mac[MAC_ADDR_LEN];
	uint32_t ip; /* network byte order; 0: unknown */
	uint64_t base;
	struct virtio_mmio_dev *dev;
	struct net_backlog backlog; /* a migration's: what the tap held for the guest */
};

struct net_nics {
	int nr; /* NICs made so far (read by the control socket's thread: atomically) */
	struct net_nics_nic nic[NET_CONFIG_MAX_NICS];
	struct net_announce *announce;
};

/* Attach each NIC's tap and create its device, NIC i at first_base + i * LEGO_MMIO_STRIDE.
 * incoming: a vNode migrating in, whose NICs move no packets until net_nics_release. 0, or
 * -1 (logged): what was made is in n for net_nics_destroy. */
int net_nics_create(struct net_nics *n, const struct net_config *cfg, struct vm *vm,
		    uint64_t first_base, bool incoming);
/* After the vCPUs stopped and the devices were unhooked from KVM, before the pager stops. */
void net_nics_destroy(struct net_nics *n);

/* Live migration (virtio_net.h): the source pauses the data paths before its final
 * write-back, then takes what each tap holds for the guest (net_nics_backlog_read, sent in
 * the stream), and resumes them if the migration fails (the frames given back to its own
 * taps first); the destination takes the frames (net_nics_backlog_add), and when the vNode
 * runs there hands them to the guest, starts the data paths and announces every NIC. */
void net_nics_pause(struct net_nics *n);
void net_nics_resume(struct net_nics *n);
void net_nics_release(struct net_nics *n);
/* The frames held, over every NIC (logged per NIC). */
unsigned net_nics_backlog_read(struct net_nics *n);
int net_nics_backlog_add(struct net_nics *n, int i, const uint8_t *data, uint32_t len, char *err,
			 size_t errlen);

/* NIC i's counters from the guest's side (rx: what it received): 0, or -1 with err. */
int net_nics_stats(const struct net_nics *n, int i, struct net_tap_stats *st, char *err,
		   size_t errlen);

#endif
