/* libvirt_conn.h: one libvirt client connection of lego-controld, on one of its listeners
 * (as libvirtd's): the UNIX socket (its owner only), its read-only companion (anyone; only
 * procedures that change nothing), TLS with a client certificate on an allow-list, or plain
 * TCP when asked for. Its thread reads packets within a memory budget, the lock every reply
 * is written under, its console stream and the calls answered by threads of their own. */
#ifndef LEGO_LIBVIRT_CONN_H
#define LEGO_LIBVIRT_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/netserver.h"
#include "domain_xml.h"
#include "lib/tls/tls_conn.h"
#include "rpc_proto.h"
#include "xdr.h"

/* The listeners (netserver tags). */
enum libvirt_conn_listener {
	LIBVIRT_CONN_UNIX,    /* read-write, 0600 */
	LIBVIRT_CONN_UNIX_RO, /* read-only, 0666 */
	LIBVIRT_CONN_TLS,     /* mutual TLS: an admin certificate on the allow-list */
	LIBVIRT_CONN_TCP,     /* plain TCP: no authentication (--libvirt-tcp) */
};

#define LIBVIRT_CONN_ALLOW_MAX 32
/* Console input waiting per stream: what one VM_CONSOLE_IN carries (CP_CONSOLE_IN_MAX). */
#define LIBVIRT_CONN_CONSOLE_IN_MAX 4096

struct libvirt_conn {
	struct tls_conn *c;
	enum libvirt_conn_listener via;
	bool open, readonly;
	pthread_mutex_t write_lock;
	/* The console stream, if one is open (one per connection, as virsh uses; one per
	 * vNode: libvirt_console.c), its thread, and the client's input waiting to go to the
	 * vNode: bounded, what comes beyond it is dropped and counted. */
	pthread_mutex_t stream_lock;
	pthread_cond_t stream_wake; /* input came, or stop (CLOCK_MONOTONIC) */
	bool streaming, stream_stop;
	bool stream_taken; /* another client took the console (--force) */
	struct rpc_proto_hdr stream_hdr;
	uint8_t stream_uuid[16];
	char stream_name[DOM_NAME_MAX + 1];
	pthread_t stream_thread;
	uint8_t stream_in[LIBVIRT_CONN_CONSOLE_IN_MAX];
	size_t stream_in_len;
	bool stream_in_new;
	uint64_t stream_in_dropped;
	struct libvirt_conn *stream_next; /* the console sessions' list */
	/* Calls answered by a thread of their own (a migration), so that the connection
	 * serves others meanwhile (virsh asks for job info while it waits). */
	pthread_mutex_t calls_lock;
	pthread_cond_t calls_done;
	int calls;
};

/* Who a TLS client must be: an admin certificate whose name matches one of these patterns
 * (fnmatch; none given: "*"). Set before serving. */
void libvirt_conn_allow(const char *const *patterns, int n);
/* The netserver's serve function for every libvirt listener. */
void libvirt_conn_serve(struct netserver_client *nc);
/* Write a whole packet under the connection's write lock: 0, or -1 (o->err set, or the
 * client is gone). */
int libvirt_conn_send(struct libvirt_conn *cl, const struct xdr_out *o);
/* A call's thread starts and ends: the connection is freed only after its last one. */
void libvirt_conn_call_begin(struct libvirt_conn *cl);
void libvirt_conn_call_done(struct libvirt_conn *cl);

#endif
