/* pmon_loop.h: lego-pmon's main loop. */
#ifndef LEGO_PMON_LOOP_H
#define LEGO_PMON_LOOP_H

#include "pmon_ctx.h"

/* Accept connections on listen_fd, reap lego-vmm processes (SIGCHLD on sig_fd, a signalfd),
 * SIGKILL those past their deadline; on SIGINT/SIGTERM stop every vNode (SIGTERM, SIGKILL
 * after 10 s) and return once all have exited. listen_fd is closed. 0, or -1 on failure. */
int pmon_loop(struct pmon_ctx *p, int listen_fd, int sig_fd);

#endif
