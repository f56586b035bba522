/* test_elf_loader.c: ELF validation and loading: good images, and every rejection path. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/boot/elf_loader.h"
#include "lib/proto/lego_guest_abi.h"

#define MEM (16ULL << 20)

struct img {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	uint8_t text[64];
	uint8_t data[32];
};

static struct guest_mem mem;

static int setup(void **state)
{
	(void)state;
	return guest_mem_init(&mem, MEM);
}

static int teardown(void **state)
{
	(void)state;
	guest_mem_destroy(&mem);
	return 0;
}

/* A valid two-segment image: text (RX) at 1 MiB, data+bss (RW) at 2 MiB. */
static void make_image(struct img *im)
{
	memset(im, 0, sizeof(*im));
	memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
	im->eh.e_ident[EI_CLASS] = ELFCLASS64;
	im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh.e_ident[EI_VERSION] = EV_CURRENT;
	im->eh.e_type = ET_EXEC;
	im->eh.e_machine = EM_X86_64;
	im->eh.e_version = EV_CURRENT;
	im->eh.e_entry = 0x100010;
	im->eh.e_phoff = offsetof(struct img, ph);
	im->eh.e_ehsize = sizeof(Elf64_Ehdr);
	im->eh.e_phentsize = sizeof(Elf64_Phdr);
	im->eh.e_phnum = 2;
	im->ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
				 .p_flags = PF_R | PF_X,
				 .p_offset = offsetof(struct img, text),
				 .p_paddr = 0x100000,
				 .p_vaddr = 0x100000,
				 .p_filesz = sizeof(im->text),
				 .p_memsz = sizeof(im->text)};
	im->ph[1] = (Elf64_Phdr){.p_type = PT_LOAD,
				 .p_flags = PF_R | PF_W,
				 .p_offset = offsetof(struct img, data),
				 .p_paddr = 0x200000,
				 .p_vaddr = 0x200000,
				 .p_filesz = sizeof(im->data),
				 .p_memsz = 0x3000};
	memset(im->text, 0x90, sizeof(im->text));
	memset(im->data, 0xab, sizeof(im->data));
}

static enum elf_loader_status load(struct img *im, size_t len, char *err)
{
	struct elf_loader_image info;

	return elf_loader_load(&mem, im, len, &info, err, 256);
}

static void test_loads_segments_and_zeroes_bss(void **state)
{
	struct img im;
	struct elf_loader_image info;
	char err[256];
	uint8_t *bss;

	(void)state;
	make_image(&im);
	bss = guest_mem_ptr(&mem, 0x200000 + sizeof(im.data), 16);
	memset(bss, 0xee, 16); /* stale data must be cleared */
	assert_int_equal(elf_loader_load(&mem, &im, sizeof(im), &info, err, sizeof(err)), ELF_OK);
	assert_int_equal(info.entry, 0x100010);
	assert_int_equal(info.lowest, 0x100000);
	assert_int_equal(info.highest, 0x203000);
	assert_memory_equal(guest_mem_ptr(&mem, 0x100000, 64), im.text, 64);
	assert_memory_equal(guest_mem_ptr(&mem, 0x200000, 32), im.data, 32);
	for (int i = 0; i < 16; i++)
		assert_int_equal(bss[i], 0);
}

static void expect(struct img *im, size_t len, enum elf_loader_status want, const char *needle)
{
	char err[256] = "";

	assert_int_equal(load(im, len, err), want);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_rejects_bad_headers(void **state)
{
	struct img im;

	(void)state;
	make_image(&im);
	expect(&im, 10, ELF_ERR_INVALID, "too short");
	im.eh.e_ident[1] = 'X';
	expect(&im, sizeof(im), ELF_ERR_INVALID, "magic");
	make_image(&im);
	im.eh.e_ident[EI_CLASS] = ELFCLASS32;
	expect(&im, sizeof(im), ELF_ERR_INVALID, "ELF64");
	make_image(&im);
	im.eh.e_machine = EM_AARCH64;
	expect(&im, sizeof(im), ELF_ERR_INVALID, "x86-64");
	make_image(&im);
	im.eh.e_type = ET_DYN;
	expect(&im, sizeof(im), ELF_ERR_INVALID, "ET_EXEC");
	make_image(&im);
	im.eh.e_phentsize = 40;
	expect(&im, sizeof(im), ELF_ERR_INVALID, "program header size");
	make_image(&im);
	im.eh.e_phnum = 0;
	expect(&im, sizeof(im), ELF_ERR_INVALID, "program headers");
	make_image(&im);
	im.eh.e_phoff = sizeof(im) - 8;
	expect(&im, sizeof(im), ELF_ERR_INVALID, "outside the file");
	make_image(&im);
	im.eh.e_phoff = UINT64_MAX - 4;
	expect(&im, sizeof(im), ELF_ERR_INVALID, "outside the file");
}

static void test_rejects_bad_segments(void **state)
{
	struct img im;

	(void)state;
	make_image(&im);
	im.ph[1].p_filesz = im.ph[1].p_memsz + 1;
	expect(&im, sizeof(im), ELF_ERR_INVALID, "exceeds memory size");
	make_image(&im);
	im.ph[0].p_offset = UINT64_MAX - 8;
	expect(&im, sizeof(im), ELF_ERR_INVALID, "outside the file");
	make_image(&im);
	im.ph[1].p_paddr = UINT64_MAX - 0x100;
	expect(&im, sizeof(im), ELF_ERR_INVALID, "wraps");
	make_image(&im);
	im.ph[0].p_paddr = 0x1000;
	im.eh.e_entry = 0x1010;
	expect(&im, sizeof(im), ELF_ERR_PLACEMENT, "boot area");
	make_image(&im);
	im.ph[1].p_paddr = 0x100020;
	expect(&im, sizeof(im), ELF_ERR_INVALID, "overlap");
	make_image(&im);
	im.eh.e_entry = 0x200000; /* inside the non-executable data segment */
	expect(&im, sizeof(im), ELF_ERR_INVALID, "entry point");
	make_image(&im);
	im.ph[0].p_type = PT_NOTE;
	im.ph[1].p_type = PT_NOTE;
	expect(&im, sizeof(im), ELF_ERR_INVALID, "no loadable segment");
}

static void test_rejects_image_larger_than_ram(void **state)
{
	struct img im;

	(void)state;
	make_image(&im);
	im.ph[1].p_memsz = MEM; /* bss runs past the end of RAM */
	expect(&im, sizeof(im), ELF_ERR_TOO_LARGE, "does not fit");
	make_image(&im);
	im.ph[1].p_paddr = MEM + 0x1000;
	expect(&im, sizeof(im), ELF_ERR_TOO_LARGE, "does not fit");
}

static void test_failed_load_copies_nothing(void **state)
{
	struct img im;
	uint8_t *text = guest_mem_ptr(&mem, 0x100000, 64);

	(void)state;
	memset(text, 0x11, 64);
	make_image(&im);
	im.eh.e_entry = 0x200000; /* invalid: found only after segment 0 was checked */
	expect(&im, sizeof(im), ELF_ERR_INVALID, "entry point");
	for (int i = 0; i < 64; i++)
		assert_int_equal(text[i], 0x11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads_segments_and_zeroes_bss),
		cmocka_unit_test(test_rejects_bad_headers),
		cmocka_unit_test(test_rejects_bad_segments),
		cmocka_unit_test(test_rejects_image_larger_than_ram),
		cmocka_unit_test(test_failed_load_copies_nothing),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
