/* test_guest_fdt.c: the guest's own FDT parser and boot-info extraction, on libfdt-built trees. */
#include <libfdt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/boot/fdt_build.h"
#include "vmm/kvm/guest_mem.h"
#include "lib/proto/lego_guest_abi.h"

/* The guest's pure code, compiled for the host. */
#include "guest-drivers/runtime/boot_info.c"
#include "guest-drivers/runtime/fdt.c"
#include "guest-drivers/runtime/fmt.c"

#define TREE_SIZE 8192

#define CHECK(expr) assert_int_equal((expr), 0)

static void *tree_alloc(void)
{
	void *t = calloc(1, TREE_SIZE);

	assert_non_null(t);
	return t;
}

static void prop_reg(void *t, uint64_t addr, uint64_t size)
{
	fdt64_t reg[2] = {cpu_to_fdt64(addr), cpu_to_fdt64(size)};

	CHECK(fdt_property(t, "reg", reg, sizeof(reg)));
}

/* A tree shaped like lego-vmm's, with knobs for the error cases. */
struct tree_opts {
	uint32_t abi;
	bool no_chosen, no_abi, no_memory, bad_reg, nested_virtio;
	int cpus;
	const char *bootargs;
};

static void *build_tree(const struct tree_opts *o)
{
	void *t = tree_alloc();
	char name[32];

	CHECK(fdt_create(t, TREE_SIZE));
	CHECK(fdt_finish_reservemap(t));
	CHECK(fdt_begin_node(t, ""));
	CHECK(fdt_property_u32(t, "#address-cells", 2));
	CHECK(fdt_property_u32(t, "#size-cells", 2));
	CHECK(fdt_property_string(t, "compatible", "lego,vnode"));
	if (!o->no_chosen) {
		CHECK(fdt_begin_node(t, "chosen"));
		CHECK(fdt_property_string(t, "bootargs", o->bootargs ? o->bootargs : ""));
		if (!o->no_abi)
			CHECK(fdt_property_u32(t, "lego,abi-version", o->abi));
		CHECK(fdt_property_u32(t, "lego,tsc-khz", 2500000));
		CHECK(fdt_end_node(t));
	}
	if (!o->no_memory) {
		/* High range first: the parser must sort. */
		CHECK(fdt_begin_node(t, "memory@100000000"));
		CHECK(fdt_property_string(t, "device_type", "memory"));
		prop_reg(t, 0x100000000ULL, 1ULL << 30);
		CHECK(fdt_end_node(t));
		CHECK(fdt_begin_node(t, "memory@0"));
		CHECK(fdt_property_string(t, "device_type", "memory"));
		if (o->bad_reg)
			CHECK(fdt_property_u32(t, "reg", 0));
		else
			prop_reg(t, 0, 0xc0000000ULL);
		CHECK(fdt_end_node(t));
	}
	CHECK(fdt_begin_node(t, "cpus"));
	CHECK(fdt_property_u32(t, "#address-cells", 1));
	CHECK(fdt_property_u32(t, "#size-cells", 0));
	for (int i = 0; i < o->cpus; i++) {
		snprintf(name, sizeof(name), "cpu@%d", i);
		CHECK(fdt_begin_node(t, name));
		CHECK(fdt_property_string(t, "device_type", "cpu"));
		CHECK(fdt_property_u32(t, "reg", (uint32_t)i));
		CHECK(fdt_end_node(t));
	}
	CHECK(fdt_end_node(t));
	CHECK(fdt_begin_node(t, "virtio_mmio@c0000000"));
	CHECK(fdt_property(t, "compatible", "foo\0virtio,mmio", 16)); /* a string list */
	prop_reg(t, 0xc0000000ULL, 0x1000);
	CHECK(fdt_end_node(t));
	CHECK(fdt_begin_node(t, "not-virtio@c0002000"));
	CHECK(fdt_property_string(t, "compatible", "virtio,mmio-not"));
	prop_reg(t, 0xc0002000ULL, 0x1000);
	CHECK(fdt_end_node(t));
	if (o->nested_virtio) {
		fdt32_t reg[2] = {cpu_to_fdt32(0xc0001000), cpu_to_fdt32(0x200)};

		CHECK(fdt_begin_node(t, "soc"));
		CHECK(fdt_property_u32(t, "#address-cells", 1));
		CHECK(fdt_property_u32(t, "#size-cells", 1));
		CHECK(fdt_begin_node(t, "virtio_mmio@c0001000"));
		CHECK(fdt_property_string(t, "compatible", "virtio,mmio"));
		CHECK(fdt_property(t, "reg", reg, sizeof(reg)));
		CHECK(fdt_end_node(t));
		CHECK(fdt_end_node(t));
	}
	CHECK(fdt_end_node(t));
	CHECK(fdt_finish(t));
	return t;
}

static const struct tree_opts good = {
	.abi = LEGO_GUEST_ABI_VERSION, .cpus = 3, .bootargs = "run=memtest memtest.size=32M"};

static void test_good_tree(void **state)
{
	struct tree_opts o = good;
	struct boot_info bi;
	char err[200];
	void *t;

	(void)state;
	o.nested_virtio = true;
	t = build_tree(&o);
	assert_int_equal(boot_info_parse(t, TREE_SIZE, &bi, err, sizeof(err)), 0);
	assert_string_equal(bi.bootargs, "run=memtest memtest.size=32M");
	assert_int_equal(bi.abi_version, LEGO_GUEST_ABI_VERSION);
	assert_int_equal(bi.tsc_khz, 2500000);
	assert_int_equal(bi.nr_ram, 2);
	assert_int_equal(bi.ram[0].base, 0);
	assert_int_equal(bi.ram[0].size, 0xc0000000ULL);
	assert_int_equal(bi.ram[1].base, 0x100000000ULL);
	assert_int_equal(bi.ram[1].size, 1ULL << 30);
	assert_int_equal(bi.ram_total, 0xc0000000ULL + (1ULL << 30));
	assert_int_equal(bi.nr_cpus, 3);
	assert_int_equal(bi.nr_virtio, 2);
	assert_int_equal(bi.virtio[0].base, 0xc0000000ULL);
	assert_int_equal(bi.virtio[0].size, 0x1000);
	/* The nested node's reg uses its parent's 1+1 cells. */
	assert_int_equal(bi.virtio[1].base, 0xc0001000ULL);
	assert_int_equal(bi.virtio[1].size, 0x200);
	free(t);
}

static void test_lookups(void **state)
{
	void *t = build_tree(&good);
	struct gfdt f;
	uint32_t v;
	int n, len;

	(void)state;
	assert_int_equal(gfdt_init(&f, t, TREE_SIZE), 0);
	assert_int_equal(gfdt_path(&f, "/"), gfdt_root(&f));
	n = gfdt_path(&f, "/cpus/cpu@1");
	assert_true(n >= 0);
	assert_string_equal(gfdt_name(&f, n), "cpu@1");
	assert_int_equal(gfdt_prop_u32(&f, n, "reg", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(gfdt_path(&f, "/cpus/cpu@7"), -GFDT_ERR_NOTFOUND);
	assert_int_equal(gfdt_path(&f, "/chosen/nothing"), -GFDT_ERR_NOTFOUND);
	/* "memory" matches "memory@..." (name without unit address), "memory@0" only itself. */
	n = gfdt_subnode(&f, gfdt_root(&f), "memory");
	assert_string_equal(gfdt_name(&f, n), "memory@100000000");
	n = gfdt_subnode(&f, gfdt_root(&f), "memory@0");
	assert_string_equal(gfdt_name(&f, n), "memory@0");
	assert_int_equal(gfdt_subnode(&f, gfdt_root(&f), "memory@"), -GFDT_ERR_NOTFOUND);
	assert_int_equal(gfdt_subnode(&f, gfdt_root(&f), "memor"), -GFDT_ERR_NOTFOUND);
	assert_true(gfdt_name_is("cpu@0", "cpu"));
	assert_true(gfdt_name_is("cpu", "cpu"));
	assert_false(gfdt_name_is("cpus", "cpu"));
	n = gfdt_path(&f, "/virtio_mmio@c0000000");
	assert_true(gfdt_prop_has_string(&f, n, "compatible", "virtio,mmio"));
	assert_true(gfdt_prop_has_string(&f, n, "compatible", "foo"));
	assert_false(gfdt_prop_has_string(&f, n, "compatible", "virtio"));
	assert_null(gfdt_getprop(&f, n, "nope", &len));
	assert_int_equal(len, -GFDT_ERR_NOTFOUND);
	/* A u32 read of a 16-byte property is refused. */
	assert_int_equal(gfdt_prop_u32(&f, n, "reg", &v), -GFDT_ERR_BADVALUE);
	/* Children and siblings. */
	n = gfdt_first_child(&f, gfdt_path(&f, "/cpus"));
	assert_string_equal(gfdt_name(&f, n), "cpu@0");
	n = gfdt_next_sibling(&f, n);
	assert_string_equal(gfdt_name(&f, n), "cpu@1");
	n = gfdt_next_sibling(&f, gfdt_next_sibling(&f, n));
	assert_int_equal(n, -GFDT_ERR_NOTFOUND);
	/* A handle that is not a node is refused. */
	assert_null(gfdt_name(&f, 4));
	assert_null(gfdt_name(&f, 1 << 20));
	free(t);
}

/* The real lego-vmm tree (vmm/boot/fdt_build.c) parses to what the VMM meant. */
static void test_vmm_tree(void **state)
{
	struct guest_mem mem = {0};
	struct fdt_build_params p = {0};
	struct boot_info bi;
	char err[200];
	void *t = tree_alloc();

	(void)state;
	mem.size = 4ULL << 30;
	mem.nr_slots = guest_mem_layout(mem.size, mem.slots);
	p.mem = &mem;
	p.nr_vcpus = 4;
	p.bootargs = "run=evil";
	p.tsc_khz = 1234567;
	p.nr_virtio = 2;
	p.virtio_base[0] = LEGO_MMIO_BASE;
	p.virtio_base[1] = LEGO_MMIO_BASE + LEGO_MMIO_STRIDE;
	p.virtio_size = LEGO_MMIO_STRIDE;
	assert_int_equal(fdt_build(t, TREE_SIZE, &p), 0);
	assert_int_equal(boot_info_parse(t, TREE_SIZE, &bi, err, sizeof(err)), 0);
	assert_string_equal(bi.bootargs, "run=evil");
	assert_int_equal(bi.tsc_khz, 1234567);
	assert_int_equal(bi.nr_cpus, 4);
	assert_int_equal(bi.nr_ram, mem.nr_slots);
	assert_int_equal(bi.ram_total, mem.size);
	for (int i = 0; i < mem.nr_slots; i++) {
		assert_int_equal(bi.ram[i].base, mem.slots[i].gpa);
		assert_int_equal(bi.ram[i].size, mem.slots[i].size);
	}
	assert_int_equal(bi.nr_virtio, 2);
	assert_int_equal(bi.virtio[1].base, LEGO_MMIO_BASE + LEGO_MMIO_STRIDE);
	assert_int_equal(bi.virtio[1].size, LEGO_MMIO_STRIDE);
	free(t);
}

static void expect_error(const struct tree_opts *o, const char *needle)
{
	struct boot_info bi;
	char err[200] = "";
	void *t = build_tree(o);

	assert_int_equal(boot_info_parse(t, TREE_SIZE, &bi, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
	free(t);
}

static void test_semantic_errors(void **state)
{
	struct tree_opts o;

	(void)state;
	o = good;
	o.abi = LEGO_GUEST_ABI_VERSION + 1;
	expect_error(&o, "ABI");
	o = good;
	o.no_abi = true;
	expect_error(&o, "lego,abi-version");
	o = good;
	o.no_chosen = true;
	expect_error(&o, "/chosen");
	o = good;
	o.no_memory = true;
	expect_error(&o, "memory");
	o = good;
	o.bad_reg = true;
	expect_error(&o, "reg");
	o = good;
	o.cpus = 0;
	expect_error(&o, "cpus");
}

static void put32(uint8_t *p, uint32_t v)
{
	fdt32_t be = cpu_to_fdt32(v);

	memcpy(p, &be, 4);
}

static int parse_copy(const void *t, size_t len)
{
	struct boot_info bi;
	char err[200];
	/* An exact-size heap copy: ASan catches any read past the claimed size. */
	void *c = malloc(len);
	int r;

	assert_non_null(c);
	memcpy(c, t, len);
	r = boot_info_parse(c, len, &bi, err, sizeof(err));
	free(c);
	return r;
}

static void test_corrupt_headers(void **state)
{
	uint8_t *t = build_tree(&good);
	uint32_t total = fdt_totalsize(t), off_struct = fdt_off_dt_struct(t);
	uint32_t off_strings = fdt_off_dt_strings(t), size_struct = fdt_size_dt_struct(t);
	struct gfdt f;
	uint8_t *c = malloc(total);

	(void)state;
	assert_non_null(c);
	assert_int_equal(parse_copy(t, total), 0);
#define MUTATE(stmt, want)                                               \
	do {                                                             \
		memcpy(c, t, total);                                     \
		stmt;                                                    \
		assert_int_equal(gfdt_init(&f, c, total), (want));       \
		assert_int_equal(parse_copy(c, total), (want) ? -1 : 0); \
	} while (0)
	MUTATE(put32(c, 0xdeadbeef), -GFDT_ERR_MAGIC);
	MUTATE(put32(c + 4, total + 4), -GFDT_ERR_SIZE);
	MUTATE(put32(c + 4, 8), -GFDT_ERR_SIZE);
	MUTATE(put32(c + 20, 15), -GFDT_ERR_VERSION);
	MUTATE(put32(c + 24, 18), -GFDT_ERR_VERSION);
	MUTATE(put32(c + 8, total), -GFDT_ERR_LAYOUT);
	MUTATE(put32(c + 8, off_struct + 2), -GFDT_ERR_LAYOUT);
	MUTATE(put32(c + 8, 0xfffffff0), -GFDT_ERR_LAYOUT);
	MUTATE(put32(c + 36, 0xfffffff0), -GFDT_ERR_LAYOUT);
	MUTATE(put32(c + 12, 0xfffffff0), -GFDT_ERR_LAYOUT);
	MUTATE(put32(c + 32, total), -GFDT_ERR_LAYOUT);
	MUTATE(put32(c + 16, total - 8), -GFDT_ERR_LAYOUT);
	/* A structure block cut short: FDT_END is missing. */
	MUTATE(put32(c + 36, size_struct - 4), -GFDT_ERR_STRUCT);
	/* Strings block cut to nothing: every property name is outside it. */
	MUTATE(put32(c + 32, 0), -GFDT_ERR_STRINGS);
	/* An unknown token right after the root's name. */
	MUTATE(put32(c + off_struct + 8, 0x77), -GFDT_ERR_STRUCT);
	/* The first property's length made huge, then its name offset. */
	MUTATE(put32(c + off_struct + 12, 0x7ffffff0), -GFDT_ERR_STRUCT);
	MUTATE(put32(c + off_struct + 16, off_strings + 0x10000), -GFDT_ERR_STRINGS);
	/* The root's END_NODE (just before FDT_END) turned into a NOP: unbalanced. */
	MUTATE(put32(c + off_struct + size_struct - 8, 4), -GFDT_ERR_STRUCT);
	/* FDT_END turned into an extra END_NODE. */
	MUTATE(put32(c + off_struct + size_struct - 4, 2), -GFDT_ERR_STRUCT);
#undef MUTATE
	/* A buffer shorter than the header. */
	assert_int_equal(gfdt_init(&f, t, 20), -GFDT_ERR_SIZE);
	free(c);
	free(t);
}

/* Deeply nested nodes are refused, not recursed into. */
static void test_too_deep(void **state)
{
	void *t = tree_alloc();
	struct gfdt f;

	(void)state;
	CHECK(fdt_create(t, TREE_SIZE));
	CHECK(fdt_finish_reservemap(t));
	CHECK(fdt_begin_node(t, ""));
	for (int i = 0; i < GFDT_MAX_DEPTH + 1; i++)
		CHECK(fdt_begin_node(t, "n"));
	for (int i = 0; i < GFDT_MAX_DEPTH + 1; i++)
		CHECK(fdt_end_node(t));
	CHECK(fdt_end_node(t));
	CHECK(fdt_finish(t));
	assert_int_equal(gfdt_init(&f, t, TREE_SIZE), -GFDT_ERR_DEPTH);
	free(t);
}

/* Random byte and word corruption: an error or a successful parse, never a crash
 * (ASan and UBSan watch every access). */
static void test_fuzz(void **state)
{
	uint8_t *t = build_tree(&good);
	uint32_t total = fdt_totalsize(t);
	uint8_t *c = malloc(total);
	unsigned seed = 12345, ok = 0;

	(void)state;
	assert_non_null(c);
	for (int iter = 0; iter < 20000; iter++) {
		struct boot_info bi;
		char err[200];
		int flips = 1 + iter % 4;

		memcpy(c, t, total);
		for (int k = 0; k < flips; k++) {
			seed = seed * 1103515245u + 12345u;
			uint32_t pos = (seed >> 8) % total;

			seed = seed * 1103515245u + 12345u;
			if (iter & 1)
				c[pos] ^= (uint8_t)(1u << ((seed >> 16) % 8));
			else
				put32(c + (pos % (total - 3)), seed);
		}
		if (!boot_info_parse(c, total, &bi, err, sizeof(err)))
			ok++;
	}
	print_message("# fuzz: %u of 20000 corrupted trees still parsed\n", ok);
	free(c);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_tree),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_vmm_tree),
		cmocka_unit_test(test_semantic_errors),
		cmocka_unit_test(test_corrupt_headers),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_fuzz),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
