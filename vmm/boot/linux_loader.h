/* linux_loader.h: guest image kinds, and loading a Linux kernel (bzImage or ELF vmlinux). */
#ifndef LEGO_LINUX_LOADER_H
#define LEGO_LINUX_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "vmm/kvm/guest_mem.h"

/* What --kernel names, told apart by content alone. */
enum linux_loader_kind {
	LINUX_LOADER_KIND_UNKNOWN,
	LINUX_LOADER_KIND_LEGO_ELF, /* an ELF64 executable without Linux notes: the freestanding
				       guest */
	LINUX_LOADER_KIND_VMLINUX,  /* an ELF64 Linux kernel (it carries "Linux" ELF notes) */
	LINUX_LOADER_KIND_BZIMAGE,  /* the boot sector's "HdrS" setup header */
};

enum linux_loader_kind linux_loader_image_kind(const void *image, size_t len);
const char *linux_loader_kind_name(enum linux_loader_kind kind);
static inline int linux_loader_kind_is_linux(enum linux_loader_kind kind)
{
	return kind == LINUX_LOADER_KIND_VMLINUX || kind == LINUX_LOADER_KIND_BZIMAGE;
}

/* Where a bzImage's protected-mode kernel is copied; its 64-bit entry is 0x200 above. */
#define LINUX_LOADER_BZIMAGE_LOAD_GPA 0x100000ULL
#define LINUX_LOADER_BZIMAGE_ENTRY64  0x200ULL
/* The boot protocol version lego-vmm needs: 2.12 has xloadflags (XLF_KERNEL_64). */
#define LINUX_LOADER_BOOT_PROTO_MIN 0x020c
/* x86's COMMAND_LINE_SIZE, for a vmlinux, which has no setup header to say it. */
#define LINUX_LOADER_VMLINUX_CMDLINE_MAX 2048

/* A kernel in guest RAM and what the zero page needs to know about it. */
struct linux_loader_kernel {
	enum linux_loader_kind kind;
	uint64_t entry;		 /* 64-bit entry point (guest-physical) */
	uint64_t start, end;	 /* guest RAM the kernel needs until it reads the e820 map */
	struct setup_header hdr; /* the bzImage's setup header, or one made for a vmlinux */
	uint32_t hdr_len;	 /* bytes of hdr that came from the image (0 for vmlinux) */
	uint32_t cmdline_max;	 /* longest command line, NUL included */
	uint64_t initrd_end_max; /* an initrd must end at or below this address */
};

/* Write what is wrong into err (errlen bytes); returns -1, for "return
 * linux_loader_boot_fail(...)". */
int linux_loader_boot_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Validate the image (every header field against the file and against guest RAM) and copy
 * the kernel into guest RAM. 0, or -1 with err saying what is wrong with the image. */
int linux_loader_load_kernel(struct guest_mem *mem, const void *image, size_t len,
			     struct linux_loader_kernel *k, char *err, size_t errlen);

#endif
