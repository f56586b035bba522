/* acpi_pm.c: the sleep control register (power-off through S5) and an always-clear sleep status
 * register. */
#include "acpi_pm.h"

#include <string.h>

#include "vmm/arch/x86/acpi.h"
#include "lib/log.h"

static void status_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	(void)opaque;
	(void)off;
	memset(data, 0, size); /* no wake event pending */
}

static void control_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct vm *vm = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)off;
	(void)size;
	if (!(v & ACPI_SLP_EN))
		return;
	if (((v & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT) != ACPI_S5_TYPE) {
		log_warn("the guest asked for sleep type %u, which is not offered: ignored",
			 (v & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT);
		return;
	}
	if (!atomic_load(&vm->stopping))
		log_info("the guest powered off: the vNode ends with status 0");
	vm_stop(vm, 0);
}

int acpi_pm_init(struct vm *vm)
{
	struct bus_handler control = {
		.name = "acpi-sleep-control",
		.base = ACPI_SLEEP_CONTROL_PORT,
		.len = 1,
		.opaque = vm,
		.read = status_read,
		.write = control_write,
	};
	struct bus_handler status = {
		.name = "acpi-sleep-status",
		.base = ACPI_SLEEP_STATUS_PORT,
		.len = 1,
		.opaque = vm,
		.read = status_read,
	};

	return bus_register(&vm->pio, &control) ? -1 : bus_register(&vm->pio, &status);
}
