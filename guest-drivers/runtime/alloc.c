/* alloc.c: bump allocation with mark/release, used by vCPU 0 only. */
#include "alloc.h"

#include "kstring.h"

static uint64_t cur, limit;

void alloc_init(uint64_t start, uint64_t end)
{
	cur = start;
	limit = end;
}

void *alloc_bytes(uint64_t size, uint64_t align)
{
	uint64_t p = (cur + align - 1) & ~(align - 1);

	if (p < cur || p > limit || size > limit - p)
		return NULL;
	cur = p + size;
	memset((void *)(uintptr_t)p, 0, size);
	return (void *)(uintptr_t)p;
}

uint64_t alloc_mark(void)
{
	return cur;
}

void alloc_release(uint64_t mark)
{
	if (mark <= cur)
		cur = mark;
}

uint64_t alloc_top(void)
{
	return cur;
}

uint64_t alloc_end(void)
{
	return limit;
}
