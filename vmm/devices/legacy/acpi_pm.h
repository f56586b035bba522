/* acpi_pm.h: the ACPI sleep control and status registers of a hardware-reduced machine: the guest's
 * power-off. */
#ifndef LEGO_ACPI_PM_H
#define LEGO_ACPI_PM_H

#include "vmm/kvm/vm.h"

/* Ports ACPI_SLEEP_CONTROL_PORT and ACPI_SLEEP_STATUS_PORT: SLP_EN with _S5's sleep type
 * ends the run with status 0; other sleep states are not offered (\_S5 is the only one in
 * the DSDT) and are ignored. */
int acpi_pm_init(struct vm *vm);

#endif
