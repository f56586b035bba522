/* boot_config.h: what lego-vmm boots (boot_options.h's rows, read by boot_config.c). */
#ifndef LEGO_BOOT_CONFIG_H
#define LEGO_BOOT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define BOOT_DEFAULT_MEM (256ULL << 20)

struct vmm_options;

struct boot_config {
	const char *kernel;
	const char *initrd; /* Linux only */
	const char *append;
	uint64_t mem;
	int cpus;
};

void boot_config_init(struct vmm_options *c);
/* After every option: an image to boot (unless one arrives by migration). */
int boot_config_finish(struct vmm_options *c, char *err, size_t errlen);

#endif
