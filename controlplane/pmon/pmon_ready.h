/* pmon_ready.h: a start answered honestly: lego-pmon waits until the new lego-vmm reports its
 * vNode running on its control socket, or ends (then its own reason, from its log, is the
 * answer's). */
#ifndef LEGO_PMON_READY_H
#define LEGO_PMON_READY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pmon_ctx.h"

/* How long a start may take by default (--start-wait-ms) before lego-pmon gives up on it
 * and stops that lego-vmm: within what lego-controld waits for VM_START's answer (90 s,
 * controld_vnode.c, which leaves room for a network's DHCP server to start first). */
#define PMON_READY_WAIT_MS 45000

/* Wait up to p->start_wait_ms (0: not at all) for vNode uuid's lego-vmm (pid) to say
 * "running" or "paused": 0; or a
 * cluster_proto_status with err saying why not (its exit status and the last error line of
 * its log, RUNDIR/ID.log). */
enum cluster_proto_status pmon_ready_wait(struct pmon_ctx *p, const uint8_t uuid[16], pid_t pid,
					  char *err, size_t errlen);

/* The last "error:" line lego-vmm wrote to RUNDIR/ID.log (its message only), else its last
 * line; "" if none. */
void pmon_ready_reason(const char *run_dir, const char *id, char *out, size_t outlen);

#endif
