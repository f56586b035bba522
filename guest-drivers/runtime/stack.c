/* stack.c: the per-vCPU stack array and its overflow markers. */
#include "stack.h"

#define STACK_MARK 0x5354414b5354414bULL /* "STAKSTAK" */

uint8_t stack_vcpus[LEGO_MAX_VCPUS][STACK_SIZE] __attribute__((aligned(4096)));

void stack_mark(unsigned cpu)
{
	*(volatile uint64_t *)stack_vcpus[cpu] = STACK_MARK;
}

int stack_check(unsigned cpu)
{
	return *(volatile uint64_t *)stack_vcpus[cpu] == STACK_MARK ? 0 : -1;
}
