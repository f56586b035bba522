/* debug_exit.c: LEGO_PORT_DEBUG_EXIT: a write of value v stops every vCPU with status v & 0xff. */
#include "debug_exit.h"

#include <string.h>

#include "lib/log.h"

static void debug_exit_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct vm *vm = opaque;
	uint32_t value = 0;

	(void)off;
	memcpy(&value, data, size < sizeof(value) ? size : sizeof(value));
	log_info("guest wrote %u to the debug-exit port: exit status %u", value, value & 0xff);
	vm_stop(vm, (int)(value & 0xff));
}

int debug_exit_init(struct vm *vm)
{
	struct bus_handler h = {
		.name = "debug-exit",
		.base = LEGO_PORT_DEBUG_EXIT,
		.len = 4,
		.opaque = vm,
		.write = debug_exit_write,
	};

	return bus_register(&vm->pio, &h);
}
