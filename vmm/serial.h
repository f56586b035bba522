/* serial.h: 8250-compatible UART at LEGO_PORT_CONSOLE, output only, to a file descriptor. */
#ifndef LEGO_SERIAL_H
#define LEGO_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

struct serial {
	pthread_mutex_t lock;
	int out_fd;
	bool out_broken;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint64_t bytes_out;
};

/* Registers the 8 UART ports at base on the bus; output goes to out_fd. */
int serial_init(struct serial *s, struct bus *pio, uint16_t base, int out_fd);
void serial_destroy(struct serial *s);

/* The UART's registers and byte count, for live migration. */
struct serial_state {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint64_t bytes_out;
};
void serial_save(struct serial *s, struct serial_state *st);
void serial_load(struct serial *s, const struct serial_state *st);

#endif
