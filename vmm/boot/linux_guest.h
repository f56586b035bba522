/* linux_guest.h: what lego-vmm does for a Linux vNode beyond a freestanding one, step by step. */
#ifndef LEGO_LINUX_GUEST_H
#define LEGO_LINUX_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linux_loader.h"
#include "vmm/devices/legacy/serial.h"
#include "vmm/devices/virtio/virtio_kvm.h"
#include "vmm/kvm/vm.h"

/* The IRQs virtio-mmio device i raises: the free ISA ones of a PC (not the timer, keyboard,
 * cascade, COM1/COM2, RTC, FPU or IDE 0), then IOAPIC pins 16-22 (described by ACPI; with
 * acpi=off, the MP table routes only the ISA ones). */
#define LINUX_GUEST_VIRTIO_IRQS                                            \
	{                                                                  \
		5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22 \
	}
#define LINUX_GUEST_MAX_VIRTIO 16
#define LINUX_GUEST_SERIAL_IRQ 4
/* Put before the user's --append; a parameter the user gives replaces lego-vmm's own. The
 * machine has no PCI; panic=-1 turns a panic into a reset, which ends lego-vmm instead of
 * leaving a hung vNode; reboot=acpi, because with hardware-reduced ACPI the kernel would
 * otherwise try EFI and then the BIOS (whose reset vector is lego-vmm's stub, see
 * linux_zeropage.h). The devices are in ACPI tables (what a distribution kernel reads);
 * with acpi=off in --append, an MP table gives the CPUs and IOAPIC and the command line
 * names the virtio-mmio devices (for kernels built with VIRTIO_MMIO_CMDLINE_DEVICES). */
#define LINUX_GUEST_DEFAULT_CMDLINE "console=ttyS0 panic=-1 reboot=acpi pci=off"

struct linux_guest {
	struct linux_loader_kernel k;
	void *initrd;
	size_t initrd_len;
	int nr_virtio;
	struct virtio_kvm *vk[LINUX_GUEST_MAX_VIRTIO];
};

/* Why this host cannot run a Linux guest, or NULL if it can (hardware virtualization). */
const char *linux_guest_host_problem(void);

/* The kernel command line: LINUX_GUEST_DEFAULT_CMDLINE less the parameters append names, then
 * append, then (only if append says acpi=off) virtio_mmio.device=SIZE@BASE:IRQ for each
 * device. Returns its length, or -1 if it does not fit in len bytes. */
/* Whether the user's command line turns ACPI off. */
bool linux_guest_cmdline_acpi_off(const char *append);

int linux_guest_cmdline(char *buf, size_t len, const char *append, const uint64_t *virtio_base,
			int nr_virtio, uint64_t virtio_size);

/* Before any device or KVM: copy the kernel into guest RAM and take the initrd (NULL: none;
 * lg owns it from now on, even on failure). Sets vm->linux_guest. 0, or -1 logged. */
int linux_guest_load(struct vm *vm, struct linux_guest *lg, const char *path, const void *image,
		     size_t len, void *initrd, size_t initrd_len);

/* A Linux vNode migrating in: its RAM already holds the kernel, the zero page and the ACPI
 * tables; only the devices that are not in RAM are set up here (the keyboard controller's
 * reset, the ACPI power-management ports). 0, or -1 logged. */
int linux_guest_incoming(struct vm *vm);

/* Once the devices exist: the command line, the zero page with e820 and the initrd, the page
 * tables and GDT, the MP table for nr_cpus vCPUs. 0, or -1 logged. */
int linux_guest_setup(struct vm *vm, struct linux_guest *lg, const char *append,
		      const uint64_t *virtio_base, int nr_virtio, uint64_t virtio_size,
		      int nr_cpus);

/* Once vCPUs exist: the UART's IRQ 4, each device's irqfd and ioeventfds. 0, or -1 logged. */
int linux_guest_wire(struct vm *vm, struct linux_guest *lg, struct serial *serial,
		     struct virtio_mmio_dev *const *devs, int nr_devs);

/* Unhook the devices from KVM (before they are destroyed) and free what load took. */
void linux_guest_destroy(struct linux_guest *lg);

#endif
