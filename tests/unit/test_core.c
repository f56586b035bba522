/* test_core.c: size parsing, guest-memory bounds checks, bus dispatch, the UART model,
 * lego-vmm's command line (the rows of vmm/options.h) and its control socket's answers. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/kvm/bus.h"
#include "vmm/kvm/guest_mem.h"
#include "lib/proto/lego_guest_abi.h"
#include "lib/parse.h"
#include "lib/json_flat.h"
#include "vmm/control/control_cmds.h"
#include "vmm/control/vmm_options.h"
#include "vmm/devices/legacy/serial.h"
#include "vmm/kvm/vm.h"
#include "vmm/migration/migrate.h"

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
	{
		uint8_t b[3];
		char hex[7];
		size_t n;

		assert_int_equal(parse_hex_bytes("6C730d", b, 3, &n), 0);
		assert_int_equal(n, 3);
		assert_memory_equal(b, "ls\r", 3);
		parse_hex_format(hex, b, 3);
		assert_string_equal(hex, "6c730d");
		assert_int_equal(parse_hex_bytes("", b, 3, &n), -1);
		assert_int_equal(parse_hex_bytes("6c7", b, 3, &n), -1);
		assert_int_equal(parse_hex_bytes("6g", b, 3, &n), -1);
		assert_int_equal(parse_hex_bytes("0102030405", b, 3, &n), -1);
	}
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

/* A writable argv (lego-vmm's handlers may change an argument in place and keep it). */
struct args {
	int argc;
	char *argv[64];
};

/* Parse a NULL-terminated argument list as lego-vmm's command line; a holds the copies. */
static int parse_args(struct vmm_options *c, struct args *a, const char *const *list)
{
	a->argc = 0;
	a->argv[a->argc++] = strdup("lego-vmm");
	while (*list)
		a->argv[a->argc++] = strdup(*list++);
	a->argv[a->argc] = NULL;
	optind = 0; /* getopt starts over */
	return vmm_options_parse(a->argc, a->argv, c);
}

static void free_args(struct vmm_options *c, struct args *a)
{
	vmm_options_free(c);
	for (int i = 0; i < a->argc; i++)
		free(a->argv[i]);
}

static void test_options_parse(void **state)
{
	static const char *const ok[] = {"--kernel",
					 "k.elf",
					 "-m256M",
					 "-c",
					 "2",
					 "--disk",
					 "d.img,ro",
					 "-d",
					 "smon://st:7420/vol-1",
					 "--mmon",
					 "a:1",
					 "--mmon=b:2",
					 "--replicas",
					 "2",
					 "--cache",
					 "8M",
					 "--control",
					 "@ctl",
					 "--stats",
					 "s.json",
					 "--console",
					 "c.txt",
					 "--incoming",
					 "1.2.3.4:5",
					 "--insecure-migration",
					 "--no-prefetch",
					 "--smon-channels",
					 "4",
					 NULL};
	static const char *const range[] = {"--kernel", "k", "--mem", "7M", NULL};
	static const char *const unknown[] = {"--kernel", "k", "--frob", NULL};
	static const char *const missing[] = {"--kernel", NULL};
	static const char *const owners[] = {"--kernel", "k", "--region-owners", "0", NULL};
	static const char *const extra[] = {"--kernel", "k", "extra", NULL};
	/* A migration stream is TLS with a processor host's certificate, or plain when asked. */
	static const char *const plain[] = {"--kernel",	  "k",	 "--mmon", "a:1",
					    "--incoming", "h:1", NULL};
	static const char *const no_pki[] = {"--kernel",   "k",	 "--pki", "/nonexistent",
					     "--pki-name", "h1", NULL};
	struct vmm_options c;
	struct args a;

	(void)state;
	assert_int_equal(parse_args(&c, &a, ok), -1);
	assert_string_equal(c.boot.kernel, "k.elf");
	assert_int_equal(c.boot.mem, 256ULL << 20);
	assert_int_equal(c.boot.cpus, 2);
	assert_int_equal(c.blk.nr_disks, 2);
	assert_string_equal(c.blk.disks[0].path, "d.img");
	assert_true(c.blk.disks[0].read_only);
	assert_true(c.blk.disks[1].smon);
	assert_string_equal(c.blk.disks[1].host, "st");
	assert_string_equal(c.blk.disks[1].vol, "vol-1");
	assert_int_equal(c.blk.smon_channels, 4);
	assert_int_equal(c.mem.rm.nr_servers, 2);
	assert_string_equal(c.mem.rm.servers[1], "b:2");
	assert_int_equal(c.mem.rm.replicas, 2);
	assert_int_equal(c.mem.cache, 8ULL << 20);
	assert_true(c.mem.no_prefetch);
	assert_true(c.mem.rm.vnode != 0); /* a random one */
	assert_string_equal(c.control.socket, "@ctl");
	assert_string_equal(c.control.stats, "s.json");
	assert_string_equal(c.console.path, "c.txt");
	assert_string_equal(c.migrate.incoming, "1.2.3.4:5");
	assert_true(c.migrate.insecure);
	free_args(&c, &a);
	/* Refusals: exit status 64, whichever subsystem refuses. */
	assert_int_equal(parse_args(&c, &a, range), VMM_EXIT_USAGE);
	free_args(&c, &a);
	assert_int_equal(parse_args(&c, &a, unknown), VMM_EXIT_USAGE);
	free_args(&c, &a);
	assert_int_equal(parse_args(&c, &a, missing), VMM_EXIT_USAGE);
	free_args(&c, &a);
	assert_int_equal(parse_args(&c, &a, owners), VMM_EXIT_USAGE);
	free_args(&c, &a);
	assert_int_equal(parse_args(&c, &a, extra), VMM_EXIT_USAGE);
	free_args(&c, &a);
	assert_int_equal(parse_args(&c, &a, plain), VMM_EXIT_USAGE);
	free_args(&c, &a);
	assert_int_equal(parse_args(&c, &a, no_pki), VMM_EXIT_USAGE);
	free_args(&c, &a);
}

/* --help names every row, each line fits 80 columns. */
static void test_options_usage(void **state)
{
#define NAME_OF(take, name, ...) "--" name,
	static const char *const names[] = {OPTIONS_ALL(NAME_OF)};
	char *text = NULL, *line;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	vmm_options_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strstr(text, names[i]))
			fail_msg("--help does not name %s", names[i]);
	for (line = text; *line; line += strcspn(line, "\n") + 1)
		assert_true(strcspn(line, "\n") <= 80);
	free(text);
}

/* The answers, as the flat reader lego-controld uses reads them. */
static void test_control_answers(void **state)
{
	static struct serial uart;
	struct vm *vm = calloc(1, sizeof(*vm));
	struct migrate mig;
	struct bus pio;
	struct control_sock_target t = {.vnode = UINT64_MAX, /* beyond jansson's integers */
					.vcpus = 2,
					.mem_bytes = 64 << 20,
					.vm = vm,
					.serial = &uart,
					.mig = &mig};
	struct json_flat_object o;
	char err[200], *a, big[2 * CONTROL_SOCK_CONSOLE_IN_MAX + 40];
	uint8_t v;

	(void)state;
	assert_non_null(vm);
	bus_init(&pio, "pio");
	assert_int_equal(serial_init(&uart, &pio, LEGO_PORT_CONSOLE, -1), 0);
	uart.bytes_out = 42;
	pthread_mutex_init(&vm->stop_lock, NULL);
	migrate_init(&mig);

	/* "starting" until main has described the vNode (its vCPUs about to run). */
	a = control_cmds_answer(&t, "stats");
	assert_non_null(strstr(a, "\"state\": \"starting\""));
	free(a);
	mig.ready = true;
	a = control_cmds_answer(&t, "stats");
	assert_non_null(a);
	assert_int_equal(json_flat_parse(a, &o, err, sizeof(err)), 0);
	assert_true(json_flat_get(&o, "vnode")->is_uint);
	assert_true(json_flat_get(&o, "vnode")->num == UINT64_MAX);
	assert_string_equal(json_flat_get(&o, "state")->str, "running");
	assert_int_equal(json_flat_get(&o, "console_bytes")->num, 42);
	assert_int_equal(json_flat_get(&o, "pager")->type, JF_NULL);
	assert_non_null(strstr(a, "{\"vnode\": 18446744073709551615, \"state\": \"running\", "));
	free(a);

	a = control_cmds_answer(&t, "migration");
	assert_int_equal(json_flat_parse(a, &o, err, sizeof(err)), 0);
	assert_string_equal(json_flat_get(&o, "role")->str, "none");
	assert_int_equal(json_flat_get(&o, "error")->type, JF_NULL);
	assert_non_null(strstr(a, "\"phase\": \"none\""));
	free(a);

	a = control_cmds_answer(&t, "help");
	assert_non_null(strstr(a, "{\"commands\": [\"stats\", \"flush\", "));
	assert_non_null(strstr(a, "\"region-add INDEX@HOST:PORT\""));
	free(a);

	/* Refusals, in order: unknown, no remote memory, a malformed argument. */
	a = control_cmds_answer(&t, "stats now");
	assert_int_equal(json_flat_parse(a, &o, err, sizeof(err)), 0);
	assert_non_null(strstr(json_flat_get(&o, "error")->str, "unknown command"));
	free(a);
	a = control_cmds_answer(&t, "server-lost \"x\":1");
	assert_int_equal(json_flat_parse(a, &o, err, sizeof(err)), 0);
	assert_string_equal(json_flat_get(&o, "error")->str,
			    "this vNode's RAM is not on memory servers");
	free(a);
	a = control_cmds_answer(&t, "migrate-resolve maybe");
	assert_int_equal(json_flat_parse(a, &o, err, sizeof(err)), 0);
	assert_string_equal(json_flat_get(&o, "error")->str,
			    "migrate-resolve takes commit or abort");
	free(a);

	/* console-in: hex bytes into the UART's receive FIFO, what it took and what waits. */
	a = control_cmds_answer(&t, "console-in 6c730D");
	assert_int_equal(json_flat_parse(a, &o, err, sizeof(err)), 0);
	assert_int_equal(json_flat_get(&o, "accepted")->num, 3);
	assert_int_equal(json_flat_get(&o, "queued")->num, 3);
	assert_null(json_flat_get(&o, "held"));
	free(a);
	assert_true(bus_access(&pio, LEGO_PORT_CONSOLE, &v, 1, false));
	assert_int_equal(v, 'l');
	serial_hold_input(&uart, true);
	a = control_cmds_answer(&t, "console-in 78");
	assert_int_equal(json_flat_parse(a, &o, err, sizeof(err)), 0);
	assert_int_equal(json_flat_get(&o, "accepted")->num, 0);
	assert_int_equal(json_flat_get(&o, "queued")->num, 2);
	assert_string_equal(json_flat_get(&o, "held")->str,
			    "a migration carries the console's state");
	free(a);
	serial_hold_input(&uart, false);
	a = control_cmds_answer(&t, "stats");
	assert_int_equal(json_flat_parse(a, &o, err, sizeof(err)), 0);
	assert_int_equal(json_flat_get(&o, "console_in_bytes")->num, 1);
	free(a);
	memset(big, 'a', sizeof(big));
	memcpy(big, "console-in ", 11);
	big[11 + 2 * CONTROL_SOCK_CONSOLE_IN_MAX + 2] = '\0'; /* one byte too many */
	{
		const char *bad[] = {"console-in 7", "console-in zz", "console-in 61 62",
				     "console-in", big};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			a = control_cmds_answer(&t, bad[i]);
			assert_int_equal(json_flat_parse(a, &o, err, sizeof(err)), 0);
			assert_non_null(json_flat_get(&o, "error"));
			free(a);
		}
	}

	migrate_destroy(&mig);
	serial_destroy(&uart);
	pthread_mutex_destroy(&vm->stop_lock);
	free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_guest_mem_bounds),
		cmocka_unit_test(test_guest_mem_slot_boundary),
		cmocka_unit_test(test_bus_dispatch),
		cmocka_unit_test(test_serial_output_and_registers),
		cmocka_unit_test(test_options_parse),
		cmocka_unit_test(test_options_usage),
		cmocka_unit_test(test_control_answers),
	};

	signal(SIGPIPE, SIG_IGN);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
