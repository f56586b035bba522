/* serial.c: the 8250 UART register model (THR/LSR/DLAB/scratch, the THRE interrupt), transmit side
 * only. */
#include "serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/serial_reg.h>

#include "lib/log.h"

/* Not in <linux/serial_reg.h>: IIR's top bits say the FIFOs are on (FCR bit 0 set). */
#define IIR_FIFOS_ENABLED 0xc0
#define IER_WRITABLE	  (UART_IER_MSI | UART_IER_RLSI | UART_IER_THRI | UART_IER_RDI)
#define MCR_WRITABLE	  (UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_OUT1 | UART_MCR_RTS | UART_MCR_DTR)

static void serial_emit(struct serial *s, uint8_t byte)
{
	ssize_t n;

	if (s->out_broken)
		return;
	/* Unbuffered: console bytes appear exactly when the guest emits them. */
	do
		n = write(s->out_fd, &byte, 1);
	while (n < 0 && (errno == EINTR || errno == EAGAIN));
	if (n == 1) {
		/* Atomic: the control socket reads it without the lock. */
		__atomic_fetch_add(&s->bytes_out, 1, __ATOMIC_RELAXED);
		return;
	}
	s->out_broken = true;
	log_warn("console output failed: %s; further guest output is dropped",
		 n < 0 ? strerror(errno) : "short write");
}

/* Under the lock: the line follows the pending transmitter-empty interrupt (the transmitter
 * is always empty: bytes leave at once). A change is what KVM's edge-triggered pin sees. */
static void update_irq(struct serial *s)
{
	int level = s->set_irq && (s->ier & UART_IER_THRI) && s->thre_int;

	if (level != s->irq_level) {
		s->irq_level = level;
		s->set_irq(s->irq_opaque, level);
	}
}

static uint8_t read_iir(struct serial *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE_FIFO) ? IIR_FIFOS_ENABLED : 0;

	if (s->set_irq && (s->ier & UART_IER_THRI) && s->thre_int) {
		s->thre_int = false; /* reading IIR clears THRE as its source */
		update_irq(s);
		return UART_IIR_THRI | fifo;
	}
	return UART_IIR_NO_INT | fifo;
}

static void serial_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	struct serial *s = opaque;
	uint8_t v = 0;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RX:
		v = (s->lcr & UART_LCR_DLAB) ? s->dll : 0; /* no input: RX reads 0 */
		break;
	case UART_IER:
		v = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR:
		v = read_iir(s);
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT; /* transmitter always ready */
		break;
	case UART_MSR:
		v = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
		break;
	case UART_SCR:
		v = s->scr;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&s->lock);
	memset(data, 0, size);
	*(uint8_t *)data = v;
}

static void serial_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct serial *s = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)size;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_TX:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = v;
		} else {
			serial_emit(s, v);
			s->thre_int = true; /* sent at once: THR is empty again */
		}
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = v;
		} else {
			/* Enabling it with THR empty raises the interrupt (the 8250 driver's
			 * startup checks that it is raised again after being turned off). */
			if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
				s->thre_int = true;
			s->ier = v & IER_WRITABLE;
		}
		break;
	case UART_FCR:
		s->fcr = v;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & MCR_WRITABLE;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		break; /* LSR and MSR are read-only */
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

int serial_init(struct serial *s, struct bus *pio, uint16_t base, int out_fd)
{
	struct bus_handler h = {
		.name = "serial",
		.base = base,
		.len = 8,
		.opaque = s,
		.read = serial_read,
		.write = serial_write,
	};

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->lcr = UART_LCR_WLEN8; /* 8N1 */
	return bus_register(pio, &h);
}

void serial_set_irq(struct serial *s, void (*set_irq)(void *opaque, int level), void *opaque)
{
	pthread_mutex_lock(&s->lock);
	s->set_irq = set_irq;
	s->irq_opaque = opaque;
	pthread_mutex_unlock(&s->lock);
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

void serial_save(struct serial *s, struct serial_state *st)
{
	pthread_mutex_lock(&s->lock);
	*st = (struct serial_state){.ier = s->ier,
				    .lcr = s->lcr,
				    .mcr = s->mcr,
				    .scr = s->scr,
				    .dll = s->dll,
				    .dlm = s->dlm,
				    .fcr = s->fcr,
				    .bytes_out = __atomic_load_n(&s->bytes_out, __ATOMIC_RELAXED)};
	pthread_mutex_unlock(&s->lock);
}

void serial_load(struct serial *s, const struct serial_state *st)
{
	pthread_mutex_lock(&s->lock);
	/* The same masks as a guest's own writes. */
	s->ier = st->ier & IER_WRITABLE;
	s->lcr = st->lcr;
	s->mcr = st->mcr & MCR_WRITABLE;
	s->scr = st->scr;
	s->dll = st->dll;
	s->dlm = st->dlm;
	s->fcr = st->fcr;
	__atomic_store_n(&s->bytes_out, st->bytes_out, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->lock);
}
