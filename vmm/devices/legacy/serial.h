/* serial.h: 8250-compatible UART at LEGO_PORT_CONSOLE, output only, to a file descriptor. */
#ifndef LEGO_SERIAL_H
#define LEGO_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/kvm/bus.h"

struct serial {
	pthread_mutex_t lock;
	int out_fd;
	bool out_broken;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint64_t bytes_out;
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

/* The UART's registers and byte count, for live migration. */
struct serial_state {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint64_t bytes_out;
	/* The interrupt line (serial_set_irq): the transmitter-empty interrupt is pending
	 * (thre_int) from when it is enabled or a byte is sent until IIR reports it. */
	void (*set_irq)(void *opaque, int level);
	void *irq_opaque;
	bool thre_int;
	int irq_level;
};
void serial_save(struct serial *s, struct serial_state *st);
void serial_load(struct serial *s, const struct serial_state *st);

#endif
