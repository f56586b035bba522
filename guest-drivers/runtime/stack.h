/* stack.h: the per-vCPU stacks start.S switches to (one .bss array, LEGO_MAX_VCPUS slots). */
#ifndef GUEST_STACK_H
#define GUEST_STACK_H

#define STACK_SHIFT 15 /* 32 KiB per vCPU: 2 MiB in all, so the image fits 4 MiB RAM */
#define STACK_SIZE  (1 << STACK_SHIFT)

#ifndef __ASSEMBLER__
#include <stdint.h>

#include "lib/proto/lego_guest_abi.h"

extern uint8_t stack_vcpus[LEGO_MAX_VCPUS][STACK_SIZE];

/* A marker at the bottom of a vCPU's stack: stack_check() finds it intact unless the
 * stack overflowed. */
void stack_mark(unsigned cpu);
int stack_check(unsigned cpu);
#endif

#endif
