/* test_linux_boot.c: the Linux boot path: image kinds, bzImage checks, the zero page, e820, initrd,
 * command line, MP and ACPI tables (the UART: test_serial.c). */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <asm/bootparam.h>

#include "vmm/arch/x86/acpi.h"
#include "vmm/kvm/guest_mem.h"
#include "lib/proto/lego_guest_abi.h"
#include "vmm/boot/linux_guest.h"
#include "vmm/boot/linux_loader.h"
#include "vmm/boot/linux_zeropage.h"
#include "vmm/arch/x86/mptable.h"

#define MIB    (1ULL << 20)
#define BZ_LEN (64 * 1024)
#define SETUPS 2 /* setup_sects of the test bzImage: the kernel starts at 1.5 KiB */
#define PM_OFF ((SETUPS + 1) * 512)

static struct guest_mem mem;
static char err[256];

static int setup(void **state)
{
	(void)state;
	return guest_mem_init(&mem, 64 * MIB);
}

static int teardown(void **state)
{
	(void)state;
	guest_mem_destroy(&mem);
	return 0;
}

/* A bzImage: boot flag, "HdrS", protocol 2.15, 64-bit, relocatable to 16 MiB. */
static uint8_t *make_bzimage(struct setup_header *h)
{
	uint8_t *b = calloc(1, BZ_LEN);

	assert_non_null(b);
	memset(h, 0, sizeof(*h));
	h->setup_sects = SETUPS;
	h->syssize = (BZ_LEN - PM_OFF) / 16;
	h->boot_flag = 0xaa55;
	h->header = 0x53726448;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64;
	h->cmdline_size = 2047;
	h->pref_address = 0x1000000;
	h->init_size = 0x1000000;
	for (int i = PM_OFF; i < BZ_LEN; i++)
		b[i] = (uint8_t)(i * 7);
	return b;
}

static void put_header(uint8_t *b, const struct setup_header *h)
{
	memcpy(b + 0x1f1, h, sizeof(*h));
	b[0x201] = (uint8_t)(0x1f1 + sizeof(*h) - 0x202); /* the jump: the header's end */
}

static void test_image_kinds(void **state)
{
	struct setup_header h;
	uint8_t *bz = make_bzimage(&h);
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		Elf64_Nhdr nh;
		char name[8];
		uint32_t desc;
	} elf;

	(void)state;
	put_header(bz, &h);
	assert_int_equal(linux_loader_image_kind(bz, BZ_LEN), LINUX_LOADER_KIND_BZIMAGE);
	assert_int_equal(linux_loader_image_kind(bz, 0x205),
			 LINUX_LOADER_KIND_UNKNOWN); /* no "HdrS" */
	memset(bz + 0x1fe, 0, 2);
	assert_int_equal(linux_loader_image_kind(bz, BZ_LEN),
			 LINUX_LOADER_KIND_UNKNOWN); /* no boot flag */
	free(bz);

	memset(&elf, 0, sizeof(elf));
	memcpy(elf.eh.e_ident, ELFMAG, SELFMAG);
	elf.eh.e_ident[EI_CLASS] = ELFCLASS64;
	elf.eh.e_phoff = offsetof(__typeof__(elf), ph);
	elf.eh.e_phentsize = sizeof(Elf64_Phdr);
	elf.eh.e_phnum = 1;
	elf.ph.p_type = PT_NOTE;
	elf.ph.p_offset = offsetof(__typeof__(elf), nh);
	elf.ph.p_filesz = sizeof(elf.nh) + 8 + 4;
	elf.nh.n_namesz = 6;
	elf.nh.n_descsz = 4;
	memcpy(elf.name, "Linux", 6);
	assert_int_equal(linux_loader_image_kind(&elf, sizeof(elf)), LINUX_LOADER_KIND_VMLINUX);
	memcpy(elf.name, "GNU", 4);
	elf.nh.n_namesz = 4;
	assert_int_equal(linux_loader_image_kind(&elf, sizeof(elf)), LINUX_LOADER_KIND_LEGO_ELF);
	/* A note segment beyond the file, or a note longer than its segment: not Linux. */
	memcpy(elf.name, "Linux", 6);
	elf.nh.n_namesz = 6;
	elf.ph.p_filesz = 1000;
	assert_int_equal(linux_loader_image_kind(&elf, sizeof(elf)), LINUX_LOADER_KIND_LEGO_ELF);
	elf.ph.p_filesz = sizeof(elf.nh) + 8 + 4;
	elf.nh.n_namesz = 0xfffffff0;
	assert_int_equal(linux_loader_image_kind(&elf, sizeof(elf)), LINUX_LOADER_KIND_LEGO_ELF);
	assert_int_equal(linux_loader_image_kind(&elf, 10), LINUX_LOADER_KIND_UNKNOWN);
	assert_string_equal(linux_loader_kind_name(LINUX_LOADER_KIND_VMLINUX), "Linux ELF vmlinux");
}

static void test_bzimage_loads(void **state)
{
	struct setup_header h;
	struct linux_loader_kernel k;
	uint8_t *bz = make_bzimage(&h);
	const uint8_t *dst;

	(void)state;
	put_header(bz, &h);
	assert_int_equal(linux_loader_load_kernel(&mem, bz, BZ_LEN, &k, err, sizeof(err)), 0);
	assert_int_equal(k.kind, LINUX_LOADER_KIND_BZIMAGE);
	assert_int_equal(k.entry, LINUX_LOADER_BZIMAGE_LOAD_GPA + 0x200);
	assert_int_equal(k.start, LINUX_LOADER_BZIMAGE_LOAD_GPA);
	assert_int_equal(k.end, 0x2000000); /* pref_address + init_size */
	assert_int_equal(k.cmdline_max, 2048);
	assert_int_equal(k.initrd_end_max, 0x80000000ULL);
	assert_int_equal(k.hdr.version, 0x020f);
	dst = guest_mem_ptr(&mem, LINUX_LOADER_BZIMAGE_LOAD_GPA, BZ_LEN - PM_OFF);
	assert_memory_equal(dst, bz + PM_OFF, BZ_LEN - PM_OFF);
	free(bz);
}

/* Change one field, check the refusal names it. */
static void refused(void (*edit)(struct setup_header *h), size_t len, const char *want)
{
	struct setup_header h;
	struct linux_loader_kernel k;
	uint8_t *bz = make_bzimage(&h);

	if (edit)
		edit(&h);
	put_header(bz, &h);
	assert_int_equal(linux_loader_load_kernel(&mem, bz, len, &k, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("refusal '%s' does not say '%s'", err, want);
	free(bz);
}

static void old_protocol(struct setup_header *h)
{
	h->version = 0x020b;
}
static void not_64bit(struct setup_header *h)
{
	h->xloadflags = 0;
}
static void zimage(struct setup_header *h)
{
	h->loadflags = 0;
}
static void huge_setup(struct setup_header *h)
{
	h->setup_sects = 200;
}
static void setup_past_end(struct setup_header *h)
{
	h->setup_sects = 64; /* 32.5 KiB of setup in a 16 KiB file below */
}
static void long_syssize(struct setup_header *h)
{
	h->syssize += 1;
}
static void no_init_size(struct setup_header *h)
{
	h->init_size = 0;
}
static void too_big(struct setup_header *h)
{
	h->init_size = 0x4000000; /* 64 MiB from 16 MiB: more than the 64 MiB of RAM */
}
static void wraps(struct setup_header *h)
{
	h->pref_address = ~0ULL - 0x1000;
}

static void test_bzimage_refusals(void **state)
{
	(void)state;
	refused(NULL, 0x250, "truncated inside its setup header");
	refused(NULL, BZ_LEN - 16, "truncated bzImage");
	refused(setup_past_end, 16 * 1024, "truncated bzImage");
	refused(huge_setup, BZ_LEN, "setup_sects 200 is larger than 64");
	refused(long_syssize, BZ_LEN, "the setup header says the kernel is");
	refused(old_protocol, BZ_LEN, "boot protocol 2.11 is too old");
	refused(not_64bit, BZ_LEN, "not a 64-bit kernel");
	refused(zimage, BZ_LEN, "zImage");
	refused(no_init_size, BZ_LEN, "init_size is 0");
	refused(too_big, BZ_LEN, "to decompress itself");
	refused(wraps, BZ_LEN, "to decompress itself");
}

static void test_zero_page(void **state)
{
	struct setup_header h;
	struct linux_loader_kernel k;
	uint8_t *bz = make_bzimage(&h), initrd[5000];
	struct linux_zeropage_cfg cfg = {.cmdline = "console=ttyS0 quiet",
					 .initrd = initrd,
					 .initrd_len = sizeof(initrd),
					 .mmio_base = LEGO_MMIO_BASE,
					 .mmio_len = 0x2000,
					 .acpi_rsdp = LINUX_ACPI_GPA};
	const struct boot_params *bp;
	const uint8_t *p;

	(void)state;
	put_header(bz, &h);
	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(linux_loader_load_kernel(&mem, bz, BZ_LEN, &k, err, sizeof(err)), 0);
	assert_int_equal(linux_zeropage_setup(&mem, &k, &cfg, err, sizeof(err)), 0);
	bp = guest_mem_ptr(&mem, LINUX_ZERO_PAGE_GPA, sizeof(*bp));
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	assert_int_equal(bp->hdr.header, 0x53726448);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_true(bp->hdr.loadflags & LOADED_HIGH);
	assert_int_equal(bp->hdr.cmd_line_ptr, LINUX_CMDLINE_GPA);
	assert_string_equal(guest_mem_ptr(&mem, LINUX_CMDLINE_GPA, 20), "console=ttyS0 quiet");
	assert_int_equal(bp->acpi_rsdp_addr, LINUX_ACPI_GPA);
	/* The initrd: page-aligned, at the top of RAM, intact. */
	assert_int_equal(bp->hdr.ramdisk_size, sizeof(initrd));
	assert_int_equal(bp->hdr.ramdisk_image % 4096, 0);
	assert_true(bp->hdr.ramdisk_image >= k.end);
	assert_true(bp->hdr.ramdisk_image + sizeof(initrd) <= 64 * MIB);
	assert_true(bp->hdr.ramdisk_image + sizeof(initrd) > 64 * MIB - 4096 * 3);
	p = guest_mem_ptr(&mem, bp->hdr.ramdisk_image, sizeof(initrd));
	assert_memory_equal(p, initrd, sizeof(initrd));
	/* e820: base memory, the BIOS area, RAM from 1 MiB, the MMIO window. */
	assert_int_equal(bp->e820_entries, 4);
	assert_int_equal(bp->e820_table[0].addr, 0);
	assert_int_equal(bp->e820_table[0].size, 0xa0000);
	assert_int_equal(bp->e820_table[0].type, 1);
	assert_int_equal(bp->e820_table[1].addr, LINUX_BIOS_GPA);
	assert_int_equal(bp->e820_table[1].type, 2);
	assert_int_equal(bp->e820_table[2].addr, 0x100000);
	assert_int_equal(bp->e820_table[2].size, 63 * MIB);
	assert_int_equal(bp->e820_table[3].addr, LEGO_MMIO_BASE);
	assert_int_equal(bp->e820_table[3].size, 0x2000);
	assert_int_equal(bp->e820_table[3].type, 2);
	/* The reset vector holds the reset stub: mov al, 0xfe; out 0x64, al; hlt. */
	p = guest_mem_ptr(&mem, LINUX_RESET_VECTOR, 5);
	assert_memory_equal(p, "\xb0\xfe\xe6\x64\xf4", 5);
	free(bz);
}

static void test_zero_page_refusals(void **state)
{
	struct setup_header h;
	struct linux_loader_kernel k;
	uint8_t *bz = make_bzimage(&h);
	char *big = calloc(1, 4096);
	struct linux_zeropage_cfg cfg = {.cmdline = big};
	uint64_t gpa;

	(void)state;
	assert_non_null(big);
	put_header(bz, &h);
	assert_int_equal(linux_loader_load_kernel(&mem, bz, BZ_LEN, &k, err, sizeof(err)), 0);
	memset(big, 'x', 2048); /* 2049 bytes with the NUL: one too many */
	assert_int_equal(linux_zeropage_setup(&mem, &k, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "command line is 2049 bytes; this kernel takes at most 2048"));
	/* The kernel needs up to 32 MiB: a 40 MiB initrd cannot fit in 64 MiB above it. */
	assert_int_equal(linux_zeropage_place_initrd(&mem, &k, 40 * MIB, &gpa, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "does not fit in guest RAM between the kernel"));
	assert_int_equal(linux_zeropage_place_initrd(&mem, &k, 0, &gpa, err, sizeof(err)), -1);
	assert_int_equal(linux_zeropage_place_initrd(&mem, &k, 32 * MIB, &gpa, err, sizeof(err)),
			 0);
	assert_int_equal(gpa, 32 * MIB);
	/* The kernel's own limit: initrd_addr_max below the top of RAM. */
	k.initrd_end_max = 48 * MIB;
	assert_int_equal(linux_zeropage_place_initrd(&mem, &k, MIB, &gpa, err, sizeof(err)), 0);
	assert_int_equal(gpa, 47 * MIB);
	free(big);
	free(bz);
}

static void test_e820_high_ram(void **state)
{
	struct guest_mem big;
	struct boot_e820_entry e[LINUX_E820_MAX];

	(void)state;
	assert_int_equal(guest_mem_init(&big, 5ULL << 30), 0);
	assert_int_equal(linux_zeropage_e820(&big, 0, 0, e), 4);
	assert_int_equal(e[2].addr + e[2].size, LEGO_MMIO_BASE);
	assert_int_equal(e[3].addr, LEGO_HIGH_RAM_BASE);
	assert_int_equal(e[3].size, (5ULL << 30) - LEGO_MMIO_BASE);
	assert_int_equal(e[3].type, 1);
	guest_mem_destroy(&big);
}

static void test_cmdline(void **state)
{
	uint64_t base[2] = {LEGO_MMIO_BASE, LEGO_MMIO_BASE + 0x1000};
	char buf[512];

	(void)state;
	assert_true(linux_guest_cmdline(buf, sizeof(buf), "", base, 2, 0x1000) > 0);
	assert_string_equal(buf, LINUX_GUEST_DEFAULT_CMDLINE);
	/* A parameter of the user's replaces the default of the same name. */
	assert_true(linux_guest_cmdline(buf, sizeof(buf), "console=hvc0 panic=5 quiet", base, 2,
					0x1000) > 0);
	assert_string_equal(buf, "reboot=acpi pci=off console=hvc0 panic=5 quiet");
	/* acpi=off: the devices go on the command line instead. */
	assert_true(linux_guest_cmdline(buf, sizeof(buf), "acpi=off", base, 2, 0x1000) > 0);
	assert_string_equal(buf, LINUX_GUEST_DEFAULT_CMDLINE " acpi=off "
							     "virtio_mmio.device=4K@0xc0000000:5 "
							     "virtio_mmio.device=4K@0xc0001000:6");
	assert_false(linux_guest_cmdline_acpi_off("acpi=offline"));
	assert_true(linux_guest_cmdline_acpi_off("quiet  acpi=off"));
	assert_int_equal(linux_guest_cmdline(buf, 20, "quiet", base, 0, 0x1000), -1);
	assert_int_equal(
		linux_guest_cmdline(buf, sizeof(buf), "", base, LINUX_GUEST_MAX_VIRTIO + 1, 0x1000),
		-1);
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

static void test_mptable(void **state)
{
	const uint8_t *mpf, *mpc;
	uint16_t len, count;
	uint32_t ptr;

	(void)state;
	assert_int_equal(mptable_write(&mem, LINUX_MPTABLE_GPA, 3), 0);
	mpf = guest_mem_ptr(&mem, LINUX_MPTABLE_GPA, 16);
	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(sum(mpf, 16), 0);
	memcpy(&ptr, mpf + 4, 4);
	mpc = guest_mem_ptr(&mem, ptr, 44);
	assert_memory_equal(mpc, "PCMP", 4);
	memcpy(&len, mpc + 4, 2);
	memcpy(&count, mpc + 34, 2);
	assert_int_equal(sum(guest_mem_ptr(&mem, ptr, len), len), 0);
	/* 3 processors, the ISA bus, the IOAPIC, 16 ISA IRQs, ExtINT and NMI. */
	assert_int_equal(count, 3 + 1 + 1 + 16 + 2);
	assert_int_equal(mpc[44], 0);	  /* a processor entry */
	assert_int_equal(mpc[44 + 3], 3); /* vCPU 0: enabled, bootstrap */
	assert_int_equal(mpc[64 + 3], 1); /* vCPU 1: enabled */
	assert_int_equal(len, mptable_size(3) - 16);
	assert_int_equal(mptable_write(&mem, LINUX_MPTABLE_GPA + 1, 3), -1); /* unaligned */
	assert_int_equal(mptable_write(&mem, 64 * MIB - 16, 3), -1);	     /* beyond RAM */
}

/* The table an XSDT entry points to, checked: signature, length in RAM, checksum. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t = guest_mem_ptr(&mem, gpa, 36);
	uint32_t len;

	assert_non_null(t);
	assert_memory_equal(t, sig, 4);
	memcpy(&len, t + 4, 4);
	assert_non_null(guest_mem_ptr(&mem, gpa, len));
	assert_int_equal(sum(t, len), 0);
	return t;
}

static size_t count(const uint8_t *p, size_t len, const char *needle)
{
	size_t n = 0, nl = strlen(needle);

	for (size_t i = 0; i + nl <= len; i++)
		n += !memcmp(p + i, needle, nl);
	return n;
}

static void test_acpi_tables(void **state)
{
	struct acpi_config c = {
		.nr_cpus = 2,
		.ioapic_id = 2,
		.com1_port = 0x3f8,
		.com1_irq = 4,
		.nr_virtio = 3,
		.virtio_base = {LEGO_MMIO_BASE, LEGO_MMIO_BASE + 0x1000, LEGO_MMIO_BASE + 0x2000},
		.virtio_size = 0x1000,
		.virtio_irq = {5, 6, 7}};
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
	uint64_t fadt_gpa, madt_gpa, dsdt_gpa;
	uint32_t flags, dlen;
	uint8_t aml[16];

	(void)state;
	assert_int_equal(acpi_write_tables(&mem, LINUX_ACPI_GPA, &c), 0);
	rsdp = guest_mem_ptr(&mem, LINUX_ACPI_GPA, 36);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	assert_int_equal(rsdp[15], 2);
	uint64_t xsdt_gpa;
	memcpy(&xsdt_gpa, rsdp + 24, 8);
	xsdt = table(xsdt_gpa, "XSDT");
	memcpy(&fadt_gpa, xsdt + 36, 8);
	memcpy(&madt_gpa, xsdt + 44, 8);
	fadt = table(fadt_gpa, "FACP");
	madt = table(madt_gpa, "APIC");
	memcpy(&flags, fadt + 112, 4);
	assert_true(flags & (1U << 20)); /* hardware-reduced */
	assert_true(flags & (1U << 10)); /* reset register */
	assert_int_equal(fadt[116], 1);	 /* reset register: system I/O */
	assert_int_equal(fadt[120], ACPI_RESET_PORT);
	assert_int_equal(fadt[128], ACPI_RESET_VALUE);
	assert_int_equal(fadt[244 + 4] | fadt[244 + 5] << 8, ACPI_SLEEP_CONTROL_PORT);
	memcpy(&dsdt_gpa, fadt + 140, 8);
	dsdt = table(dsdt_gpa, "DSDT");
	memcpy(&dlen, dsdt + 4, 4);
	assert_int_equal(count(dsdt, dlen, "LNRO0005"), 3);
	assert_int_equal(count(dsdt, dlen, "PNP0501"), 1);
	assert_int_equal(count(dsdt, dlen, "_S5_"), 1);
	assert_int_equal(count(dsdt, dlen, "VR02"), 1);
	/* MADT: two local APICs (IDs 0, 1), then the IOAPIC with ID 2 at KVM's address. */
	assert_int_equal(madt[44], 0);
	assert_int_equal(madt[44 + 3], 0);
	assert_int_equal(madt[52 + 3], 1);
	assert_int_equal(madt[60], 1);
	assert_int_equal(madt[62], 2);
	/* The AML is refused, not truncated, when it does not fit; too many devices too. */
	assert_int_equal(acpi_dsdt_aml(&c, aml, sizeof(aml)), -1);
	c.nr_virtio = ACPI_MAX_VIRTIO + 1;
	assert_int_equal(acpi_write_tables(&mem, LINUX_ACPI_GPA, &c), -1);
	c.nr_virtio = 1;
	c.nr_cpus = 0;
	assert_int_equal(acpi_write_tables(&mem, LINUX_ACPI_GPA, &c), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_kinds),
		cmocka_unit_test_setup_teardown(test_bzimage_loads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_page_refusals, setup, teardown),
		cmocka_unit_test(test_e820_high_ram),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test_setup_teardown(test_mptable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_tables, setup, teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
