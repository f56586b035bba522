/* migrate_devices.h: the devices' part of the migration stream, both ends: VIRTIO per disk
 * and per NIC, NET (a NIC's MAC) and NET_RX (the frames its tap held for the guest). */
#ifndef LEGO_MIGRATE_DEVICES_H
#define LEGO_MIGRATE_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migrate.h"

/* The source, with the vCPUs paused, the disks drained and the NICs paused: each device's
 * state and each NIC's held frames. 0, or -1 with err. */
int migrate_devices_send(struct migrate *m, char *err, size_t errlen);

/* The destination: what arrived so far (bitmaps by VIRTIO index and by NIC). */
struct migrate_devices_seen {
	uint64_t devs, nets;
};
/* Each message checked (range, order, once) and loaded: 0, or -1 with err. */
int migrate_devices_take_virtio(struct migrate *m, struct migrate_devices_seen *s, const uint8_t *p,
				uint32_t len, char *err, size_t errlen);
int migrate_devices_take_net(struct migrate *m, struct migrate_devices_seen *s, const uint8_t *p,
			     uint32_t len, char *err, size_t errlen);
int migrate_devices_take_net_rx(struct migrate *m, struct migrate_devices_seen *s, const uint8_t *p,
				uint32_t len, char *err, size_t errlen);
/* Every device's VIRTIO and every NIC's NET arrived. */
bool migrate_devices_all_seen(const struct migrate *m, const struct migrate_devices_seen *s);

#endif
