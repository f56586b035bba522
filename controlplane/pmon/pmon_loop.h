/* pmon_loop.h: lego-pmon's main loop. */
#ifndef LEGO_PMON_LOOP_H
#define LEGO_PMON_LOOP_H

#include "pmon_ctx.h"

/* Reap lego-vmm processes (SIGCHLD on sig_fd, a signalfd), SIGKILL those past their
 * deadline; on SIGINT/SIGTERM stop accepting requests, stop every vNode (SIGTERM, SIGKILL
 * after 10 s) and return once all have exited. 0, or -1 on failure. */
int pmon_loop(struct pmon_ctx *p, int sig_fd);

#endif
