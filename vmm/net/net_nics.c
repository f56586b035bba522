/* net_nics.c: the vNode's NICs: taps attached, virtio-net devices created, migration steps,
 * the announcement, the counters. */
#include "net_nics.h"

#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/proto/lego_guest_abi.h"
#include "net_announce.h"
#include "vmm/devices/virtio/virtio_net.h"
#include "vmm/kvm/vm.h"

int net_nics_create(struct net_nics *n, const struct net_config *cfg, struct vm *vm,
		    uint64_t first_base, bool incoming)
{
	memset(n, 0, sizeof(*n));
	for (int i = 0; i < cfg->nr_nics; i++) {
		const struct net_config_nic *c = &cfg->nics[i];
		struct net_nics_nic *nic = &n->nic[i];
		struct virtio_net_params p = {.held = incoming};
		char err[300], mac[MAC_ADDR_TEXT_LEN];

		net_backlog_init(&nic->backlog);
		memcpy(nic->tap, c->tap, sizeof(nic->tap));
		memcpy(nic->mac, c->mac, sizeof(nic->mac));
		nic->ip = c->ip;
		nic->base = first_base + (uint64_t)i * LEGO_MMIO_STRIDE;
		nic->tap_fd =
			net_tap_open(c->tap, VIRTIO_NET_HDR_BYTES, &nic->ifindex, err, sizeof(err));
		if (nic->tap_fd < 0) {
			log_error("NIC %d: %s", i, err);
			return -1;
		}
		memcpy(p.mac, c->mac, sizeof(p.mac));
		p.tap_fd = nic->tap_fd;
		nic->dev = virtio_net_create(&vm->mmio, &vm->mem, nic->base, &p, err, sizeof(err));
		if (!nic->dev) {
			log_error("NIC %d (tap %s): %s", i, c->tap, err);
			close(nic->tap_fd);
			return -1;
		}
		__atomic_store_n(&n->nr, i + 1, __ATOMIC_RELEASE);
		mac_addr_format(nic->mac, mac);
		log_info("virtio-net %d at 0x%llx: tap %s, MAC %s, vhost-net%s", i,
			 (unsigned long long)nic->base, nic->tap, mac,
			 incoming ? " (held until the vNode runs here)" : "");
	}
	return 0;
}

void net_nics_destroy(struct net_nics *n)
{
	net_announce_stop(n->announce);
	n->announce = NULL;
	for (int i = 0; i < n->nr; i++) {
		virtio_net_destroy(n->nic[i].dev);
		close(n->nic[i].tap_fd);
		net_backlog_free(&n->nic[i].backlog);
	}
	__atomic_store_n(&n->nr, 0, __ATOMIC_RELEASE);
}

void net_nics_pause(struct net_nics *n)
{
	for (int i = 0; i < n->nr; i++)
		virtio_net_pause(n->nic[i].dev);
}

/* Hand NIC i's held frames to the guest through its tap, before its data path starts. */
static void give_back(struct net_nics *n, int i)
{
	struct net_nics_nic *nic = &n->nic[i];
	unsigned nr = nic->backlog.nr;
	char err[200];
	int sent;

	if (!nr)
		return;
	sent = net_backlog_inject(&nic->backlog, nic->ifindex, err, sizeof(err));
	if (sent < 0)
		log_warn("NIC %d: %u held frame(s) lost: %s", i, nr, err);
	else
		log_info("NIC %d: %d of %u frame(s) held during the migration handed to the guest",
			 i, sent, nr);
}

void net_nics_resume(struct net_nics *n)
{
	for (int i = 0; i < n->nr; i++) {
		give_back(n, i);
		virtio_net_resume(n->nic[i].dev);
	}
}

unsigned net_nics_backlog_read(struct net_nics *n)
{
	unsigned total = 0;

	for (int i = 0; i < n->nr; i++) {
		struct net_nics_nic *nic = &n->nic[i];

		if (net_backlog_read(&nic->backlog, nic->tap_fd) < 0)
			log_warn("NIC %d: reading what tap %s holds: %s (%u frame(s) taken)", i,
				 nic->tap, strerror(errno), nic->backlog.nr);
		total += nic->backlog.nr;
	}
	return total;
}

int net_nics_backlog_add(struct net_nics *n, int i, const uint8_t *data, uint32_t len, char *err,
			 size_t errlen)
{
	if (i < 0 || i >= n->nr) {
		snprintf(err, errlen, "no NIC %d", i);
		return -1;
	}
	return net_backlog_add(&n->nic[i].backlog, data, len, err, errlen);
}

void net_nics_release(struct net_nics *n)
{
	struct net_announce_nic an[NET_CONFIG_MAX_NICS];

	for (int i = 0; i < n->nr; i++) {
		give_back(n, i);
		virtio_net_release(n->nic[i].dev);
		an[i] = (struct net_announce_nic){.tap_fd = n->nic[i].tap_fd,
						  .hdr_bytes = VIRTIO_NET_HDR_BYTES,
						  .ip = n->nic[i].ip};
		memcpy(an[i].mac, n->nic[i].mac, MAC_ADDR_LEN);
		snprintf(an[i].name, sizeof(an[i].name), "NIC %d", i);
	}
	n->announce = net_announce_start(an, n->nr);
}

int net_nics_stats(const struct net_nics *n, int i, struct net_tap_stats *st, char *err,
		   size_t errlen)
{
	struct net_tap_stats t;

	if (i < 0 || i >= __atomic_load_n(&n->nr, __ATOMIC_ACQUIRE)) {
		snprintf(err, errlen, "no NIC %d", i);
		return -1;
	}
	if (net_tap_stats(n->nic[i].ifindex, &t, err, errlen))
		return -1;
	/* The tap transmits what the guest receives. */
	*st = (struct net_tap_stats){.rx_bytes = t.tx_bytes,
				     .rx_packets = t.tx_packets,
				     .rx_dropped = t.tx_dropped,
				     .tx_bytes = t.rx_bytes,
				     .tx_packets = t.rx_packets,
				     .tx_dropped = t.rx_dropped};
	return 0;
}
