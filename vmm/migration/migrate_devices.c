/* migrate_devices.c: the disks' and NICs' state in the migration stream, sent by the source
 * and checked and loaded by the destination. */
#include "migrate_devices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/proto/mig_proto.h"
#include "lib/proto/wire.h"
#include "vmm/devices/virtio/virtio_net.h"
#include "vmm/net/net_nics.h"

static int nr_nics(const struct migrate *m)
{
	return m->nics ? m->nics->nr : 0;
}

/* The frames NIC i's tap held for the guest, a NET_RX each. */
static int send_backlog(struct migrate *m, int i)
{
	const struct net_backlog *b = &m->nics->nic[i].backlog;
	uint8_t *buf;
	int rc = 0;

	if (!b->nr)
		return 0;
	buf = malloc(MIG_NET_RX_HDR + NET_BACKLOG_MAX_FRAME);
	if (!buf)
		return -1;
	for (const struct net_backlog_frame *f = b->head; f && !rc; f = f->next) {
		wire_put_le32(buf, (uint32_t)i);
		memcpy(buf + MIG_NET_RX_HDR, f->data, f->len);
		rc = migrate_send_counted(m, MIG_NET_RX, buf, MIG_NET_RX_HDR + f->len);
	}
	free(buf);
	return rc;
}

int migrate_devices_send(struct migrate *m, char *err, size_t errlen)
{
	uint8_t small[MIG_VIRTIO_LEN(VIRTIO_MMIO_MAX_QUEUES)];
	unsigned held = nr_nics(m) ? net_nics_backlog_read(m->nics) : 0;

	for (int i = 0; i < m->nr_disks + nr_nics(m); i++) {
		struct virtio_mmio_dev *dev =
			i < m->nr_disks ? m->disks[i] : m->nics->nic[i - m->nr_disks].dev;
		struct virtio_mmio_state st;
		struct mig_proto_net net = {.index = (uint32_t)(i - m->nr_disks)};

		if (virtio_mmio_save(dev, &st)) {
			snprintf(err, errlen, "%s still has requests in flight",
				 virtio_mmio_name(dev));
			return -1;
		}
		mig_proto_virtio_put(small, (uint32_t)i, &st);
		if (migrate_send_counted(m, MIG_VIRTIO, small, MIG_VIRTIO_LEN(st.nr_queues)))
			goto gone;
		if (i < m->nr_disks)
			continue;
		memcpy(net.mac, virtio_net_mac(dev), sizeof(net.mac));
		mig_proto_net_put(small, &net);
		if (migrate_send_counted(m, MIG_NET, small, MIG_NET_LEN) ||
		    send_backlog(m, i - m->nr_disks))
			goto gone;
	}
	if (held)
		log_info("migration: %u frame(s) the taps held for the guest go along", held);
	return 0;
gone:
	snprintf(err, errlen, "the destination went away");
	return -1;
}

static int malformed(uint16_t type, const char *bad, char *err, size_t errlen)
{
	snprintf(err, errlen, "malformed %s: %s", mig_proto_type_name(type), bad);
	return -1;
}

int migrate_devices_take_virtio(struct migrate *m, struct migrate_devices_seen *s, const uint8_t *p,
				uint32_t len, char *err, size_t errlen)
{
	struct virtio_mmio_state st;
	char bad[200];
	uint32_t idx;

	if (mig_proto_virtio_get(p, len, &idx, &st, bad, sizeof(bad)))
		return malformed(MIG_VIRTIO, bad, err, errlen);
	if (idx >= (uint32_t)(m->nr_disks + nr_nics(m)) || (s->devs & (1ULL << idx))) {
		snprintf(err, errlen, "VIRTIO device %u is out of range or repeated", idx);
		return -1;
	}
	/* The disks, then the NICs (whose data paths wait for migrate_in_running). */
	if (virtio_mmio_load(idx < (uint32_t)m->nr_disks ? m->disks[idx]
							 : m->nics->nic[idx - m->nr_disks].dev,
			     &st, err, errlen))
		return -1;
	s->devs |= 1ULL << idx;
	return 0;
}

int migrate_devices_take_net(struct migrate *m, struct migrate_devices_seen *s, const uint8_t *p,
			     uint32_t len, char *err, size_t errlen)
{
	struct mig_proto_net n;
	char bad[200], theirs[MAC_ADDR_TEXT_LEN], ours[MAC_ADDR_TEXT_LEN];
	const uint8_t *mac;

	if (mig_proto_net_get(p, len, &n, bad, sizeof(bad)))
		return malformed(MIG_NET, bad, err, errlen);
	if (n.index >= (uint32_t)nr_nics(m) || (s->nets & (1ULL << n.index)) ||
	    !(s->devs & (1ULL << (m->nr_disks + n.index)))) {
		snprintf(err, errlen, "NET %u is out of range, repeated or before its VIRTIO",
			 n.index);
		return -1;
	}
	mac = virtio_net_mac(m->nics->nic[n.index].dev);
	if (memcmp(mac, n.mac, sizeof(n.mac))) {
		mac_addr_format(n.mac, theirs);
		mac_addr_format(mac, ours);
		snprintf(err, errlen, "the source's NIC %u has MAC %s, this VMM's (--net) has %s",
			 n.index, theirs, ours);
		return -1;
	}
	s->nets |= 1ULL << n.index;
	return 0;
}

int migrate_devices_take_net_rx(struct migrate *m, struct migrate_devices_seen *s, const uint8_t *p,
				uint32_t len, char *err, size_t errlen)
{
	char bad[200];
	uint32_t i;

	if (len < MIG_NET_RX_HDR)
		return malformed(MIG_NET_RX, "shorter than its index", err, errlen);
	i = wire_get_le32(p);
	if (i >= (uint32_t)nr_nics(m) || !(s->nets & (1ULL << i))) {
		snprintf(err, errlen, "NET_RX for NIC %u, out of range or before its NET", i);
		return -1;
	}
	if (net_nics_backlog_add(m->nics, (int)i, p + MIG_NET_RX_HDR, len - MIG_NET_RX_HDR, bad,
				 sizeof(bad)))
		return malformed(MIG_NET_RX, bad, err, errlen);
	return 0;
}

bool migrate_devices_all_seen(const struct migrate *m, const struct migrate_devices_seen *s)
{
	return s->devs == (1ULL << (m->nr_disks + nr_nics(m))) - 1 &&
	       s->nets == (1ULL << nr_nics(m)) - 1;
}
