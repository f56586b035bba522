/* net_backlog.h: the frames a NIC's tap held for the guest when its data path stopped for a
 * migration: read on the source, carried in the migration stream, and handed to the guest on
 * the destination before anything newer (what a downtime would otherwise drop). */
#ifndef LEGO_NET_BACKLOG_H
#define LEGO_NET_BACKLOG_H

#include <stddef.h>
#include <stdint.h>

/* At most this much per NIC (the rest is dropped, as a full switch queue would). */
#define NET_BACKLOG_MAX_BYTES (4U << 20)
/* A frame as the tap gives it: its 12-byte virtio-net header, then up to a 64 KiB GSO frame
 * with its Ethernet and VLAN headers. */
#define NET_BACKLOG_HDR	      12
#define NET_BACKLOG_MIN_FRAME (NET_BACKLOG_HDR + 14)
#define NET_BACKLOG_MAX_FRAME (NET_BACKLOG_HDR + 65536 + 18)

struct net_backlog_frame {
	struct net_backlog_frame *next;
	uint32_t len;
	uint8_t data[]; /* header, then the Ethernet frame */
};

struct net_backlog {
	struct net_backlog_frame *head, **tail;
	size_t bytes;
	unsigned nr;
};

void net_backlog_init(struct net_backlog *b);
/* Read what the tap (non-blocking fd) holds, up to NET_BACKLOG_MAX_BYTES in all (short
 * frames and any whose header net_backlog_add would refuse are dropped): the number of
 * frames now held, -1 (errno) if reading failed. */
int net_backlog_read(struct net_backlog *b, int tap_fd);
/* One frame from a migration stream, checked: 0, or -1 with err (too short, too long, a
 * virtio-net header that does not fit the frame (net_vnet_hdr_check), over the limit, out
 * of memory). */
int net_backlog_add(struct net_backlog *b, const uint8_t *data, uint32_t len, char *err,
		    size_t errlen);
/* Send every frame into interface ifindex (the tap, from the host's side: it queues them for
 * the guest) and forget them: the number sent, or -1 with err (the rest forgotten too). */
int net_backlog_inject(struct net_backlog *b, int ifindex, char *err, size_t errlen);
void net_backlog_free(struct net_backlog *b);

#endif
