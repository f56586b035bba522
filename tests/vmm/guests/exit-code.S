/* exit-code.S: vCPU 0 writes 0x100 + 42 to the debug-exit port (status = value & 0xff);
 * the other vCPUs spin, so lego-vmm must stop them. */
	.globl _start
	.text
_start:
	test %rsi, %rsi
	jnz 1f
	mov $0x501, %dx
	mov $0x12a, %eax
	out %eax, %dx
1:	pause
	jmp 1b
