/* i8042.c: ports 0x60/0x64 of a keyboard controller without a keyboard: only the reset command. */
#include "i8042.h"

#include <string.h>

#include "lib/log.h"

static void i8042_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	(void)opaque;
	(void)off;
	memset(data, 0, size); /* status: output buffer empty, input buffer empty */
}

static void i8042_command(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct vm *vm = opaque;

	(void)off;
	(void)size;
	if (*(const uint8_t *)data != I8042_CMD_RESET)
		return;
	if (!atomic_load(&vm->stopping))
		log_info("the guest reset the machine (a reboot, or a panic with panic=-1): the "
			 "vNode ends with status 0");
	vm_stop(vm, 0);
}

int i8042_init(struct vm *vm)
{
	struct bus_handler data = {
		.name = "i8042-data",
		.base = I8042_DATA_PORT,
		.len = 1,
		.opaque = vm,
		.read = i8042_read,
	};
	struct bus_handler cmd = {
		.name = "i8042",
		.base = I8042_COMMAND_PORT,
		.len = 1,
		.opaque = vm,
		.read = i8042_read,
		.write = i8042_command,
	};

	return bus_register(&vm->pio, &data) ? -1 : bus_register(&vm->pio, &cmd);
}
