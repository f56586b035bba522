/* test_virtio_blk.c: virtio-blk over virtio-mmio, driven only through MMIO and guest RAM. */
#include <pthread.h>
#include <sched.h>

#include "lib/log.h"
#include "virtio_harness.h"

#define ALL_STATUS                                                                            \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | \
	 VIRTIO_CONFIG_S_DRIVER_OK)
#define BLK_FEATURES \
	((1u << VIRTIO_BLK_F_SEG_MAX) | (1u << VIRTIO_BLK_F_BLK_SIZE) | (1u << VIRTIO_BLK_F_FLUSH))

static struct vt *new_vt(uint64_t sectors, bool ro)
{
	struct vt *t = malloc(sizeof(*t));

	assert_non_null(t);
	vt_open(t, sectors, ro);
	return t;
}

static int teardown_vt(void **state)
{
	if (*state) {
		vt_close(*state);
		free(*state);
	}
	*state = NULL;
	return 0;
}

static int setup_rw(void **state)
{
	*state = new_vt(VT_SECTORS, false);
	return 0;
}

static int setup_up(void **state)
{
	struct vt *t = new_vt(VT_SECTORS, false);

	vt_driver_up(t, 8);
	*state = t;
	return 0;
}

/* ---- the interrupt a Linux guest gets (irqfd) -------------------------------------- */

static void count_raise(void *opaque)
{
	(*(int *)opaque)++;
}

/* The line is raised when InterruptStatus goes from 0 to non-zero, never while a cause is
 * still unacknowledged (the driver's handler sees every completion before its ack). */
static void test_interrupt_edges(void **state)
{
	struct vt *t = *state;
	int raised = 0;

	virtio_mmio_set_irq(t->dev, count_raise, &raised);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 0, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(raised, 1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(vt_do(t, 3, VIRTIO_BLK_T_IN, 1, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(raised, 1);
	vt_w32(t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 2, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(raised, 2);
	/* Without a line (the freestanding guest polls) nothing is called. */
	virtio_mmio_set_irq(t->dev, NULL, NULL);
	vt_w32(t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(vt_do(t, 3, VIRTIO_BLK_T_IN, 3, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(raised, 2);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
}

/* ---- registers and handshake ------------------------------------------------------- */

static void test_identity(void **state)
{
	struct vt *t = *state;

	assert_int_equal(vt_r32(t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DEVICE_ID), 2);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_VENDOR_ID), 0x4f47454c);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_READY), 0);
	/* Only queue 0 exists. */
	vt_w32(t, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_READY), 0);
	vt_w32(t, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	/* The window is exactly one stride: the next byte is not ours. */
	{
		uint32_t v;

		assert_true(
			bus_access(&t->bus, LEGO_MMIO_BASE + LEGO_MMIO_STRIDE - 4, &v, 4, false));
		assert_false(bus_access(&t->bus, LEGO_MMIO_BASE + LEGO_MMIO_STRIDE, &v, 4, false));
	}
}

static void test_register_access_width(void **state)
{
	struct vt *t = *state;
	uint64_t v8 = ~0ULL;
	uint16_t v2 = 0xffff;
	uint8_t v1 = 0xff;
	uint32_t w;

	/* Non-32-bit register reads see 0, writes are ignored. */
	assert_true(bus_access(&t->bus, LEGO_MMIO_BASE + VIRTIO_MMIO_MAGIC_VALUE, &v8, 8, false));
	assert_int_equal(v8, 0);
	assert_true(bus_access(&t->bus, LEGO_MMIO_BASE + VIRTIO_MMIO_MAGIC_VALUE, &v2, 2, false));
	assert_int_equal(v2, 0);
	assert_true(bus_access(&t->bus, LEGO_MMIO_BASE + VIRTIO_MMIO_VERSION, &v1, 1, false));
	assert_int_equal(v1, 0);
	v2 = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	assert_true(bus_access(&t->bus, LEGO_MMIO_BASE + VIRTIO_MMIO_STATUS, &v2, 2, true));
	v8 = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	assert_true(bus_access(&t->bus, LEGO_MMIO_BASE + VIRTIO_MMIO_STATUS, &v8, 8, true));
	v1 = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	assert_true(bus_access(&t->bus, LEGO_MMIO_BASE + VIRTIO_MMIO_STATUS, &v1, 1, true));
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), 0);
	/* Unaligned 32-bit access lands on no register. */
	w = 0x12345678;
	assert_true(
		bus_access(&t->bus, LEGO_MMIO_BASE + VIRTIO_MMIO_MAGIC_VALUE + 1, &w, 4, false));
	assert_int_equal(w, 0);
	/* Unknown, legacy and read-only registers. */
	assert_int_equal(vt_r32(t, 0x028), 0); /* legacy GuestPageSize */
	assert_int_equal(vt_r32(t, 0x040), 0); /* legacy QueuePFN */
	assert_int_equal(vt_r32(t, 0x0f8), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_NOTIFY), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_ACK), 0);
	vt_w32(t, VIRTIO_MMIO_MAGIC_VALUE, 0);
	vt_w32(t, VIRTIO_MMIO_DEVICE_ID, 7);
	vt_w32(t, VIRTIO_MMIO_QUEUE_NUM_MAX, 4);
	vt_w32(t, VIRTIO_MMIO_INTERRUPT_STATUS, 1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DEVICE_ID), 2);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_CONFIG_GENERATION), 0);
}

static void test_config_space(void **state)
{
	struct vt *t = *state;
	uint32_t len = sizeof(struct virtio_blk_config);
	uint64_t v = 0x1234;

	assert_int_equal(vt_cfg(t, 0, 8), VT_SECTORS);
	assert_int_equal(vt_cfg(t, 0, 4), VT_SECTORS);
	assert_int_equal(vt_cfg(t, 4, 4), 0);
	assert_int_equal(vt_cfg(t, 0, 2), VT_SECTORS);
	assert_int_equal(vt_cfg(t, 1, 1), VT_SECTORS >> 8);
	assert_int_equal(vt_cfg(t, offsetof(struct virtio_blk_config, size_max), 4), 0);
	assert_int_equal(vt_cfg(t, offsetof(struct virtio_blk_config, seg_max), 4), 254);
	assert_int_equal(vt_cfg(t, offsetof(struct virtio_blk_config, blk_size), 4), 512);
	assert_int_equal(vt_cfg(t, offsetof(struct virtio_blk_config, blk_size), 2), 512);
	/* Unaligned but inside: bytes 1..8 of capacity|size_max. */
	assert_int_equal(vt_cfg(t, 1, 8), VT_SECTORS >> 8);
	/* Straddling or beyond the end reads 0. */
	assert_int_equal(vt_cfg(t, len - 1, 1), 0);
	assert_int_equal(vt_cfg(t, len - 1, 2), 0);
	assert_int_equal(vt_cfg(t, len - 4, 8), 0);
	assert_int_equal(vt_cfg(t, len, 4), 0);
	assert_int_equal(vt_cfg(t, LEGO_MMIO_STRIDE - VIRTIO_MMIO_CONFIG - 4, 4), 0);
	/* Writes are ignored. */
	assert_true(bus_access(&t->bus, LEGO_MMIO_BASE + VIRTIO_MMIO_CONFIG, &v, 8, true));
	assert_true(bus_access(&t->bus, LEGO_MMIO_BASE + VIRTIO_MMIO_CONFIG + 20, &v, 4, true));
	assert_int_equal(vt_cfg(t, 0, 8), VT_SECTORS);
	assert_int_equal(vt_cfg(t, 20, 4), 512);
}

static void test_features(void **state)
{
	struct vt *t = *state;

	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DEVICE_FEATURES), BLK_FEATURES);
	vt_w32(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 */
	vt_w32(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	vt_w32(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DEVICE_FEATURES), 0);

	/* Driver features are masked to what was offered. */
	vt_w32(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DRIVER_FEATURES), 0);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DRIVER_FEATURES), BLK_FEATURES);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DRIVER_FEATURES), 1);
	assert_int_equal(virtio_mmio_driver_features(t->dev),
			 (1ULL << VIRTIO_F_VERSION_1) | BLK_FEATURES);
	/* Once FEATURES_OK is set, the features are fixed. */
	vt_w32(t, VIRTIO_MMIO_STATUS,
	       VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	assert_true(vt_r32(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	assert_int_equal(virtio_mmio_driver_features(t->dev),
			 (1ULL << VIRTIO_F_VERSION_1) | BLK_FEATURES);
}

static void test_features_read_only(void **state)
{
	struct vt *t = new_vt(64, true);

	*state = t;
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DEVICE_FEATURES),
			 BLK_FEATURES | (1u << VIRTIO_BLK_F_RO));
	assert_int_equal(vt_cfg(t, 0, 8), 64);
}

static void test_features_ok_needs_version_1(void **state)
{
	struct vt *t = *state;
	struct vt_capture cap;
	char *log;

	vt_w32(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vt_w32(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES, BLK_FEATURES); /* no VERSION_1 */
	vt_capture_start(&cap);
	vt_w32(t, VIRTIO_MMIO_STATUS,
	       VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	log = vt_capture_stop(&cap);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	assert_non_null(strstr(log, "VERSION_1"));
	free(log);
	/* The driver may still accept VERSION_1 and try again. */
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	vt_w32(t, VIRTIO_MMIO_STATUS,
	       VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE |
								VIRTIO_CONFIG_S_DRIVER |
								VIRTIO_CONFIG_S_FEATURES_OK);
	/* The driver cannot set DEVICE_NEEDS_RESET itself. */
	vt_w32(t, VIRTIO_MMIO_STATUS, ALL_STATUS | VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), ALL_STATUS);
}

static void test_queue_num_validation(void **state)
{
	struct vt *t = *state;
	static const uint32_t bad[] = {0, 3, 6, 255, 257, 512, 0x10000, 0x80000000, 0xffffffff};

	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_NUM), 256); /* default: the maximum */
	vt_w32(t, VIRTIO_MMIO_QUEUE_NUM, 16);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_NUM), 16);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vt_w32(t, VIRTIO_MMIO_QUEUE_NUM, bad[i]);
		assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_NUM), 16);
	}
	for (uint32_t n = 1; n <= 256; n *= 2) {
		vt_w32(t, VIRTIO_MMIO_QUEUE_NUM, n);
		assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_NUM), n);
	}
}

struct ring_case {
	uint64_t desc, avail, used;
	uint32_t num;
	const char *why;
};

static void try_rings(struct vt *t, const struct ring_case *c, bool expect_ready)
{
	struct vt_capture cap;
	char *log;

	vt_w32(t, VIRTIO_MMIO_STATUS, 0);
	vt_w32(t, VIRTIO_MMIO_QUEUE_NUM, c->num);
	vt_w32(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)c->desc);
	vt_w32(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(c->desc >> 32));
	vt_w32(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)c->avail);
	vt_w32(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(c->avail >> 32));
	vt_w32(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)c->used);
	vt_w32(t, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(c->used >> 32));
	vt_capture_start(&cap);
	vt_w32(t, VIRTIO_MMIO_QUEUE_READY, 1);
	log = vt_capture_stop(&cap);
	if (expect_ready) {
		assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_READY), 1);
		assert_int_equal(vt_count(log, "warn:"), 0);
	} else {
		if (vt_r32(t, VIRTIO_MMIO_QUEUE_READY) != 0)
			fail_msg("rings with %s were accepted", c->why);
		assert_int_equal(vt_count(log, "warn:"), 1);
		assert_non_null(strstr(log, "not made ready"));
	}
	free(log);
}

static void test_queue_rings_validated(void **state)
{
	struct vt *t = *state;
	const uint64_t end = VT_RAM;
	const struct ring_case bad[] = {
		{end - 16 * 256 + 16, VT_AVAIL, VT_USED, 256, "desc table past RAM end"},
		{end - 16 * 8 + 16, VT_AVAIL, VT_USED, 8, "small desc table past RAM end"},
		{end, VT_AVAIL, VT_USED, 8, "desc table at RAM end"},
		{VT_DESC, end - 518 + 2, VT_USED, 256, "avail ring 2 bytes past RAM end"},
		{VT_DESC, VT_AVAIL, end - 2054 + 2, 256, "used ring 2 bytes past RAM end"},
		{VT_DESC, VT_AVAIL, end - 70 + 2, 8, "small used ring past RAM end"},
		{LEGO_MMIO_BASE, VT_AVAIL, VT_USED, 8, "desc table in the MMIO window"},
		{VT_DESC, LEGO_MMIO_BASE + 0x100, VT_USED, 8, "avail ring in the MMIO window"},
		{VT_DESC, VT_AVAIL, LEGO_MMIO_BASE, 8, "used ring in the MMIO window"},
		{VT_DESC, VT_AVAIL, LEGO_HIGH_RAM_BASE, 8, "used ring in high memory"},
		{VT_DESC | (1ULL << 32), VT_AVAIL, VT_USED, 8, "desc high half set"},
		{0xfffffffffffff000ULL, VT_AVAIL, VT_USED, 8, "desc table wrapping 2^64"},
		{VT_DESC, 0xfffffffffffffff0ULL, VT_USED, 8, "avail ring wrapping 2^64"},
		{VT_DESC + 8, VT_AVAIL, VT_USED, 8, "desc table misaligned"},
		{VT_DESC, VT_AVAIL + 1, VT_USED, 8, "avail ring misaligned"},
		{VT_DESC, VT_AVAIL, VT_USED + 2, 8, "used ring misaligned"},
	};
	const struct ring_case good[] = {
		{end - 16 * 256, VT_AVAIL, VT_USED, 256, "desc table ending at RAM end"},
		{VT_DESC, end - 518, VT_USED, 256, "avail ring ending at RAM end"},
		{VT_DESC, VT_AVAIL, end - 2056, 256, "used ring 2 bytes before RAM end"},
		{0, 0x1000, 0x2000, 1, "rings at address 0, size 1"},
		{VT_DESC, VT_AVAIL + 2, VT_USED + 4, 256, "minimal alignment"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		try_rings(t, &bad[i], false);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		try_rings(t, &good[i], true);
}

static void test_queue_regs_fixed_while_ready(void **state)
{
	struct vt *t = *state;

	vt_driver_up(t, 8);
	vt_w32(t, VIRTIO_MMIO_QUEUE_NUM, 16);
	vt_w32(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)LEGO_MMIO_BASE);
	vt_w32(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x10);
	vt_w32(t, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_NUM), 8);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_DESC_LOW), VT_DESC);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW), VT_AVAIL);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_USED_HIGH), 0);
	/* And the queue still works at its configured place. */
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 1, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(vt_used_idx(t), 1);
	/* A second ready write changes nothing either. */
	vt_w32(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 1, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(vt_used_idx(t), 2);
}

static void test_notify_before_driver_ok(void **state)
{
	struct vt *t = *state;

	vt_driver_up(t, 8);
	vt_w32(t, VIRTIO_MMIO_STATUS, ALL_STATUS & ~VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 0, VT_DATA, 512, true), 0xff);
	assert_int_equal(vt_used_idx(t), 0);
	vt_w32(t, VIRTIO_MMIO_STATUS, ALL_STATUS);
	vt_notify(t);
	assert_int_equal(vt_status(t, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(vt_used_idx(t), 1);
}

static void test_notify_invalid_queue(void **state)
{
	struct vt *t = *state;
	static const uint32_t bad[] = {1, 2, 0x10000, 0xffffffff};
	struct vt_capture cap;
	char *log;

	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 0, VT_DATA, 512, true);
	vt_publish(t, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vt_capture_start(&cap);
		vt_w32(t, VIRTIO_MMIO_QUEUE_NOTIFY, bad[i]);
		log = vt_capture_stop(&cap);
		assert_int_equal(vt_count(log, "warn:"), 1);
		assert_non_null(strstr(log, "does not exist"));
		free(log);
	}
	assert_int_equal(vt_status(t, 0), 0xff);
	assert_int_equal(vt_used_idx(t), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), ALL_STATUS);
	vt_notify(t);
	assert_int_equal(vt_status(t, 0), VIRTIO_BLK_S_OK);
}

static void test_notify_queue_not_ready(void **state)
{
	struct vt *t = *state;

	vt_driver_up(t, 8);
	vt_w32(t, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 0, VT_DATA, 512, true), 0xff);
	assert_int_equal(vt_used_idx(t), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), ALL_STATUS);
	/* Made ready again it starts from index 0. */
	vt_w32(t, VIRTIO_MMIO_QUEUE_READY, 1);
	t->avail_idx = 0;
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 0, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(vt_used_idx(t), 1);
}

/* ---- well-formed I/O ----------------------------------------------------------------- */

static void check_pattern(const uint8_t *buf, uint64_t disk_off, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != vt_pattern(disk_off + i))
			fail_msg("byte %llu of the read differs from disk offset %llu",
				 (unsigned long long)i, (unsigned long long)(disk_off + i));
}

static void test_read(void **state)
{
	struct vt *t = *state;
	uint8_t *data = vt_g(t, VT_DATA, 4096);
	struct vring_used_elem e;

	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 5, VT_DATA + 16, 1024, true),
			 VIRTIO_BLK_S_OK);
	check_pattern(data + 16, 5 * 512, 1024);
	for (int i = 0; i < 16; i++)
		assert_int_equal(data[i], VT_CANARY);
	assert_int_equal(data[16 + 1024], VT_CANARY);
	assert_int_equal(vt_used_idx(t), 1);
	e = vt_used_elem(t, 0);
	assert_int_equal(e.id, 0);
	assert_int_equal(e.len, 1024 + 1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	vt_w32(t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* Last sector of the disk, at the other descriptors. */
	assert_int_equal(vt_do(t, 3, VIRTIO_BLK_T_IN, VT_SECTORS - 1, VT_DATA + 8192, 512, true),
			 VIRTIO_BLK_S_OK);
	check_pattern(vt_g(t, VT_DATA + 8192, 512), (VT_SECTORS - 1) * 512, 512);
	e = vt_used_elem(t, 1);
	assert_int_equal(e.id, 3);
	assert_int_equal(e.len, 513);
	/* Zero-length read at the very end: fine. */
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, VT_SECTORS, VT_DATA, 0, true),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(vt_used_elem(t, 2).len, 1);
	/* VRING_AVAIL_F_NO_INTERRUPT changes nothing here. */
	vt_avail(t)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 7, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	check_pattern(data, 7 * 512, 512);
	assert_int_equal(vt_used_idx(t), 4);
	assert_true(vt_disk_is_pattern(t, VT_SECTORS, 0, 0));
}

static void fill_random(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void test_write(void **state)
{
	struct vt *t = *state;
	uint8_t *data = vt_g(t, VT_DATA, 1536);
	uint8_t back[1536];

	fill_random(data, 1536, 1);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_OUT, 100, VT_DATA, 1536, false), VIRTIO_BLK_S_OK);
	assert_int_equal(vt_used_elem(t, 0).len, 1);
	assert_int_equal(pread(t->fd, back, sizeof(back), 100 * 512), (ssize_t)sizeof(back));
	assert_memory_equal(back, data, sizeof(back));
	assert_true(vt_disk_is_pattern(t, VT_SECTORS, 100 * 512, 1536));
	/* Last sector. */
	fill_random(data, 512, 2);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_OUT, VT_SECTORS - 1, VT_DATA, 512, false),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(pread(t->fd, back, 512, (VT_SECTORS - 1) * 512), 512);
	assert_memory_equal(back, data, 512);
	assert_int_equal(vt_used_idx(t), 2);
}

/* A request whose data is split over nseg descriptors of the given sizes. */
static uint8_t do_segmented(struct vt *t, uint32_t type, uint64_t sector, const uint32_t *sizes,
			    int nseg, bool write)
{
	uint64_t gpa = VT_DATA;
	uint16_t d = 0;

	vt_hdr(t, 0, type, sector);
	*(uint8_t *)vt_g(t, VT_STATUS(0), 1) = 0xff;
	vt_desc(t, d, VT_HDR(0), 16, VRING_DESC_F_NEXT, d + 1);
	d++;
	for (int i = 0; i < nseg; i++, d++) {
		vt_desc(t, d, gpa, sizes[i], VRING_DESC_F_NEXT | (write ? VRING_DESC_F_WRITE : 0),
			d + 1);
		gpa += sizes[i] + 64; /* gaps between the buffers */
	}
	vt_desc(t, d, VT_STATUS(0), 1, VRING_DESC_F_WRITE, 0);
	vt_publish(t, 0);
	vt_notify(t);
	return vt_status(t, 0);
}

static void gather(struct vt *t, const uint32_t *sizes, int nseg, uint8_t *out)
{
	uint64_t gpa = VT_DATA;

	for (int i = 0; i < nseg; i++) {
		memcpy(out, vt_g(t, gpa, sizes[i] ? sizes[i] : 1), sizes[i]);
		out += sizes[i];
		gpa += sizes[i] + 64;
	}
}

static void test_segmented_io(void **state)
{
	struct vt *t = *state;
	static const uint32_t wsz[] = {100, 412, 512};
	static const uint32_t rsz[] = {1, 0, 511, 300, 212, 0};
	static const uint32_t many[] = {512, 512, 512, 512, 512, 512, 512, 512, 512, 512};
	uint8_t src[1024], got[1024], file[5120];
	uint64_t gpa = VT_DATA;

	vt_driver_up(t, 16);
	fill_random(src, sizeof(src), 3);
	for (int i = 0, off = 0; i < 3; i++) {
		memcpy(vt_g(t, gpa, wsz[i]), src + off, wsz[i]);
		off += (int)wsz[i];
		gpa += wsz[i] + 64;
	}
	assert_int_equal(do_segmented(t, VIRTIO_BLK_T_OUT, 10, wsz, 3, false), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(t->fd, got, 1024, 10 * 512), 1024);
	assert_memory_equal(got, src, 1024);

	memset(vt_g(t, VT_DATA, 8192), 0, 8192);
	assert_int_equal(do_segmented(t, VIRTIO_BLK_T_IN, 10, rsz, 6, true), VIRTIO_BLK_S_OK);
	gather(t, rsz, 6, got);
	assert_memory_equal(got, src, 1024);
	assert_int_equal(vt_used_elem(t, 1).len, 1025);

	/* More segments than the device keeps inline. */
	memset(vt_g(t, VT_DATA, 8192), 0, 8192);
	assert_int_equal(do_segmented(t, VIRTIO_BLK_T_IN, 0, many, 10, true), VIRTIO_BLK_S_OK);
	gather(t, many, 10, file);
	check_pattern(file, 0, 5120);
	assert_int_equal(vt_used_elem(t, 2).len, 5121);
	fill_random(src, 512, 9);
	for (int i = 0; i < 10; i++)
		memcpy(vt_g(t, VT_DATA + i * (512 + 64), 512), src, 512);
	assert_int_equal(do_segmented(t, VIRTIO_BLK_T_OUT, 20, many, 10, false), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(t->fd, file, 5120, 20 * 512), 5120);
	for (int i = 0; i < 10; i++)
		assert_memory_equal(file + i * 512, src, 512);
}

static void test_longest_chain(void **state)
{
	struct vt *t = *state;
	static const uint32_t six[] = {512, 512, 512, 512, 512, 512};
	uint8_t buf[3072];

	/* header + 6 data + status = 8 = the queue size */
	assert_int_equal(do_segmented(t, VIRTIO_BLK_T_IN, 2, six, 6, true), VIRTIO_BLK_S_OK);
	gather(t, six, 6, buf);
	check_pattern(buf, 1024, sizeof(buf));
}

static void test_flush(void **state)
{
	struct vt *t = *state;

	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false), VIRTIO_BLK_S_OK);
	assert_int_equal(vt_used_elem(t, 0).len, 1);
	/* Data buffers and sector of a flush carry nothing. */
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_FLUSH, ~0ULL, VT_DATA, 512, true),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(vt_used_elem(t, 1).len, 1);
	assert_int_equal(*(uint8_t *)vt_g(t, VT_DATA, 1), VT_CANARY);
	assert_true(vt_disk_is_pattern(t, VT_SECTORS, 0, 0));
}

static void test_get_id(void **state)
{
	struct vt *t = *state;
	char want[20] = {0};
	const char *base = strrchr(t->path, '/') + 1;
	uint8_t *data = vt_g(t, VT_DATA, 64);

	snprintf(want, sizeof(want), "lego-%s", base);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_GET_ID, 0, VT_DATA, 20, true), VIRTIO_BLK_S_OK);
	assert_memory_equal(data, want, 20);
	assert_int_equal(data[20], VT_CANARY);
	assert_int_equal(vt_used_elem(t, 0).len, 21);
	/* A shorter buffer gets what fits, a longer one the 20 bytes. */
	memset(data, VT_CANARY, 64);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_GET_ID, 0, VT_DATA, 8, true), VIRTIO_BLK_S_OK);
	assert_memory_equal(data, want, 8);
	assert_int_equal(data[8], VT_CANARY);
	assert_int_equal(vt_used_elem(t, 1).len, 9);
	memset(data, VT_CANARY, 64);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_GET_ID, 0, VT_DATA, 64, true), VIRTIO_BLK_S_OK);
	assert_memory_equal(data, want, 20);
	assert_int_equal(data[20], VT_CANARY);
	assert_int_equal(vt_used_elem(t, 2).len, 21);
}

static void test_get_id_truncated_name(void **state)
{
	struct vt *t = *state;
	char path[] = "/tmp/a-very-long-disk-image-name.img";
	struct blk_backend *be;
	struct virtio_mmio_dev *dev;
	struct bus bus;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	assert_int_equal(blk_file_open(path, false, &be), 0);
	unlink(path);
	bus_init(&bus, "mmio2");
	dev = virtio_blk_create(&bus, &t->mem, LEGO_MMIO_BASE, be);
	assert_non_null(dev);
	/* Drive it through its own bus with the same rings. */
	{
		struct bus saved = t->bus;

		t->bus = bus;
		vt_driver_up(t, 8);
		assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_GET_ID, 0, VT_DATA, 20, true),
				 VIRTIO_BLK_S_OK);
		t->bus = saved;
	}
	assert_memory_equal(vt_g(t, VT_DATA, 20), "lego-a-very-long-dis", 20);
	virtio_blk_destroy(dev);
	blk_backend_close(be);
}

static void test_multiple_chains_one_notify(void **state)
{
	struct vt *t = *state;
	uint8_t *w = vt_g(t, VT_DATA + 0x10000, 512);

	vt_driver_up(t, 16);
	fill_random(w, 512, 5);
	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 1, VT_DATA, 512, true);
	vt_blk_chain(t, 3, VIRTIO_BLK_T_IN, 2, VT_DATA + 512, 1024, true);
	vt_blk_chain(t, 6, VIRTIO_BLK_T_OUT, 50, VT_DATA + 0x10000, 512, false);
	vt_blk_chain(t, 9, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	vt_blk_chain(t, 11, 77, 0, 0, 0, false); /* unsupported, still completes */
	vt_blk_chain(t, 13, VIRTIO_BLK_T_IN, 50, VT_DATA + 0x20000, 512, true);
	vt_avail_put(t, 0);
	vt_avail_put(t, 3);
	vt_avail_put(t, 6);
	vt_avail_put(t, 9);
	vt_avail_put(t, 11);
	vt_avail_put(t, 13);
	vt_avail_publish(t);
	vt_notify(t);
	assert_int_equal(vt_used_idx(t), 6);
	{
		static const uint16_t ids[] = {0, 3, 6, 9, 11, 13};
		static const uint32_t lens[] = {513, 1025, 1, 1, 1, 513};

		for (int i = 0; i < 6; i++) {
			assert_int_equal(vt_used_elem(t, i).id, ids[i]);
			assert_int_equal(vt_used_elem(t, i).len, lens[i]);
		}
	}
	assert_int_equal(vt_status(t, 11), VIRTIO_BLK_S_UNSUPP);
	check_pattern(vt_g(t, VT_DATA, 1536), 512, 1536);
	/* The read after the write in the same batch sees the written data. */
	assert_memory_equal(vt_g(t, VT_DATA + 0x20000, 512), w, 512);
	/* A second notify with nothing new does nothing. */
	vt_notify(t);
	assert_int_equal(vt_used_idx(t), 6);
}

static void test_avail_wraparound(void **state)
{
	struct vt *t = *state;
	uint32_t ops = 0;

	vt_driver_up(t, 4);
	/* Cheap requests until the avail index is about to wrap... */
	while (t->avail_idx != 65534) {
		vt_blk_chain(t, 0, VIRTIO_BLK_T_GET_ID, 0, VT_DATA, 20, true);
		vt_publish(t, 0);
		vt_notify(t);
		ops++;
	}
	assert_int_equal(vt_used_idx(t), 65534);
	assert_int_equal(vt_status(t, 0), VIRTIO_BLK_S_OK);
	/* ...then one batch that crosses 65535 -> 0 (two chains of 2 on a queue of 4). */
	vt_blk_chain(t, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	vt_blk_chain(t, 2, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	vt_avail_put(t, 0);
	vt_avail_put(t, 2);
	vt_avail_publish(t);
	assert_int_equal(vt_avail(t)->idx, 0);
	vt_notify(t);
	assert_int_equal(vt_used_idx(t), 0);
	assert_int_equal(vt_used_elem(t, 65534).id, 0);
	assert_int_equal(vt_used_elem(t, 65535).id, 2);
	/* And reads right after the wrap. */
	memset(vt_g(t, VT_DATA, 1024), 0, 1024);
	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 9, VT_DATA, 512, true);
	vt_publish(t, 0);
	vt_notify(t);
	assert_int_equal(vt_used_idx(t), 1);
	assert_int_equal(vt_status(t, 0), VIRTIO_BLK_S_OK);
	check_pattern(vt_g(t, VT_DATA, 512), 9 * 512, 512);
	assert_int_equal(vt_used_elem(t, 0).len, 513);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), ALL_STATUS);
	assert_true(ops > 60000);
}

/* ---- malformed chains: DEVICE_NEEDS_RESET, nothing done ------------------------------ */

struct bad_case {
	const char *name;
	void (*build)(struct vt *t); /* builds and publishes on a queue of 8 */
	const char *why;	     /* expected in the warn line */
};

static void b_next_oob(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 0, VT_DATA, 512, true);
	vt_descs(t)[1].next = 8;
	vt_publish(t, 0);
}

static void b_next_ffff(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_descs(t)[0].next = 0xffff;
	vt_publish(t, 0);
}

static void b_self_loop(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_descs(t)[0].next = 0;
	vt_publish(t, 0);
}

static void b_cycle(struct vt *t)
{
	/* header -> data -> data -> back to the first data: readable all along */
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_desc(t, 2, VT_DATA + 512, 512, VRING_DESC_F_NEXT, 1);
	vt_publish(t, 0);
}

static void b_long_cycle(struct vt *t)
{
	/* all 8 descriptors in one ring: 0 -> 1 -> ... -> 7 -> 0 */
	vt_hdr(t, 0, VIRTIO_BLK_T_OUT, 0);
	vt_desc(t, 0, VT_HDR(0), 16, VRING_DESC_F_NEXT, 1);
	for (uint16_t i = 1; i < 8; i++)
		vt_desc(t, i, VT_DATA + 512ULL * i, 512, VRING_DESC_F_NEXT, (i + 1) % 8);
	vt_publish(t, 0);
}

static void b_status_beyond_ram(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_descs(t)[2].addr = VT_RAM;
	vt_publish(t, 0);
}

static void b_data_straddles_ram_end(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 0, VT_RAM - 256, 512, true);
	vt_publish(t, 0);
}

static void b_data_in_mmio(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, LEGO_MMIO_BASE, 512, false);
	vt_publish(t, 0);
}

static void b_data_in_hole(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 0, 0x80000000ULL, 512, true);
	vt_publish(t, 0);
}

static void b_data_wraps(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 0, 0xfffffffffffffe00ULL, 0x400, true);
	vt_publish(t, 0);
}

static void b_data_len_max(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 0xffffffff, false);
	vt_publish(t, 0);
}

static void b_header_in_mmio(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_descs(t)[0].addr = LEGO_MMIO_BASE + VIRTIO_MMIO_CONFIG;
	vt_publish(t, 0);
}

static void b_indirect(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_descs(t)[1].flags |= VRING_DESC_F_INDIRECT;
	vt_descs(t)[1].len = 32; /* a plausible table of two */
	vt_publish(t, 0);
}

static void b_readable_after_writable(struct vt *t)
{
	vt_hdr(t, 0, VIRTIO_BLK_T_IN, 0);
	*(uint8_t *)vt_g(t, VT_STATUS(0), 1) = 0xff;
	vt_desc(t, 0, VT_HDR(0), 16, VRING_DESC_F_NEXT, 1);
	vt_desc(t, 1, VT_DATA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	vt_desc(t, 2, VT_DATA + 512, 512, VRING_DESC_F_NEXT, 3);
	vt_desc(t, 3, VT_STATUS(0), 1, VRING_DESC_F_WRITE, 0);
	vt_publish(t, 0);
}

static void b_avail_too_far_ahead(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	t->avail_idx = 9; /* every ring entry is 0: head 0, a good chain */
	vt_avail_publish(t);
}

static void b_avail_behind(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	t->avail_idx = 0xffff; /* "one behind": 65535 ahead */
	vt_avail_publish(t);
}

static void b_avail_entry_oob(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_publish(t, 8);
}

static void b_avail_entry_ffff(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_publish(t, 0xffff);
}

static void b_header_writable(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 0, VT_DATA, 512, true);
	vt_descs(t)[0].flags |= VRING_DESC_F_WRITE;
	vt_publish(t, 0);
}

static void b_header_short(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_descs(t)[0].len = 15;
	vt_publish(t, 0);
}

static void b_header_split(struct vt *t)
{
	/* 8 + 8 header bytes: legal in virtio, refused by this contract */
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_descs(t)[0].len = 8;
	vt_desc(t, 3, VT_HDR(0) + 8, 8, VRING_DESC_F_NEXT, 1);
	vt_descs(t)[0].next = 3;
	vt_publish(t, 0);
}

static void b_status_readable(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_descs(t)[2].flags = 0;
	vt_publish(t, 0);
}

static void b_status_empty(struct vt *t)
{
	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_descs(t)[2].len = 0;
	vt_publish(t, 0);
}

static void b_header_only(struct vt *t)
{
	vt_hdr(t, 0, VIRTIO_BLK_T_FLUSH, 0);
	vt_desc(t, 0, VT_HDR(0), 16, 0, 0);
	vt_publish(t, 0);
}

static void b_status_only(struct vt *t)
{
	*(uint8_t *)vt_g(t, VT_STATUS(0), 1) = 0xff;
	vt_desc(t, 0, VT_STATUS(0), 1, VRING_DESC_F_WRITE, 0);
	vt_publish(t, 0);
}

static void b_second_chain_bad(struct vt *t)
{
	/* A good flush first (completed), then a malformed chain. */
	vt_blk_chain(t, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	vt_blk_chain(t, 2, VIRTIO_BLK_T_OUT, 0, VT_DATA, 512, false);
	vt_descs(t)[3].next = 200;
	vt_avail_put(t, 0);
	vt_avail_put(t, 2);
	vt_avail_publish(t);
}

static const struct bad_case bad_cases[] = {
	{"malformed: next index >= queue size", b_next_oob, "next 8 is not below queue size 8"},
	{"malformed: next index 0xffff", b_next_ffff, "next 65535 is not below"},
	{"malformed: descriptor loops to itself", b_self_loop, "longer than the queue size"},
	{"malformed: chain cycles", b_cycle, "longer than the queue size"},
	{"malformed: cycle through all descriptors", b_long_cycle, "longer than the queue size"},
	{"malformed: status beyond RAM end", b_status_beyond_ram, "not inside guest RAM"},
	{"malformed: data straddles RAM end", b_data_straddles_ram_end, "not inside guest RAM"},
	{"malformed: data in the MMIO window", b_data_in_mmio, "not inside guest RAM"},
	{"malformed: data in unbacked space", b_data_in_hole, "not inside guest RAM"},
	{"malformed: data wraps 2^64", b_data_wraps, "not inside guest RAM"},
	{"malformed: data length 0xffffffff", b_data_len_max, "not inside guest RAM"},
	{"malformed: header in the MMIO window", b_header_in_mmio, "not inside guest RAM"},
	{"malformed: indirect descriptor", b_indirect, "indirect"},
	{"malformed: readable after writable", b_readable_after_writable,
	 "device-readable after a device-writable"},
	{"malformed: avail idx too far ahead", b_avail_too_far_ahead, "ahead"},
	{"malformed: avail idx behind", b_avail_behind, "ahead"},
	{"malformed: avail entry >= queue size", b_avail_entry_oob, "avail ring entry"},
	{"malformed: avail entry 0xffff", b_avail_entry_ffff, "avail ring entry"},
	{"malformed: header device-writable", b_header_writable, "first descriptor"},
	{"malformed: header 15 bytes", b_header_short, "first descriptor"},
	{"malformed: header split over two descriptors", b_header_split, "first descriptor"},
	{"malformed: status device-readable", b_status_readable, "last descriptor"},
	{"malformed: status 0 bytes", b_status_empty, "last descriptor"},
	{"malformed: header only", b_header_only, "last descriptor"},
	{"malformed: status only", b_status_only, "first descriptor"},
	{"malformed: second chain of a batch", b_second_chain_bad, "next 200"},
};

static void test_malformed(void **state)
{
	const struct bad_case *c = *state;
	struct vt *t;
	struct vt_capture cap;
	uint16_t done = 0;
	uint8_t *snap;
	char *log;

	*state = NULL;
	t = new_vt(VT_SECTORS, false);
	*state = t; /* teardown frees it */
	vt_driver_up(t, 8);
	c->build(t);
	if (c->build == b_second_chain_bad)
		done = 1; /* the good flush before the bad chain completes */
	snap = vt_snapshot(t);
	vt_capture_start(&cap);
	vt_notify(t);
	log = vt_capture_stop(&cap);

	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), ALL_STATUS | VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_CONFIG | (done ? VIRTIO_MMIO_INT_VRING : 0));
	/* InterruptACK clears only the bits written. */
	vt_w32(t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(vt_used_idx(t), done);
	if (done) {
		assert_int_equal(vt_used_elem(t, 0).id, 0);
		assert_int_equal(vt_status(t, 0), VIRTIO_BLK_S_OK);
		snap[VT_STATUS(0)] = VIRTIO_BLK_S_OK;
		memcpy(snap + VT_USED, t->mem.base + VT_USED, 6 + 8 * 8);
	}
	if (!vt_ram_same(t, snap, 0, 0))
		fail_msg("guest RAM changed");
	assert_true(vt_disk_is_pattern(t, VT_SECTORS, 0, 0));
	if (vt_count(log, "warn:") != 1 || !strstr(log, c->why))
		fail_msg("expected one warn line naming \"%s\", got: %s", c->why, log);
	assert_non_null(strstr(log, "needs reset"));
	free(log);

	/* Further notifies are ignored until reset, even for good chains. */
	vt_blk_chain(t, 4, VIRTIO_BLK_T_IN, 3, VT_DATA + 0x1000, 512, true);
	vt_publish(t, 4);
	vt_notify(t);
	assert_int_equal(vt_status(t, 4), 0xff);
	assert_int_equal(vt_used_idx(t), done);
	assert_int_equal(*(uint8_t *)vt_g(t, VT_DATA + 0x1000, 1), VT_CANARY);

	/* Reset clears everything; the driver starts over and succeeds. */
	vt_w32(t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	vt_driver_up(t, 8);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 3, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	check_pattern(vt_g(t, VT_DATA, 512), 3 * 512, 512);
	assert_int_equal(vt_used_idx(t), 1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), ALL_STATUS);
	free(snap);
}

/* ---- well-formed chains, bad requests: a status byte ---------------------------------- */

struct sem_case {
	const char *name;
	uint32_t type;
	uint64_t sector;
	uint32_t len; /* data bytes, one descriptor at VT_DATA (0: none) */
	bool data_write;
	bool read_only;
	uint8_t status;
};

static const struct sem_case sem_cases[] = {
	{"status: SCSI command unsupported", 2, 0, 512, true, false, VIRTIO_BLK_S_UNSUPP},
	{"status: discard unsupported", VIRTIO_BLK_T_DISCARD, 0, 16, false, false,
	 VIRTIO_BLK_S_UNSUPP},
	{"status: write-zeroes unsupported", VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, false,
	 VIRTIO_BLK_S_UNSUPP},
	{"status: barrier write unsupported", 0x80000001, 0, 512, false, false,
	 VIRTIO_BLK_S_UNSUPP},
	{"status: type 0xffffffff unsupported", 0xffffffff, 0, 0, false, false,
	 VIRTIO_BLK_S_UNSUPP},
	{"status: read at capacity", VIRTIO_BLK_T_IN, VT_SECTORS, 512, true, false,
	 VIRTIO_BLK_S_IOERR},
	{"status: read straddles the end", VIRTIO_BLK_T_IN, VT_SECTORS - 1, 1024, true, false,
	 VIRTIO_BLK_S_IOERR},
	{"status: write straddles the end", VIRTIO_BLK_T_OUT, VT_SECTORS - 1, 1024, false, false,
	 VIRTIO_BLK_S_IOERR},
	{"status: zero-length read past the end", VIRTIO_BLK_T_IN, VT_SECTORS + 1, 0, true, false,
	 VIRTIO_BLK_S_IOERR},
	{"status: sector 2^64-1", VIRTIO_BLK_T_IN, ~0ULL, 512, true, false, VIRTIO_BLK_S_IOERR},
	{"status: sector * 512 wraps to 0", VIRTIO_BLK_T_OUT, 1ULL << 55, 512, false, false,
	 VIRTIO_BLK_S_IOERR},
	{"status: sector + length wraps", VIRTIO_BLK_T_IN, ~0ULL - 1, 1024, true, false,
	 VIRTIO_BLK_S_IOERR},
	{"status: read length 500", VIRTIO_BLK_T_IN, 0, 500, true, false, VIRTIO_BLK_S_IOERR},
	{"status: write length 513", VIRTIO_BLK_T_OUT, 0, 513, false, false, VIRTIO_BLK_S_IOERR},
	{"status: write to read-only disk", VIRTIO_BLK_T_OUT, 0, 512, false, true,
	 VIRTIO_BLK_S_IOERR},
	{"status: read into a device-readable buffer", VIRTIO_BLK_T_IN, 0, 512, false, false,
	 VIRTIO_BLK_S_IOERR},
	{"status: write from a device-writable buffer", VIRTIO_BLK_T_OUT, 0, 512, true, false,
	 VIRTIO_BLK_S_IOERR},
	{"status: get-id into a device-readable buffer", VIRTIO_BLK_T_GET_ID, 0, 20, false, false,
	 VIRTIO_BLK_S_IOERR},
};

static void test_semantic(void **state)
{
	const struct sem_case *c = *state;
	struct vt *t;
	struct vring_used_elem e;
	struct vt_capture cap;
	uint8_t *snap;
	char *log;

	*state = NULL;
	t = new_vt(VT_SECTORS, c->read_only);
	*state = t;
	vt_driver_up(t, 8);
	fill_random(vt_g(t, VT_DATA, 4096), 4096, 11);
	vt_blk_chain(t, 0, c->type, c->sector, VT_DATA, c->len, c->data_write);
	vt_publish(t, 0);
	snap = vt_snapshot(t);
	vt_capture_start(&cap);
	vt_notify(t);
	log = vt_capture_stop(&cap);

	assert_int_equal(vt_status(t, 0), c->status);
	assert_int_equal(vt_used_idx(t), 1);
	e = vt_used_elem(t, 0);
	assert_int_equal(e.id, 0);
	assert_int_equal(e.len, 1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), ALL_STATUS);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	/* Nothing but the status byte and the used ring changed. */
	snap[VT_STATUS(0)] = c->status;
	memcpy(snap + VT_USED, t->mem.base + VT_USED, 6 + 8 * 8);
	if (!vt_ram_same(t, snap, 0, 0))
		fail_msg("guest RAM changed beyond the status byte");
	assert_true(vt_disk_is_pattern(t, VT_SECTORS, 0, 0));
	assert_int_equal(vt_count(log, "warn:"), 0);
	free(log);
	free(snap);
	/* The queue goes on. */
	assert_int_equal(vt_do(t, 3, VIRTIO_BLK_T_IN, 4, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	check_pattern(vt_g(t, VT_DATA, 512), 4 * 512, 512);
}

static void test_backend_io_error(void **state)
{
	struct vt *t = *state;
	struct vt_capture cap;
	char *log;

	/* The image shrinks under the device: reads past the new end hit EOF. */
	assert_int_equal(ftruncate(t->fd, VT_SECTORS * 512 / 2), 0);
	vt_capture_start(&cap);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, VT_SECTORS - 4, VT_DATA, 1024, true),
			 VIRTIO_BLK_S_IOERR);
	log = vt_capture_stop(&cap);
	assert_int_equal(vt_used_elem(t, 0).len, 1);
	assert_non_null(strstr(log, "failed"));
	assert_int_equal(vt_count(log, "warn:"), 1);
	free(log);
	assert_int_equal(*(uint8_t *)vt_g(t, VT_DATA, 1), VT_CANARY);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), ALL_STATUS);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 1, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
}

/* ---- reset --------------------------------------------------------------------------- */

static void test_reset(void **state)
{
	struct vt *t = *state;

	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 0, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 0, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	vt_w32(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	assert_int_not_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	vt_w32(t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_DRIVER_FEATURES), 0);
	assert_int_equal(virtio_mmio_driver_features(t->dev), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_NUM), 256);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_USED_LOW), 0);
	/* A notify now is ignored. */
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 0, VT_DATA, 512, true), 0xff);
	/* The device starts from index 0 on a new setup (different queue size). */
	vt_driver_up(t, 4);
	assert_int_equal(vt_do(t, 0, VIRTIO_BLK_T_IN, 0, VT_DATA, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(vt_used_idx(t), 1);
	assert_int_equal(vt_used_elem(t, 0).len, 513);
}

/* ---- concurrency -------------------------------------------------------------------- */

#define CONC_ITERS 1500

struct conc {
	struct vt *t;
	pthread_mutex_t *guest_lock; /* the guest driver's own ring lock */
	int k;
	int failures;
	volatile int *stop;
};

static void wait_status(struct vt *t, uint16_t head)
{
	while (vt_status(t, head) == 0xff)
		sched_yield();
}

static void *conc_worker(void *arg)
{
	struct conc *c = arg;
	struct vt *t = c->t;
	uint16_t wh = (uint16_t)(6 * c->k), rh = (uint16_t)(6 * c->k + 3);
	uint64_t wbuf = VT_DATA + 0x10000ULL * c->k, rbuf = wbuf + 0x8000;
	uint64_t sector = 64 + 8ULL * c->k;

	for (int i = 0; i < CONC_ITERS; i++) {
		uint8_t *w = t->mem.base + wbuf, *r = t->mem.base + rbuf;

		fill_random(w, 1024, (unsigned)(i * 2 + c->k));
		memset(r, 0, 1024);
		pthread_mutex_lock(c->guest_lock);
		vt_blk_chain(t, wh, VIRTIO_BLK_T_OUT, sector, wbuf, 1024, false);
		vt_publish(t, wh);
		pthread_mutex_unlock(c->guest_lock);
		vt_notify(t);
		wait_status(t, wh);
		pthread_mutex_lock(c->guest_lock);
		vt_blk_chain(t, rh, VIRTIO_BLK_T_IN, sector, rbuf, 1024, true);
		vt_publish(t, rh);
		pthread_mutex_unlock(c->guest_lock);
		vt_notify(t);
		wait_status(t, rh);
		if (vt_status(t, wh) != VIRTIO_BLK_S_OK || vt_status(t, rh) != VIRTIO_BLK_S_OK ||
		    memcmp(w, r, 1024))
			c->failures++;
	}
	return NULL;
}

static void *conc_poller(void *arg)
{
	struct conc *c = arg;

	while (!*c->stop) {
		uint32_t v = vt_r32(c->t, VIRTIO_MMIO_INTERRUPT_STATUS);

		vt_w32(c->t, VIRTIO_MMIO_INTERRUPT_ACK, v);
		if (vt_r32(c->t, VIRTIO_MMIO_STATUS) != ALL_STATUS)
			c->failures++;
		if (vt_cfg(c->t, 0, 8) != VT_SECTORS)
			c->failures++;
	}
	return NULL;
}

static void test_concurrent_notifiers(void **state)
{
	struct vt *t = *state;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	volatile int stop = 0;
	struct conc c[3];
	pthread_t th[3];

	vt_driver_up(t, 16);
	for (int k = 0; k < 3; k++) {
		c[k] = (struct conc){.t = t, .guest_lock = &lock, .k = k, .stop = &stop};
		assert_int_equal(
			pthread_create(&th[k], NULL, k < 2 ? conc_worker : conc_poller, &c[k]), 0);
	}
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	stop = 1;
	pthread_join(th[2], NULL);
	assert_int_equal(c[0].failures + c[1].failures + c[2].failures, 0);
	assert_int_equal(vt_used_idx(t), (uint16_t)(4 * CONC_ITERS));
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), ALL_STATUS);
}

/* A second guest vCPU rewrites a descriptor while the device reads the chain: each
 * request either completes correctly or is refused as malformed, never anything else. */
struct tamper {
	struct vt *t;
	volatile int stop;
};

static void *tamper_thread(void *arg)
{
	struct tamper *tp = arg;
	struct vring_desc *d = &((struct vring_desc *)(tp->t->mem.base + VT_DESC))[1];
	unsigned n = 0;

	while (!tp->stop) {
		n++;
		__atomic_store_n(&d->addr, (n & 1) ? VT_DATA : VT_RAM - 256, __ATOMIC_RELAXED);
		__atomic_store_n(&d->len, (n & 2) ? 512 : 0xffffffff, __ATOMIC_RELAXED);
		__atomic_store_n(&d->next, (n & 4) ? 2 : 0x100, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_concurrent_tamper(void **state)
{
	struct vt *t = *state;
	struct tamper tp = {.t = t};
	enum log_level level = log_get_level();
	int ok = 0, refused = 0, other = 0;
	pthread_t th;

	log_set_level(LOG_ERROR); /* hundreds of expected warn lines */
	vt_driver_up(t, 8);
	assert_int_equal(pthread_create(&th, NULL, tamper_thread, &tp), 0);
	for (int i = 0; i < 3000; i++) {
		uint8_t *data = t->mem.base + VT_DATA;
		uint8_t st;

		memset(data, VT_CANARY, 512);
		st = vt_do(t, 0, VIRTIO_BLK_T_IN, 6, VT_DATA, 512, true);
		if (vt_r32(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET) {
			if (st != 0xff)
				other++;
			refused++;
			vt_driver_up(t, 8);
			continue;
		}
		if (st == VIRTIO_BLK_S_OK && vt_used_elem(t, t->avail_idx - 1).len == 513) {
			check_pattern(data, 6 * 512, 512);
			ok++;
		} else {
			other++;
		}
	}
	tp.stop = 1;
	pthread_join(th, NULL);
	log_set_level(level);
	print_message("# tamper: %d completed, %d refused\n", ok, refused);
	assert_int_equal(other, 0);
	assert_int_equal(ok + refused, 3000);
}

int main(int argc, char **argv)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup_rw, teardown_vt),
		cmocka_unit_test_setup_teardown(test_interrupt_edges, setup_up, teardown_vt),
		cmocka_unit_test_setup_teardown(test_register_access_width, setup_rw, teardown_vt),
		cmocka_unit_test_setup_teardown(test_config_space, setup_rw, teardown_vt),
		cmocka_unit_test_setup_teardown(test_features, setup_rw, teardown_vt),
		cmocka_unit_test_teardown(test_features_read_only, teardown_vt),
		cmocka_unit_test_setup_teardown(test_features_ok_needs_version_1, setup_rw,
						teardown_vt),
		cmocka_unit_test_setup_teardown(test_queue_num_validation, setup_rw, teardown_vt),
		cmocka_unit_test_setup_teardown(test_queue_rings_validated, setup_rw, teardown_vt),
		cmocka_unit_test_setup_teardown(test_queue_regs_fixed_while_ready, setup_rw,
						teardown_vt),
		cmocka_unit_test_setup_teardown(test_notify_before_driver_ok, setup_rw,
						teardown_vt),
		cmocka_unit_test_setup_teardown(test_notify_invalid_queue, setup_up, teardown_vt),
		cmocka_unit_test_setup_teardown(test_notify_queue_not_ready, setup_rw, teardown_vt),
		cmocka_unit_test_setup_teardown(test_read, setup_up, teardown_vt),
		cmocka_unit_test_setup_teardown(test_write, setup_up, teardown_vt),
		cmocka_unit_test_setup_teardown(test_segmented_io, setup_rw, teardown_vt),
		cmocka_unit_test_setup_teardown(test_longest_chain, setup_up, teardown_vt),
		cmocka_unit_test_setup_teardown(test_flush, setup_up, teardown_vt),
		cmocka_unit_test_setup_teardown(test_get_id, setup_up, teardown_vt),
		cmocka_unit_test_setup_teardown(test_get_id_truncated_name, setup_rw, teardown_vt),
		cmocka_unit_test_setup_teardown(test_multiple_chains_one_notify, setup_rw,
						teardown_vt),
		cmocka_unit_test_setup_teardown(test_avail_wraparound, setup_rw, teardown_vt),
		cmocka_unit_test_setup_teardown(test_backend_io_error, setup_up, teardown_vt),
		cmocka_unit_test_setup_teardown(test_reset, setup_up, teardown_vt),
		cmocka_unit_test_setup_teardown(test_concurrent_notifiers, setup_rw, teardown_vt),
		cmocka_unit_test_setup_teardown(test_concurrent_tamper, setup_rw, teardown_vt),
	};
	const size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	const size_t nbad = sizeof(bad_cases) / sizeof(bad_cases[0]);
	const size_t nsem = sizeof(sem_cases) / sizeof(sem_cases[0]);
	struct CMUnitTest *tests = calloc(nfixed + nbad + nsem, sizeof(*tests));
	size_t n = 0;
	int rc;

	(void)argc;
	alarm(100); /* a request stuck in flight hangs teardown: fail instead of hanging */
	log_init(argv[0]);
	if (!getenv("LEGO_LOG"))
		log_set_level(LOG_WARN);
	for (size_t i = 0; i < nfixed; i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < nbad; i++)
		tests[n++] = (struct CMUnitTest){.name = bad_cases[i].name,
						 .test_func = test_malformed,
						 .teardown_func = teardown_vt,
						 .initial_state = (void *)&bad_cases[i]};
	for (size_t i = 0; i < nsem; i++)
		tests[n++] = (struct CMUnitTest){.name = sem_cases[i].name,
						 .test_func = test_semantic,
						 .teardown_func = teardown_vt,
						 .initial_state = (void *)&sem_cases[i]};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = _cmocka_run_group_tests("virtio_blk", tests, n, NULL, NULL);
	free(tests);
	return rc;
}
