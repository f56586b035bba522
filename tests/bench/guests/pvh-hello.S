/* pvh-hello.S: the smallest guest QEMU can boot directly (PVH entry, 32-bit, paging off):
 * one byte to the 8250 at 0x3f8, then isa-debug-exit at 0xf4. The peer for vmm-start. */
	.section .note.pvh, "a"
	.balign 4
	.long 4			/* name size: "Xen\0" */
	.long 4			/* desc size */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.text
	.code32
	.globl pvh_start, _start
pvh_start:
_start:
	mov $0x3f8, %dx
	mov $'L', %al
	out %al, %dx
	mov $'\n', %al
	out %al, %dx
	mov $0xf4, %dx
	xor %eax, %eax
	out %al, %dx
1:	hlt
	jmp 1b
