/* start.S: entry of every vCPU (RDI = FDT gpa, RSI = vCPU index): own stack, then C. */
#include "lib/proto/lego_guest_abi.h"
#include "guest-drivers/runtime/stack.h"

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	cli
	cld
	/* The VMM never starts more than LEGO_MAX_VCPUS; halt any other for good. */
	cmpq	$LEGO_MAX_VCPUS, %rsi
	jae	1f
	/* RSP = &stack_vcpus[index + 1][0]: the top of this vCPU's own stack. */
	leaq	1(%rsi), %rax
	shlq	$STACK_SHIFT, %rax
	leaq	stack_vcpus(%rip), %rsp
	addq	%rax, %rsp
	xorl	%ebp, %ebp
	/* guest_main(fdt, cpu): RDI and RSI are already the arguments. */
	call	guest_main
1:	hlt
	jmp	1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
