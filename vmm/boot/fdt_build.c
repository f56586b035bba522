/* fdt_build.c: device tree with memory, cpus, /chosen and the virtio-mmio devices. */
#include "fdt_build.h"

#include <libfdt.h>
#include <stdio.h>

#include "lib/proto/lego_guest_abi.h"

#define TRY(expr)                        \
	do {                             \
		int try_err_ = (expr);   \
		if (try_err_ < 0)        \
			return try_err_; \
	} while (0)

static int prop_reg64(void *fdt, uint64_t addr, uint64_t size)
{
	fdt64_t reg[2] = {cpu_to_fdt64(addr), cpu_to_fdt64(size)};

	return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int add_chosen(void *fdt, const struct fdt_build_params *p)
{
	TRY(fdt_begin_node(fdt, "chosen"));
	TRY(fdt_property_string(fdt, "bootargs", p->bootargs ? p->bootargs : ""));
	TRY(fdt_property_u32(fdt, "lego,abi-version", LEGO_GUEST_ABI_VERSION));
	TRY(fdt_property_u32(fdt, "lego,console-port", LEGO_PORT_CONSOLE));
	TRY(fdt_property_u32(fdt, "lego,debug-exit-port", LEGO_PORT_DEBUG_EXIT));
	TRY(fdt_property_u32(fdt, "lego,tsc-khz", p->tsc_khz));
	return fdt_end_node(fdt);
}

static int add_memory(void *fdt, const struct guest_mem *mem)
{
	char name[40];

	for (int i = 0; i < mem->nr_slots; i++) {
		snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)mem->slots[i].gpa);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "device_type", "memory"));
		TRY(prop_reg64(fdt, mem->slots[i].gpa, mem->slots[i].size));
		TRY(fdt_end_node(fdt));
	}
	return 0;
}

static int add_cpus(void *fdt, int nr_vcpus)
{
	char name[24];

	TRY(fdt_begin_node(fdt, "cpus"));
	TRY(fdt_property_u32(fdt, "#address-cells", 1));
	TRY(fdt_property_u32(fdt, "#size-cells", 0));
	for (int i = 0; i < nr_vcpus; i++) {
		snprintf(name, sizeof(name), "cpu@%d", i);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "device_type", "cpu"));
		TRY(fdt_property_u32(fdt, "reg", (uint32_t)i));
		TRY(fdt_end_node(fdt));
	}
	return fdt_end_node(fdt);
}

static int add_virtio(void *fdt, const struct fdt_build_params *p)
{
	char name[40];

	for (int i = 0; i < p->nr_virtio; i++) {
		snprintf(name, sizeof(name), "virtio_mmio@%llx",
			 (unsigned long long)p->virtio_base[i]);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
		TRY(prop_reg64(fdt, p->virtio_base[i], p->virtio_size));
		TRY(fdt_end_node(fdt));
	}
	return 0;
}

int fdt_build(void *buf, size_t size, const struct fdt_build_params *p)
{
	if (p->nr_virtio < 0 || p->nr_virtio > FDT_MAX_VIRTIO || p->nr_vcpus < 1)
		return -FDT_ERR_BADVALUE;
	TRY(fdt_create(buf, (int)size));
	TRY(fdt_finish_reservemap(buf));
	TRY(fdt_begin_node(buf, ""));
	TRY(fdt_property_u32(buf, "#address-cells", 2));
	TRY(fdt_property_u32(buf, "#size-cells", 2));
	TRY(fdt_property_string(buf, "compatible", "lego,vnode"));
	TRY(fdt_property_string(buf, "model", "lego-vmm"));
	TRY(add_chosen(buf, p));
	TRY(add_memory(buf, p->mem));
	TRY(add_cpus(buf, p->nr_vcpus));
	TRY(add_virtio(buf, p));
	TRY(fdt_end_node(buf));
	return fdt_finish(buf);
}
