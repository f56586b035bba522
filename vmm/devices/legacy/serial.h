/* serial.h: 16550A-compatible UART at LEGO_PORT_CONSOLE: output to a file descriptor, input
 * from the console stream (serial_input) into a bounded receive FIFO. */
#ifndef LEGO_SERIAL_H
#define LEGO_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/kvm/bus.h"

/* The receive FIFO: deeper than a 16550A's 16 bytes (it also stands for the host side's
 * line buffer), but bounded: input that does not fit is not taken (the sender keeps it). */
#define SERIAL_RX_MAX 4096

struct serial {
	pthread_mutex_t lock;
	int out_fd;
	bool out_broken;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint64_t bytes_out;
	uint64_t bytes_in; /* bytes the guest read from RBR (atomic, as bytes_out) */
	/* The receive FIFO (a ring): bytes from serial_input, or the guest's own in loopback. */
	uint8_t rx[SERIAL_RX_MAX];
	uint32_t rx_head, rx_len;
	bool overrun;	 /* LSR.OE until LSR is read: a loopback byte found the FIFO full */
	bool input_held; /* serial_hold_input: a migration owns the UART's state */
	/* The interrupt line (serial_set_irq): the transmitter-empty interrupt is pending
	 * (thre_int) from when it is enabled or a byte is sent until IIR reports it. */
	void (*set_irq)(void *opaque, int level);
	void *irq_opaque;
	bool thre_int;
	int irq_level;
};

/* Registers the 8 UART ports at base on the bus; output goes to out_fd. */
int serial_init(struct serial *s, struct bus *pio, uint16_t base, int out_fd);
void serial_destroy(struct serial *s);

/* Give the UART an interrupt line (a Linux guest: IRQ 4). Without one it is polled, and
 * IIR always reads "no interrupt". Call before any vCPU runs. */
void serial_set_irq(struct serial *s, void (*set_irq)(void *opaque, int level), void *opaque);

/* Input for the guest: takes as many of the n bytes as the receive FIFO has room for (none
 * in loopback mode, where the line is cut from the outside, nor while held) and raises the
 * received-data interrupt if the guest enabled it. Returns how many it took; *queued (if
 * not NULL) is what then waits for the guest. Any thread. */
size_t serial_input(struct serial *s, const void *buf, size_t n, size_t *queued);
/* Hold input (take none) while a migration carries the UART's state: from just before a
 * source saves it until that migration failed, and on a destination until it runs. */
void serial_hold_input(struct serial *s, bool hold);
bool serial_input_held(struct serial *s);

/* The UART's registers, pending input and byte count, for live migration. */
struct serial_state {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre_int, overrun;
	uint64_t bytes_out;
	uint32_t rx_len; /* <= SERIAL_RX_MAX: the bytes the guest has not read yet, in order */
	uint8_t rx[SERIAL_RX_MAX];
};
void serial_save(struct serial *s, struct serial_state *st);
void serial_load(struct serial *s, const struct serial_state *st);

#endif
