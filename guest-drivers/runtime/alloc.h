/* alloc.h: a bump allocator for guest memory above the image (rings, DMA buffers). */
#ifndef GUEST_ALLOC_H
#define GUEST_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Memory [start, end) is free for allocation (start: the image's _end). */
void alloc_init(uint64_t start, uint64_t end);

/* Zeroed memory of size bytes aligned to align (a power of two), or NULL if it does
 * not fit. Identity-mapped: the pointer is also the guest-physical address. */
void *alloc_bytes(uint64_t size, uint64_t align);

/* Everything allocated after a mark is freed by alloc_release(mark). */
uint64_t alloc_mark(void);
void alloc_release(uint64_t mark);

/* First address above everything allocated so far, and the end of the heap range. */
uint64_t alloc_top(void);
uint64_t alloc_end(void);

#endif
