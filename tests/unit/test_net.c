/* test_net.c: the NIC's parts that need no vhost-net: --net, MAC text, the announce frames,
 * held frames, the description of a refused ring, the transport's hooks for an external data
 * path, the migration stream's NET messages, and interrupts for 16 devices. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "lib/mac_addr.h"
#include "lib/proto/lego_guest_abi.h"
#include "lib/proto/mig_proto.h"
#include "vmm/arch/x86/acpi.h"
#include "vmm/boot/linux_guest.h"
#include "vmm/control/vmm_options.h"
#include "vmm/devices/virtio/virtio_mmio.h"
#include "vmm/devices/virtio/virtio_net.h"
#include "vmm/kvm/bus.h"
#include "vmm/kvm/guest_mem.h"
#include "vmm/net/net_announce.h"
#include "vmm/net/net_backlog.h"
#include "vmm/net/net_config.h"
#include "vmm/net/net_nics.h"
#include "vmm/control/control_json.h"
#include <net/if.h>

static void test_mac_addr(void **state)
{
	uint8_t m[MAC_ADDR_LEN], n[MAC_ADDR_LEN];
	char t[MAC_ADDR_TEXT_LEN];

	(void)state;
	assert_int_equal(mac_addr_parse("52:54:00:Ab:cD:0f", m), 0);
	mac_addr_format(m, t);
	assert_string_equal(t, "52:54:00:ab:cd:0f");
	assert_true(mac_addr_is_unicast(m));
	static const char *const bad[] = {"",
					  "52:54:00:ab:cd",
					  "52:54:00:ab:cd:0f:",
					  "52:54:00:ab:cd:0g",
					  "52-54-00-ab-cd-0f",
					  "5:54:00:ab:cd:0f1",
					  "52:54:00:ab:cd:0f ",
					  " 52:54:00:ab:cd:0f"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mac_addr_parse(bad[i], m), -1);
	assert_int_equal(mac_addr_parse("01:00:5e:00:00:01", m), 0);
	assert_false(mac_addr_is_unicast(m)); /* multicast */
	assert_int_equal(mac_addr_parse("00:00:00:00:00:00", m), 0);
	assert_false(mac_addr_is_unicast(m));
	/* lego's own: locally administered, unicast, the same for the same vNode and index. */
	mac_addr_local(7301, 3, m);
	mac_addr_local(7301, 3, n);
	assert_memory_equal(m, n, MAC_ADDR_LEN);
	assert_int_equal(m[0], 0x02);
	assert_int_equal(m[1], 0x4c);
	assert_int_equal(m[5] & 7, 3);
	assert_true(mac_addr_is_unicast(m));
	mac_addr_local(7302, 3, n);
	assert_memory_not_equal(m, n, MAC_ADDR_LEN);
	mac_addr_local(7301, 4, n);
	assert_memory_not_equal(m, n, MAC_ADDR_LEN);
}

static void test_net_option(void **state)
{
	struct net_config_nic nic;
	char err[200];

	(void)state;
	assert_int_equal(net_config_parse("tap=lgt0", &nic, err, sizeof(err)), 0);
	assert_string_equal(nic.tap, "lgt0");
	assert_false(nic.has_mac);
	assert_int_equal(nic.ip, 0);
	assert_int_equal(net_config_parse("mac=52:54:00:00:00:07,ip=10.77.0.5,tap=vnet12", &nic,
					  err, sizeof(err)),
			 0);
	assert_string_equal(nic.tap, "vnet12");
	assert_true(nic.has_mac);
	assert_int_equal(nic.mac[5], 7);
	assert_int_equal(nic.ip, inet_addr("10.77.0.5"));
	static const struct {
		const char *arg, *why;
	} bad[] = {
		{"", "not KEY=VALUE"},
		{"lgt0", "not KEY=VALUE"},
		{"mac=52:54:00:00:00:07", "tap=IFNAME is missing"},
		{"tap=", "tap= must name one interface"},
		{"tap=a/b", "tap= must name one interface"},
		{"tap=sixteen-chars-xy", "tap= must name one interface"},
		{"tap=a,tap=b", "tap= must name one interface"},
		{"tap=a,mac=01:00:5e:00:00:01", "unicast"},
		{"tap=a,mac=zz", "mac= must be"},
		{"tap=a,ip=10.0.0", "ip= must be one IPv4 address"},
		{"tap=a,ip=255.255.255.255", "ip= must be"},
		{"tap=a,mtu=9000", "unknown item 'mtu'"},
		{"tap=a,", "not KEY=VALUE"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (net_config_parse(bad[i].arg, &nic, err, sizeof(err)) != -1)
			fail_msg("--net '%s' accepted", bad[i].arg);
		if (!strstr(err, bad[i].why))
			fail_msg("--net '%s': '%s' does not say '%s'", bad[i].arg, err, bad[i].why);
	}
}

static void test_net_option_finish(void **state)
{
	struct vmm_options c;
	char a0[] = "tap=t0", a1[] = "tap=t1", a2[] = "tap=t0,mac=52:54:00:00:00:01";
	char err[200];

	(void)state;
	memset(&c, 0, sizeof(c));
	net_config_init(&c);
	c.mem.rm.vnode = 42;
	assert_int_equal(net_config_net(&c, a0, err, sizeof(err)), VMM_OPTIONS_OK);
	assert_int_equal(net_config_net(&c, a1, err, sizeof(err)), VMM_OPTIONS_OK);
	assert_int_equal(net_config_finish(&c, err, sizeof(err)), VMM_OPTIONS_OK);
	/* Made from the vNode id and the index: two NICs, two addresses. */
	uint8_t m0[MAC_ADDR_LEN];
	mac_addr_local(42, 0, m0);
	assert_memory_equal(c.net.nics[0].mac, m0, MAC_ADDR_LEN);
	assert_memory_not_equal(c.net.nics[0].mac, c.net.nics[1].mac, MAC_ADDR_LEN);
	/* A tap named twice is refused. */
	assert_int_equal(net_config_net(&c, a2, err, sizeof(err)), VMM_OPTIONS_OK);
	assert_int_equal(net_config_finish(&c, err, sizeof(err)), VMM_OPTIONS_BAD);
	assert_non_null(strstr(err, "tap t0 is named twice"));
	/* At most NET_CONFIG_MAX_NICS. */
	net_config_init(&c);
	for (int i = 0; i < NET_CONFIG_MAX_NICS; i++) {
		char a[32];

		snprintf(a, sizeof(a), "tap=t%d", i);
		assert_int_equal(net_config_net(&c, a, err, sizeof(err)), VMM_OPTIONS_OK);
	}
	assert_int_equal(net_config_net(&c, a0, err, sizeof(err)), VMM_OPTIONS_BAD);
	assert_non_null(strstr(err, "too many --net"));
}

static void test_announce_frames(void **state)
{
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x4c, 0x00, 0x05};
	uint8_t f[NET_ANNOUNCE_FRAME];
	uint32_t ip = inet_addr("10.78.0.5");

	(void)state;
	net_announce_rarp(mac, f);
	for (int i = 0; i < 6; i++)
		assert_int_equal(f[i], 0xff); /* broadcast */
	assert_memory_equal(f + 6, mac, 6);
	assert_int_equal(f[12] << 8 | f[13], 0x8035);
	assert_int_equal(f[14] << 8 | f[15], 1);      /* Ethernet */
	assert_int_equal(f[16] << 8 | f[17], 0x0800); /* IPv4 */
	assert_int_equal(f[18], 6);
	assert_int_equal(f[19], 4);
	assert_int_equal(f[20] << 8 | f[21], 3); /* reverse request */
	assert_memory_equal(f + 22, mac, 6);	 /* sender */
	assert_memory_equal(f + 32, mac, 6);	 /* target: itself */
	for (int i = 42; i < NET_ANNOUNCE_FRAME; i++)
		assert_int_equal(f[i], 0); /* padded */
	net_announce_garp(mac, ip, f);
	assert_int_equal(f[12] << 8 | f[13], 0x0806);
	assert_int_equal(f[20] << 8 | f[21], 1);
	assert_memory_equal(f + 28, &ip, 4); /* sender IP */
	assert_memory_equal(f + 38, &ip, 4); /* target IP: the same, gratuitous */
	for (int i = 32; i < 38; i++)
		assert_int_equal(f[i], 0);
}

static void test_backlog(void **state)
{
	struct net_backlog b;
	uint8_t frame[NET_BACKLOG_MAX_FRAME + 1] = {0};
	char err[200];
	int sv[2];

	(void)state;
	net_backlog_init(&b);
	assert_int_equal(net_backlog_add(&b, frame, NET_BACKLOG_MIN_FRAME - 1, err, sizeof(err)),
			 -1);
	assert_int_equal(net_backlog_add(&b, frame, NET_BACKLOG_MAX_FRAME + 1, err, sizeof(err)),
			 -1);
	assert_int_equal(net_backlog_add(&b, frame, 100, err, sizeof(err)), 0);
	assert_int_equal(b.nr, 1);
	/* The limit over every frame. */
	while (net_backlog_add(&b, frame, NET_BACKLOG_MAX_FRAME, err, sizeof(err)) == 0)
		;
	assert_non_null(strstr(err, "more than"));
	assert_true(b.bytes <= NET_BACKLOG_MAX_BYTES);
	net_backlog_free(&b);
	assert_int_equal(b.nr, 0);
	assert_null(b.head);
	/* Read from a descriptor that keeps frames apart, as a tap does: the short one skipped. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	for (int i = 0; i < 3; i++) {
		memset(frame, 0, NET_BACKLOG_HDR); /* no offload */
		memset(frame + NET_BACKLOG_HDR, 'a' + i, 200 - NET_BACKLOG_HDR);
		assert_int_equal(write(sv[1], frame, i == 1 ? 10 : 200), i == 1 ? 10 : 200);
	}
	assert_int_equal(net_backlog_read(&b, sv[0]), 2);
	assert_int_equal(b.head->len, 200);
	assert_int_equal(b.head->data[NET_BACKLOG_HDR], 'a');
	assert_int_equal(b.head->next->data[199], 'c');
	net_backlog_free(&b);
	close(sv[0]);
	close(sv[1]);
}

/* ---- a ring vhost-net refused: what the log line says ---------------------------------- */

#define RAM  (16ULL << 20)
#define DESC 0x10000ULL
#define AVL  0x11000ULL
#define USED 0x12000ULL

static void ring(struct guest_mem *mem, struct virtqueue *vq)
{
	char why[200];

	virtqueue_reset(vq);
	vq->num = 8;
	vq->desc_gpa = DESC;
	vq->avail_gpa = AVL;
	vq->used_gpa = USED;
	assert_int_equal(virtqueue_enable(vq, mem, why, sizeof(why)), 0);
	memset(guest_mem_ptr(mem, DESC, 0x3000), 0, 0x3000);
}

static void post(struct virtqueue *vq, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags)
{
	vq->desc[i] = (struct vring_desc){.addr = addr, .len = len, .flags = flags, .next = 0};
	vq->avail->ring[vq->avail->idx % vq->size] = i;
	vq->avail->idx++;
}

static void test_describe(void **state)
{
	struct guest_mem mem;
	struct virtqueue vq;
	char out[256];

	(void)state;
	assert_int_equal(guest_mem_init(&mem, RAM), 0);
	ring(&mem, &vq);
	post(&vq, 0, 0x100000, 2048, VRING_DESC_F_WRITE);
	virtio_net_describe(&vq, &mem, VIRTIO_NET_RXQ, out, sizeof(out));
	assert_string_equal(out, ""); /* well-formed */
	post(&vq, 1, 0x100000, 2048, 0);
	virtio_net_describe(&vq, &mem, VIRTIO_NET_RXQ, out, sizeof(out));
	assert_non_null(strstr(out, "head 1: descriptor 0 is device-readable in the rx queue"));
	ring(&mem, &vq);
	post(&vq, 0, 0x100000, 8, 0);
	virtio_net_describe(&vq, &mem, VIRTIO_NET_TXQ, out, sizeof(out));
	assert_non_null(strstr(out, "shorter than the 12-byte header"));
	ring(&mem, &vq);
	post(&vq, 0, RAM, 64, 0);
	virtio_net_describe(&vq, &mem, VIRTIO_NET_TXQ, out, sizeof(out));
	assert_non_null(strstr(out, "not inside guest RAM"));
	/* The chain vhost-net took and refused (consumed, never used) is the one described. */
	ring(&mem, &vq);
	post(&vq, 0, 0x100000, 64, VRING_DESC_F_WRITE);
	vq.last_avail = 1;
	virtio_net_describe(&vq, &mem, VIRTIO_NET_TXQ, out, sizeof(out));
	assert_non_null(strstr(out, "head 0: descriptor 0 is device-writable in the tx queue"));
	guest_mem_destroy(&mem);
}

/* ---- the transport's hooks for a device served elsewhere --------------------------------------
 */

struct hooks {
	int driver_ok, ready_changes, resets;
	bool last_ready;
};
static struct hooks hk;

static void h_notify(struct virtio_mmio_dev *dev, int q)
{
	(void)dev;
	(void)q;
}
static void h_reset(struct virtio_mmio_dev *dev)
{
	(void)dev;
	hk.resets++;
}
static void h_driver_ok(struct virtio_mmio_dev *dev)
{
	(void)dev;
	hk.driver_ok++;
}
static void h_queue_ready(struct virtio_mmio_dev *dev, int q, bool ready)
{
	(void)dev;
	(void)q;
	hk.ready_changes++;
	hk.last_ready = ready;
}

static const struct virtio_mmio_ops hook_ops = {.name = "hooks",
						.device_id = 1,
						.nr_queues = 2,
						.notify = h_notify,
						.reset = h_reset,
						.driver_ok = h_driver_ok,
						.queue_ready = h_queue_ready};

static uint32_t r32(struct bus *b, uint64_t off)
{
	uint32_t v = 0;

	assert_true(bus_access(b, LEGO_MMIO_BASE + off, &v, 4, false));
	return v;
}

static void w32(struct bus *b, uint64_t off, uint32_t v)
{
	assert_true(bus_access(b, LEGO_MMIO_BASE + off, &v, 4, true));
}

static void test_mmio_hooks(void **state)
{
	struct guest_mem mem;
	struct bus bus;
	struct virtio_mmio_dev *dev;
	int kick[2] = {eventfd(0, 0), eventfd(0, 0)}, irq = eventfd(0, 0);

	(void)state;
	memset(&hk, 0, sizeof(hk));
	assert_int_equal(guest_mem_init(&mem, RAM), 0);
	bus_init(&bus, "mmio");
	dev = virtio_mmio_create(&bus, &mem, LEGO_MMIO_BASE, &hook_ops, NULL, 0, NULL, 0);
	assert_non_null(dev);
	assert_int_equal(virtio_mmio_irq_fd(dev), -1);
	virtio_mmio_set_eventfds(dev, irq, kick);
	assert_int_equal(virtio_mmio_irq_fd(dev), irq);
	assert_int_equal(virtio_mmio_kick_fd(dev, 1), kick[1]);
	assert_int_equal(virtio_mmio_kick_fd(dev, 2), -1);
	/* Handshake, a queue made ready before DRIVER_OK: no hook yet. */
	w32(&bus, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	w32(&bus, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	w32(&bus, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	w32(&bus, VIRTIO_MMIO_STATUS,
	    VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	w32(&bus, VIRTIO_MMIO_QUEUE_SEL, 0);
	w32(&bus, VIRTIO_MMIO_QUEUE_NUM, 8);
	w32(&bus, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	w32(&bus, VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVL);
	w32(&bus, VIRTIO_MMIO_QUEUE_USED_LOW, USED);
	w32(&bus, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(hk.ready_changes, 0);
	w32(&bus, VIRTIO_MMIO_STATUS,
	    VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		    VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(hk.driver_ok, 1);
	/* DRIVER_OK written again: no second start. */
	w32(&bus, VIRTIO_MMIO_STATUS, r32(&bus, VIRTIO_MMIO_STATUS));
	assert_int_equal(hk.driver_ok, 1);
	/* A queue's readiness changing while running is told; a no-op write is not. */
	w32(&bus, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(hk.ready_changes, 0);
	w32(&bus, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(hk.ready_changes, 1);
	assert_false(hk.last_ready);
	/* Used buffers put elsewhere: InterruptStatus says so while set. */
	assert_int_equal(r32(&bus, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	virtio_mmio_lock(dev);
	virtio_mmio_set_used_external(dev, true);
	virtio_mmio_unlock(dev);
	assert_int_equal(r32(&bus, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	/* A device that needs a reset is not started by DRIVER_OK until the driver resets it. */
	virtio_mmio_lock(dev);
	virtio_mmio_set_used_external(dev, false);
	virtio_mmio_needs_reset(dev, -1, "test");
	virtio_mmio_unlock(dev);
	w32(&bus, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	w32(&bus, VIRTIO_MMIO_STATUS, r32(&bus, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(hk.driver_ok, 1);
	w32(&bus, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(hk.resets, 1);
	assert_int_equal(r32(&bus, VIRTIO_MMIO_STATUS), 0);
	virtio_mmio_destroy(dev);
	guest_mem_destroy(&mem);
	close(kick[0]);
	close(kick[1]);
	close(irq);
}

/* ---- the migration stream's NIC messages -------------------------------------------------- */

static void test_mig_net(void **state)
{
	struct mig_proto_hello h = {.vnode = 1, .vcpus = 1, .disks = 1, .nics = 3}, g;
	struct mig_proto_net n = {.index = 2, .mac = {0x52, 0x54, 0, 1, 2, 3}}, m;
	uint8_t b[MIG_HELLO_LEN > MIG_NET_LEN ? MIG_HELLO_LEN : MIG_NET_LEN];
	char why[200];

	(void)state;
	mig_proto_hello_put(b, &h);
	assert_int_equal(mig_proto_hello_get(b, MIG_HELLO_LEN, &g, why, sizeof(why)), 0);
	assert_int_equal(g.nics, 3);
	assert_int_equal(g.disks, 1);
	mig_proto_net_put(b, &n);
	assert_int_equal(mig_proto_net_get(b, MIG_NET_LEN, &m, why, sizeof(why)), 0);
	assert_int_equal(m.index, 2);
	assert_memory_equal(m.mac, n.mac, 6);
	assert_int_equal(mig_proto_net_get(b, MIG_NET_LEN - 1, &m, why, sizeof(why)), -1);
	b[12] = 1;
	assert_int_equal(mig_proto_net_get(b, MIG_NET_LEN, &m, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "reserved"));
	assert_string_equal(mig_proto_type_name(MIG_NET), "NET");
	assert_string_equal(mig_proto_type_name(MIG_NET_RX), "NET_RX");
}

/* ---- the counters in stats: rtnetlink's, read for a real interface (lo) ------------------ */

static void test_stats_json(void **state)
{
	struct net_nics n = {.nr = 1};
	struct net_tap_stats st;
	char err[200], *text;
	json_t *a;

	(void)state;
	strcpy(n.nic[0].tap, "lo");
	n.nic[0].ifindex = (int)if_nametoindex("lo");
	assert_true(n.nic[0].ifindex > 0);
	mac_addr_local(9, 0, n.nic[0].mac);
	assert_int_equal(net_nics_stats(&n, 0, &st, err, sizeof(err)), 0);
	/* lo transmits what it receives: both sides of the guest's view agree. */
	assert_true(st.rx_packets <= st.tx_packets + 1000 && st.tx_packets <= st.rx_packets + 1000);
	assert_int_equal(net_nics_stats(&n, 1, &st, err, sizeof(err)), -1);
	a = control_json_net(&n);
	text = json_dumps(a, JSON_COMPACT);
	assert_non_null(strstr(text, "\"tap\":\"lo\""));
	assert_non_null(strstr(text, "\"mac\":\"02:4c:"));
	assert_non_null(strstr(text, "\"rx_bytes\":"));
	assert_non_null(strstr(text, "\"tx_drops\":"));
	free(text);
	json_decref(a);
	/* An interface that is gone: an error in place of the counters. */
	n.nic[0].ifindex = 0x7ffffff0;
	a = control_json_net(&n);
	text = json_dumps(a, JSON_COMPACT);
	assert_non_null(strstr(text, "\"error\":"));
	assert_null(strstr(text, "rx_bytes"));
	free(text);
	json_decref(a);
}

/* ---- interrupts and ACPI for 8 disks and 8 NICs -------------------------------------------- */

static void test_sixteen_devices(void **state)
{
	static const int irqs[LINUX_GUEST_MAX_VIRTIO] = LINUX_GUEST_VIRTIO_IRQS;
	struct acpi_config c = {.nr_cpus = 1,
				.ioapic_id = 1,
				.com1_port = 0x3f8,
				.com1_irq = 4,
				.nr_virtio = 16,
				.virtio_size = 0x1000};
	uint8_t aml[4096];
	int len;

	(void)state;
	assert_int_equal(LINUX_GUEST_MAX_VIRTIO, 16);
	for (int i = 0; i < 16; i++) {
		/* Distinct, none of the timer, keyboard, cascade, COM1, RTC, FPU or IDE 0. */
		for (int j = 0; j < i; j++)
			assert_int_not_equal(irqs[i], irqs[j]);
		assert_true(irqs[i] != 0 && irqs[i] != 1 && irqs[i] != 2 && irqs[i] != 4 &&
			    irqs[i] != 8 && irqs[i] != 13 && irqs[i] <= 23);
		c.virtio_base[i] = LEGO_MMIO_BASE + (uint64_t)i * 0x1000;
		c.virtio_irq[i] = (uint32_t)irqs[i];
	}
	len = acpi_dsdt_aml(&c, aml, sizeof(aml));
	assert_true(len > 0);
	assert_non_null(memmem(aml, (size_t)len, "VR15", 4));
	/* The last device's Extended Interrupt descriptor: consumer, edge, one IRQ, 22. */
	static const uint8_t irq22[] = {0x89, 6, 0, 0x03, 1, 22, 0, 0, 0};
	assert_non_null(memmem(aml, (size_t)len, irq22, sizeof(irq22)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_addr),	  cmocka_unit_test(test_net_option),
		cmocka_unit_test(test_net_option_finish), cmocka_unit_test(test_announce_frames),
		cmocka_unit_test(test_backlog),		  cmocka_unit_test(test_describe),
		cmocka_unit_test(test_mmio_hooks),	  cmocka_unit_test(test_mig_net),
		cmocka_unit_test(test_sixteen_devices),	  cmocka_unit_test(test_stats_json),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
