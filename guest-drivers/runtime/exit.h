/* exit.h: end the run through LEGO_PORT_DEBUG_EXIT (the status becomes lego-vmm's). */
#ifndef GUEST_EXIT_H
#define GUEST_EXIT_H

#include <stdint.h>

/* Write status to the debug-exit port (32-bit out), then halt this vCPU for good. */
__attribute__((noreturn)) void exit_guest(uint32_t status);

/* Print "lego-guest: fatal: <message>" and exit with status 1. Never traps. */
__attribute__((noreturn, format(printf, 1, 2))) void exit_fatal(const char *fmt, ...);

#endif
