/* acpi.c: builds hardware-reduced ACPI tables (ACPI 6.3 layouts) and the DSDT's AML for a Linux
 * guest. */
#include "acpi.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mptable.h"

#define TABLE_ALIGN 16
#define HDR_LEN	    36
#define FADT_LEN    276
#define FADT_REV    6
#define FADT_MINOR  3
#define AML_MAX	    4096

/* FADT fields (offsets from the table's start) and flags. */
#define FADT_DSDT	      40
#define FADT_IAPC_BOOT_ARCH   109
#define FADT_FLAGS	      112
#define FADT_RESET_REG	      116
#define FADT_RESET_VALUE      128
#define FADT_MINOR_VERSION    131
#define FADT_X_DSDT	      140
#define FADT_SLEEP_CONTROL    244
#define FADT_SLEEP_STATUS     256
#define FADT_HYPERVISOR_ID    268
#define FADT_F_RESET_REG_SUP  (1U << 10)
#define FADT_F_HW_REDUCED     (1U << 20)
#define BOOT_ARCH_NO_VGA      (1U << 2)
#define BOOT_ARCH_NO_CMOS_RTC (1U << 5)
#define GAS_SYSTEM_IO	      1
#define GAS_ACCESS_BYTE	      1

/* MADT entries. */
#define MADT_PCAT_COMPAT 1
#define MADT_LAPIC	 0
#define MADT_IOAPIC	 1
#define MADT_LAPIC_NMI	 4
#define LAPIC_ENABLED	 1
#define ALL_PROCESSORS	 0xff

/* AML opcodes and resource descriptors (ACPI 6.3, chapters 6.4 and 20). */
#define AML_ZERO	 0x00
#define AML_ONE		 0x01
#define AML_NAME	 0x08
#define AML_BYTE	 0x0a
#define AML_WORD	 0x0b
#define AML_DWORD	 0x0c
#define AML_STRING	 0x0d
#define AML_QWORD	 0x0e
#define AML_SCOPE	 0x10
#define AML_BUFFER	 0x11
#define AML_PACKAGE	 0x12
#define AML_EXT		 0x5b
#define AML_DEVICE	 0x82
#define AML_ROOT	 0x5c
#define RES_IO		 0x47
#define RES_IRQ_NOFLAGS	 0x22
#define RES_MEM32_FIXED	 0x86
#define RES_EXT_IRQ	 0x89
#define RES_END		 0x79
#define EXT_IRQ_CONSUMER 0x01
#define EXT_IRQ_EDGE	 0x02
#define MEM32_READ_WRITE 0x01
#define IO_DECODE16	 0x01

struct aml {
	uint8_t b[AML_MAX];
	size_t len;
	bool overflow;
};

static void put(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > sizeof(a->b) - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->b + a->len, p, n);
	a->len += n;
}

static void put8(struct aml *a, uint8_t v)
{
	put(a, &v, 1);
}

static void put16(struct aml *a, uint16_t v)
{
	put8(a, (uint8_t)v);
	put8(a, (uint8_t)(v >> 8));
}

static void put32(struct aml *a, uint32_t v)
{
	put16(a, (uint16_t)v);
	put16(a, (uint16_t)(v >> 16));
}

/* PkgLength for a body of n bytes: it counts its own bytes too. */
static void pkglen(struct aml *a, size_t n)
{
	if (n + 1 < 0x40) {
		put8(a, (uint8_t)(n + 1));
	} else if (n + 2 < 0x1000) {
		put8(a, (uint8_t)(0x40 | ((n + 2) & 0xf)));
		put8(a, (uint8_t)((n + 2) >> 4));
	} else if (n + 3 < 0x100000) {
		put8(a, (uint8_t)(0x80 | ((n + 3) & 0xf)));
		put8(a, (uint8_t)(((n + 3) >> 4) & 0xff));
		put8(a, (uint8_t)((n + 3) >> 12));
	} else {
		a->overflow = true;
	}
}

static void integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		put8(a, AML_ZERO);
	} else if (v == 1) {
		put8(a, AML_ONE);
	} else if (v <= 0xff) {
		put8(a, AML_BYTE);
		put8(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		put8(a, AML_WORD);
		put16(a, (uint16_t)v);
	} else if (v <= 0xffffffff) {
		put8(a, AML_DWORD);
		put32(a, (uint32_t)v);
	} else {
		put8(a, AML_QWORD);
		put32(a, (uint32_t)v);
		put32(a, (uint32_t)(v >> 32));
	}
}

/* Name(SEG, "string") and Name(SEG, integer). */
static void name_string(struct aml *a, const char seg[4], const char *s)
{
	put8(a, AML_NAME);
	put(a, seg, 4);
	put8(a, AML_STRING);
	put(a, s, strlen(s) + 1);
}

static void name_int(struct aml *a, const char seg[4], uint64_t v)
{
	put8(a, AML_NAME);
	put(a, seg, 4);
	integer(a, v);
}

/* Name(_CRS, ResourceTemplate() { res... }): a buffer ending with the end tag. */
static void name_crs(struct aml *a, const struct aml *res)
{
	struct aml buf = {.len = 0};

	integer(&buf, res->len + 2);
	put(&buf, res->b, res->len);
	put8(&buf, RES_END);
	put8(&buf, 0); /* checksum 0: none */
	put8(a, AML_NAME);
	put(a, "_CRS", 4);
	put8(a, AML_BUFFER);
	pkglen(a, buf.len);
	put(a, buf.b, buf.len);
	a->overflow |= buf.overflow || res->overflow;
}

static void device(struct aml *a, const char seg[4], const struct aml *body)
{
	put8(a, AML_EXT);
	put8(a, AML_DEVICE);
	pkglen(a, 4 + body->len);
	put(a, seg, 4);
	put(a, body->b, body->len);
	a->overflow |= body->overflow;
}

static void com1(struct aml *out, const struct acpi_config *cfg)
{
	struct aml dev = {.len = 0}, res = {.len = 0};

	name_string(&dev, "_HID", "PNP0501");
	name_int(&dev, "_UID", 1);
	put8(&res, RES_IO);
	put8(&res, IO_DECODE16);
	put16(&res, cfg->com1_port);
	put16(&res, cfg->com1_port);
	put8(&res, 0);
	put8(&res, 8);
	put8(&res, RES_IRQ_NOFLAGS);
	put16(&res, (uint16_t)(1U << cfg->com1_irq));
	name_crs(&dev, &res);
	device(out, "COM1", &dev);
}

static void virtio_dev(struct aml *out, const struct acpi_config *cfg, int i)
{
	struct aml dev = {.len = 0}, res = {.len = 0};
	char seg[4] = {'V', 'R', (char)('0' + i / 10), (char)('0' + i % 10)}; /* i < 16 */

	name_string(&dev, "_HID", "LNRO0005");
	name_int(&dev, "_UID", (uint64_t)i);
	put8(&res, RES_MEM32_FIXED);
	put16(&res, 9);
	put8(&res, MEM32_READ_WRITE);
	put32(&res, (uint32_t)cfg->virtio_base[i]);
	put32(&res, (uint32_t)cfg->virtio_size);
	/* Edge: an irqfd pulses the line (virtio_kvm.c). */
	put8(&res, RES_EXT_IRQ);
	put16(&res, 6);
	put8(&res, EXT_IRQ_CONSUMER | EXT_IRQ_EDGE);
	put8(&res, 1);
	put32(&res, cfg->virtio_irq[i]);
	name_crs(&dev, &res);
	device(out, seg, &dev);
}

int acpi_dsdt_aml(const struct acpi_config *cfg, uint8_t *out, size_t cap)
{
	static struct aml a, sb; /* 8 KiB: not on the stack */
	static const uint8_t s5[] = {AML_NAME, '_',	     'S',      '5',
				     '_',      AML_PACKAGE,  0x06,     0x02,
				     AML_BYTE, ACPI_S5_TYPE, AML_BYTE, ACPI_S5_TYPE};

	memset(&a, 0, sizeof(a));
	memset(&sb, 0, sizeof(sb));
	if (cfg->nr_virtio < 0 || cfg->nr_virtio > ACPI_MAX_VIRTIO)
		return -1;
	put(&a, s5, sizeof(s5));
	com1(&sb, cfg);
	for (int i = 0; i < cfg->nr_virtio; i++)
		virtio_dev(&sb, cfg, i);
	put8(&a, AML_SCOPE);
	pkglen(&a, 5 + sb.len);
	put8(&a, AML_ROOT);
	put(&a, "_SB_", 4);
	put(&a, sb.b, sb.len);
	if (a.overflow || sb.overflow || a.len > cap)
		return -1;
	memcpy(out, a.b, a.len);
	return (int)a.len;
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

static void w16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void w32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void w64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* The common header; the checksum is set by finish() once the body is in place. */
static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	w32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "LEGO  ", 6);
	memcpy(t + 16, "LEGOVMM ", 8);
	w32(t + 24, 1);
	memcpy(t + 28, "LEGO", 4);
	w32(t + 32, 1);
}

static void finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = checksum(t, len);
}

/* A Generic Address Structure: one byte of I/O space at port. */
static void gas_io(uint8_t *p, uint16_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = 8;
	p[2] = 0;
	p[3] = GAS_ACCESS_BYTE;
	w64(p + 4, port);
}

static size_t align(size_t v)
{
	return (v + TABLE_ALIGN - 1) & ~(size_t)(TABLE_ALIGN - 1);
}

static size_t madt_len(const struct acpi_config *cfg)
{
	return HDR_LEN + 8 + (size_t)cfg->nr_cpus * 8 + 12 + 6;
}

size_t acpi_tables_size(const struct acpi_config *cfg)
{
	/* RSDP, XSDT (two entries), FADT, MADT, DSDT with at most AML_MAX bytes of AML. */
	return align(36) + align(HDR_LEN + 16) + align(FADT_LEN) + align(madt_len(cfg)) + HDR_LEN +
	       AML_MAX;
}

int acpi_write_tables(struct guest_mem *mem, uint64_t gpa, const struct acpi_config *cfg)
{
	static uint8_t aml[AML_MAX];
	size_t size = acpi_tables_size(cfg);
	uint8_t *base = guest_mem_ptr(mem, gpa, size), *t;
	uint64_t xsdt, fadt, madt, dsdt;
	int aml_len;

	if (!base || gpa % TABLE_ALIGN || gpa + size > UINT32_MAX || cfg->nr_cpus < 1 ||
	    cfg->nr_cpus >= ALL_PROCESSORS || cfg->com1_irq > 15)
		return -1;
	aml_len = acpi_dsdt_aml(cfg, aml, sizeof(aml));
	if (aml_len < 0)
		return -1;
	memset(base, 0, size);
	xsdt = gpa + align(36);
	fadt = xsdt + align(HDR_LEN + 16);
	madt = fadt + align(FADT_LEN);
	dsdt = madt + align(madt_len(cfg));

	t = base + (dsdt - gpa);
	header(t, "DSDT", HDR_LEN + (uint32_t)aml_len, 2);
	memcpy(t + HDR_LEN, aml, (size_t)aml_len);
	finish(t, HDR_LEN + (uint32_t)aml_len);

	t = base + (madt - gpa);
	header(t, "APIC", (uint32_t)madt_len(cfg), 5);
	w32(t + 36, MPTABLE_LAPIC_ADDR);
	w32(t + 40, MADT_PCAT_COMPAT);
	uint8_t *e = t + 44;
	for (int i = 0; i < cfg->nr_cpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC ID */
		w32(e + 4, LAPIC_ENABLED);
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = (uint8_t)cfg->ioapic_id;
	w32(e + 4, MPTABLE_IOAPIC_ADDR);
	w32(e + 8, 0); /* GSI base: KVM routes GSI n to pin n */
	e += 12;
	e[0] = MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = ALL_PROCESSORS;
	w16(e + 3, 0);
	e[5] = 1; /* LINT1 */
	finish(t, (uint32_t)madt_len(cfg));

	t = base + (fadt - gpa);
	header(t, "FACP", FADT_LEN, FADT_REV);
	w32(t + FADT_DSDT, (uint32_t)dsdt);
	w16(t + FADT_IAPC_BOOT_ARCH, BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC);
	w32(t + FADT_FLAGS, FADT_F_HW_REDUCED | FADT_F_RESET_REG_SUP);
	gas_io(t + FADT_RESET_REG, ACPI_RESET_PORT);
	t[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
	t[FADT_MINOR_VERSION] = FADT_MINOR;
	w64(t + FADT_X_DSDT, dsdt);
	gas_io(t + FADT_SLEEP_CONTROL, ACPI_SLEEP_CONTROL_PORT);
	gas_io(t + FADT_SLEEP_STATUS, ACPI_SLEEP_STATUS_PORT);
	memcpy(t + FADT_HYPERVISOR_ID, "LEGOVMM", 8);
	finish(t, FADT_LEN);

	t = base + (xsdt - gpa);
	header(t, "XSDT", HDR_LEN + 16, 1);
	w64(t + HDR_LEN, fadt);
	w64(t + HDR_LEN + 8, madt);
	finish(t, HDR_LEN + 16);

	t = base;
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, "LEGO  ", 6);
	t[15] = 2;	 /* revision: ACPI 2.0+, with the XSDT */
	w32(t + 16, 0);	 /* no RSDT */
	w32(t + 20, 36); /* length */
	w64(t + 24, xsdt);
	t[8] = checksum(t, 20);
	t[32] = checksum(t, 36);
	return 0;
}
