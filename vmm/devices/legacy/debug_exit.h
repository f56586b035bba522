/* debug_exit.h: the port whose written value ends the run and becomes lego-vmm's status. */
#ifndef LEGO_DEBUG_EXIT_H
#define LEGO_DEBUG_EXIT_H

#include "vmm/kvm/vm.h"

int debug_exit_init(struct vm *vm);

#endif
