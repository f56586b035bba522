/* pmon_requests.h: the request side of the cluster protocol: VM_START, VM_STOP, VM_CTL,
 * VM_CONSOLE and VM_FORGET, on a thread per connection. */
#ifndef LEGO_PMON_REQUESTS_H
#define LEGO_PMON_REQUESTS_H

#include "pmon_ctx.h"

/* Serve the accepted connection fd (from peer) on a thread of its own, which closes it. */
void pmon_requests_conn_start(struct pmon_ctx *p, int fd, const char *peer);

#endif
