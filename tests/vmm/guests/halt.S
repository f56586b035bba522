/* halt.S: a guest whose every vCPU halts without writing the debug-exit port. */
	.globl _start
	.text
_start:
	hlt
	jmp _start
