/* bus.c: fixed-size handler table, range lookup, unclaimed-access semantics. */
#include "bus.h"

#include <errno.h>
#include <string.h>

#include "lib/log.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

int bus_register(struct bus *bus, const struct bus_handler *h)
{
	if (!h->len || h->base + h->len < h->base)
		return -EINVAL;
	if (bus->nr == BUS_MAX_HANDLERS)
		return -ENOSPC;
	for (int i = 0; i < bus->nr; i++) {
		const struct bus_handler *o = &bus->handlers[i];

		if (h->base < o->base + o->len && o->base < h->base + h->len)
			return -EEXIST;
	}
	bus->handlers[bus->nr++] = *h;
	return 0;
}

bool bus_access(struct bus *bus, uint64_t addr, void *data, uint32_t size, bool is_write)
{
	for (int i = 0; i < bus->nr; i++) {
		const struct bus_handler *h = &bus->handlers[i];
		uint64_t off = addr - h->base;

		if (addr < h->base || off >= h->len)
			continue;
		if (size > h->len - off)
			break; /* straddles the end of the window: unclaimed */
		if (is_write) {
			if (h->write)
				h->write(h->opaque, off, data, size);
		} else if (h->read) {
			h->read(h->opaque, off, data, size);
		} else {
			memset(data, 0, size);
		}
		return true;
	}
	if (!is_write)
		memset(data, 0xff, size);
	log_debug("%s: unclaimed %s of %u bytes at 0x%llx", bus->name, is_write ? "write" : "read",
		  size, (unsigned long long)addr);
	return false;
}
