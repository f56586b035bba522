/* bus.h: port-I/O and MMIO dispatch from vCPU exits to the device that owns an address. */
#ifndef LEGO_BUS_H
#define LEGO_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_HANDLERS 32

/* A device's window on a bus. Accessors get the offset inside [base, base + len) and
 * an access of 1, 2, 4 or 8 bytes (little-endian data). They may run concurrently on
 * several vCPU threads: a device serialises its own state. */
struct bus_handler {
	const char *name;
	uint64_t base;
	uint64_t len;
	void *opaque;
	void (*read)(void *opaque, uint64_t off, void *data, uint32_t size);
	void (*write)(void *opaque, uint64_t off, const void *data, uint32_t size);
};

/* Handlers are registered before any vCPU runs and never removed, so dispatch
 * takes no lock. */
struct bus {
	const char *name;
	int nr;
	struct bus_handler handlers[BUS_MAX_HANDLERS];
};

void bus_init(struct bus *bus, const char *name);

/* Returns 0, -EEXIST if the window overlaps another, -ENOSPC if the bus is full,
 * -EINVAL for an empty or wrapping window. */
int bus_register(struct bus *bus, const struct bus_handler *h);

/* Route one access. Returns false if no device owns addr (reads then see all ones). */
bool bus_access(struct bus *bus, uint64_t addr, void *data, uint32_t size, bool is_write);

#endif
