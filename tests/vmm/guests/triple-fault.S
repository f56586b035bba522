/* triple-fault.S: a guest that executes ud2 with no IDT: #UD -> #DF -> triple fault. */
	.globl _start
	.text
_start:
	mov $0x3f8, %dx
	mov $'!', %al
	out %al, %dx
	ud2
