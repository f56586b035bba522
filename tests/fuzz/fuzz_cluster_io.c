/* fuzz_cluster_io.c: the cluster protocol's framing as lego-controld and lego-pmon read it
 * (lib/cluster/cluster_io.c over a connection, with a server's memory budget): arbitrary
 * bytes arrive on a socket, message after message is read until the end or a refusal, each
 * payload goes to its op's decoder, and each refusal is answered as the servers do. No crash,
 * no hang, no leak, and the budget is all given back. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cluster/cluster_io.h"
#include "lib/mem_budget.h"
#include "lib/proto/cluster_proto.h"

#define MAX_INPUT (192 * 1024) /* what a socket pair buffers without a reader */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A message's payload through its op's decoder, as the dispatch tables do. */
static enum cluster_proto_status decode(const struct wire_hdr *h, const uint8_t *p, char *err,
					size_t errlen)
{
	union {
		struct cluster_proto_register reg;
		struct cluster_proto_heartbeat hb;
		struct cluster_proto_vm_start start;
		struct cluster_proto_vm_stop stop;
		struct cluster_proto_vm_ctl ctl;
		struct cluster_proto_vm_console con;
		struct cluster_proto_vm_console_in in;
		struct cluster_proto_query q;
		struct cluster_proto_migrate mig;
		struct cluster_proto_pool_job job;
	} m;
	char name[CP_NAME_LEN + 1];
	uint8_t uuid[16];
	const char *args;

	switch (h->op) {
	case CP_REGISTER:
		return cluster_proto_register_get(p, h->len, &m.reg, err, errlen);
	case CP_HEARTBEAT:
		return cluster_proto_heartbeat_get(p, h->len, &m.hb, err, errlen);
	case CP_VM_START:
		return cluster_proto_vm_start_get(p, h->len, &m.start, &args, err, errlen);
	case CP_VM_STOP:
		return cluster_proto_vm_stop_get(p, h->len, &m.stop, err, errlen);
	case CP_VM_CTL:
		return cluster_proto_vm_ctl_get(p, h->len, &m.ctl, err, errlen);
	case CP_VM_CONSOLE:
		return cluster_proto_vm_console_get(p, h->len, &m.con, err, errlen);
	case CP_VM_CONSOLE_IN:
		return cluster_proto_vm_console_in_get(p, h->len, &m.in, err, errlen);
	case CP_VM_FORGET:
		return cluster_proto_uuid_get(p, h->len, uuid, err, errlen);
	case CP_QUERY:
		return cluster_proto_query_get(p, h->len, &m.q, err, errlen);
	case CP_MIGRATE:
		return cluster_proto_migrate_get(p, h->len, &m.mig, err, errlen);
	case CP_MIG_STATUS:
		return cluster_proto_mig_status_get(p, h->len, name, err, errlen);
	case CP_POOL_JOB:
		return cluster_proto_pool_job_get(p, h->len, &m.job, err, errlen);
	case CP_POOL_STATUS:
		return cluster_proto_pool_status_get(h->len, err, errlen);
	default:
		return CP_EBADOP;
	}
}

/* What the server wrote back, read and dropped so that its writes never block. */
static void drain(int fd)
{
	char junk[4096];

	while (read(fd, junk, sizeof(junk)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mem_budget budget;
	static int inited;
	int sv[2], big = 1 << 20;
	struct tls_conn *c;

	if (size > MAX_INPUT)
		return 0;
	if (!inited) {
		/* Small, so that big messages meet a full budget too. */
		mem_budget_init(&budget, 256 * 1024);
		inited = 1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (size && write(sv[1], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[1], SHUT_WR);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	c = tls_conn_plain(sv[0], "fuzz");
	c->budget = &budget;
	c->write_ms = 100;
	for (;;) {
		struct wire_hdr h;
		uint8_t *p;
		char err[CP_ERRTEXT_MAX];
		enum cluster_io_recv_result r =
			cluster_io_recv(c, 100, 100, &h, &p, err, sizeof(err));
		enum cluster_proto_status st;

		if (r == CIO_BAD)
			cluster_io_send_error(c, &h, CP_EPROTO, "%s", err);
		if (r != CIO_MSG)
			break;
		st = decode(&h, p, err, sizeof(err));
		if (st)
			cluster_io_send_error(c, &h, st, "%s", err);
		else
			cluster_io_send(c, (uint16_t)(h.op | CP_REPLY), h.id, CP_OK, NULL, 0);
		free(p);
		drain(sv[1]);
	}
	tls_conn_close(c);
	close(sv[1]);
	if (budget.used)
		abort(); /* a connection's share outlived it */
	return 0;
}
