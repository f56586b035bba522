/* guest_mem.h: guest RAM layout and the one checked way the VMM touches guest memory. */
#ifndef LEGO_GUEST_MEM_H
#define LEGO_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_SLOTS 2

/* A contiguous range of guest-physical RAM backed by host memory at hva. */
struct guest_mem_slot {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

/* Guest RAM: one host mapping (with PROT_NONE guard pages on both sides, so a stray
 * access by device emulation faults instead of corrupting the VMM), split into at
 * most two guest-physical slots around the MMIO window. */
struct guest_mem {
	uint64_t size;	   /* total RAM bytes */
	uint8_t *base;	   /* host address of RAM byte 0 */
	size_t map_len;	   /* whole mapping, guards included */
	uint8_t *map_base; /* start of the mapping (low guard) */
	int nr_slots;
	struct guest_mem_slot slots[GUEST_MEM_MAX_SLOTS];
};

/* Lay out and map size bytes of guest RAM (size checked against the ABI limits and
 * rounded to 2 MiB by the caller). Returns 0 or -errno. */
int guest_mem_init(struct guest_mem *mem, uint64_t size);
void guest_mem_destroy(struct guest_mem *mem);

/* Split size bytes of RAM into guest-physical slots; pure, used by init and tests. */
int guest_mem_layout(uint64_t size, struct guest_mem_slot slots[GUEST_MEM_MAX_SLOTS]);

/* Host pointer for [gpa, gpa + len) if the whole range is RAM inside one slot,
 * else NULL. len 0 is allowed (for a valid gpa). Overflow-safe. Every access the
 * VMM makes on behalf of the guest (virtqueues, buffers) must go through this. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Highest guest-physical address + 1 covered by RAM. */
uint64_t guest_mem_end(const struct guest_mem *mem);

#endif
