/* test_core.c: size parsing, guest-memory bounds checks, bus dispatch and the UART model. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/kvm/bus.h"
#include "vmm/kvm/guest_mem.h"
#include "lib/proto/lego_guest_abi.h"
#include "lib/parse.h"
#include "vmm/devices/legacy/serial.h"

static void test_parse_size(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("64K", &v), 0);
	assert_int_equal(v, 64 << 10);
	assert_int_equal(parse_size("256m", &v), 0);
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("1T", &v), 0);
	assert_int_equal(v, 1ULL << 40);
	assert_int_equal(parse_size("", &v), -1);
	assert_int_equal(parse_size("-1M", &v), -1);
	assert_int_equal(parse_size("12X", &v), -1);
	assert_int_equal(parse_size("1Mx", &v), -1);
	assert_int_equal(parse_size("99999999999999999999", &v), -1);
	assert_int_equal(parse_size("17179869184T", &v), -1); /* overflows 64 bits */
	assert_int_equal(parse_uint("64", 1, 64, &v), 0);
	assert_int_equal(parse_uint("65", 1, 64, &v), -1);
	assert_int_equal(parse_uint("0", 1, 64, &v), -1);
	assert_int_equal(parse_uint("2a", 1, 64, &v), -1);
}

static void test_guest_mem_bounds(void **state)
{
	struct guest_mem mem;

	(void)state;
	assert_int_equal(guest_mem_init(&mem, 3ULL << 20), -EINVAL);	      /* below minimum */
	assert_int_equal(guest_mem_init(&mem, (8ULL << 20) + 4096), -EINVAL); /* not 2 MiB */
	assert_int_equal(guest_mem_init(&mem, 8ULL << 20), 0);
	assert_non_null(guest_mem_ptr(&mem, 0, 8ULL << 20));
	assert_non_null(guest_mem_ptr(&mem, (8ULL << 20) - 1, 1));
	assert_null(guest_mem_ptr(&mem, (8ULL << 20) - 1, 2));
	assert_null(guest_mem_ptr(&mem, 8ULL << 20, 0));
	assert_null(guest_mem_ptr(&mem, LEGO_MMIO_BASE, 4));
	assert_null(guest_mem_ptr(&mem, 4096, UINT64_MAX));
	assert_null(guest_mem_ptr(&mem, UINT64_MAX, 2));
	assert_ptr_equal(guest_mem_ptr(&mem, 4096, 1), mem.base + 4096);
	guest_mem_destroy(&mem);
}

static void test_guest_mem_slot_boundary(void **state)
{
	struct guest_mem mem;

	(void)state;
	assert_int_equal(guest_mem_init(&mem, 4ULL << 30), 0);
	/* A range may not run from low RAM into the MMIO window or across slots. */
	assert_non_null(guest_mem_ptr(&mem, LEGO_MMIO_BASE - 8, 8));
	assert_null(guest_mem_ptr(&mem, LEGO_MMIO_BASE - 8, 16));
	assert_non_null(guest_mem_ptr(&mem, LEGO_HIGH_RAM_BASE, 4096));
	assert_ptr_equal(guest_mem_ptr(&mem, LEGO_HIGH_RAM_BASE, 1), mem.base + LEGO_MMIO_BASE);
	assert_null(guest_mem_ptr(&mem, guest_mem_end(&mem) - 4, 8));
	guest_mem_destroy(&mem);
}

struct recorder {
	uint64_t off;
	uint32_t size;
	uint8_t last[8];
	int writes, reads;
};

static void rec_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	struct recorder *r = opaque;

	r->reads++;
	r->off = off;
	memset(data, 0x5a, size);
}

static void rec_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct recorder *r = opaque;

	r->writes++;
	r->off = off;
	r->size = size;
	memcpy(r->last, data, size);
}

static void test_bus_dispatch(void **state)
{
	struct bus bus;
	struct recorder r = {0};
	struct bus_handler h = {.name = "rec",
				.base = 0x1000,
				.len = 0x100,
				.opaque = &r,
				.read = rec_read,
				.write = rec_write};
	uint32_t v = 0x12345678;
	uint8_t buf[4];

	(void)state;
	bus_init(&bus, "test");
	assert_int_equal(bus_register(&bus, &h), 0);
	h.base = 0x10ff;
	assert_int_equal(bus_register(&bus, &h), -EEXIST);
	h.base = UINT64_MAX - 4;
	assert_int_equal(bus_register(&bus, &h), -EINVAL);
	assert_true(bus_access(&bus, 0x1010, &v, 4, true));
	assert_int_equal(r.off, 0x10);
	assert_memory_equal(r.last, &v, 4);
	assert_true(bus_access(&bus, 0x10fc, buf, 4, false));
	assert_int_equal(buf[0], 0x5a);
	/* Unclaimed: outside, and straddling the window's end. */
	assert_false(bus_access(&bus, 0x2000, buf, 4, false));
	assert_int_equal(buf[3], 0xff);
	assert_false(bus_access(&bus, 0x10fe, buf, 4, false));
	assert_int_equal(r.reads, 1);
}

static void test_serial_output_and_registers(void **state)
{
	struct bus pio;
	struct serial s;
	int fds[2];
	uint8_t v;
	char out[8] = {0};

	(void)state;
	assert_int_equal(pipe(fds), 0);
	bus_init(&pio, "pio");
	assert_int_equal(serial_init(&s, &pio, LEGO_PORT_CONSOLE, fds[1]), 0);
	bus_access(&pio, LEGO_PORT_CONSOLE + 5, &v, 1, false);
	assert_int_equal(v & 0x60, 0x60); /* THRE | TEMT */
	v = 'h';
	bus_access(&pio, LEGO_PORT_CONSOLE, &v, 1, true);
	v = 'i';
	bus_access(&pio, LEGO_PORT_CONSOLE, &v, 1, true);
	assert_int_equal(read(fds[0], out, sizeof(out)), 2);
	assert_string_equal(out, "hi");
	/* With DLAB set, offset 0 is the divisor latch, not output. */
	v = 0x83;
	bus_access(&pio, LEGO_PORT_CONSOLE + 3, &v, 1, true);
	v = 12;
	bus_access(&pio, LEGO_PORT_CONSOLE, &v, 1, true);
	v = 0;
	bus_access(&pio, LEGO_PORT_CONSOLE, &v, 1, false);
	assert_int_equal(v, 12);
	v = 0x03;
	bus_access(&pio, LEGO_PORT_CONSOLE + 3, &v, 1, true);
	v = 0x77;
	bus_access(&pio, LEGO_PORT_CONSOLE + 7, &v, 1, true);
	v = 0;
	bus_access(&pio, LEGO_PORT_CONSOLE + 7, &v, 1, false);
	assert_int_equal(v, 0x77);
	assert_int_equal(s.bytes_out, 2);
	/* A closed reader must not kill the VMM: output is dropped with a warning. */
	close(fds[0]);
	v = 'x';
	bus_access(&pio, LEGO_PORT_CONSOLE, &v, 1, true);
	assert_true(s.out_broken);
	close(fds[1]);
	serial_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_guest_mem_bounds),
		cmocka_unit_test(test_guest_mem_slot_boundary),
		cmocka_unit_test(test_bus_dispatch),
		cmocka_unit_test(test_serial_output_and_registers),
	};

	signal(SIGPIPE, SIG_IGN);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
