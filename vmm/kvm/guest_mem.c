/* guest_mem.c: guest RAM mapping, slot layout and bounds-checked gpa -> hva. */
#include "guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/proto/lego_guest_abi.h"

#define GUARD_LEN (2ULL << 20)

int guest_mem_layout(uint64_t size, struct guest_mem_slot slots[GUEST_MEM_MAX_SLOTS])
{
	uint64_t low = size < LEGO_MMIO_BASE ? size : LEGO_MMIO_BASE;

	memset(slots, 0, sizeof(*slots) * GUEST_MEM_MAX_SLOTS);
	slots[0].gpa = 0;
	slots[0].size = low;
	if (size == low)
		return 1;
	slots[1].gpa = LEGO_HIGH_RAM_BASE;
	slots[1].size = size - low;
	return 2;
}

int guest_mem_init(struct guest_mem *mem, uint64_t size)
{
	uint8_t *map;
	uint64_t off = 0;

	memset(mem, 0, sizeof(*mem));
	if (size < LEGO_MEM_MIN || size > LEGO_MEM_MAX || size % (2ULL << 20))
		return -EINVAL;
	mem->map_len = size + 2 * GUARD_LEN;
	map = mmap(NULL, mem->map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		   0);
	if (map == MAP_FAILED)
		return -errno;
	if (mprotect(map + GUARD_LEN, size, PROT_READ | PROT_WRITE)) {
		int err = errno;

		munmap(map, mem->map_len);
		return -err;
	}
	/* Guest RAM is never dumped with the VMM and may use huge pages. */
	madvise(map + GUARD_LEN, size, MADV_DONTDUMP);
	mem->map_base = map;
	mem->base = map + GUARD_LEN;
	mem->size = size;
	mem->nr_slots = guest_mem_layout(size, mem->slots);
	for (int i = 0; i < mem->nr_slots; i++) {
		mem->slots[i].hva = mem->base + off;
		off += mem->slots[i].size;
	}
	return 0;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	if (mem->map_base)
		munmap(mem->map_base, mem->map_len);
	memset(mem, 0, sizeof(*mem));
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < mem->nr_slots; i++) {
		const struct guest_mem_slot *s = &mem->slots[i];

		if (gpa < s->gpa || gpa - s->gpa >= s->size)
			continue;
		if (len > s->size - (gpa - s->gpa))
			return NULL;
		return s->hva + (gpa - s->gpa);
	}
	return NULL;
}

uint64_t guest_mem_end(const struct guest_mem *mem)
{
	const struct guest_mem_slot *s = &mem->slots[mem->nr_slots - 1];

	return s->gpa + s->size;
}
