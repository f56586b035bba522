/* linux_loader.c: tells guest images apart and loads a Linux bzImage or ELF vmlinux into guest RAM.
 */
#include "linux_loader.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "elf_loader.h"
#include "lib/proto/lego_guest_abi.h"

#define SETUP_HDR_OFF	0x1f1 /* the setup header's place in a bzImage and in the zero page */
#define BOOT_FLAG_OFF	0x1fe
#define HDRS_OFF	0x202
#define HDRS_MAGIC	0x53726448 /* "HdrS" */
#define BOOT_FLAG	0xaa55
#define MAX_SETUP_SECTS 64 /* the real-mode setup is at most 32 KiB */
#define ELF_MAX_NOTE_PH 64

int linux_loader_boot_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Whether one PT_NOTE segment [off, off + size) holds a note named "Linux". */
static int has_linux_note(const uint8_t *b, size_t len, uint64_t off, uint64_t size)
{
	uint64_t end;

	if (off > len || size > len - off)
		return 0;
	end = off + size;
	while (end - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_len, desc_len;

		memcpy(&nh, b + off, sizeof(nh));
		off += sizeof(nh);
		name_len = ((uint64_t)nh.n_namesz + 3) & ~3ULL;
		desc_len = ((uint64_t)nh.n_descsz + 3) & ~3ULL;
		if (name_len > end - off)
			return 0;
		if (nh.n_namesz == sizeof("Linux") && !memcmp(b + off, "Linux", sizeof("Linux")))
			return 1;
		off += name_len;
		if (desc_len > end - off)
			return 0;
		off += desc_len;
	}
	return 0;
}

/* An ELF64 x86-64 executable is a Linux kernel if a PT_NOTE carries a "Linux" note (the
 * kernel's build salt and friends); lego's own guest has none. */
static int elf_is_vmlinux(const uint8_t *b, size_t len)
{
	Elf64_Ehdr eh;

	memcpy(&eh, b, sizeof(eh));
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > ELF_MAX_NOTE_PH ||
	    eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, b + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE && has_linux_note(b, len, ph.p_offset, ph.p_filesz))
			return 1;
	}
	return 0;
}

enum linux_loader_kind linux_loader_image_kind(const void *image, size_t len)
{
	const uint8_t *b = image;

	if (len >= sizeof(Elf64_Ehdr) && !memcmp(b, ELFMAG, SELFMAG) && b[EI_CLASS] == ELFCLASS64)
		return elf_is_vmlinux(b, len) ? LINUX_LOADER_KIND_VMLINUX
					      : LINUX_LOADER_KIND_LEGO_ELF;
	if (len >= HDRS_OFF + 4 && rd16(b + BOOT_FLAG_OFF) == BOOT_FLAG &&
	    rd32(b + HDRS_OFF) == HDRS_MAGIC)
		return LINUX_LOADER_KIND_BZIMAGE;
	return LINUX_LOADER_KIND_UNKNOWN;
}

const char *linux_loader_kind_name(enum linux_loader_kind kind)
{
	switch (kind) {
	case LINUX_LOADER_KIND_LEGO_ELF:
		return "freestanding ELF guest";
	case LINUX_LOADER_KIND_VMLINUX:
		return "Linux ELF vmlinux";
	case LINUX_LOADER_KIND_BZIMAGE:
		return "Linux bzImage";
	default:
		return "unknown image";
	}
}

/* RAM below the MMIO window: where the boot protocol's 32-bit pointers can point. */
static uint64_t low_ram_end(const struct guest_mem *mem)
{
	return mem->slots[0].gpa + mem->slots[0].size;
}

static int load_vmlinux(struct guest_mem *mem, const void *image, size_t len,
			struct linux_loader_kernel *k, char *err, size_t errlen)
{
	struct elf_loader_image info;
	char why[200];
	enum elf_loader_status st = elf_loader_load(mem, image, len, &info, why, sizeof(why));

	if (st != ELF_OK)
		return linux_loader_boot_fail(err, errlen, "%s: %s",
					      st == ELF_ERR_TOO_LARGE
						      ? "vmlinux does not fit in guest RAM"
						      : "invalid vmlinux",
					      why);
	k->entry = info.entry;
	k->start = info.lowest;
	k->end = info.highest;
	/* No setup header in a vmlinux: the fields the kernel reads are made here. */
	k->hdr.boot_flag = BOOT_FLAG;
	k->hdr.header = HDRS_MAGIC;
	k->hdr.version = 0x020f;
	k->hdr.loadflags = LOADED_HIGH;
	k->hdr.kernel_alignment = 0x200000;
	k->hdr.cmdline_size = LINUX_LOADER_VMLINUX_CMDLINE_MAX - 1;
	k->hdr.initrd_addr_max = (uint32_t)(LEGO_MMIO_BASE - 1);
	k->hdr_len = 0;
	k->cmdline_max = LINUX_LOADER_VMLINUX_CMDLINE_MAX;
	k->initrd_end_max = LEGO_MMIO_BASE;
	return 0;
}

static int load_bzimage(struct guest_mem *mem, const uint8_t *b, size_t len,
			struct linux_loader_kernel *k, char *err, size_t errlen)
{
	struct setup_header *h = &k->hdr;
	uint64_t setup_len, pm_len, need_end, low_end = low_ram_end(mem);
	uint32_t hdr_len;
	uint8_t *dst;

	if (len < SETUP_HDR_OFF + sizeof(*h))
		return linux_loader_boot_fail(
			err, errlen, "bzImage is %zu bytes: truncated inside its setup header",
			len);
	/* The header's own length: 0x202 + the jump's displacement byte at 0x201. */
	hdr_len = HDRS_OFF + b[0x201] - SETUP_HDR_OFF;
	if (hdr_len > sizeof(*h))
		hdr_len = sizeof(*h);
	memcpy(h, b + SETUP_HDR_OFF, hdr_len);
	k->hdr_len = hdr_len;
	if (h->version < LINUX_LOADER_BOOT_PROTO_MIN)
		return linux_loader_boot_fail(
			err, errlen,
			"boot protocol %u.%02u is too old: lego-vmm needs %u.%02u or later "
			"(the 64-bit entry)",
			h->version >> 8, h->version & 0xff, LINUX_LOADER_BOOT_PROTO_MIN >> 8,
			LINUX_LOADER_BOOT_PROTO_MIN & 0xff);
	if (!(h->xloadflags & XLF_KERNEL_64))
		return linux_loader_boot_fail(
			err, errlen, "not a 64-bit kernel: xloadflags 0x%x lack XLF_KERNEL_64",
			h->xloadflags);
	if (!(h->loadflags & LOADED_HIGH))
		return linux_loader_boot_fail(err, errlen,
					      "a zImage (loaded below 1 MiB) is not supported");
	if (h->setup_sects > MAX_SETUP_SECTS)
		return linux_loader_boot_fail(err, errlen, "setup_sects %u is larger than %d",
					      h->setup_sects, MAX_SETUP_SECTS);
	setup_len = ((uint64_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	if (setup_len >= len)
		return linux_loader_boot_fail(
			err, errlen,
			"setup_sects %u puts the kernel at byte %llu, but the file has %zu: "
			"truncated bzImage",
			h->setup_sects, (unsigned long long)setup_len, len);
	pm_len = len - setup_len;
	if ((uint64_t)h->syssize * 16 > pm_len)
		return linux_loader_boot_fail(
			err, errlen,
			"the setup header says the kernel is %llu bytes, but only %llu follow "
			"the setup code: truncated bzImage",
			(unsigned long long)h->syssize * 16, (unsigned long long)pm_len);
	if (!h->init_size)
		return linux_loader_boot_fail(err, errlen, "init_size is 0");
	/* It decompresses itself to pref_address (KASLR may move it, avoiding the initrd). */
	need_end = h->pref_address + h->init_size;
	if (h->pref_address < LINUX_LOADER_BZIMAGE_LOAD_GPA || need_end < h->pref_address ||
	    need_end > low_end)
		return linux_loader_boot_fail(
			err, errlen,
			"the kernel needs guest RAM [0x%llx, 0x%llx) to decompress itself, "
			"but RAM below the MMIO window ends at 0x%llx",
			(unsigned long long)h->pref_address, (unsigned long long)need_end,
			(unsigned long long)low_end);
	dst = guest_mem_ptr(mem, LINUX_LOADER_BZIMAGE_LOAD_GPA, pm_len);
	if (!dst)
		return linux_loader_boot_fail(
			err, errlen, "the %llu-byte kernel does not fit in guest RAM at 0x%llx",
			(unsigned long long)pm_len,
			(unsigned long long)LINUX_LOADER_BZIMAGE_LOAD_GPA);
	memcpy(dst, b + setup_len, pm_len);
	k->entry = LINUX_LOADER_BZIMAGE_LOAD_GPA + LINUX_LOADER_BZIMAGE_ENTRY64;
	k->start = LINUX_LOADER_BZIMAGE_LOAD_GPA;
	k->end = LINUX_LOADER_BZIMAGE_LOAD_GPA + pm_len > need_end
			 ? LINUX_LOADER_BZIMAGE_LOAD_GPA + pm_len
			 : need_end;
	/* cmdline_size excludes the NUL; initrd_addr_max is the initrd's last byte. */
	k->cmdline_max = h->cmdline_size + 1;
	k->initrd_end_max = (uint64_t)h->initrd_addr_max + 1;
	return 0;
}

int linux_loader_load_kernel(struct guest_mem *mem, const void *image, size_t len,
			     struct linux_loader_kernel *k, char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	k->kind = linux_loader_image_kind(image, len);
	if (errlen)
		err[0] = '\0';
	switch (k->kind) {
	case LINUX_LOADER_KIND_VMLINUX:
		return load_vmlinux(mem, image, len, k, err, errlen);
	case LINUX_LOADER_KIND_BZIMAGE:
		return load_bzimage(mem, image, len, k, err, errlen);
	default:
		return linux_loader_boot_fail(err, errlen, "not a Linux kernel (%s)",
					      linux_loader_kind_name(k->kind));
	}
}
