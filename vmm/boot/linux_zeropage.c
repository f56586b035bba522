/* linux_zeropage.c: fills the zero page (setup header, e820, command line, initrd) for a Linux
 * guest. */
#include "linux_zeropage.h"

#include <stdio.h>
#include <string.h>

#include <asm/e820.h>

#define PAGE	       4096ULL
#define SETUP_HDR_OFF  0x1f1
#define LOADER_UNKNOWN 0xff /* type_of_loader: a boot loader without an assigned id */

static void add(struct boot_e820_entry *e, int *n, uint64_t addr, uint64_t size, uint32_t type)
{
	if (!size || *n == LINUX_E820_MAX)
		return;
	e[*n] = (struct boot_e820_entry){.addr = addr, .size = size, .type = type};
	(*n)++;
}

int linux_zeropage_e820(const struct guest_mem *mem, uint64_t mmio_base, uint64_t mmio_len,
			struct boot_e820_entry e[LINUX_E820_MAX])
{
	const struct guest_mem_slot *low = &mem->slots[0];
	int n = 0;

	/* The hole [640 KiB, 1 MiB) is RAM in the memslot, but a PC has its VGA window and
	 * BIOS there: only the BIOS area, which holds the ACPI and MP tables, is listed. */
	add(e, &n, 0, LINUX_BASE_RAM_END, E820_RAM);
	add(e, &n, LINUX_BIOS_GPA, LINUX_BIOS_END - LINUX_BIOS_GPA, E820_RESERVED);
	add(e, &n, LINUX_BIOS_END, low->size - LINUX_BIOS_END, E820_RAM);
	add(e, &n, mmio_base, mmio_len, E820_RESERVED);
	for (int i = 1; i < mem->nr_slots; i++)
		add(e, &n, mem->slots[i].gpa, mem->slots[i].size, E820_RAM);
	return n;
}

int linux_zeropage_place_initrd(const struct guest_mem *mem, const struct linux_loader_kernel *k,
				uint64_t len, uint64_t *gpa, char *err, size_t errlen)
{
	uint64_t top = mem->slots[0].size, addr;

	if (k->initrd_end_max < top)
		top = k->initrd_end_max;
	top &= ~(PAGE - 1);
	if (!len || len > top || top - len < k->end) {
		return linux_loader_boot_fail(
			err, errlen,
			"the initrd (%llu bytes) does not fit in guest RAM between the kernel "
			"(which ends at 0x%llx) and 0x%llx: give more --mem",
			(unsigned long long)len, (unsigned long long)k->end,
			(unsigned long long)top);
	}
	addr = (top - len) & ~(PAGE - 1);
	if (addr < k->end)
		return linux_loader_boot_fail(err, errlen,
					      "the initrd (%llu bytes) would overlap the kernel",
					      (unsigned long long)len);
	*gpa = addr;
	return 0;
}

int linux_zeropage_setup(struct guest_mem *mem, const struct linux_loader_kernel *k,
			 const struct linux_zeropage_cfg *cfg, char *err, size_t errlen)
{
	struct boot_params *bp = guest_mem_ptr(mem, LINUX_ZERO_PAGE_GPA, sizeof(*bp));
	size_t cmd_len = strlen(cfg->cmdline) + 1;
	uint64_t initrd_gpa = 0;
	char *cmd;
	uint8_t *initrd;

	if (errlen)
		err[0] = '\0';
	if (cmd_len > k->cmdline_max || cmd_len > LINUX_CMDLINE_AREA)
		return linux_loader_boot_fail(
			err, errlen,
			"the kernel command line is %zu bytes; this kernel takes at most %u "
			"(NUL included)",
			cmd_len, k->cmdline_max);
	cmd = guest_mem_ptr(mem, LINUX_CMDLINE_GPA, cmd_len);
	if (!bp || !cmd)
		return linux_loader_boot_fail(err, errlen,
					      "guest RAM is too small for the boot structures");
	if (cfg->initrd) {
		if (linux_zeropage_place_initrd(mem, k, cfg->initrd_len, &initrd_gpa, err, errlen))
			return -1;
		initrd = guest_mem_ptr(mem, initrd_gpa, cfg->initrd_len);
		if (!initrd)
			return linux_loader_boot_fail(err, errlen,
						      "the initrd does not fit in guest RAM");
		memcpy(initrd, cfg->initrd, cfg->initrd_len);
	}
	memcpy(cmd, cfg->cmdline, cmd_len);
	/* Real mode at F000:FFF0: mov al, 0xfe; out 0x64, al; hlt. */
	static const uint8_t reset_stub[] = {0xb0, 0xfe, 0xe6, 0x64, 0xf4};
	uint8_t *rv = guest_mem_ptr(mem, LINUX_RESET_VECTOR, sizeof(reset_stub));

	if (!rv)
		return linux_loader_boot_fail(err, errlen,
					      "guest RAM is too small for the boot structures");
	memcpy(rv, reset_stub, sizeof(reset_stub));

	memset(bp, 0, sizeof(*bp));
	/* The image's own header (as far as it is long), then what the loader fills in. */
	memcpy(&bp->hdr, &k->hdr, sizeof(bp->hdr));
	bp->hdr.type_of_loader = LOADER_UNKNOWN;
	bp->hdr.loadflags |= LOADED_HIGH;
	bp->hdr.vid_mode = 0xffff; /* "normal": no video mode to set */
	bp->hdr.cmd_line_ptr = (uint32_t)LINUX_CMDLINE_GPA;
	bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp->hdr.ramdisk_size = (uint32_t)cfg->initrd_len;
	bp->hdr.setup_data = 0;
	bp->hdr.hardware_subarch = 0; /* a PC */
	bp->acpi_rsdp_addr = cfg->acpi_rsdp;
	bp->e820_entries =
		(uint8_t)linux_zeropage_e820(mem, cfg->mmio_base, cfg->mmio_len, bp->e820_table);
	return 0;
}
