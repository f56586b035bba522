/* boot_options.h: lego-vmm's boot options (rows of vmm/options.h): the guest image, its RAM,
 * vCPUs and command line; handled in boot_config.c. No code. */
#ifndef LEGO_BOOT_OPTIONS_H
#define LEGO_BOOT_OPTIONS_H

#define BOOT_OPTIONS(X)                                                                          \
	X(boot_config_kernel, "kernel", 'k', "IMAGE", 0,                                         \
	  "the guest (required): lego's freestanding ELF guest, or a Linux bzImage or ELF "      \
	  "vmlinux (told apart by content)")                                                     \
	X(boot_config_initrd, "initrd", 0, "PATH", 0,                                            \
	  "Linux: the initramfs (or initrd) the kernel unpacks")                                 \
	X(boot_config_mem, "mem", 'm', "SIZE", 0,                                                \
	  "guest RAM, e.g. 256M, 2G (%llu MiB..%llu GiB, multiple of 2 MiB; default 256M)",      \
	  (unsigned long long)(LEGO_MEM_MIN >> 20), (unsigned long long)(LEGO_MEM_MAX >> 30))    \
	X(boot_config_cpus, "cpus", 'c', "N", 0, "vCPUs, each a host thread (1..%d; default 1)", \
	  LEGO_MAX_VCPUS)                                                                        \
	X(boot_config_append, "append", 'a', "CMDLINE", 0,                                       \
	  "guest command line (/chosen/bootargs). Linux: after\n'%s'\n(a parameter given here "  \
	  "replaces that one); the disks are in ACPI tables (with acpi=off: on the command "     \
	  "line, virtio_mmio.device=4K@ADDR:IRQ each)",                                          \
	  LINUX_GUEST_DEFAULT_CMDLINE)

#endif
