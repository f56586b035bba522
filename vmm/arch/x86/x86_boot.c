/* x86_boot.c: builds the boot-time GDT, TSS and 2 MiB identity map, and the entry registers. */
#include "x86_boot.h"

#include <errno.h>
#include <string.h>

#include "lib/proto/lego_guest_abi.h"

#define GIB	(1ULL << 30)
#define PT_PAGE 4096ULL

uint64_t x86_boot_identity_map_end(const struct guest_mem *mem)
{
	uint64_t end = guest_mem_end(mem);

	return end > LEGO_HIGH_RAM_BASE ? (end + GIB - 1) & ~(GIB - 1) : LEGO_HIGH_RAM_BASE;
}

/* A flat 64-bit GDT descriptor: base 0, limit 4 GiB, granularity 4 KiB. */
static uint64_t gdt_entry(uint64_t access, uint64_t flags)
{
	return 0xffffULL | (access << 40) | (0xfULL << 48) | (flags << 52);
}

/* The page tables both kinds of guest start on: [0, 4 GiB) and high RAM, 2 MiB pages. */
static int setup_page_tables(struct guest_mem *mem)
{
	uint64_t map_end = x86_boot_identity_map_end(mem);
	uint64_t nr_pd = map_end / GIB;
	uint64_t pdpt_gpa = LEGO_PT_GPA + PT_PAGE, pd_gpa = LEGO_PT_GPA + 2 * PT_PAGE;
	uint64_t tables_len = (2 + nr_pd) * PT_PAGE;
	uint64_t *pml4, *pdpt;

	if (nr_pd > 512 || LEGO_PT_GPA + tables_len > LEGO_PT_END)
		return -ENOSPC;
	pml4 = guest_mem_ptr(mem, LEGO_PT_GPA, tables_len);
	if (!pml4)
		return -ENOSPC;
	memset(pml4, 0, tables_len);
	pdpt = pml4 + 512;
	pml4[0] = pdpt_gpa | X86_PTE_P | X86_PTE_RW;
	for (uint64_t g = 0; g < nr_pd; g++) {
		uint64_t *pd = pml4 + 1024 + g * 512;

		pdpt[g] = (pd_gpa + g * PT_PAGE) | X86_PTE_P | X86_PTE_RW;
		for (uint64_t i = 0; i < 512; i++)
			pd[i] = (g * GIB + i * (2ULL << 20)) | X86_PTE_P | X86_PTE_RW | X86_PTE_PS;
	}
	return 0;
}

/* The GDT (code64, data and TSS at the given selectors, every other slot null) and a TSS. */
static int setup_gdt(struct guest_mem *mem, const struct x86_boot_selectors *sel)
{
	int entries = sel->tss / 8 + 2;
	uint64_t *gdt = guest_mem_ptr(mem, LEGO_GDT_GPA, (uint64_t)entries * 8);
	uint8_t *tss = guest_mem_ptr(mem, X86_TSS_GPA, 0x68);

	if (!gdt || !tss || (uint64_t)entries * 8 > X86_TSS_GPA - LEGO_GDT_GPA)
		return -ENOSPC;
	memset(gdt, 0, (size_t)entries * 8);
	/* Access bytes: P|S|code|R|A = 0x9b; P|S|data|W|A = 0x93; flags: L=1 (0x2) / DB|G. */
	gdt[sel->code / 8] = gdt_entry(0x9b, 0xa);
	gdt[sel->data / 8] = gdt_entry(0x93, 0xc);
	/* 64-bit available TSS (type 9), 16-byte descriptor, limit 0x67. */
	gdt[sel->tss / 8] = 0x67ULL | ((X86_TSS_GPA & 0xffffffULL) << 16) | (0x89ULL << 40) |
			    (((X86_TSS_GPA >> 24) & 0xffULL) << 56);
	gdt[sel->tss / 8 + 1] = X86_TSS_GPA >> 32;
	memset(tss, 0, 0x68);
	tss[0x66] = 0x68; /* I/O map base beyond the limit: no I/O permission bitmap */
	return 0;
}

const struct x86_boot_selectors x86_boot_lego_selectors = {X86_SEL_CODE64, X86_SEL_DATA,
							   X86_SEL_TSS};
const struct x86_boot_selectors x86_boot_linux_selectors = {X86_LINUX_SEL_CODE, X86_LINUX_SEL_DATA,
							    X86_LINUX_SEL_TSS};

int x86_boot_setup_tables(struct guest_mem *mem)
{
	return x86_boot_setup_tables_for(mem, &x86_boot_lego_selectors);
}

int x86_boot_setup_tables_for(struct guest_mem *mem, const struct x86_boot_selectors *sel)
{
	int err = setup_page_tables(mem);

	return err ? err : setup_gdt(mem, sel);
}

int x86_boot_walk(const struct guest_mem *mem, uint64_t cr3, uint64_t va, uint64_t *pa)
{
	const uint64_t *e;
	uint64_t table = cr3 & ~0xfffULL;
	int shift = 39;

	for (int level = 4; level >= 1; level--, shift -= 9) {
		e = guest_mem_ptr(mem, table + ((va >> shift) & 511) * 8, 8);
		if (!e || !(*e & X86_PTE_P))
			return -1;
		if (level > 1 && level < 4 && (*e & X86_PTE_PS)) {
			uint64_t mask = (1ULL << shift) - 1;

			*pa = (*e & ~mask & 0x000ffffffffff000ULL) | (va & mask);
			return 0;
		}
		table = *e & 0x000ffffffffff000ULL;
	}
	*pa = table | (va & 0xfff);
	return 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t l, uint8_t db)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = l;
	s->db = db;
	s->g = 1;
}

void x86_boot_sregs(struct kvm_sregs *sregs)
{
	x86_boot_sregs_for(sregs, &x86_boot_lego_selectors);
}

void x86_boot_sregs_for(struct kvm_sregs *sregs, const struct x86_boot_selectors *sel)
{
	seg(&sregs->cs, sel->code, 0xb, 1, 0);
	seg(&sregs->ds, sel->data, 0x3, 0, 1);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;

	memset(&sregs->tr, 0, sizeof(sregs->tr));
	sregs->tr.selector = sel->tss;
	sregs->tr.base = X86_TSS_GPA;
	sregs->tr.limit = 0x67;
	sregs->tr.type = 0xb; /* busy 64-bit TSS, as after LTR */
	sregs->tr.present = 1;

	memset(&sregs->ldt, 0, sizeof(sregs->ldt));
	sregs->ldt.type = 0x2;
	sregs->ldt.unusable = 1;

	sregs->gdt.base = LEGO_GDT_GPA;
	sregs->gdt.limit = (uint16_t)((sel->tss / 8 + 2) * 8 - 1);
	sregs->idt.base = 0;
	sregs->idt.limit = 0;

	sregs->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	sregs->cr3 = LEGO_PT_GPA;
	sregs->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs->efer = X86_EFER_LME | X86_EFER_LMA;
}

void x86_boot_regs(struct kvm_regs *regs, uint64_t entry, int index)
{
	memset(regs, 0, sizeof(*regs));
	regs->rip = entry;
	regs->rdi = LEGO_FDT_GPA;
	regs->rsi = (uint64_t)index;
	regs->rsp = LEGO_BOOT_STACK_TOP - (uint64_t)index * LEGO_BOOT_STACK_STRIDE;
	regs->rflags = 0x2;
}

void x86_boot_linux_regs(struct kvm_regs *regs, uint64_t entry, uint64_t zero_page,
			 uint64_t stack_top)
{
	memset(regs, 0, sizeof(regs[0]));
	regs->rip = entry;
	regs->rsi = zero_page;
	regs->rsp = stack_top;
	regs->rflags = 0x2;
}

void x86_boot_fpu(struct kvm_fpu *fpu)
{
	memset(fpu, 0, sizeof(*fpu));
	fpu->fcw = 0x37f;
	fpu->mxcsr = 0x1f80;
}
