/* test_mig_proto.c: the live-migration stream's messages: every encoder's output decodes to
 * what went in; each decoder refuses wrong lengths, unknown bits and counts that do not fit;
 * and no decoder reads outside its buffer whatever it is given (random and mutated inputs,
 * under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/proto/mig_proto.h"
#include "lib/proto/wire.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_header(void **state)
{
	uint8_t b[MIG_HDR_LEN];
	struct mig_proto_hdr h;
	char why[200] = "";

	(void)state;
	mig_proto_hdr_put(b, MIG_VCPU, 1234);
	assert_int_equal(mig_proto_hdr_get(b, &h, why, sizeof(why)), 0);
	assert_int_equal(h.type, MIG_VCPU);
	assert_int_equal(h.len, 1234);
	b[0] ^= 1;
	assert_int_equal(mig_proto_hdr_get(b, &h, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "magic"));
	mig_proto_hdr_put(b, 0, 0);
	assert_int_equal(mig_proto_hdr_get(b, &h, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "unknown message type"));
	mig_proto_hdr_put(b, MIG_TYPE_MAX + 1, 0);
	assert_int_equal(mig_proto_hdr_get(b, &h, why, sizeof(why)), -1);
	mig_proto_hdr_put(b, MIG_END, MIG_MAX_PAYLOAD + 1);
	assert_int_equal(mig_proto_hdr_get(b, &h, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "longer"));
	mig_proto_hdr_put(b, MIG_END, 0);
	b[13] = 1;
	assert_int_equal(mig_proto_hdr_get(b, &h, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "reserved"));
	mig_proto_hdr_put(b, MIG_END, 0);
	wire_put_le16(b + 6, MIG_VERSION + 1);
	assert_int_equal(mig_proto_hdr_get(b, &h, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "version"));
}

static void test_hello_go_serial(void **state)
{
	struct mig_proto_hello h = {.flags = MIG_HELLO_PAUSED,
				    .vnode = 42,
				    .mem_bytes = 8ULL << 30,
				    .region_size = 256ULL << 20,
				    .vcpus = 3,
				    .disks = 2,
				    .console_bytes = 777},
			       g;
	struct mig_proto_go go = {.elapsed_ns = 100,
				  .downtime_ns = 40,
				  .pages_written = 5,
				  .bytes_total = 9,
				  .bytes_processed = 8},
			    go2;
	struct serial_state ss = {.ier = 1,
				  .lcr = 3,
				  .mcr = 8,
				  .scr = 0x55,
				  .dll = 1,
				  .dlm = 0,
				  .fcr = 7,
				  .bytes_out = 123456,
				  .thre_int = true,
				  .rx_len = 3,
				  .rx = "ls\r"},
			    ss2;
	uint8_t b[MIG_SERIAL_MAX];
	char why[200] = "";

	(void)state;
	mig_proto_hello_put(b, &h);
	assert_int_equal(mig_proto_hello_get(b, MIG_HELLO_LEN, &g, why, sizeof(why)), 0);
	assert_int_equal(g.flags, h.flags);
	assert_int_equal(g.vnode, 42);
	assert_int_equal(g.mem_bytes, 8ULL << 30);
	assert_int_equal(g.region_size, 256ULL << 20);
	assert_int_equal(g.vcpus, 3);
	assert_int_equal(g.disks, 2);
	assert_int_equal(g.console_bytes, 777);
	assert_int_equal(mig_proto_hello_get(b, MIG_HELLO_LEN - 1, &g, why, sizeof(why)), -1);
	wire_put_le32(b, MIG_HELLO_PAUSED | MIG_HELLO_IRQCHIP);
	assert_int_equal(mig_proto_hello_get(b, MIG_HELLO_LEN, &g, why, sizeof(why)), 0);
	assert_int_equal(g.flags, MIG_HELLO_PAUSED | MIG_HELLO_IRQCHIP);
	wire_put_le32(b, 4);
	assert_int_equal(mig_proto_hello_get(b, MIG_HELLO_LEN, &g, why, sizeof(why)), -1);
	mig_proto_go_put(b, &go);
	assert_int_equal(mig_proto_go_get(b, MIG_GO_LEN, &go2, why, sizeof(why)), 0);
	assert_int_equal(go2.elapsed_ns, 100);
	assert_int_equal(go2.downtime_ns, 40);
	assert_int_equal(go2.pages_written, 5);
	assert_int_equal(go2.bytes_total, 9);
	assert_int_equal(go2.bytes_processed, 8);
	go.downtime_ns = 101; /* longer than the whole migration */
	mig_proto_go_put(b, &go);
	assert_int_equal(mig_proto_go_get(b, MIG_GO_LEN, &go2, why, sizeof(why)), -1);
	/* SERIAL: the registers, the pending THRE interrupt and the input the guest has not
	 * read yet; an older source's 16 bytes are a UART with nothing pending. */
	assert_int_equal(mig_proto_serial_len(&ss), MIG_SERIAL_LEN + 3);
	mig_proto_serial_put(b, &ss);
	assert_int_equal(mig_proto_serial_get(b, MIG_SERIAL_LEN + 3, &ss2, why, sizeof(why)), 0);
	assert_int_equal(ss2.bytes_out, 123456);
	assert_int_equal(ss2.scr, 0x55);
	assert_true(ss2.thre_int);
	assert_false(ss2.overrun);
	assert_int_equal(ss2.rx_len, 3);
	assert_memory_equal(ss2.rx, "ls\r", 3);
	assert_int_equal(mig_proto_serial_get(b, MIG_SERIAL_LEN, &ss2, why, sizeof(why)), 0);
	assert_int_equal(ss2.rx_len, 0);
	assert_int_equal(mig_proto_serial_get(b, MIG_SERIAL_LEN - 1, &ss2, why, sizeof(why)), -1);
	assert_int_equal(mig_proto_serial_get(b, MIG_SERIAL_MAX + 1, &ss2, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "at most 4096 of input"));
	b[7] = 4;
	assert_int_equal(mig_proto_serial_get(b, MIG_SERIAL_LEN, &ss2, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "unknown flags"));
}

static void test_vcpu(void **state)
{
	struct vcpu_state s = {0}, d;
	uint32_t idx;
	uint8_t *b;
	size_t len;
	char why[200] = "";

	(void)state;
	s.has = VS_XSAVE | VS_EVENTS;
	s.regs.rip = 0x100000;
	s.sregs.cr3 = 0x9000;
	s.xsave_len = 4096;
	s.xsave = calloc(1, 4096);
	s.xsave[100] = 0xab;
	s.nr_msrs = 3;
	s.msrs = calloc(3, sizeof(*s.msrs));
	s.msrs[2] = (struct vcpu_state_msr){.index = 0x10, .value = 0x1122334455667788ULL};
	len = mig_proto_vcpu_len(&s);
	b = malloc(len);
	mig_proto_vcpu_put(b, 1, &s);
	assert_int_equal(mig_proto_vcpu_get(b, len, &idx, &d, why, sizeof(why)), 0);
	assert_int_equal(idx, 1);
	assert_int_equal(d.regs.rip, 0x100000);
	assert_int_equal(d.sregs.cr3, 0x9000);
	assert_int_equal(d.xsave[100], 0xab);
	assert_int_equal(d.nr_msrs, 3);
	assert_int_equal(d.msrs[2].value, 0x1122334455667788ULL);
	vcpu_state_free(&d);
	/* One byte short, one byte long, and MSR counts that do not fit the length. */
	assert_int_equal(mig_proto_vcpu_get(b, len - 1, &idx, &d, why, sizeof(why)), -1);
	assert_int_equal(mig_proto_vcpu_get(b, len + 0, &idx, &d, why, sizeof(why)), 0);
	vcpu_state_free(&d);
	wire_put_le32(b + len - 3 * 12 - 4, 4);
	assert_int_equal(mig_proto_vcpu_get(b, len, &idx, &d, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "MSR"));
	wire_put_le32(b + len - 3 * 12 - 4, 3);
	wire_put_le32(b + 4, 0x100); /* an unknown part */
	assert_int_equal(mig_proto_vcpu_get(b, len, &idx, &d, why, sizeof(why)), -1);
	free(b);
	vcpu_state_free(&s);
}

static void test_virtio_bits_hot(void **state)
{
	struct virtio_mmio_state st = {.device_id = 2,
				       .driver_features = 1ULL << 32,
				       .status = 15,
				       .nr_queues = 1,
				       .q = {{.num = 128,
					      .ready = true,
					      .desc_gpa = 0x1000,
					      .avail_gpa = 0x2000,
					      .used_gpa = 0x3000,
					      .last_avail = 65530,
					      .used_idx = 65529}}},
				 d;
	uint8_t b[MIG_VIRTIO_LEN(VIRTIO_MMIO_MAX_QUEUES)], bits[MIG_BITS_HDR + 2];
	uint64_t first, n;
	const uint8_t *bp;
	uint32_t idx, count;
	char why[200] = "";

	(void)state;
	mig_proto_virtio_put(b, 0, &st);
	assert_int_equal(mig_proto_virtio_get(b, MIG_VIRTIO_LEN(1), &idx, &d, why, sizeof(why)), 0);
	assert_int_equal(d.q[0].last_avail, 65530);
	assert_int_equal(d.q[0].used_gpa, 0x3000);
	assert_true(d.q[0].ready);
	assert_int_equal(mig_proto_virtio_get(b, MIG_VIRTIO_LEN(2), &idx, &d, why, sizeof(why)),
			 -1);
	b[44 + 2] = 2; /* ready must be 0 or 1 */
	assert_int_equal(mig_proto_virtio_get(b, MIG_VIRTIO_LEN(1), &idx, &d, why, sizeof(why)),
			 -1);
	wire_put_le32(b + 40, 3);
	assert_int_equal(mig_proto_virtio_get(b, MIG_VIRTIO_LEN(1), &idx, &d, why, sizeof(why)),
			 -1);

	wire_put_le64(bits, 64);
	wire_put_le64(bits + 8, 9);
	assert_int_equal(mig_proto_bits_get(bits, sizeof(bits), &first, &n, &bp, why, sizeof(why)),
			 0);
	assert_int_equal(first, 64);
	assert_int_equal(n, 9);
	wire_put_le64(bits + 8, 17); /* needs 3 bytes */
	assert_int_equal(mig_proto_bits_get(bits, sizeof(bits), &first, &n, &bp, why, sizeof(why)),
			 -1);
	wire_put_le64(bits + 8, UINT64_MAX);
	assert_int_equal(mig_proto_bits_get(bits, sizeof(bits), &first, &n, &bp, why, sizeof(why)),
			 -1);

	wire_put_le32(b, 2);
	assert_int_equal(mig_proto_pages_get(b, 12, &count, why, sizeof(why)), 0);
	assert_int_equal(count, 2);
	assert_int_equal(mig_proto_pages_get(b, 13, &count, why, sizeof(why)), -1);
	wire_put_le32(b, 0x40000000); /* a count whose size overflows 32 bits */
	assert_int_equal(mig_proto_pages_get(b, 4, &count, why, sizeof(why)), -1);
}

/* Random bytes, and valid messages with random bytes changed, through every decoder: each
 * either accepts or refuses; ASan catches any read outside the buffer. */
/* A Linux vNode's local APICs and VM-wide interrupt controllers: round trips, every
 * refusal, and random bytes of the exact lengths (which the garbage loop seldom hits). */
static void test_apic_irqchip(void **state)
{
	struct vcpu_state_apic a, a2;
	struct irqchip_state is, is2;
	uint8_t b[MIG_IRQCHIP_LEN > MIG_APIC_LEN ? MIG_IRQCHIP_LEN : MIG_APIC_LEN];
	char why[200] = "";
	uint32_t idx;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.mp_state = KVM_MP_STATE_HALTED;
	a.tsc_deadline = 0x123456789abcULL;
	for (size_t i = 0; i < sizeof(a.lapic.regs); i++)
		a.lapic.regs[i] = (char)(i * 7);
	mig_proto_apic_put(b, 5, &a);
	assert_int_equal(mig_proto_apic_get(b, MIG_APIC_LEN, &idx, &a2, why, sizeof(why)), 0);
	assert_int_equal(idx, 5);
	assert_int_equal(a2.mp_state, KVM_MP_STATE_HALTED);
	assert_true(a2.tsc_deadline == 0x123456789abcULL);
	assert_memory_equal(&a2.lapic, &a.lapic, sizeof(a.lapic));
	assert_int_equal(mig_proto_apic_get(b, MIG_APIC_LEN - 1, &idx, &a2, why, sizeof(why)), -1);
	assert_int_equal(mig_proto_apic_get(b, MIG_APIC_LEN + 1, &idx, &a2, why, sizeof(why)), -1);
	a.mp_state = KVM_MP_STATE_SIPI_RECEIVED + 1;
	mig_proto_apic_put(b, 0, &a);
	assert_int_equal(mig_proto_apic_get(b, MIG_APIC_LEN, &idx, &a2, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "run state"));

	memset(&is, 0, sizeof(is));
	for (uint32_t i = 0; i < IRQCHIP_NR_CHIPS; i++) {
		is.chip[i].chip_id = i;
		memset(is.chip[i].chip.dummy, (int)(0x10 + i), sizeof(is.chip[i].chip.dummy));
	}
	is.pit.channels[0].count = 0xffff;
	is.pit.flags = KVM_PIT_FLAGS_HPET_LEGACY;
	is.clock.clock = 987654321;
	is.clock.flags = KVM_CLOCK_REALTIME;
	is.clock.realtime = 1700000000000000000ULL;
	mig_proto_irqchip_put(b, &is);
	assert_int_equal(mig_proto_irqchip_get(b, MIG_IRQCHIP_LEN, &is2, why, sizeof(why)), 0);
	assert_memory_equal(&is2, &is, sizeof(is));
	assert_int_equal(mig_proto_irqchip_get(b, MIG_IRQCHIP_LEN - 1, &is2, why, sizeof(why)), -1);
	/* Each refusal: controllers out of order, padding, PIT and clock flags and padding. */
	struct irqchip_state bad[6];
	for (int i = 0; i < 6; i++)
		bad[i] = is;
	bad[0].chip[0].chip_id = 2;
	bad[0].chip[2].chip_id = 0;
	bad[1].chip[1].pad = 1;
	bad[2].pit.flags = 4;
	bad[3].pit.reserved[8] = 1;
	bad[4].clock.flags = KVM_CLOCK_TSC_STABLE;
	bad[5].clock.pad[3] = 1;
	for (int i = 0; i < 6; i++) {
		mig_proto_irqchip_put(b, &bad[i]);
		why[0] = '\0';
		assert_int_equal(mig_proto_irqchip_get(b, MIG_IRQCHIP_LEN, &is2, why, sizeof(why)),
				 -1);
		assert_true(why[0] != '\0');
	}
	for (int it = 0; it < 5000; it++) {
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)next();
		if (it % 2) /* plausible controller ids, so the later checks are reached */
			for (uint32_t i = 0; i < IRQCHIP_NR_CHIPS; i++)
				wire_put_le64(b + i * sizeof(struct kvm_irqchip), i);
		mig_proto_apic_get(b, MIG_APIC_LEN, &idx, &a2, why, sizeof(why));
		mig_proto_irqchip_get(b, MIG_IRQCHIP_LEN, &is2, why, sizeof(why));
	}
	assert_string_equal(mig_proto_type_name(MIG_APIC), "APIC");
	assert_string_equal(mig_proto_type_name(MIG_IRQCHIP), "IRQCHIP");
}

static void test_garbage(void **state)
{
	enum { MAXLEN = 9000 };
	uint8_t *b = malloc(MAXLEN);

	(void)state;
	for (int it = 0; it < 20000; it++) {
		size_t len = (size_t)(next() % MAXLEN);
		struct vcpu_state vs;
		struct virtio_mmio_state vm;
		struct mig_proto_hello h;
		struct mig_proto_go g;
		struct serial_state ss;
		struct mig_proto_vminfo vi;
		struct mig_proto_hdr hd;
		uint64_t first, n;
		const uint8_t *bp;
		uint32_t idx, count;
		char why[200];
		uint8_t *p = malloc(len ? len : 1);

		for (size_t i = 0; i < len; i++)
			p[i] = (uint8_t)next();
		if (it % 2 && len >= 60) {
			/* A plausible VCPU or VIRTIO start, so the checks further in are reached.
			 */
			wire_put_le32(p + 4, (uint32_t)(next() % 16));
			wire_put_le32(p + 40, (uint32_t)(next() % 3));
		}
		if (len >= MIG_HDR_LEN)
			mig_proto_hdr_get(p, &hd, why, sizeof(why));
		mig_proto_hello_get(p, len, &h, why, sizeof(why));
		mig_proto_go_get(p, len, &g, why, sizeof(why));
		mig_proto_serial_get(p, len, &ss, why, sizeof(why));
		mig_proto_vminfo_get(p, len, &vi, why, sizeof(why));
		if (mig_proto_vcpu_get(p, len, &idx, &vs, why, sizeof(why)) == 0)
			vcpu_state_free(&vs);
		mig_proto_virtio_get(p, len, &idx, &vm, why, sizeof(why));
		mig_proto_bits_get(p, len, &first, &n, &bp, why, sizeof(why));
		mig_proto_pages_get(p, len, &count, why, sizeof(why));
		free(p);
	}
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),	cmocka_unit_test(test_hello_go_serial),
		cmocka_unit_test(test_vcpu),	cmocka_unit_test(test_virtio_bits_hot),
		cmocka_unit_test(test_garbage), cmocka_unit_test(test_apic_irqchip),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
