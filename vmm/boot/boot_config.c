/* boot_config.c: the boot options' handlers: the guest image, guest RAM, vCPUs, command line. */
#include "boot_config.h"

#include <stdio.h>

#include "lib/parse.h"
#include "lib/proto/lego_guest_abi.h"
#include "vmm/control/vmm_options.h"

void boot_config_init(struct vmm_options *c)
{
	c->boot = (struct boot_config){.mem = BOOT_DEFAULT_MEM, .cpus = 1, .append = ""};
}

int boot_config_kernel(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->boot.kernel = arg;
	return VMM_OPTIONS_OK;
}

int boot_config_initrd(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->boot.initrd = arg;
	return VMM_OPTIONS_OK;
}

int boot_config_mem(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_size(arg, &v)) {
		snprintf(err, errlen, "--mem '%s' is not a size (e.g. 256M, 2G)", arg);
		return VMM_OPTIONS_BAD;
	}
	if (v < LEGO_MEM_MIN || v > LEGO_MEM_MAX || v % (2ULL << 20)) {
		snprintf(err, errlen,
			 "memory size %s is out of range: guest RAM must be %llu MiB..%llu GiB and "
			 "a multiple of 2 MiB",
			 arg, (unsigned long long)(LEGO_MEM_MIN >> 20),
			 (unsigned long long)(LEGO_MEM_MAX >> 30));
		return VMM_OPTIONS_REFUSED;
	}
	c->boot.mem = v;
	return VMM_OPTIONS_OK;
}

int boot_config_cpus(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_uint(arg, 1, LEGO_MAX_VCPUS, &v)) {
		snprintf(err, errlen, "--cpus '%s' must be a number from 1 to %d", arg,
			 LEGO_MAX_VCPUS);
		return VMM_OPTIONS_REFUSED;
	}
	c->boot.cpus = (int)v;
	return VMM_OPTIONS_OK;
}

int boot_config_append(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->boot.append = arg;
	return VMM_OPTIONS_OK;
}

int boot_config_finish(struct vmm_options *c, char *err, size_t errlen)
{
	if (!c->boot.kernel && !c->migrate.incoming) {
		snprintf(err, errlen, "no guest image given (--kernel IMAGE)");
		return VMM_OPTIONS_BAD;
	}
	if (c->boot.initrd && !c->boot.kernel) {
		snprintf(err, errlen, "--initrd needs --kernel (the Linux kernel it belongs to)");
		return VMM_OPTIONS_BAD;
	}
	return VMM_OPTIONS_OK;
}
