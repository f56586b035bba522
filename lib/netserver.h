/* netserver.h: the one skeleton of lego's TCP (and UNIX-socket) servers: lego-controld's
 * cluster port and libvirt sockets, lego-pmon's port. An accept thread admits connections
 * within caps (in total, per peer address or per local user, and in the TLS handshake, where
 * the oldest gives way to a new one), backs off when accept fails for want of descriptors or
 * memory, and gives each admitted connection a thread of its own: the TLS handshake (a
 * client certificate signed by the cluster CA is required on a listener with a PKI) within a
 * deadline, then the server's serve function, then the close. Big messages are charged to
 * one memory budget per server (mem_budget.h). Refusals are logged, sampled (log_sampled). */
#ifndef LEGO_NETSERVER_H
#define LEGO_NETSERVER_H

#include <stdint.h>

#include "lib/mem_budget.h"
#include "lib/tls/tls_conn.h"
#include "lib/tls/tls_pki.h"

struct netserver;
struct netserver_config;

/* One admitted connection, as its serve function sees it. */
struct netserver_client {
	struct tls_conn *conn; /* TLS done (peer set) on a listener with a PKI */
	int tag;	       /* the listener's (netserver_listen) */
	const struct netserver_config *cfg;
};

struct netserver_config {
	const char *what; /* "cluster port": for log lines */
	int max_conns;	  /* at once, in total */
	int max_per_peer; /* at once from one address (TCP) or one user (UNIX socket) */
	int max_pending;  /* in the TLS handshake at once: beyond, the oldest is dropped */
	int handshake_ms; /* a TLS handshake must end within this */
	int idle_ms;	  /* serve's: how long a client may say nothing between requests */
	int read_ms;	  /* serve's: how long one request may take to arrive once begun */
	uint64_t budget;  /* bytes of big messages in flight at once (0: not charged) */
	/* Runs on the connection's thread; the skeleton closes the connection after. */
	void (*serve)(struct netserver_client *cl);
	void *ctx; /* the server's, for serve */
};

/* A server (not yet accepting). NULL when out of memory. */
struct netserver *netserver_new(const struct netserver_config *cfg);
/* Accept on lfd (a listening TCP or UNIX socket, taken over): with TLS if pki is not NULL
 * (pki must outlive the server); tag goes to serve. 0, or -1 (too many listeners). */
int netserver_listen(struct netserver *s, int lfd, const struct tls_pki *pki, int tag);
/* Start the accept thread: 0, or -1. */
int netserver_start(struct netserver *s);
/* Stop accepting (listeners closed); connections being served go on. */
void netserver_close_listeners(struct netserver *s);
/* Connections now, and those of them still in the TLS handshake. */
void netserver_count(struct netserver *s, int *conns, int *pending);

#endif
