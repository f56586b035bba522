/* test_serial.c: the UART model as a guest's driver sees it: transmit and its interrupt,
 * the receive FIFO (RBR, LSR.DR, its bound, the trigger level), IIR's priorities, loopback
 * with its overrun, DLAB, and the state a migration carries. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/proto/lego_guest_abi.h"
#include "vmm/devices/legacy/serial.h"

enum { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6 };
#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RDI	 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI	 0x04
#define IIR_RLSI 0x06
#define IIR_TOUT 0x0c

struct line {
	int level, changes;
};

static void set_line(void *opaque, int level)
{
	struct line *l = opaque;

	l->level = level;
	l->changes++;
}

/* A UART on its own port bus, transmitting into a pipe the test reads. */
struct uart {
	struct serial s;
	struct bus pio;
	struct line l;
	int out[2];
};

static int setup(void **state)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (!u || pipe2(u->out, O_NONBLOCK))
		return -1;
	bus_init(&u->pio, "pio");
	if (serial_init(&u->s, &u->pio, LEGO_PORT_CONSOLE, u->out[1]))
		return -1;
	*state = u;
	return 0;
}

static int teardown(void **state)
{
	struct uart *u = *state;

	serial_destroy(&u->s);
	close(u->out[0]);
	close(u->out[1]);
	free(u);
	return 0;
}

static uint8_t rd(struct uart *u, int reg)
{
	uint8_t v = 0xee;

	assert_true(bus_access(&u->pio, LEGO_PORT_CONSOLE + (uint64_t)reg, &v, 1, false));
	return v;
}

static void wr(struct uart *u, int reg, uint8_t v)
{
	assert_true(bus_access(&u->pio, LEGO_PORT_CONSOLE + (uint64_t)reg, &v, 1, true));
}

static size_t input(struct uart *u, const char *text, size_t *queued)
{
	return serial_input(&u->s, text, strlen(text), queued);
}

/* The transmitter-empty interrupt as Linux's 8250 driver needs it: raised when enabled with
 * THR empty and again after each byte, cleared by the IIR read that reports it. */
static void test_thre(void **state)
{
	struct uart *u = *state;

	/* Polled (no line): IIR never reports an interrupt, as the freestanding guest sees. */
	wr(u, IER, IER_THRI);
	assert_int_equal(rd(u, IIR) & 0x0f, IIR_NONE);
	wr(u, IER, 0);
	serial_set_irq(&u->s, set_line, &u->l);
	wr(u, IER, IER_THRI);
	assert_int_equal(u->l.level, 1);
	assert_int_equal(rd(u, IIR) & 0x0f, IIR_THRI); /* THRE is the source */
	assert_int_equal(u->l.level, 0);
	assert_int_equal(rd(u, IIR) & 0x0f, IIR_NONE); /* reported once */
	wr(u, RBR, 'x');			       /* a byte sent: THR empty again */
	assert_int_equal(u->l.level, 1);
	wr(u, IER, 0); /* disabled: the line drops */
	assert_int_equal(u->l.level, 0);
	wr(u, IER, IER_THRI); /* enabled again with THR empty: raised again */
	assert_int_equal(u->l.level, 1);
	assert_int_equal(u->l.changes, 5);
	assert_int_equal(rd(u, LSR), LSR_THRE | LSR_TEMT);
}

/* Polled receive: LSR.DR while bytes wait, RBR hands them out in order, then reads 0. */
static void test_receive_polled(void **state)
{
	struct uart *u = *state;
	size_t queued = 99;
	char got[8] = "";

	assert_int_equal(rd(u, LSR) & LSR_DR, 0);
	assert_int_equal(input(u, "hi\r", &queued), 3);
	assert_int_equal(queued, 3);
	for (int i = 0; rd(u, LSR) & LSR_DR; i++) {
		assert_true(i < 3);
		got[i] = (char)rd(u, RBR);
	}
	assert_string_equal(got, "hi\r");
	assert_int_equal(rd(u, RBR), 0);
	assert_int_equal(rd(u, LSR), LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(u, IIR) & 0x0f, IIR_NONE); /* no line: never an interrupt */
	assert_int_equal(__atomic_load_n(&u->s.bytes_in, __ATOMIC_RELAXED), 3);
	/* Held (a migration carries the state): nothing is taken until released. */
	serial_hold_input(&u->s, true);
	assert_true(serial_input_held(&u->s));
	assert_int_equal(input(u, "later", &queued), 0);
	assert_int_equal(queued, 0);
	serial_hold_input(&u->s, false);
	assert_int_equal(input(u, "later", &queued), 5);
}

/* The FIFO is bounded: what does not fit is not taken, and room comes back as the guest
 * reads; the ring wraps without reordering. */
static void test_receive_bound(void **state)
{
	struct uart *u = *state;
	char *big = malloc(SERIAL_RX_MAX + 100);
	size_t queued;

	assert_non_null(big);
	for (int i = 0; i < SERIAL_RX_MAX + 100; i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(serial_input(&u->s, big, SERIAL_RX_MAX + 100, &queued), SERIAL_RX_MAX);
	assert_int_equal(queued, SERIAL_RX_MAX);
	assert_int_equal(input(u, "z", &queued), 0); /* full: the sender keeps it */
	assert_int_equal(rd(u, LSR) & LSR_OE, 0);    /* refused, not overrun */
	for (int i = 0; i < 10; i++)
		assert_int_equal(rd(u, RBR), 'a' + i % 26);
	assert_int_equal(serial_input(&u->s, big + SERIAL_RX_MAX, 100, &queued), 10);
	assert_int_equal(queued, SERIAL_RX_MAX);
	for (int i = 10; i < SERIAL_RX_MAX + 10; i++)
		assert_int_equal(rd(u, RBR), 'a' + i % 26);
	assert_int_equal(rd(u, LSR) & LSR_DR, 0);
	free(big);
}

/* The received-data interrupt: raised while data waits and it is enabled, gone once RBR is
 * read empty; it comes before THRE in IIR; at the FIFO's trigger level it is "data", below
 * it the character timeout. */
static void test_receive_interrupt(void **state)
{
	struct uart *u = *state;

	serial_set_irq(&u->s, set_line, &u->l);
	assert_int_equal(input(u, "ab", NULL), 2);
	assert_int_equal(u->l.level, 0); /* not enabled */
	wr(u, IER, IER_RDI);
	assert_int_equal(u->l.level, 1);
	assert_int_equal(rd(u, IIR), IIR_RDI); /* FIFOs off: the trigger is one byte */
	assert_int_equal(rd(u, IIR), IIR_RDI); /* reading IIR does not clear it */
	wr(u, IER, IER_RDI | IER_THRI);	       /* THRE pending too: data comes first */
	assert_int_equal(rd(u, RBR), 'a');
	assert_int_equal(rd(u, IIR), IIR_RDI);
	assert_int_equal(rd(u, RBR), 'b');
	assert_int_equal(u->l.level, 1); /* still THRE */
	assert_int_equal(rd(u, IIR), IIR_THRI);
	assert_int_equal(u->l.level, 0);
	/* New input raises the line again: an edge for KVM's pin. */
	assert_int_equal(input(u, "c", NULL), 1);
	assert_int_equal(u->l.level, 1);
	assert_int_equal(rd(u, RBR), 'c');
	assert_int_equal(u->l.level, 0);
	/* FIFOs on with a 14-byte trigger (FCR 0xc1): a few bytes are a timeout, 14 are data. */
	wr(u, FCR, 0xc1);
	assert_int_equal(rd(u, IIR), 0xc0 | IIR_NONE);
	assert_int_equal(input(u, "short", NULL), 5);
	assert_int_equal(rd(u, IIR), 0xc0 | IIR_TOUT);
	assert_int_equal(input(u, "-and-longer", NULL), 11);
	assert_int_equal(rd(u, IIR), 0xc0 | IIR_RDI);
	/* Clearing the receive FIFO drops what waits; the line goes with it. */
	wr(u, FCR, 0xc1 | 0x02);
	assert_int_equal(rd(u, LSR) & LSR_DR, 0);
	assert_int_equal(u->l.level, 0);
	assert_int_equal(rd(u, IIR), 0xc0 | IIR_NONE);
	wr(u, FCR, 0); /* FIFOs off: IIR's top bits clear */
	assert_int_equal(rd(u, IIR), IIR_NONE);
}

/* Loopback: THR comes back on RBR instead of going out, the modem lines follow MCR, outside
 * input is refused; a byte that finds the FIFO full is an overrun: LSR.OE and the line
 * status interrupt (the highest), both cleared by reading LSR. */
static void test_loopback(void **state)
{
	struct uart *u = *state;
	char *fill = malloc(SERIAL_RX_MAX);
	char c;

	assert_non_null(fill);
	memset(fill, '.', SERIAL_RX_MAX);
	serial_set_irq(&u->s, set_line, &u->l);
	assert_int_equal(rd(u, MSR), 0xb0); /* DCD, DSR, CTS: a terminal is there */
	wr(u, MCR, 0x10 | 0x0a);	    /* LOOP, OUT2, RTS: what 8250 autoconfig writes */
	assert_int_equal(rd(u, MSR), 0x90); /* DCD, CTS: what it checks for */
	wr(u, MCR, 0x10 | 0x05);	    /* LOOP, OUT1, DTR */
	assert_int_equal(rd(u, MSR), 0x60); /* RI, DSR */
	wr(u, RBR, 'L');
	assert_int_equal(read(u->out[0], &c, 1), -1); /* nothing went out */
	assert_int_equal(rd(u, LSR) & LSR_DR, LSR_DR);
	assert_int_equal(rd(u, RBR), 'L');
	assert_int_equal(input(u, "x", NULL), 0);
	assert_int_equal(serial_input(&u->s, fill, SERIAL_RX_MAX, NULL), 0);
	for (int i = 0; i < SERIAL_RX_MAX; i++)
		wr(u, RBR, '.');
	wr(u, IER, IER_RLSI | IER_RDI);
	assert_int_equal(rd(u, IIR), IIR_RDI);
	wr(u, RBR, '!'); /* no room */
	assert_int_equal(u->l.level, 1);
	assert_int_equal(rd(u, IIR), IIR_RLSI);
	assert_int_equal(rd(u, LSR), LSR_THRE | LSR_TEMT | LSR_OE | LSR_DR);
	assert_int_equal(rd(u, LSR), LSR_THRE | LSR_TEMT | LSR_DR);
	assert_int_equal(rd(u, IIR), IIR_RDI);
	wr(u, MCR, 0x0b); /* loopback off: bytes go out again, outside input comes in */
	wr(u, RBR, 'o');
	assert_int_equal(read(u->out[0], &c, 1), 1);
	assert_int_equal(c, 'o');
	free(fill);
}

/* DLAB: offsets 0 and 1 are the divisor, and reading it consumes no input. */
static void test_dlab(void **state)
{
	struct uart *u = *state;

	assert_int_equal(input(u, "k", NULL), 1);
	wr(u, LCR, 0x83);
	wr(u, RBR, 0x01);
	wr(u, IER, 0x00);
	assert_int_equal(rd(u, RBR), 0x01);
	assert_int_equal(rd(u, LSR) & LSR_DR, LSR_DR);
	wr(u, LCR, 0x03);
	assert_int_equal(rd(u, RBR), 'k');
}

/* What a migration carries: registers, pending interrupts, unread input in order (from a
 * ring that wrapped); the destination raises its line again for what is pending. */
static void test_save_load(void **state)
{
	struct uart *u = *state;
	static struct serial_state st;
	struct serial d;
	struct bus pio;
	struct line l = {0, 0};
	char *pad = malloc(SERIAL_RX_MAX - 2);

	assert_non_null(pad);
	memset(pad, '-', SERIAL_RX_MAX - 2);
	assert_int_equal(serial_input(&u->s, pad, SERIAL_RX_MAX - 2, NULL), SERIAL_RX_MAX - 2);
	for (int i = 0; i < SERIAL_RX_MAX - 2; i++)
		rd(u, RBR);
	assert_int_equal(input(u, "wrap", NULL), 4); /* head near the end: it wraps */
	wr(u, FCR, 0x41);
	wr(u, IER, IER_RDI | IER_THRI);
	serial_save(&u->s, &st);
	assert_int_equal(st.rx_len, 4);
	assert_memory_equal(st.rx, "wrap", 4);
	assert_true(st.thre_int);
	assert_int_equal(st.fcr, 0x41);

	bus_init(&pio, "pio2");
	assert_int_equal(serial_init(&d, &pio, LEGO_PORT_CONSOLE, u->out[1]), 0);
	serial_set_irq(&d, set_line, &l);
	serial_load(&d, &st);
	assert_int_equal(l.level, 1);
	assert_int_equal(d.rx_len, 4);
	for (int i = 0; i < 4; i++) {
		uint8_t v;

		assert_true(bus_access(&pio, LEGO_PORT_CONSOLE, &v, 1, false));
		assert_int_equal(v, "wrap"[i]);
	}
	serial_destroy(&d);
	free(pad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_thre, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_polled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dlab, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
