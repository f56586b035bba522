/* i8042.h: the keyboard controller's reset line, which a Linux guest pulses to reboot. */
#ifndef LEGO_I8042_H
#define LEGO_I8042_H

#include "vmm/kvm/vm.h"

#define I8042_DATA_PORT	   0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_CMD_RESET	   0xfe /* "pulse output line 0": the CPU reset */

/* Ports 0x60 and 0x64 (also the FADT's reset register): status reads say "nothing to read,
 * ready for a command", so the kernel's reboot path does not wait; the reset command ends
 * the run with status 0 (lego-vmm does not restart a vNode: a reboot, or a panic with
 * panic=-1, ends it). */
int i8042_init(struct vm *vm);

#endif
