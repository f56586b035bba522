/* libvirt_conn.h: one libvirt client connection of lego-controld: its thread reading
 * packets, the lock every reply is written under, its console stream and the calls
 * answered by threads of their own. */
#ifndef LEGO_LIBVIRT_CONN_H
#define LEGO_LIBVIRT_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "rpc_proto.h"
#include "xdr.h"

struct libvirt_conn {
	int fd;
	bool open, readonly;
	pthread_mutex_t write_lock;
	/* The console stream, if one is open (one per connection, as virsh uses). */
	pthread_mutex_t stream_lock;
	bool streaming, stream_stop;
	struct rpc_proto_hdr stream_hdr;
	uint8_t stream_uuid[16];
	pthread_t stream_thread;
	/* Calls answered by a thread of their own (a migration), so that the connection
	 * serves others meanwhile (virsh asks for job info while it waits). */
	pthread_mutex_t calls_lock;
	pthread_cond_t calls_done;
	int calls;
};

/* Serve one accepted client connection on a thread of its own (fd is taken over). */
void libvirt_conn_serve_fd(int fd);
/* Write a whole packet under the connection's write lock: 0, or -1 (o->err set, or the
 * client is gone). */
int libvirt_conn_send(struct libvirt_conn *cl, const struct xdr_out *o);
/* A call's thread starts and ends: the connection is freed only after its last one. */
void libvirt_conn_call_begin(struct libvirt_conn *cl);
void libvirt_conn_call_done(struct libvirt_conn *cl);

#endif
