/* test_boot_setup.c: identity page tables, GDT/TSS, entry registers, and the device tree. */
#include <libfdt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/boot/fdt_build.h"
#include "vmm/kvm/guest_mem.h"
#include "lib/proto/lego_guest_abi.h"
#include "vmm/arch/x86/x86_boot.h"

static void check_identity(struct guest_mem *mem, uint64_t va)
{
	uint64_t pa = ~0ULL;

	if (x86_boot_walk(mem, LEGO_PT_GPA, va, &pa))
		fail_msg("va 0x%llx is not mapped", (unsigned long long)va);
	assert_int_equal(pa, va);
}

static void test_identity_map_small_ram(void **state)
{
	struct guest_mem mem;
	uint64_t pa;

	(void)state;
	assert_int_equal(guest_mem_init(&mem, 64ULL << 20), 0);
	assert_int_equal(mem.nr_slots, 1);
	assert_int_equal(x86_boot_setup_tables(&mem), 0);
	assert_int_equal(x86_boot_identity_map_end(&mem), LEGO_HIGH_RAM_BASE);
	check_identity(&mem, 0);
	check_identity(&mem, 0x100123);
	check_identity(&mem, (64ULL << 20) - 1);
	check_identity(&mem, LEGO_MMIO_BASE + 0x10); /* MMIO window mapped plainly */
	check_identity(&mem, 0xffffffffULL);
	assert_int_equal(x86_boot_walk(&mem, LEGO_PT_GPA, LEGO_HIGH_RAM_BASE, &pa), -1);
	/* Every present entry is writable; leaves are 2 MiB pages. */
	uint64_t *pd = guest_mem_ptr(&mem, LEGO_PT_GPA + 2 * 4096, 8);
	assert_int_equal(pd[0] & (X86_PTE_P | X86_PTE_RW | X86_PTE_PS),
			 X86_PTE_P | X86_PTE_RW | X86_PTE_PS);
	guest_mem_destroy(&mem);
}

static void test_identity_map_high_ram(void **state)
{
	struct guest_mem mem;
	uint64_t size = 5ULL << 30, pa;

	(void)state;
	assert_int_equal(guest_mem_init(&mem, size), 0);
	assert_int_equal(mem.nr_slots, 2);
	assert_int_equal(mem.slots[0].size, LEGO_MMIO_BASE);
	assert_int_equal(mem.slots[1].gpa, LEGO_HIGH_RAM_BASE);
	assert_int_equal(mem.slots[1].size, size - LEGO_MMIO_BASE);
	assert_int_equal(x86_boot_setup_tables(&mem), 0);
	check_identity(&mem, LEGO_HIGH_RAM_BASE);
	check_identity(&mem, guest_mem_end(&mem) - 1);
	assert_int_equal(x86_boot_walk(&mem, LEGO_PT_GPA, x86_boot_identity_map_end(&mem), &pa),
			 -1);
	guest_mem_destroy(&mem);
}

static void test_largest_ram_fits_tables(void **state)
{
	struct guest_mem_slot slots[GUEST_MEM_MAX_SLOTS];
	uint64_t end;

	(void)state;
	assert_int_equal(guest_mem_layout(LEGO_MEM_MAX, slots), 2);
	end = slots[1].gpa + slots[1].size;
	/* PML4 + PDPT + one PD per GiB must fit below LEGO_PT_END. */
	assert_true(LEGO_PT_GPA + (2 + (end + (1ULL << 30) - 1) / (1ULL << 30)) * 4096 <=
		    LEGO_PT_END);
}

static void test_gdt_and_sregs(void **state)
{
	struct guest_mem mem;
	struct kvm_sregs sregs;
	uint64_t *gdt;

	(void)state;
	assert_int_equal(guest_mem_init(&mem, 8ULL << 20), 0);
	assert_int_equal(x86_boot_setup_tables(&mem), 0);
	gdt = guest_mem_ptr(&mem, LEGO_GDT_GPA, X86_GDT_ENTRIES * 8);
	assert_int_equal(gdt[0], 0);
	assert_int_equal((gdt[1] >> 53) & 1, 1); /* code: L */
	assert_int_equal((gdt[1] >> 47) & 1, 1); /* code: P */
	assert_int_equal((gdt[2] >> 41) & 1, 1); /* data: W */
	memset(&sregs, 0, sizeof(sregs));
	x86_boot_sregs(&sregs);
	assert_int_equal(sregs.cr3, LEGO_PT_GPA);
	assert_true(sregs.cr0 & X86_CR0_PG);
	assert_true(sregs.cr0 & X86_CR0_PE);
	assert_true(sregs.cr4 & X86_CR4_PAE);
	assert_true(sregs.efer & X86_EFER_LMA);
	assert_int_equal(sregs.cs.l, 1);
	assert_int_equal(sregs.cs.db, 0);
	assert_int_equal(sregs.cs.selector, X86_SEL_CODE64);
	assert_int_equal(sregs.ss.selector, X86_SEL_DATA);
	assert_int_equal(sregs.gdt.limit, X86_GDT_ENTRIES * 8 - 1);
	assert_int_equal(sregs.tr.selector, X86_SEL_TSS);
	guest_mem_destroy(&mem);
}

static void test_entry_registers(void **state)
{
	struct kvm_regs regs;

	(void)state;
	x86_boot_regs(&regs, 0x100000, 3);
	assert_int_equal(regs.rip, 0x100000);
	assert_int_equal(regs.rdi, LEGO_FDT_GPA);
	assert_int_equal(regs.rsi, 3);
	assert_int_equal(regs.rsp, LEGO_BOOT_STACK_TOP - 3 * LEGO_BOOT_STACK_STRIDE);
	assert_int_equal(regs.rflags, 2);
	/* The last vCPU's boot stack stays above the FDT area. */
	x86_boot_regs(&regs, 0x100000, LEGO_MAX_VCPUS - 1);
	assert_true(regs.rsp - LEGO_BOOT_STACK_STRIDE >= LEGO_FDT_GPA + LEGO_FDT_MAX);
}

static uint64_t be64_at(const void *p)
{
	fdt64_t v;

	memcpy(&v, p, sizeof(v)); /* properties are only 4-byte aligned */
	return fdt64_to_cpu(v);
}

static void test_device_tree(void **state)
{
	struct guest_mem mem;
	struct fdt_build_params p;
	static char buf[LEGO_FDT_MAX];
	const void *prop;
	int len, node, ncpus = 0;

	(void)state;
	assert_int_equal(guest_mem_init(&mem, 4ULL << 30), 0);
	memset(&p, 0, sizeof(p));
	p.mem = &mem;
	p.nr_vcpus = 2;
	p.bootargs = "run=memtest,blktest memtest.size=8M";
	p.tsc_khz = 2500000;
	p.nr_virtio = 2;
	p.virtio_base[0] = LEGO_MMIO_BASE;
	p.virtio_base[1] = LEGO_MMIO_BASE + LEGO_MMIO_STRIDE;
	p.virtio_size = LEGO_MMIO_STRIDE;
	assert_int_equal(fdt_build(buf, sizeof(buf), &p), 0);
	assert_int_equal(fdt_check_header(buf), 0);

	node = fdt_path_offset(buf, "/chosen");
	assert_true(node >= 0);
	assert_string_equal(fdt_getprop(buf, node, "bootargs", NULL), p.bootargs);
	prop = fdt_getprop(buf, node, "lego,abi-version", &len);
	assert_int_equal(len, 4);
	assert_int_equal(fdt32_to_cpu(*(const fdt32_t *)prop), LEGO_GUEST_ABI_VERSION);
	prop = fdt_getprop(buf, node, "lego,tsc-khz", &len);
	assert_int_equal(fdt32_to_cpu(*(const fdt32_t *)prop), 2500000);
	prop = fdt_getprop(buf, node, "lego,debug-exit-port", &len);
	assert_int_equal(fdt32_to_cpu(*(const fdt32_t *)prop), LEGO_PORT_DEBUG_EXIT);

	node = fdt_path_offset(buf, "/memory@0");
	prop = fdt_getprop(buf, node, "reg", &len);
	assert_int_equal(len, 16);
	assert_int_equal(be64_at(prop), 0);
	assert_int_equal(be64_at((const char *)prop + 8), LEGO_MMIO_BASE);
	node = fdt_path_offset(buf, "/memory@100000000");
	prop = fdt_getprop(buf, node, "reg", &len);
	assert_int_equal(be64_at(prop), LEGO_HIGH_RAM_BASE);
	assert_int_equal(be64_at((const char *)prop + 8), (4ULL << 30) - LEGO_MMIO_BASE);

	node = fdt_path_offset(buf, "/cpus");
	assert_true(node >= 0);
	for (int c = fdt_first_subnode(buf, node); c >= 0; c = fdt_next_subnode(buf, c)) {
		assert_string_equal(fdt_getprop(buf, c, "device_type", NULL), "cpu");
		ncpus++;
	}
	assert_int_equal(ncpus, 2);

	node = fdt_node_offset_by_compatible(buf, -1, "virtio,mmio");
	prop = fdt_getprop(buf, node, "reg", &len);
	assert_int_equal(be64_at(prop), LEGO_MMIO_BASE);
	node = fdt_node_offset_by_compatible(buf, node, "virtio,mmio");
	prop = fdt_getprop(buf, node, "reg", &len);
	assert_int_equal(be64_at(prop), LEGO_MMIO_BASE + LEGO_MMIO_STRIDE);
	assert_int_equal(be64_at((const char *)prop + 8), LEGO_MMIO_STRIDE);
	assert_true(fdt_node_offset_by_compatible(buf, node, "virtio,mmio") < 0);
	guest_mem_destroy(&mem);
}

static void test_device_tree_too_small(void **state)
{
	struct guest_mem mem;
	struct fdt_build_params p;
	char buf[128];

	(void)state;
	assert_int_equal(guest_mem_init(&mem, 8ULL << 20), 0);
	memset(&p, 0, sizeof(p));
	p.mem = &mem;
	p.nr_vcpus = 1;
	p.bootargs = "";
	assert_int_equal(fdt_build(buf, sizeof(buf), &p), -FDT_ERR_NOSPACE);
	p.nr_vcpus = 0;
	assert_int_equal(fdt_build(buf, sizeof(buf), &p), -FDT_ERR_BADVALUE);
	guest_mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_map_small_ram),
		cmocka_unit_test(test_identity_map_high_ram),
		cmocka_unit_test(test_largest_ram_fits_tables),
		cmocka_unit_test(test_gdt_and_sregs),
		cmocka_unit_test(test_entry_registers),
		cmocka_unit_test(test_device_tree),
		cmocka_unit_test(test_device_tree_too_small),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
