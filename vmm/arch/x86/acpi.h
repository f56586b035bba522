/* acpi.h: ACPI tables for a Linux guest (hardware-reduced): RSDP, XSDT, FADT, MADT and a DSDT
 * naming the devices. */
#ifndef LEGO_ACPI_H
#define LEGO_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/kvm/guest_mem.h"

#define ACPI_MAX_VIRTIO 16
/* The FADT's registers, all I/O ports: writing SLP_EN with _S5's type to the sleep control
 * register powers off (acpi_pm.c); the reset register is the keyboard controller's. */
#define ACPI_SLEEP_CONTROL_PORT 0x600
#define ACPI_SLEEP_STATUS_PORT	0x601
#define ACPI_RESET_PORT		0x64
#define ACPI_RESET_VALUE	0xfe
#define ACPI_S5_TYPE		5 /* the SLP_TYP of \_S5 */
#define ACPI_SLP_EN		0x20
#define ACPI_SLP_TYP_SHIFT	2
#define ACPI_SLP_TYP_MASK	0x1c

struct acpi_config {
	int nr_cpus; /* a local APIC per vCPU, APIC ID = index */
	uint32_t ioapic_id;
	uint16_t com1_port; /* an 8250 described as PNP0501 with its IRQ */
	uint8_t com1_irq;
	int nr_virtio; /* virtio-mmio devices (_HID LNRO0005), each a window and an edge IRQ */
	uint64_t virtio_base[ACPI_MAX_VIRTIO];
	uint64_t virtio_size;
	uint32_t virtio_irq[ACPI_MAX_VIRTIO];
};

/* Bytes the tables take at most for cfg (for the caller's room check). */
size_t acpi_tables_size(const struct acpi_config *cfg);

/* Write the RSDP at gpa (16-byte aligned, in [0xe0000, 1 MiB) where Linux also scans for it)
 * and the other tables right after it, all checksummed, below 4 GiB. Returns 0, or -1 if
 * the tables do not fit in guest RAM at gpa or cfg is out of range. */
int acpi_write_tables(struct guest_mem *mem, uint64_t gpa, const struct acpi_config *cfg);

/* The AML of the DSDT's body (for tests): bytes written to out, or -1 if cap is too small. */
int acpi_dsdt_aml(const struct acpi_config *cfg, uint8_t *out, size_t cap);

#endif
