/* io.h: port I/O, MMIO accessors, barriers, TSC and pause for the freestanding guest. */
#ifndef GUEST_IO_H
#define GUEST_IO_H

#include <stdint.h>

static inline void io_outb(uint16_t port, uint8_t val)
{
	__asm__ __volatile__("outb %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

static inline uint8_t io_inb(uint16_t port)
{
	uint8_t val;

	__asm__ __volatile__("inb %1, %0" : "=a"(val) : "Nd"(port) : "memory");
	return val;
}

static inline void io_outl(uint16_t port, uint32_t val)
{
	__asm__ __volatile__("outl %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

/* MMIO: one plain 32-bit mov each (simple for the VMM's instruction decoder), and a
 * compiler barrier so ring updates are never moved across a register access. */
static inline uint32_t io_mmio_read32(uint64_t addr)
{
	uint32_t val;

	__asm__ __volatile__("movl %1, %0"
			     : "=r"(val)
			     : "m"(*(volatile uint32_t *)(uintptr_t)addr)
			     : "memory");
	return val;
}

static inline void io_mmio_write32(uint64_t addr, uint32_t val)
{
	__asm__ __volatile__("movl %1, %0"
			     : "=m"(*(volatile uint32_t *)(uintptr_t)addr)
			     : "r"(val)
			     : "memory");
}

static inline void io_cpu_relax(void)
{
	__asm__ __volatile__("pause" : : : "memory");
}

static inline uint64_t io_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Full barrier (mfence): stores to RAM are globally visible before what follows. */
static inline void io_mb(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#endif
