/* serial.c: the 16550A UART register model: transmit (THR, the THRE interrupt), receive (RBR,
 * LSR.DR/OE, the FIFO and its trigger level, the received-data and line-status interrupts),
 * IIR's priorities, loopback, DLAB, scratch. */
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
/* MSR outside loopback: a terminal is always there and ready. */
#define MSR_CONNECTED (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)

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

/* Under the lock: a byte into the receive FIFO, if there is room. */
static bool rx_push(struct serial *s, uint8_t byte)
{
	if (s->rx_len == SERIAL_RX_MAX)
		return false;
	s->rx[(s->rx_head + s->rx_len) % SERIAL_RX_MAX] = byte;
	s->rx_len++;
	return true;
}

/* The FIFO's receive trigger level (FCR bits 7:6): 1, 4, 8 or 14 bytes; 1 without FIFOs. */
static uint32_t rx_trigger(const struct serial *s)
{
	static const uint32_t levels[4] = {1, 4, 8, 14};

	if (!(s->fcr & UART_FCR_ENABLE_FIFO))
		return 1;
	return levels[(s->fcr & UART_FCR_TRIGGER_MASK) >> 6];
}

/* The interrupt pending now, by the 16550's priorities: line status (an overrun), received
 * data (at the trigger level; below it, the character timeout: no more bytes are on the
 * way), transmitter empty; UART_IIR_NO_INT if none or without an interrupt line. Modem
 * status changes never interrupt: the lines only move in loopback. */
static uint8_t pending(const struct serial *s)
{
	if (!s->set_irq)
		return UART_IIR_NO_INT;
	if ((s->ier & UART_IER_RLSI) && s->overrun)
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_len)
		return s->rx_len >= rx_trigger(s) ? UART_IIR_RDI : UART_IIR_RX_TIMEOUT;
	if ((s->ier & UART_IER_THRI) && s->thre_int)
		return UART_IIR_THRI;
	return UART_IIR_NO_INT;
}

/* Under the lock: the line follows whether an interrupt is pending. A change is what KVM's
 * edge-triggered pin sees. */
static void update_irq(struct serial *s)
{
	int level = pending(s) != UART_IIR_NO_INT;

	if (level != s->irq_level) {
		s->irq_level = level;
		s->set_irq(s->irq_opaque, level);
	}
}

static uint8_t read_iir(struct serial *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE_FIFO) ? IIR_FIFOS_ENABLED : 0;
	uint8_t id = pending(s);

	/* Reading IIR clears THRE as its source; the others clear as their cause goes (RBR
	 * read empty, LSR read). */
	if (id == UART_IIR_THRI)
		s->thre_int = false;
	return id | fifo;
}

static uint8_t read_rbr(struct serial *s)
{
	uint8_t v;

	if (!s->rx_len)
		return 0;
	v = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_MAX;
	s->rx_len--;
	__atomic_fetch_add(&s->bytes_in, 1, __ATOMIC_RELAXED);
	return v;
}

static uint8_t read_lsr(struct serial *s)
{
	uint8_t v = UART_LSR_THRE | UART_LSR_TEMT; /* the transmitter is always ready */

	if (s->rx_len)
		v |= UART_LSR_DR;
	if (s->overrun)
		v |= UART_LSR_OE;
	s->overrun = false; /* reading LSR clears the error bits */
	return v;
}

/* In loopback the modem inputs are the modem outputs: CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2. */
static uint8_t read_msr(const struct serial *s)
{
	if (!(s->mcr & UART_MCR_LOOP))
		return MSR_CONNECTED;
	return (uint8_t)(((s->mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
			 ((s->mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
			 ((s->mcr & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
			 ((s->mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0));
}

static void serial_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	struct serial *s = opaque;
	uint8_t v = 0;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RX:
		v = (s->lcr & UART_LCR_DLAB) ? s->dll : read_rbr(s);
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
		v = read_lsr(s);
		break;
	case UART_MSR:
		v = read_msr(s);
		break;
	case UART_SCR:
		v = s->scr;
		break;
	default:
		break;
	}
	if (s->set_irq)
		update_irq(s);
	pthread_mutex_unlock(&s->lock);
	memset(data, 0, size);
	*(uint8_t *)data = v;
}

/* A byte written to THR: out to the console, or back into the receiver in loopback. */
static void write_thr(struct serial *s, uint8_t v)
{
	if (!(s->mcr & UART_MCR_LOOP))
		serial_emit(s, v);
	else if (!rx_push(s, v))
		s->overrun = true; /* the byte is lost, as on the chip */
	s->thre_int = true;	   /* sent at once: THR is empty again */
}

static void write_fcr(struct serial *s, uint8_t v)
{
	/* Clearing the receive FIFO drops what the guest has not read (its driver does so
	 * when it opens the port); the transmit FIFO is always empty. */
	if (v & UART_FCR_CLEAR_RCVR) {
		s->rx_head = 0;
		s->rx_len = 0;
	}
	s->fcr = v & (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK);
}

static void serial_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct serial *s = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)size;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_TX:
		if (s->lcr & UART_LCR_DLAB)
			s->dll = v;
		else
			write_thr(s, v);
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
		write_fcr(s, v);
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
	if (s->set_irq)
		update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_input(struct serial *s, const void *buf, size_t n, size_t *queued)
{
	const uint8_t *b = buf;
	size_t took = 0;

	pthread_mutex_lock(&s->lock);
	if (!(s->mcr & UART_MCR_LOOP) && !s->input_held)
		while (took < n && rx_push(s, b[took]))
			took++;
	if (s->set_irq)
		update_irq(s);
	if (queued)
		*queued = s->rx_len;
	pthread_mutex_unlock(&s->lock);
	return took;
}

void serial_hold_input(struct serial *s, bool hold)
{
	pthread_mutex_lock(&s->lock);
	s->input_held = hold;
	pthread_mutex_unlock(&s->lock);
}

bool serial_input_held(struct serial *s)
{
	bool held;

	pthread_mutex_lock(&s->lock);
	held = s->input_held;
	pthread_mutex_unlock(&s->lock);
	return held;
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
	st->ier = s->ier;
	st->lcr = s->lcr;
	st->mcr = s->mcr;
	st->scr = s->scr;
	st->dll = s->dll;
	st->dlm = s->dlm;
	st->fcr = s->fcr;
	st->thre_int = s->thre_int;
	st->overrun = s->overrun;
	st->bytes_out = __atomic_load_n(&s->bytes_out, __ATOMIC_RELAXED);
	st->rx_len = s->rx_len;
	for (uint32_t i = 0; i < s->rx_len; i++)
		st->rx[i] = s->rx[(s->rx_head + i) % SERIAL_RX_MAX];
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
	s->fcr = st->fcr & (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK);
	s->thre_int = st->thre_int;
	s->overrun = st->overrun;
	__atomic_store_n(&s->bytes_out, st->bytes_out, __ATOMIC_RELAXED);
	s->rx_head = 0;
	s->rx_len = st->rx_len < SERIAL_RX_MAX ? st->rx_len : SERIAL_RX_MAX;
	memcpy(s->rx, st->rx, s->rx_len);
	/* The destination's KVM sees the line low: an interrupt still pending is raised again
	 * (one extra edge at worst, which the guest's handler finds nothing for; never a lost
	 * one, which would stall its transmitter). */
	s->irq_level = 0;
	if (s->set_irq)
		update_irq(s);
	pthread_mutex_unlock(&s->lock);
}
