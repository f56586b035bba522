/* mptable.c: builds the MP floating pointer and configuration table (MP spec 1.4) in guest RAM. */
#include "mptable.h"

#include <string.h>

/* MP spec 1.4, chapter 4: the structures, little-endian and packed. */
struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;  /* the configuration table */
	uint8_t length;	   /* in 16-byte units: 1 */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature1; /* 0: a configuration table is present */
	uint8_t feature2; /* bit 7 clear: no IMCR, virtual-wire mode */
	uint8_t feature3, feature4, feature5;
} __attribute__((packed));

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table, header included */
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount; /* entries */
	uint32_t lapic;
	uint16_t reserved_ext_len;
	uint8_t reserved_ext_sum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type; /* 0 */
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type; /* 1 */
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type; /* 2 */
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc { /* type 3 (I/O interrupt) and 4 (local interrupt) */
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag; /* 0: polarity and trigger conform to the bus (ISA: edge, high) */
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };
#define MP_SPEC_1_4	  4
#define CPU_ENABLED	  1
#define CPU_BOOTPROCESSOR 2
#define LAPIC_VERSION	  0x14
#define IOAPIC_VERSION	  0x11
#define IOAPIC_USABLE	  1
#define BUS_ISA		  0
#define ALL_LAPICS	  0xff
/* CPU signature of the processor entries: family 6; the kernel takes the real one from CPUID. */
#define CPU_SIGNATURE 0x600
#define CPU_FEATURES  0x201 /* FPU, APIC */

size_t mptable_size(int nr_cpus)
{
	return sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
	       (size_t)nr_cpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) + (MPTABLE_ISA_IRQS + 2) * sizeof(struct mpc_intsrc);
}

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += b[i];
	return (uint8_t)-sum;
}

int mptable_write(struct guest_mem *mem, uint64_t gpa, int nr_cpus)
{
	size_t size = mptable_size(nr_cpus);
	uint8_t *base = guest_mem_ptr(mem, gpa, size), *p;
	struct mpf_intel mpf;
	struct mpc_table mpc;
	uint8_t ioapic_id = (uint8_t)nr_cpus;
	uint16_t entries = 0;

	if (!base || nr_cpus < 1 || nr_cpus >= ALL_LAPICS || gpa % 16 || gpa + size > UINT32_MAX)
		return -1;
	memset(base, 0, size);
	p = base + sizeof(mpf) + sizeof(mpc);
	for (int i = 0; i < nr_cpus; i++) {
		struct mpc_cpu c = {.type = MP_PROCESSOR,
				    .apicid = (uint8_t)i,
				    .apicver = LAPIC_VERSION,
				    .cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
				    .cpufeature = CPU_SIGNATURE,
				    .featureflag = CPU_FEATURES};

		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
		entries++;
	}
	struct mpc_bus bus = {.type = MP_BUS, .busid = BUS_ISA};
	memcpy(bus.bustype, "ISA   ", sizeof(bus.bustype));
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	entries++;
	struct mpc_ioapic io = {.type = MP_IOAPIC,
				.apicid = ioapic_id,
				.apicver = IOAPIC_VERSION,
				.flags = IOAPIC_USABLE,
				.apicaddr = MPTABLE_IOAPIC_ADDR};
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	entries++;
	/* KVM routes GSI n to IOAPIC pin n (the PIT is GSI 0), so ISA IRQ n is pin n. */
	for (int irq = 0; irq < MPTABLE_ISA_IRQS; irq++) {
		struct mpc_intsrc s = {.type = MP_INTSRC,
				       .irqtype = MP_INT,
				       .srcbus = BUS_ISA,
				       .srcbusirq = (uint8_t)irq,
				       .dstapic = ioapic_id,
				       .dstirq = (uint8_t)irq};

		memcpy(p, &s, sizeof(s));
		p += sizeof(s);
		entries++;
	}
	struct mpc_intsrc lint[2] = {
		{.type = MP_LINTSRC, .irqtype = MP_EXTINT, .dstapic = ALL_LAPICS, .dstirq = 0},
		{.type = MP_LINTSRC, .irqtype = MP_NMI, .dstapic = ALL_LAPICS, .dstirq = 1},
	};
	memcpy(p, lint, sizeof(lint));
	p += sizeof(lint);
	entries += 2;

	memset(&mpc, 0, sizeof(mpc));
	memcpy(mpc.signature, "PCMP", 4);
	mpc.length = (uint16_t)(p - base - sizeof(mpf));
	mpc.spec = MP_SPEC_1_4;
	memcpy(mpc.oem, "LEGO    ", sizeof(mpc.oem));
	memcpy(mpc.productid, "lego-vmm    ", sizeof(mpc.productid));
	mpc.oemcount = entries;
	mpc.lapic = MPTABLE_LAPIC_ADDR;
	memcpy(base + sizeof(mpf), &mpc, sizeof(mpc));
	base[sizeof(mpf) + offsetof(struct mpc_table, checksum)] =
		checksum(base + sizeof(mpf), mpc.length);

	memset(&mpf, 0, sizeof(mpf));
	memcpy(mpf.signature, "_MP_", 4);
	mpf.physptr = (uint32_t)(gpa + sizeof(mpf));
	mpf.length = 1;
	mpf.specification = MP_SPEC_1_4;
	mpf.checksum = checksum(&mpf, sizeof(mpf));
	memcpy(base, &mpf, sizeof(mpf));
	return 0;
}
