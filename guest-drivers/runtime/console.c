/* console.c: polled 8250 transmit (LSR.THRE before each THR write, bounded) with a lock, and
 * polled receive (LSR.DR, RBR). */
#include "console.h"

#include <stdarg.h>
#include <stdbool.h>

#include "fmt.h"
#include "io.h"
#include "lib/proto/lego_guest_abi.h"

#define UART_THR	0
#define UART_RBR	0
#define UART_LSR	5
#define UART_LSR_DR	0x01
#define UART_LSR_THRE	0x20
#define THRE_SPIN_LIMIT 1000 /* LSR reads (VM exits) before giving up on one byte */
#define KPRINTF_BUF	1024

static int console_lock_word;
static bool thre_broken; /* THRE never came: stop waiting for it, just write */

static void lock(void)
{
	while (__atomic_exchange_n(&console_lock_word, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&console_lock_word, __ATOMIC_RELAXED))
			io_cpu_relax();
	}
}

static void unlock(void)
{
	__atomic_store_n(&console_lock_word, 0, __ATOMIC_RELEASE);
}

static void uart_putc(char c)
{
	if (!thre_broken) {
		unsigned spins = 0;

		while (!(io_inb(LEGO_PORT_CONSOLE + UART_LSR) & UART_LSR_THRE)) {
			if (++spins == THRE_SPIN_LIMIT) {
				thre_broken = true;
				break;
			}
			io_cpu_relax();
		}
	}
	io_outb(LEGO_PORT_CONSOLE + UART_THR, (unsigned char)c);
}

void console_write(const char *s, size_t n)
{
	lock();
	for (size_t i = 0; i < n; i++)
		uart_putc(s[i]);
	unlock();
}

int console_printf(const char *fmt, ...)
{
	char buf[KPRINTF_BUF];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	console_write(buf, (size_t)n);
	return n;
}

int console_getc(void)
{
	if (!(io_inb(LEGO_PORT_CONSOLE + UART_LSR) & UART_LSR_DR))
		return -1;
	return io_inb(LEGO_PORT_CONSOLE + UART_RBR);
}
