/* stack.c: the per-vCPU stack array and its overflow markers. */
#include "stack.h"

#define STACK_MARK 0x5354414b5354414bULL /* "STAKSTAK" */

uint8_t guest_stacks[LEGO_MAX_VCPUS][GUEST_STACK_SIZE] __attribute__((aligned(4096)));

void stack_mark(unsigned cpu)
{
	*(volatile uint64_t *)guest_stacks[cpu] = STACK_MARK;
}

int stack_check(unsigned cpu)
{
	return *(volatile uint64_t *)guest_stacks[cpu] == STACK_MARK ? 0 : -1;
}
