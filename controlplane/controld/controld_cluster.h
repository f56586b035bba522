/* controld_cluster.h: the cluster port of lego-controld (cluster_proto.h): registrations
 * and heartbeats of lego-pmon/-mmon/-smon, and legoctl's queries. */
#ifndef LEGO_CONTROLD_CLUSTER_H
#define LEGO_CONTROLD_CLUSTER_H

#include <stddef.h>

#include "lib/tls/tls_pki.h"

/* Listen on addr ("HOST:PORT", port 0 picks one, written to port) and serve in the
 * background, with mutual TLS under pki (NULL: plain TCP, --insecure); components send a
 * heartbeat every heartbeat_ms and are down after five missed. 0, or -1 after logging why. */
int controld_cluster_listen(const char *addr, int heartbeat_ms, const struct tls_pki *pki,
			    char *port, size_t plen);

#endif
