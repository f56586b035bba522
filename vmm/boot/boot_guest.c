/* boot_guest.c: --kernel read and loaded: the freestanding ELF guest with its boot tables and
 * device tree, or a Linux kernel with its initrd. */
#include "boot_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_loader.h"
#include "lib/log.h"
#include "lib/proto/lego_guest_abi.h"
#include "vmm/arch/x86/x86_boot.h"
#include "vmm/devices/legacy/i8042.h"
#include "vmm/kvm/vm.h"

/* Read a whole file (what: "guest image", "initrd"); it cannot be larger than guest RAM. */
static void *boot_guest_file(const char *what, const char *path, uint64_t mem, size_t *len)
{
	struct stat st;
	void *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_error("cannot open %s '%s': %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		log_error("%s '%s' is not a regular file", what, path);
		close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size > mem) {
		log_error("%s '%s' (%llu bytes) is larger than guest RAM (%llu MiB)", what, path,
			  (unsigned long long)st.st_size, (unsigned long long)(mem >> 20));
		close(fd);
		return NULL;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	*len = 0;
	while (buf && *len < (size_t)st.st_size) {
		ssize_t n = read(fd, (char *)buf + *len, (size_t)st.st_size - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("cannot read %s '%s': %s", what, path,
				  n < 0 ? strerror(errno) : "file shrank");
			free(buf);
			buf = NULL;
			break;
		}
		*len += (size_t)n;
	}
	close(fd);
	return buf;
}

/* The freestanding guest: its ELF segments, and the boot tables of lego_guest_abi.h. */
static int boot_guest_lego_elf(struct vm *vm, const char *path, const void *image, size_t len,
			       uint64_t *entry)
{
	struct elf_loader_image info;
	char err[256];
	enum elf_loader_status st;

	st = elf_loader_load(&vm->mem, image, len, &info, err, sizeof(err));
	if (st != ELF_OK) {
		log_error("guest image '%s' %s: %s", path,
			  st == ELF_ERR_TOO_LARGE ? "is larger than guest RAM" : "is invalid", err);
		return -1;
	}
	log_debug("loaded '%s' at [0x%llx, 0x%llx), entry 0x%llx", path,
		  (unsigned long long)info.lowest, (unsigned long long)info.highest,
		  (unsigned long long)info.entry);
	*entry = info.entry;
	return x86_boot_setup_tables(&vm->mem);
}

int boot_guest_read(const struct boot_config *b, uint64_t mem, void **image, size_t *len,
		    enum linux_loader_kind *kind)
{
	const char *problem;

	*image = boot_guest_file("guest image", b->kernel, mem, len);
	if (!*image)
		return -1;
	/* Anything but a Linux kernel goes to the ELF loader, which says what is wrong with it. */
	*kind = linux_loader_image_kind(*image, *len);
	if (!linux_loader_kind_is_linux(*kind)) {
		if (b->initrd) {
			log_error("--initrd is for a Linux kernel; '%s' is %s", b->kernel,
				  *kind == LINUX_LOADER_KIND_LEGO_ELF ? "a freestanding ELF guest"
								      : "not one");
			return -1;
		}
		return 0;
	}
	problem = linux_guest_host_problem();
	if (problem) {
		log_error("cannot boot '%s' (a %s): %s", b->kernel, linux_loader_kind_name(*kind),
			  problem);
		return -1;
	}
	return 0;
}

int boot_guest_load(struct vm *vm, const struct boot_config *b, const void *image, size_t len,
		    enum linux_loader_kind kind, struct linux_guest *lg, uint64_t *entry)
{
	void *initrd = NULL;
	size_t initrd_len = 0;

	if (!linux_loader_kind_is_linux(kind))
		return boot_guest_lego_elf(vm, b->kernel, image, len, entry);
	if (b->initrd &&
	    !(initrd = boot_guest_file("initrd", b->initrd, vm->mem.size, &initrd_len)))
		return -1;
	if (linux_guest_load(vm, lg, b->kernel, image, len, initrd, initrd_len) || i8042_init(vm))
		return -1;
	*entry = lg->k.entry;
	return 0;
}

int boot_guest_fdt(struct vm *vm, const struct boot_config *b, struct fdt_build_params *fp)
{
	void *fdt = guest_mem_ptr(&vm->mem, LEGO_FDT_GPA, LEGO_FDT_MAX);
	int err;

	fp->mem = &vm->mem;
	fp->nr_vcpus = b->cpus;
	fp->bootargs = b->append;
	fp->tsc_khz = vm->tsc_khz;
	err = fdt_build(fdt, LEGO_FDT_MAX, fp);
	if (err) {
		log_error("cannot build the device tree: %s (command line %zu bytes)",
			  fdt_strerror(err), strlen(b->append));
		return -1;
	}
	return 0;
}
