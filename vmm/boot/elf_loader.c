/* elf_loader.c: ELF64 validation (every offset and size overflow-checked) and loading. */
#include "elf_loader.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/proto/lego_guest_abi.h"

#define ELF_MAX_PHDRS 64

static enum elf_loader_status fail(enum elf_loader_status st, char *err, size_t errlen,
				   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return st;
}

static int in_file(uint64_t off, uint64_t n, size_t len)
{
	return off <= len && n <= len - off;
}

enum elf_loader_status elf_loader_load(struct guest_mem *mem, const void *image, size_t len,
				       struct elf_loader_image *info, char *err, size_t errlen)
{
	const uint8_t *bytes = image;
	Elf64_Ehdr eh;
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	uint64_t lowest = UINT64_MAX, highest = 0;
	int entry_ok = 0, loads = 0;

	if (len < sizeof(eh))
		return fail(ELF_ERR_INVALID, err, errlen,
			    "file is %zu bytes, too short for an ELF header", len);
	memcpy(&eh, bytes, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return fail(ELF_ERR_INVALID, err, errlen, "not an ELF file (bad magic)");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(ELF_ERR_INVALID, err, errlen, "not a little-endian ELF64 file");
	if (eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT)
		return fail(ELF_ERR_INVALID, err, errlen, "unknown ELF version %u", eh.e_version);
	if (eh.e_machine != EM_X86_64)
		return fail(ELF_ERR_INVALID, err, errlen, "ELF machine %u is not x86-64",
			    eh.e_machine);
	if (eh.e_type != ET_EXEC)
		return fail(ELF_ERR_INVALID, err, errlen,
			    "ELF type %u is not a static executable (ET_EXEC)", eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return fail(ELF_ERR_INVALID, err, errlen, "program header size %u, expected %zu",
			    eh.e_phentsize, sizeof(Elf64_Phdr));
	if (eh.e_phnum == 0 || eh.e_phnum > ELF_MAX_PHDRS)
		return fail(ELF_ERR_INVALID, err, errlen, "%u program headers (need 1..%d)",
			    eh.e_phnum, ELF_MAX_PHDRS);
	if (!in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
		return fail(ELF_ERR_INVALID, err, errlen, "program headers lie outside the file");
	memcpy(ph, bytes + eh.e_phoff, eh.e_phnum * sizeof(Elf64_Phdr));

	/* Pass 1: validate everything, so a bad image never leaves half a copy behind. */
	for (int i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		uint64_t end;

		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		loads++;
		if (p->p_filesz > p->p_memsz)
			return fail(ELF_ERR_INVALID, err, errlen,
				    "segment %d: file size 0x%llx exceeds memory size 0x%llx", i,
				    (unsigned long long)p->p_filesz,
				    (unsigned long long)p->p_memsz);
		if (!in_file(p->p_offset, p->p_filesz, len))
			return fail(ELF_ERR_INVALID, err, errlen,
				    "segment %d: data lies outside the file", i);
		if (p->p_paddr + p->p_memsz < p->p_paddr)
			return fail(ELF_ERR_INVALID, err, errlen, "segment %d: address range wraps",
				    i);
		end = p->p_paddr + p->p_memsz;
		if (p->p_paddr < LEGO_IMAGE_MIN_GPA)
			return fail(ELF_ERR_PLACEMENT, err, errlen,
				    "segment %d at 0x%llx is below 0x%llx (the VMM's boot area)", i,
				    (unsigned long long)p->p_paddr,
				    (unsigned long long)LEGO_IMAGE_MIN_GPA);
		if (p->p_paddr >= guest_mem_end(mem) || end > guest_mem_end(mem))
			return fail(
				ELF_ERR_TOO_LARGE, err, errlen,
				"segment %d [0x%llx, 0x%llx) does not fit in %llu MiB of guest RAM",
				i, (unsigned long long)p->p_paddr, (unsigned long long)end,
				(unsigned long long)(mem->size >> 20));
		if (!guest_mem_ptr(mem, p->p_paddr, p->p_memsz))
			return fail(ELF_ERR_PLACEMENT, err, errlen,
				    "segment %d [0x%llx, 0x%llx) is not inside one RAM range (MMIO "
				    "window "
				    "at 0x%llx)",
				    i, (unsigned long long)p->p_paddr, (unsigned long long)end,
				    (unsigned long long)LEGO_MMIO_BASE);
		for (int j = 0; j < i; j++) {
			const Elf64_Phdr *q = &ph[j];

			if (q->p_type != PT_LOAD || q->p_memsz == 0)
				continue;
			if (p->p_paddr < q->p_paddr + q->p_memsz && q->p_paddr < end)
				return fail(ELF_ERR_INVALID, err, errlen,
					    "segments %d and %d overlap", j, i);
		}
		if ((p->p_flags & PF_X) && eh.e_entry >= p->p_paddr && eh.e_entry < end)
			entry_ok = 1;
		if (p->p_paddr < lowest)
			lowest = p->p_paddr;
		if (end > highest)
			highest = end;
	}
	if (!loads)
		return fail(ELF_ERR_INVALID, err, errlen, "no loadable segment");
	if (!entry_ok)
		return fail(ELF_ERR_INVALID, err, errlen,
			    "entry point 0x%llx is not inside an executable segment",
			    (unsigned long long)eh.e_entry);

	for (int i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		uint8_t *dst;

		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		dst = guest_mem_ptr(mem, p->p_paddr, p->p_memsz);
		memcpy(dst, bytes + p->p_offset, p->p_filesz);
		memset(dst + p->p_filesz, 0, p->p_memsz - p->p_filesz);
	}
	info->entry = eh.e_entry;
	info->lowest = lowest;
	info->highest = highest;
	if (errlen)
		err[0] = '\0';
	return ELF_OK;
}
