/* linux_guest.c: a Linux vNode's boot: host check, kernel, command line, zero page, MP table,
 * interrupts. */
#include "linux_guest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/arch/x86/acpi.h"
#include "vmm/devices/legacy/acpi_pm.h"
#include "vmm/devices/legacy/i8042.h"
#include "vmm/kvm/irqchip.h"
#include "linux_zeropage.h"
#include "lib/log.h"
#include "vmm/arch/x86/mptable.h"
#include "vmm/arch/x86/x86_boot.h"

static const int virtio_irqs[LINUX_GUEST_MAX_VIRTIO] = LINUX_GUEST_VIRTIO_IRQS;

const char *linux_guest_host_problem(void)
{
	if (vm_host_has_hw_virt())
		return NULL;
	return "this CPU has no hardware virtualization (VT-x/AMD-V): its /dev/kvm, if any, is "
	       "PVM, which cannot deliver the interrupts an unmodified Linux kernel needs. Run "
	       "it on a host with VT-x/AMD-V, or inside the nested test bed "
	       "(tests/testbed/run-in-l1)";
}

/* The key of a command-line parameter: "panic" of "panic=-1", all of "quiet". */
static size_t key_len(const char *p, size_t len)
{
	const char *eq = memchr(p, '=', len);

	return eq ? (size_t)(eq - p) : len;
}

/* Whether the whitespace-separated parameters of s name key. */
static bool names_key(const char *s, const char *key, size_t klen)
{
	while (*s) {
		size_t n;

		s += strspn(s, " \t\n");
		n = strcspn(s, " \t\n");
		if (n && key_len(s, n) == klen && !memcmp(s, key, klen))
			return true;
		s += n;
	}
	return false;
}

bool linux_guest_cmdline_acpi_off(const char *append)
{
	const char *s = append;

	while (*s) {
		size_t n;

		s += strspn(s, " \t\n");
		n = strcspn(s, " \t\n");
		if (n == strlen("acpi=off") && !memcmp(s, "acpi=off", n))
			return true;
		s += n;
	}
	return false;
}

int linux_guest_cmdline(char *buf, size_t len, const char *append, const uint64_t *virtio_base,
			int nr_virtio, uint64_t virtio_size)
{
	const char *d = LINUX_GUEST_DEFAULT_CMDLINE;
	size_t n = 0;
	int w;

	if (!len || nr_virtio > LINUX_GUEST_MAX_VIRTIO)
		return -1;
	buf[0] = '\0';
	while (*d) {
		size_t t;

		d += strspn(d, " ");
		t = strcspn(d, " ");
		if (t && !names_key(append, d, key_len(d, t))) {
			w = snprintf(buf + n, len - n, "%s%.*s", n ? " " : "", (int)t, d);
			if (w < 0 || (size_t)w >= len - n)
				return -1;
			n += (size_t)w;
		}
		d += t;
	}
	if (*append) {
		w = snprintf(buf + n, len - n, "%s%s", n ? " " : "", append);
		if (w < 0 || (size_t)w >= len - n)
			return -1;
		n += (size_t)w;
	}
	for (int i = 0; linux_guest_cmdline_acpi_off(append) && i < nr_virtio; i++) {
		w = snprintf(buf + n, len - n, "%svirtio_mmio.device=%lluK@0x%llx:%d", n ? " " : "",
			     (unsigned long long)(virtio_size >> 10),
			     (unsigned long long)virtio_base[i], virtio_irqs[i]);
		if (w < 0 || (size_t)w >= len - n)
			return -1;
		n += (size_t)w;
	}
	return (int)n;
}

int linux_guest_load(struct vm *vm, struct linux_guest *lg, const char *path, const void *image,
		     size_t len, void *initrd, size_t initrd_len)
{
	char err[256];

	memset(lg, 0, sizeof(*lg));
	lg->initrd = initrd;
	lg->initrd_len = initrd_len;
	if (linux_loader_load_kernel(&vm->mem, image, len, &lg->k, err, sizeof(err))) {
		log_error("Linux kernel '%s': %s", path, err);
		return -1;
	}
	vm->linux_guest = true;
	vm->linux_zero_page = LINUX_ZERO_PAGE_GPA;
	log_debug("%s '%s': [0x%llx, 0x%llx), entry 0x%llx, boot protocol %u.%02u", path,
		  linux_loader_kind_name(lg->k.kind), (unsigned long long)lg->k.start,
		  (unsigned long long)lg->k.end, (unsigned long long)lg->k.entry,
		  lg->k.hdr.version >> 8, lg->k.hdr.version & 0xff);
	return 0;
}

int linux_guest_incoming(struct vm *vm)
{
	vm->linux_guest = true;
	vm->linux_zero_page = LINUX_ZERO_PAGE_GPA;
	return i8042_init(vm) || acpi_pm_init(vm) ? -1 : 0;
}

static int write_acpi(struct vm *vm, const uint64_t *virtio_base, int nr_virtio,
		      uint64_t virtio_size, int nr_cpus)
{
	struct acpi_config ac = {.nr_cpus = nr_cpus,
				 .ioapic_id = (uint32_t)nr_cpus,
				 .com1_port = LEGO_PORT_CONSOLE,
				 .com1_irq = LINUX_GUEST_SERIAL_IRQ,
				 .nr_virtio = nr_virtio,
				 .virtio_size = virtio_size};

	for (int i = 0; i < nr_virtio; i++) {
		ac.virtio_base[i] = virtio_base[i];
		ac.virtio_irq[i] = (uint32_t)virtio_irqs[i];
	}
	if (acpi_write_tables(&vm->mem, LINUX_ACPI_GPA, &ac) ||
	    LINUX_ACPI_GPA + acpi_tables_size(&ac) > LINUX_MPTABLE_GPA) {
		log_error("cannot write the ACPI tables for %d vCPUs and %d devices", nr_cpus,
			  nr_virtio);
		return -1;
	}
	return acpi_pm_init(vm);
}

int linux_guest_setup(struct vm *vm, struct linux_guest *lg, const char *append,
		      const uint64_t *virtio_base, int nr_virtio, uint64_t virtio_size, int nr_cpus)
{
	struct linux_zeropage_cfg cfg = {
		.initrd = lg->initrd, .initrd_len = lg->initrd_len, .acpi_rsdp = LINUX_ACPI_GPA};
	char *cmdline = malloc(LINUX_CMDLINE_AREA), err[256];
	int rc = -1;

	if (!cmdline) {
		log_error("out of memory for the kernel command line");
		return -1;
	}
	if (nr_virtio > LINUX_GUEST_MAX_VIRTIO) {
		log_error("a Linux guest has IRQs for %d virtio devices, not %d",
			  LINUX_GUEST_MAX_VIRTIO, nr_virtio);
		goto out;
	}
	if (linux_guest_cmdline(cmdline, LINUX_CMDLINE_AREA, append, virtio_base, nr_virtio,
				virtio_size) < 0) {
		log_error("the kernel command line is longer than %llu bytes",
			  (unsigned long long)LINUX_CMDLINE_AREA);
		goto out;
	}
	cfg.cmdline = cmdline;
	if (nr_virtio) {
		cfg.mmio_base = virtio_base[0];
		cfg.mmio_len = virtio_base[nr_virtio - 1] + virtio_size - virtio_base[0];
	}
	if (linux_zeropage_setup(&vm->mem, &lg->k, &cfg, err, sizeof(err))) {
		log_error("Linux boot: %s", err);
		goto out;
	}
	if (x86_boot_setup_tables_for(&vm->mem, &x86_boot_linux_selectors)) {
		log_error("guest RAM is too large for the boot page tables");
		goto out;
	}
	if (mptable_write(&vm->mem, LINUX_MPTABLE_GPA, nr_cpus)) {
		log_error("cannot write the MP table for %d vCPUs", nr_cpus);
		goto out;
	}
	if (write_acpi(vm, virtio_base, nr_virtio, virtio_size, nr_cpus))
		goto out;
	log_info("Linux %s, %s%zu-byte initrd; command line: %s",
		 linux_loader_kind_name(lg->k.kind), lg->initrd ? "" : "no initrd, ",
		 lg->initrd ? lg->initrd_len : 0, cmdline);
	rc = 0;
out:
	free(cmdline);
	return rc;
}

static void serial_line(void *opaque, int level)
{
	irqchip_set_line(opaque, LINUX_GUEST_SERIAL_IRQ, level);
}

int linux_guest_wire(struct vm *vm, struct linux_guest *lg, struct serial *serial,
		     struct virtio_mmio_dev *const *devs, int nr_devs)
{
	serial_set_irq(serial, serial_line, vm);
	for (int i = 0; i < nr_devs && i < LINUX_GUEST_MAX_VIRTIO; i++) {
		lg->vk[i] = virtio_kvm_attach(devs[i], vm->vm_fd, (uint32_t)virtio_irqs[i]);
		if (!lg->vk[i])
			return -1;
		lg->nr_virtio = i + 1;
	}
	return 0;
}

void linux_guest_destroy(struct linux_guest *lg)
{
	for (int i = 0; i < lg->nr_virtio; i++)
		virtio_kvm_detach(lg->vk[i]);
	lg->nr_virtio = 0;
	free(lg->initrd);
	lg->initrd = NULL;
}
