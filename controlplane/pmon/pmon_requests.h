/* pmon_requests.h: the request side of the cluster protocol: VM_START, VM_STOP, VM_CTL,
 * VM_CONSOLE and VM_FORGET, from lego-controld or an admin (their certificates), on a
 * thread per connection (lib/netserver.h). */
#ifndef LEGO_PMON_REQUESTS_H
#define LEGO_PMON_REQUESTS_H

#include "lib/netserver.h"
#include "lib/tls/tls_pki.h"
#include "pmon_ctx.h"

/* Serve requests on the listening socket lfd, with mutual TLS under pki (NULL: plain TCP,
 * --insecure): the server (to stop accepting at shutdown), or NULL after logging why. */
struct netserver *pmon_requests_start(struct pmon_ctx *p, int lfd, const struct tls_pki *pki);

#endif
