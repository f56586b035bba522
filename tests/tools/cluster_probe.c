/* cluster_probe.c: test tool for the cluster control protocol (lib/proto/cluster_proto.h).
 *
 *   cluster_probe controld-stub --listen HOST:PORT --port-file F --out FILE
 *       a stand-in for lego-controld in lego-pmon's conformance test: answers REGISTER
 *       (heartbeat 200 ms, timeout 2000 ms) and HEARTBEAT, writing one decoded line per
 *       message to FILE:
 *         register kind=K name=N cores=C cap=BYTES addr=HOST:PORT
 *         hb used_cores=C used_bytes=B vms=UUID:DOMID:STATE:EXIT,...
 *         disconnect name=N      (or "bad ..." for a message that does not decode)
 *   cluster_probe malformed HOST:PORT
 *       every kind of bad request to a lego-pmon (with fewer than 64 free cores); TAP
 *   cluster_probe start HOST:PORT UUID NAME DOMID VNODE_UID VCPUS EXCACHE [VMM-OPTION...]
 *   cluster_probe stop HOST:PORT UUID graceful|force [GRACE_MS]
 *   cluster_probe ctl HOST:PORT UUID COMMAND
 *   cluster_probe console HOST:PORT UUID [OFFSET [MAX]]
 *   cluster_probe console-in HOST:PORT UUID TEXT
 *   cluster_probe forget HOST:PORT UUID
 *       one request each: the result on stdout ("pid N", "ok", the control answer, or
 *       "offset=N state=S len=N" and the console bytes, "accepted=N queued=N"); an
 *       error reply prints
 *       "error STATUS: TEXT" and exits with the status number; 99 if the connection
 *       failed, 64 for a bad command line.
 *   cluster_probe register HOST:PORT KIND NAME ADDR    a REGISTER to lego-controld (kind
 *       pmon, mmon or smon; a pmon offers 1 core), answered "ok" or "error STATUS: TEXT"
 *   cluster_probe query HOST:PORT components|vnodes|pool
 *   cluster_probe migrate HOST:PORT VNODE HOST
 *   cluster_probe pool-job HOST:PORT drain|rebalance|undrain [SERVER]
 *       one request to lego-controld, as above
 *
 * Options before the command: the connection is mutual TLS with a certificate of the PKI
 * ($LEGO_PKI or --pki DIR): an admin's ($LEGO_ADMIN or the only one), a controld's for
 * controld-stub, or --as KIND:NAME's; --no-cert: TLS without a client certificate;
 * --insecure: plain TCP.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cluster/cluster_io.h"
#include "lib/fabric/fab_server.h"
#include "lib/fdio.h"
#include "lib/mono_clock.h"
#include "lib/netserver.h"
#include "lib/parse.h"
#include "lib/tcp.h"
#include "lib/tls/tls_pki.h"
#include "lib/proto/cluster_proto.h"
#include "lib/proto/net_proto.h"
#include "lib/uuid_str.h"
#include "tap_ok.h"

#define TIMEOUT_MS  10000
#define EXIT_FAILED 99

/* The certificate this probe presents (NULL: plain TCP). */
static struct tls_pki *pki;

static const char *state_name(uint32_t s)
{
	return s == CP_VM_RUNNING  ? "running"
	       : s == CP_VM_PAUSED ? "paused"
	       : s == CP_VM_EXITED ? "exited"
				   : "?";
}

static void print_uuid(FILE *f, const uint8_t u[16])
{
	char text[UUID_STR_LEN];

	uuid_str_format(u, text);
	fputs(text, f);
}

/* ---- controld-stub --------------------------------------------------------------- */

static FILE *stub_out;
static pthread_mutex_t stub_lock = PTHREAD_MUTEX_INITIALIZER;

static void stub_heartbeat(struct tls_conn *fd, const struct wire_hdr *h, const uint8_t *p)
{
	struct cluster_proto_heartbeat hb;
	char err[256];
	enum cluster_proto_status st =
		cluster_proto_heartbeat_get(p, h->len, &hb, err, sizeof(err));

	pthread_mutex_lock(&stub_lock);
	if (st) {
		fprintf(stub_out, "bad heartbeat: %s\n", err);
	} else {
		fprintf(stub_out, "hb used_cores=%u used_bytes=%llu vms=", hb.used_cores,
			(unsigned long long)hb.used_bytes);
		for (uint32_t i = 0; i < hb.nr_vms && !st; i++) {
			struct cluster_proto_vm_status s;

			st = cluster_proto_vm_status_get(
				p + CP_HEARTBEAT_LEN + i * CP_VM_STATUS_LEN, &s, err, sizeof(err));
			if (st) {
				fprintf(stub_out, " bad vm status: %s", err);
				break;
			}
			fprintf(stub_out, "%s", i ? "," : "");
			print_uuid(stub_out, s.uuid);
			fprintf(stub_out, ":%d:%s:%d", s.domid, state_name(s.state), s.exit_status);
		}
		fprintf(stub_out, "\n");
	}
	fflush(stub_out);
	pthread_mutex_unlock(&stub_lock);
	if (st)
		cluster_io_send_error(fd, h, st, "%s", err);
	else
		cluster_io_send(fd, CP_HEARTBEAT | CP_REPLY, h->id, CP_OK, NULL, 0);
}

static void stub_conn(struct netserver_client *nc)
{
	struct tls_conn *fd = nc->conn;
	char name[CP_NAME_LEN + 1] = "?";

	for (;;) {
		struct wire_hdr h;
		uint8_t *p, out[8];
		char err[256];
		struct cluster_proto_register r;
		enum cluster_io_recv_result rr =
			cluster_io_recv(fd, -1, TIMEOUT_MS, &h, &p, err, sizeof(err));

		if (rr != CIO_MSG) {
			if (rr == CIO_BAD)
				cluster_io_send_error(fd, &h, CP_EPROTO, "%s", err);
			break;
		}
		if (h.op == CP_REGISTER) {
			enum cluster_proto_status st =
				cluster_proto_register_get(p, h.len, &r, err, sizeof(err));

			pthread_mutex_lock(&stub_lock);
			if (st)
				fprintf(stub_out, "bad register: %s\n", err);
			else
				fprintf(stub_out,
					"register kind=%u name=%s cores=%u cap=%llu addr=%s\n",
					r.kind, r.name, r.cores,
					(unsigned long long)r.capacity_bytes, r.addr);
			fflush(stub_out);
			pthread_mutex_unlock(&stub_lock);
			if (st) {
				cluster_io_send_error(fd, &h, st, "%s", err);
			} else {
				snprintf(name, sizeof(name), "%s", r.name);
				wire_put_le32(out, 200);
				wire_put_le32(out + 4, 2000);
				cluster_io_send(fd, CP_REGISTER | CP_REPLY, h.id, CP_OK, out, 8);
			}
		} else if (h.op == CP_HEARTBEAT) {
			stub_heartbeat(fd, &h, p);
		} else {
			cluster_io_send_error(fd, &h, CP_EBADOP,
					      "the stub serves REGISTER and HEARTBEAT");
		}
		free(p);
	}
	pthread_mutex_lock(&stub_lock);
	fprintf(stub_out, "disconnect name=%s\n", name);
	fflush(stub_out);
	pthread_mutex_unlock(&stub_lock);
}

static int controld_stub(int argc, char **argv)
{
	const char *listen_at = NULL, *port_file = NULL, *out = NULL;
	char port[16], err[256];
	struct netserver *srv;
	int lfd;

	for (int i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--listen"))
			listen_at = argv[i + 1];
		else if (!strcmp(argv[i], "--port-file"))
			port_file = argv[i + 1];
		else if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
	}
	if (!listen_at || !port_file || !out || argc % 2) {
		fprintf(stderr, "usage: cluster_probe controld-stub --listen HOST:PORT --port-file "
				"F --out FILE\n");
		return EX_USAGE;
	}
	stub_out = fopen(out, "a");
	lfd = tcp_listen(listen_at, port, sizeof(port), err, sizeof(err));
	if (!stub_out || lfd < 0) {
		fprintf(stderr, "cluster_probe: %s\n", lfd < 0 ? err : strerror(errno));
		return EXIT_FAILED;
	}
	if (fab_server_port_file(port_file, port))
		return EXIT_FAILED;
	srv = netserver_new(&(struct netserver_config){.what = "controld-stub",
						       .max_conns = 64,
						       .max_per_peer = 64,
						       .max_pending = 64,
						       .handshake_ms = TIMEOUT_MS,
						       .serve = stub_conn});
	if (!srv || netserver_listen(srv, lfd, pki, 0) || netserver_start(srv))
		return EXIT_FAILED;
	for (;;)
		pause();
}

/* ---- malformed: raw requests ------------------------------------------------------- */

static const char *target;
static uint64_t next_id = 5000;

static struct tls_conn *conn(void)
{
	char err[512];
	struct tls_conn *fd = tls_conn_dial(target, pki, NULL, TIMEOUT_MS, err, sizeof(err));

	if (!fd) {
		fprintf(stderr, "cluster_probe: %s\n", err);
		printf("Bail out! %s\n", err);
		exit(EXIT_FAILED);
	}
	return fd;
}

struct raw {
	uint32_t magic;
	uint16_t version, op;
	uint32_t status, len_field;
	uint8_t reserved;
	bool len_set; /* len_field given: else the payload's length */
};

/* Send a header as described and payload bytes; returns the id used. */
static uint64_t send_raw(struct tls_conn *fd, struct raw r, const void *payload, size_t len)
{
	uint8_t *buf = malloc(CP_HDR_LEN + len);
	uint64_t id = ++next_id;

	wire_hdr_put(buf, &(struct wire_hdr){.magic = r.magic ? r.magic : CP_MAGIC,
					     .version = r.version ? r.version : CP_VERSION,
					     .op = r.op,
					     .id = id,
					     .status = r.status,
					     .len = r.len_set ? r.len_field : (uint32_t)len});
	buf[31] = r.reserved;
	if (len)
		memcpy(buf + CP_HDR_LEN, payload, len);
	if (tls_conn_write(fd, buf, CP_HDR_LEN + len))
		id = 0;
	free(buf);
	return id;
}

/* The reply's status (its text in text), or -1 if none came or it did not match. */
static int get_reply(struct tls_conn *fd, uint16_t op, uint64_t id, char *text, size_t tlen)
{
	struct wire_hdr h;
	uint8_t *p;
	char err[256];
	int st;

	snprintf(text, tlen, "(no reply)");
	if (cluster_io_recv(fd, TIMEOUT_MS, TIMEOUT_MS, &h, &p, err, sizeof(err)) != CIO_MSG)
		return -1;
	if (h.op != (op | CP_REPLY) || h.id != id) {
		snprintf(text, tlen, "(reply op %u id %llu does not match)", h.op,
			 (unsigned long long)h.id);
		free(p);
		return -1;
	}
	st = (int)h.status;
	if (st) {
		bool printable = h.len > 0;

		for (uint32_t i = 0; i < h.len; i++)
			printable &= p[i] >= 0x20 && p[i] <= 0x7e;
		snprintf(text, tlen, "%s",
			 printable ? (char *)p : "(error text missing or unprintable)");
		if (!printable)
			st = -1;
	} else {
		snprintf(text, tlen, "(%u payload bytes)", h.len);
	}
	free(p);
	return st;
}

/* Request op with payload on fd; the reply must have status want and text containing
 * needle (if any). */
static void expect(struct tls_conn *fd, uint16_t op, const void *p, size_t len, int want,
		   const char *needle, const char *what)
{
	char text[CP_ERRTEXT_MAX + 64];
	uint64_t id = send_raw(fd, (struct raw){.op = op}, p, len);
	int st = get_reply(fd, op, id, text, sizeof(text));

	ok(st == want && (!needle || strstr(text, needle)), "%s: %s (got %s: %s)", what,
	   cluster_proto_status_name((uint32_t)want),
	   st < 0 ? "none" : cluster_proto_status_name((uint32_t)st), text);
}

/* true if the peer closes fd (without sending anything more) within the timeout; a reset
 * counts (a peer closing with our bytes unread resets the connection). */
static bool closed(struct tls_conn *fd)
{
	char c;
	int r;

	if (tls_conn_wait(fd, TIMEOUT_MS) != 1)
		return false;
	r = tls_conn_read(fd, &c, 1, mono_clock_ms() + TIMEOUT_MS);
	return r == FDIO_EOF || (r < 0 && errno != ETIMEDOUT);
}

static const uint8_t uuid_a[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static struct cluster_proto_vm_start good_start(void)
{
	struct cluster_proto_vm_start m = {
		.vnode_uid = 77, .domid = 9, .vcpus = 1, .excache_bytes = 1 << 20};

	memcpy(m.uuid, uuid_a, 16);
	snprintf(m.name, sizeof(m.name), "probe-vm");
	return m;
}

/* A VM_START payload: m's fixed part (argc and args_len from args unless set) + args. */
static size_t start_msg(uint8_t *buf, struct cluster_proto_vm_start m, const char *const *args,
			int nargs)
{
	size_t len = 0;

	for (int i = 0; i < nargs; i++) {
		memcpy(buf + CP_VM_START_LEN + len, args[i], strlen(args[i]) + 1);
		len += strlen(args[i]) + 1;
	}
	if (!m.argc)
		m.argc = (uint32_t)nargs;
	if (!m.args_len)
		m.args_len = (uint32_t)len;
	cluster_proto_vm_start_put(buf, &m);
	return CP_VM_START_LEN + len;
}

#define ARGS(...)                           \
	(const char *const[]){__VA_ARGS__}, \
		(int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *))

static void start_refused(struct tls_conn *fd, struct cluster_proto_vm_start m,
			  const char *const *args, int nargs, int want, const char *needle,
			  const char *what)
{
	uint8_t buf[4096];
	size_t len = start_msg(buf, m, args, nargs);

	expect(fd, CP_VM_START, buf, len, want, needle, what);
}

static void header_checks(void)
{
	char text[CP_ERRTEXT_MAX + 64],
		http[CP_HDR_LEN + 1] = "GET / HTTP/1.1\r\nHost: pmon\r\n\r\n";
	uint64_t id;
	struct tls_conn *fd;
	int st;

	fd = conn();
	id = send_raw(fd, (struct raw){.magic = 0x12345678, .op = CP_VM_FORGET}, uuid_a, 16);
	st = get_reply(fd, CP_VM_FORGET, id, text, sizeof(text));
	ok(st == CP_EPROTO, "bad magic: EPROTO (%s)", text);
	ok(closed(fd), "... and the connection is closed");
	tls_conn_close(fd);

	fd = conn();
	ok(!tls_conn_write(fd, http, CP_HDR_LEN), "an HTTP request instead");
	st = get_reply(fd, wire_get_le16(http + 6), wire_get_le64(http + 8), text, sizeof(text));
	ok(st == CP_EPROTO && closed(fd), "... gets EPROTO at once and a close (%s)", text);
	tls_conn_close(fd);

	fd = conn();
	id = send_raw(fd, (struct raw){.version = 9, .op = CP_VM_FORGET}, uuid_a, 16);
	st = get_reply(fd, CP_VM_FORGET, id, text, sizeof(text));
	ok(st == CP_EPROTO && closed(fd), "version 9: EPROTO and a close (%s)", text);
	tls_conn_close(fd);

	fd = conn();
	id = send_raw(fd, (struct raw){.reserved = 1, .op = CP_VM_FORGET}, uuid_a, 16);
	st = get_reply(fd, CP_VM_FORGET, id, text, sizeof(text));
	ok(st == CP_EPROTO && closed(fd), "reserved header bytes set: EPROTO and a close (%s)",
	   text);
	tls_conn_close(fd);

	fd = conn();
	send_raw(fd,
		 (struct raw){.op = CP_VM_START, .len_set = true, .len_field = CP_MAX_PAYLOAD + 1},
		 NULL, 0);
	ok(closed(fd), "a length over 1 MiB: closed without waiting for it");
	tls_conn_close(fd);

	fd = conn();
	send_raw(fd, (struct raw){.op = CP_VM_STOP, .len_set = true, .len_field = CP_VM_STOP_LEN},
		 uuid_a, 10);
	shutdown(fd->fd, SHUT_WR);
	ok(closed(fd), "a payload cut short by the peer: closed");
	tls_conn_close(fd);
}

static void start_checks(struct tls_conn *fd)
{
	struct cluster_proto_vm_start m = good_start();
	uint8_t buf[4096];
	size_t len;

	len = start_msg(buf, m, ARGS("--kernel", "k.elf"));
	expect(fd, CP_VM_START, buf, 100, CP_EPROTO, NULL, "VM_START shorter than its fixed part");
	m.args_len = 100;
	len = start_msg(buf, m, ARGS("--kernel", "k.elf"));
	expect(fd, CP_VM_START, buf, len, CP_EPROTO, NULL,
	       "VM_START whose args_len exceeds the payload");
	m = good_start();
	m.argc = 3;
	start_refused(fd, m, ARGS("--kernel", "k.elf"), CP_EINVAL, "count",
		      "VM_START with argc 3 for 2 strings");
	m = good_start();
	start_refused(fd, m, ARGS("--kernel", "k\x01.elf"), CP_EINVAL, "printable",
		      "VM_START with a non-printable argument");
	len = start_msg(buf, good_start(), ARGS("--kernel", "k.elf"));
	buf[len - 1] = 'x';
	expect(fd, CP_VM_START, buf, len, CP_EINVAL, NULL, "VM_START whose last string has no NUL");
	len = start_msg(buf, good_start(), ARGS("--kernel", "k.elf"));
	buf[120] = 1;
	expect(fd, CP_VM_START, buf, len, CP_EINVAL, "reserved",
	       "VM_START with reserved bytes set");
	m = good_start();
	memset(m.uuid, 0, 16);
	start_refused(fd, m, ARGS("--kernel", "k.elf"), CP_EINVAL, "uuid", "VM_START, zero uuid");
	m = good_start();
	m.vnode_uid = 0;
	start_refused(fd, m, ARGS("--kernel", "k.elf"), CP_EINVAL, NULL, "VM_START, vnode id 0");
	m = good_start();
	m.domid = 0;
	start_refused(fd, m, ARGS("--kernel", "k.elf"), CP_EINVAL, NULL, "VM_START, domain id 0");
	m = good_start();
	m.vcpus = 0;
	start_refused(fd, m, ARGS("--kernel", "k.elf"), CP_EINVAL, "vCPUs", "VM_START, 0 vCPUs");
	m.vcpus = 65;
	start_refused(fd, m, ARGS("--kernel", "k.elf"), CP_EINVAL, "vCPUs", "VM_START, 65 vCPUs");
	m = good_start();
	m.name[0] = 0;
	start_refused(fd, m, ARGS("--kernel", "k.elf"), CP_EINVAL, "name", "VM_START, empty name");

	m = good_start();
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--control", "/tmp/x.sock"), CP_EINVAL,
		      "--control", "VM_START naming --control");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--console", "/tmp/c"), CP_EINVAL,
		      "--console", "VM_START naming --console");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--stats", "/tmp/s"), CP_EINVAL, "--stats",
		      "VM_START naming --stats");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--vnode-id", "5"), CP_EINVAL, "--vnode-id",
		      "VM_START naming --vnode-id");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--control=/tmp/x"), CP_EINVAL, "--control",
		      "VM_START naming --control=PATH");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--cont", "/tmp/x"), CP_EINVAL,
		      "not a lego-vmm option", "VM_START with an abbreviation (--cont)");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--bogus"), CP_EINVAL,
		      "'--bogus' is not a lego-vmm option", "VM_START with an unknown option");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "-x"), CP_EINVAL, "-x",
		      "VM_START with an unknown short option");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--mem"), CP_EINVAL, "needs a value",
		      "VM_START with an option missing its value");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--no-rma=1"), CP_EINVAL, "no value",
		      "VM_START with a value for a flag");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "extra"), CP_EINVAL, "unexpected argument",
		      "VM_START with a positional argument");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--"), CP_EINVAL, "--",
		      "VM_START with a bare --");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--help"), CP_EINVAL, "--help",
		      "VM_START with --help");
	start_refused(fd, m, ARGS("--mem", "16M"), CP_EINVAL, "--kernel",
		      "VM_START without --kernel");
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--cpus", "4"), CP_EINVAL, "--cpus",
		      "VM_START whose --cpus differs from its vcpus");
	start_refused(fd, m, ARGS(), CP_EINVAL, "--kernel", "VM_START with no arguments");
	m.vcpus = 64;
	start_refused(fd, m, ARGS("-k", "k.elf", "-m16M", "--cpus=64", "-vq"), CP_ENOSPC, "cores",
		      "VM_START for 64 vCPUs");
	m = good_start();
	m.excache_bytes = 1ULL << 50;
	start_refused(fd, m, ARGS("--kernel", "k.elf", "--mem", "16M"), CP_ENOSPC, "memory",
		      "VM_START for a 1 PiB ExCache");
}

static void console_in_checks(struct tls_conn *fd)
{
	static uint8_t buf[CP_VM_CONSOLE_IN_LEN + CP_CONSOLE_IN_MAX + 1],
		any[CP_CONSOLE_IN_MAX + 1];
	struct cluster_proto_vm_console_in m = {.len = 3, .data = (const uint8_t *)"ls\r"};

	memcpy(m.uuid, uuid_a, 16);
	cluster_proto_vm_console_in_put(buf, &m);
	expect(fd, CP_VM_CONSOLE_IN, buf, CP_VM_CONSOLE_IN_LEN + 3, CP_ENOENT, "no running vNode",
	       "VM_CONSOLE_IN of an unknown uuid");
	expect(fd, CP_VM_CONSOLE_IN, buf, CP_VM_CONSOLE_IN_LEN + 2, CP_EPROTO, "length",
	       "VM_CONSOLE_IN shorter than it says");
	expect(fd, CP_VM_CONSOLE_IN, buf, 20, CP_EPROTO, NULL, "VM_CONSOLE_IN of 20 bytes");
	wire_put_le32(buf + 20, 1);
	expect(fd, CP_VM_CONSOLE_IN, buf, CP_VM_CONSOLE_IN_LEN + 3, CP_EINVAL, "reserved",
	       "VM_CONSOLE_IN with its reserved field set");
	m.len = 0;
	cluster_proto_vm_console_in_put(buf, &m);
	expect(fd, CP_VM_CONSOLE_IN, buf, CP_VM_CONSOLE_IN_LEN, CP_EINVAL, NULL,
	       "VM_CONSOLE_IN of no bytes");
	m.len = CP_CONSOLE_IN_MAX + 1;
	m.data = any;
	cluster_proto_vm_console_in_put(buf, &m);
	expect(fd, CP_VM_CONSOLE_IN, buf, sizeof(buf), CP_EINVAL, "4096",
	       "VM_CONSOLE_IN of 4 KiB + 1");
}

static void vm_op_checks(struct tls_conn *fd)
{
	uint8_t buf[CP_VM_CTL_LONG_LEN + 1] = {0};

	cluster_proto_vm_stop_put(
		buf, &(struct cluster_proto_vm_stop){.mode = CP_STOP_FORCE, .grace_ms = 100});
	memcpy(buf, uuid_a, 16);
	expect(fd, CP_VM_STOP, buf, CP_VM_STOP_LEN, CP_ENOENT, "no vNode",
	       "VM_STOP of an unknown uuid");
	expect(fd, CP_VM_STOP, buf, 10, CP_EPROTO, NULL, "VM_STOP of 10 bytes");
	wire_put_le32(buf + 16, 2);
	expect(fd, CP_VM_STOP, buf, CP_VM_STOP_LEN, CP_EINVAL, "mode", "VM_STOP mode 2");
	wire_put_le32(buf + 16, 0);
	wire_put_le32(buf + 20, 600001);
	expect(fd, CP_VM_STOP, buf, CP_VM_STOP_LEN, CP_EINVAL, "grace", "VM_STOP grace > 10 min");

	cluster_proto_vm_ctl_put(buf, &(struct cluster_proto_vm_ctl){.cmd = "stats"});
	memcpy(buf, uuid_a, 16);
	expect(fd, CP_VM_CTL, buf, CP_VM_CTL_LEN, CP_ENOENT, "no vNode",
	       "VM_CTL of an unknown uuid");
	cluster_proto_vm_ctl_put(buf, &(struct cluster_proto_vm_ctl){.cmd = "STATS"});
	expect(fd, CP_VM_CTL, buf, CP_VM_CTL_LEN, CP_EINVAL, NULL,
	       "VM_CTL with an uppercase command");
	cluster_proto_vm_ctl_put(buf, &(struct cluster_proto_vm_ctl){.cmd = ""});
	expect(fd, CP_VM_CTL, buf, CP_VM_CTL_LEN, CP_EINVAL, NULL, "VM_CTL with an empty command");
	cluster_proto_vm_ctl_put(buf, &(struct cluster_proto_vm_ctl){.cmd = "stats\n"});
	expect(fd, CP_VM_CTL, buf, CP_VM_CTL_LEN, CP_EINVAL, NULL, "VM_CTL with a newline in it");
	cluster_proto_vm_ctl_put(buf, &(struct cluster_proto_vm_ctl){.cmd = "migrate  a:1"});
	expect(fd, CP_VM_CTL, buf, CP_VM_CTL_LEN, CP_EINVAL, "argument",
	       "VM_CTL with two spaces before its argument");
	memset(buf + 16, 0, CP_CMD_MAX);
	memcpy(buf + 16, "stats", 5);
	expect(fd, CP_VM_CTL, buf, CP_VM_CTL_LONG_LEN, CP_EINVAL, "long form",
	       "VM_CTL with a short command in the long form");
	memset(buf + 16, 'a', CP_CMD_MAX);
	expect(fd, CP_VM_CTL, buf, CP_VM_CTL_LONG_LEN, CP_ENOENT, "no vNode",
	       "VM_CTL in the long form (272 bytes) of an unknown uuid");
	expect(fd, CP_VM_CTL, buf, CP_VM_CTL_LONG_LEN + 1, CP_EPROTO, NULL, "VM_CTL of 289 bytes");

	cluster_proto_vm_console_put(buf, &(struct cluster_proto_vm_console){.max = 100});
	memcpy(buf, uuid_a, 16);
	expect(fd, CP_VM_CONSOLE, buf, CP_VM_CONSOLE_LEN, CP_ENOENT, "no vNode",
	       "VM_CONSOLE of an unknown uuid");
	wire_put_le32(buf + 24, 0);
	expect(fd, CP_VM_CONSOLE, buf, CP_VM_CONSOLE_LEN, CP_EINVAL, NULL, "VM_CONSOLE max 0");
	wire_put_le32(buf + 24, CP_CONSOLE_MAX + 1);
	expect(fd, CP_VM_CONSOLE, buf, CP_VM_CONSOLE_LEN, CP_EINVAL, NULL,
	       "VM_CONSOLE max 64 KiB + 1");
	wire_put_le32(buf + 24, 100);
	wire_put_le32(buf + 28, 1);
	expect(fd, CP_VM_CONSOLE, buf, CP_VM_CONSOLE_LEN, CP_EINVAL, "reserved",
	       "VM_CONSOLE with its reserved field set");

	expect(fd, CP_VM_FORGET, uuid_a, 16, CP_ENOENT, "no vNode", "VM_FORGET of an unknown uuid");
	expect(fd, CP_VM_FORGET, buf, 17, CP_EPROTO, NULL, "VM_FORGET of 17 bytes");
	console_in_checks(fd);
}

/* The networks' requests: NET_SET, NET_LEASES, and a VM_START's --net-attach and --net. */
static void net_checks(struct tls_conn *fd)
{
	uint8_t buf[NET_PROTO_SET_LEN + NET_PROTO_NET_LEN] = {0};
	struct net_proto_set *m = calloc(1, sizeof(*m));
	struct cluster_proto_vm_start vs = good_start();
	static const char attach[] = "network=nope,mac=52:54:00:00:00:01,ip=10.9.0.2/16";

	expect(fd, CP_NET_SET, buf, 8, CP_EPROTO, NULL, "NET_SET shorter than its fixed part");
	buf[8] = 1;
	expect(fd, CP_NET_SET, buf, NET_PROTO_SET_LEN, CP_EINVAL, "reserved",
	       "NET_SET with reserved bytes set");
	m->nr_nets = 1;
	m->nets[0] = (struct net_proto_net){.name = "n1", .vni = 7, .addr = 10U << 24, .prefix = 8};
	net_proto_set_put(buf, m);
	buf[NET_PROTO_SET_LEN + 75] = 1; /* no host bits in a range */
	expect(fd, CP_NET_SET, buf, sizeof(buf), CP_EINVAL, "range", "NET_SET, a bad range");
	expect(fd, CP_NET_SET, buf, sizeof(buf) - 1, CP_EPROTO, "length",
	       "NET_SET, one byte short");
	m->nr_nets = 0;
	net_proto_set_put(buf, m);
	expect(fd, CP_NET_SET, buf, NET_PROTO_SET_LEN, CP_OK, NULL, "NET_SET with no network");
	free(m);
	expect(fd, CP_NET_LEASES, "x", 1, CP_EPROTO, NULL, "NET_LEASES of 1 byte");
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "a/b", 3);
	expect(fd, CP_NET_LEASES, buf, NET_PROTO_LEASES_LEN, CP_EINVAL, "name",
	       "NET_LEASES of a bad name");
	memcpy(buf, "nope", 4);
	expect(fd, CP_NET_LEASES, buf, NET_PROTO_LEASES_LEN, CP_OK, NULL,
	       "NET_LEASES of a network not built here: none");
	start_refused(fd, vs, ARGS("--kernel", "k.elf", "--net", "tap=eth0,mac=52:54:00:00:00:01"),
		      CP_EINVAL, "--net", "VM_START naming --net (a host interface)");
	start_refused(fd, vs, ARGS("--kernel", "k.elf", "--net-attach", "network=x"), CP_EINVAL,
		      "--net-attach", "VM_START with a malformed --net-attach");
	start_refused(fd, vs, ARGS("--kernel", "k.elf", "--net-attach"), CP_EINVAL, "needs a value",
		      "VM_START with --net-attach missing its value");
	start_refused(fd, vs, ARGS("--kernel", "k.elf", "--net-attach", attach), CP_EINVAL,
		      "unknown on this host", "VM_START on a network the host was not told of");
	start_refused(fd, vs,
		      ARGS("--kernel", "k.elf", "--net-attach", attach, "--net-attach", attach,
			   "--net-attach", attach, "--net-attach", attach, "--net-attach", attach,
			   "--net-attach", attach, "--net-attach", attach, "--net-attach", attach,
			   "--net-attach", attach),
		      CP_EINVAL, "more than 8", "VM_START with 9 interfaces");
}

static int malformed(int argc, char **argv)
{
	char text[CP_ERRTEXT_MAX + 64];
	struct tls_conn *fd, *fds[20];
	uint64_t id;
	int st;

	if (argc != 1) {
		fprintf(stderr, "usage: cluster_probe malformed HOST:PORT\n");
		return EX_USAGE;
	}
	target = argv[0];
	header_checks();

	fd = conn();
	expect(fd, 99, NULL, 0, CP_EBADOP, "not served", "op 99");
	expect(fd, CP_REGISTER, NULL, 0, CP_EBADOP, "REGISTER", "REGISTER (a controld op)");
	expect(fd, CP_QUERY, NULL, 0, CP_EBADOP, NULL, "QUERY (a controld op)");
	expect(fd, CP_MIGRATE, NULL, 0, CP_EBADOP, NULL, "MIGRATE (a controld op)");
	expect(fd, CP_VM_FORGET | CP_REPLY, uuid_a, 16, CP_EBADOP, NULL,
	       "a reply sent as a request");
	id = send_raw(fd, (struct raw){.op = CP_VM_FORGET, .status = 3}, uuid_a, 16);
	st = get_reply(fd, CP_VM_FORGET, id, text, sizeof(text));
	ok(st == CP_EPROTO, "a request carrying a status: EPROTO (%s)", text);
	start_checks(fd);
	vm_op_checks(fd);
	net_checks(fd);
	expect(fd, CP_VM_FORGET, uuid_a, 16, CP_ENOENT, NULL,
	       "after all that, the same connection still serves");
	tls_conn_close(fd);

	for (int i = 0; i < 20; i++)
		fds[i] = conn();
	st = 0;
	for (int i = 0; i < 20; i++) {
		id = send_raw(fds[i], (struct raw){.op = CP_VM_FORGET}, uuid_a, 16);
		st += get_reply(fds[i], CP_VM_FORGET, id, text, sizeof(text)) == CP_ENOENT;
		tls_conn_close(fds[i]);
	}
	ok(st == 20, "20 connections at once are each answered (%d)", st);
	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cluster_probe controld-stub --listen HOST:PORT --port-file F --out FILE\n"
		"       cluster_probe malformed HOST:PORT\n"
		"       cluster_probe start HOST:PORT UUID NAME DOMID VNODE_UID VCPUS EXCACHE "
		"[VMM-OPTION...]\n"
		"       cluster_probe stop HOST:PORT UUID graceful|force [GRACE_MS]\n"
		"       cluster_probe ctl HOST:PORT UUID COMMAND\n"
		"       cluster_probe console HOST:PORT UUID [OFFSET [MAX]]\n"
		"       cluster_probe console-in HOST:PORT UUID TEXT\n"
		"       cluster_probe forget HOST:PORT UUID\n"
		"       cluster_probe register HOST:PORT pmon|mmon|smon NAME ADDR\n"
		"       cluster_probe query HOST:PORT components|vnodes|pool\n"
		"       cluster_probe migrate HOST:PORT VNODE HOST\n"
		"       cluster_probe pool-job HOST:PORT drain|rebalance|undrain [SERVER]\n"
		"Options first: --pki DIR, --as KIND:NAME (default: an admin's certificate;\n"
		"controld-stub: a controld's), --no-cert (TLS without one), --insecure (plain).\n"
		"Test tool of the cluster protocol: a stand-in lego-controld that logs what\n"
		"components send it, every kind of bad request to a lego-pmon (TAP), or one\n"
		"request to a lego-pmon, its result on stdout (an error reply: \"error STATUS:\n"
		"TEXT\" and the status as exit code; 99: the connection failed; 64: bad usage).\n");
}

/* ---- single requests ----------------------------------------------------------------- */

/* The call's status; prints the error. */
static int call(uint16_t op, const void *req, size_t len, uint8_t **reply, size_t *rlen)
{
	char err[CP_ERRTEXT_MAX + 128];
	struct tls_conn *fd = tls_conn_dial(target, pki, NULL, TIMEOUT_MS, err, sizeof(err));
	int rc;

	if (!fd) {
		fprintf(stderr, "cluster_probe: %s\n", err);
		exit(EXIT_FAILED);
	}
	rc = cluster_io_call(fd, op, req, len, reply, rlen, TIMEOUT_MS, err, sizeof(err));
	tls_conn_close(fd);
	if (rc < 0) {
		fprintf(stderr, "cluster_probe: %s\n", err);
		exit(EXIT_FAILED);
	}
	if (rc)
		printf("error %s: %s\n", cluster_proto_status_name((uint32_t)rc), err);
	return rc;
}

static uint64_t num(const char *s, uint64_t max)
{
	uint64_t v;

	if (parse_uint(s, 0, max, &v) && parse_size(s, &v)) {
		fprintf(stderr, "cluster_probe: '%s' is not a number\n", s);
		exit(EX_USAGE);
	}
	return v;
}

static void uuid_arg(const char *s, uint8_t u[16])
{
	if (uuid_str_parse(s, u)) {
		fprintf(stderr, "cluster_probe: '%s' is not a uuid\n", s);
		exit(EX_USAGE);
	}
}

/* The single requests: argv[0] is HOST:PORT, argv[1] the vNode's UUID. */
static int cmd_start(int argc, char **argv)
{
	static uint8_t buf[CP_VM_START_LEN + CP_ARGS_MAX];
	struct cluster_proto_vm_start m = {.domid = (int32_t)num(argv[3], INT32_MAX),
					   .vnode_uid = num(argv[4], UINT64_MAX),
					   .vcpus = (uint32_t)num(argv[5], UINT32_MAX),
					   .excache_bytes = num(argv[6], UINT64_MAX)};
	uint8_t *r = NULL;
	size_t rlen = 0, len = 0;
	int rc;

	uuid_arg(argv[1], m.uuid);
	snprintf(m.name, sizeof(m.name), "%s", argv[2]);
	for (int i = 7; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		if (len + n > CP_ARGS_MAX)
			return EX_USAGE;
		memcpy(buf + CP_VM_START_LEN + len, argv[i], n);
		len += n;
	}
	m.argc = (uint32_t)(argc - 7);
	m.args_len = (uint32_t)len;
	cluster_proto_vm_start_put(buf, &m);
	rc = call(CP_VM_START, buf, CP_VM_START_LEN + len, &r, &rlen);
	if (!rc)
		printf("pid %u\n", rlen == 4 ? wire_get_le32(r) : 0);
	free(r);
	return rc;
}

static int cmd_stop(int argc, char **argv)
{
	uint8_t buf[CP_VM_STOP_LEN];
	struct cluster_proto_vm_stop m = {
		.mode = strcmp(argv[2], "force") ? CP_STOP_GRACEFUL : CP_STOP_FORCE,
		.grace_ms = argc == 4 ? (uint32_t)num(argv[3], 600000) : 5000};
	int rc;

	if (strcmp(argv[2], "graceful") && strcmp(argv[2], "force")) {
		fprintf(stderr, "cluster_probe stop: graceful or force, not '%s'\n", argv[2]);
		return EX_USAGE;
	}
	uuid_arg(argv[1], m.uuid);
	cluster_proto_vm_stop_put(buf, &m);
	rc = call(CP_VM_STOP, buf, CP_VM_STOP_LEN, NULL, NULL);
	if (!rc)
		printf("ok\n");
	return rc;
}

static int cmd_ctl(int argc, char **argv)
{
	uint8_t buf[CP_VM_CTL_LONG_LEN], *r = NULL;
	struct cluster_proto_vm_ctl m;
	size_t rlen = 0;
	int rc;

	(void)argc;
	uuid_arg(argv[1], m.uuid);
	snprintf(m.cmd, sizeof(m.cmd), "%s", argv[2]);
	rc = call(CP_VM_CTL, buf, cluster_proto_vm_ctl_put(buf, &m), &r, &rlen);
	if (!rc)
		printf("%.*s\n", (int)rlen, r ? (char *)r : "");
	free(r);
	return rc;
}

static int cmd_console(int argc, char **argv)
{
	uint8_t buf[CP_VM_CONSOLE_LEN], *r = NULL;
	struct cluster_proto_vm_console m = {.offset = argc > 2 ? num(argv[2], UINT64_MAX) : 0,
					     .max = argc > 3 ? (uint32_t)num(argv[3], UINT32_MAX)
							     : CP_CONSOLE_MAX};
	struct cluster_proto_vm_console_reply cr;
	size_t rlen = 0;
	int rc;

	uuid_arg(argv[1], m.uuid);
	cluster_proto_vm_console_put(buf, &m);
	rc = call(CP_VM_CONSOLE, buf, CP_VM_CONSOLE_LEN, &r, &rlen);
	if (!rc && cluster_proto_vm_console_reply_get(r, rlen, &cr)) {
		printf("bad console reply\n");
		rc = EXIT_FAILED;
	} else if (!rc) {
		printf("offset=%llu state=%s len=%zu\n", (unsigned long long)cr.offset,
		       state_name(cr.state), rlen - CP_VM_CONSOLE_REPLY_LEN);
		fwrite(r + CP_VM_CONSOLE_REPLY_LEN, 1, rlen - CP_VM_CONSOLE_REPLY_LEN, stdout);
	}
	free(r);
	return rc;
}

static int cmd_console_in(int argc, char **argv)
{
	static uint8_t buf[CP_VM_CONSOLE_IN_LEN + CP_CONSOLE_IN_MAX];
	struct cluster_proto_vm_console_in m = {.len = (uint32_t)strlen(argv[2]),
						.data = (const uint8_t *)argv[2]};
	struct cluster_proto_vm_console_in_reply cr;
	uint8_t *r = NULL;
	size_t rlen = 0;
	int rc;

	(void)argc;
	if (!m.len || m.len > CP_CONSOLE_IN_MAX) {
		fprintf(stderr, "cluster_probe: console-in takes 1 to %d bytes\n",
			CP_CONSOLE_IN_MAX);
		return EX_USAGE;
	}
	uuid_arg(argv[1], m.uuid);
	cluster_proto_vm_console_in_put(buf, &m);
	rc = call(CP_VM_CONSOLE_IN, buf, CP_VM_CONSOLE_IN_LEN + m.len, &r, &rlen);
	if (!rc && cluster_proto_vm_console_in_reply_get(r, rlen, &cr)) {
		printf("bad console-in reply\n");
		rc = EXIT_FAILED;
	} else if (!rc) {
		printf("accepted=%u queued=%u\n", cr.accepted, cr.queued);
	}
	free(r);
	return rc;
}

static int cmd_forget(int argc, char **argv)
{
	uint8_t uuid[16];
	int rc;

	(void)argc;
	uuid_arg(argv[1], uuid);
	rc = call(CP_VM_FORGET, uuid, 16, NULL, NULL);
	if (!rc)
		printf("ok\n");
	return rc;
}

/* ---- requests to lego-controld ------------------------------------------------------------ */

static int cmd_register(int argc, char **argv)
{
	static const char *const kinds[] = {
		[CP_KIND_PMON] = "pmon", [CP_KIND_MMON] = "mmon", [CP_KIND_SMON] = "smon"};
	struct cluster_proto_register r = {.capacity_bytes = 1 << 30};
	uint8_t buf[CP_REGISTER_LEN], *reply = NULL;
	size_t rlen;
	int rc;

	(void)argc;
	for (uint32_t k = CP_KIND_PMON; k <= CP_KIND_SMON; k++)
		if (!strcmp(argv[1], kinds[k]))
			r.kind = k;
	if (!r.kind) {
		fprintf(stderr, "cluster_probe register: kind pmon, mmon or smon\n");
		return EX_USAGE;
	}
	r.cores = r.kind == CP_KIND_PMON;
	snprintf(r.name, sizeof(r.name), "%s", argv[2]);
	snprintf(r.addr, sizeof(r.addr), "%s", argv[3]);
	cluster_proto_register_put(buf, &r);
	rc = call(CP_REGISTER, buf, sizeof(buf), &reply, &rlen);
	if (!rc)
		printf("ok\n");
	free(reply);
	return rc;
}

static int cmd_query(int argc, char **argv)
{
	static const char *const what[] = {
		[CP_Q_COMPONENTS] = "components", [CP_Q_VNODES] = "vnodes", [CP_Q_POOL] = "pool"};
	struct cluster_proto_query q = {0};
	uint8_t buf[CP_QUERY_LEN], *reply = NULL;
	size_t rlen = 0;
	int rc;

	(void)argc;
	for (uint32_t w = CP_Q_COMPONENTS; w <= CP_Q_POOL; w++)
		if (what[w] && !strcmp(argv[1], what[w]))
			q.what = w;
	if (!q.what)
		return EX_USAGE;
	cluster_proto_query_put(buf, &q);
	rc = call(CP_QUERY, buf, sizeof(buf), &reply, &rlen);
	if (!rc)
		fwrite(reply, 1, rlen, stdout);
	free(reply);
	return rc;
}

static int cmd_migrate(int argc, char **argv)
{
	struct cluster_proto_migrate m = {0};
	uint8_t buf[CP_MIGRATE_LEN], *reply = NULL;
	size_t rlen;
	int rc;

	(void)argc;
	snprintf(m.vnode, sizeof(m.vnode), "%s", argv[1]);
	snprintf(m.host, sizeof(m.host), "%s", argv[2]);
	cluster_proto_migrate_put(buf, &m);
	rc = call(CP_MIGRATE, buf, sizeof(buf), &reply, &rlen);
	if (!rc)
		printf("ok\n");
	free(reply);
	return rc;
}

static int cmd_pool_job(int argc, char **argv)
{
	struct cluster_proto_pool_job j = {0};
	uint8_t buf[CP_POOL_JOB_LEN], *reply = NULL;
	size_t rlen;
	int rc;

	for (uint32_t w = CP_POOL_DRAIN; w <= CP_POOL_WHAT_MAX; w++)
		if (!strcmp(argv[1], cluster_proto_pool_what_name(w)))
			j.what = w;
	if (!j.what)
		return EX_USAGE;
	if (argc > 2)
		snprintf(j.server, sizeof(j.server), "%s", argv[2]);
	cluster_proto_pool_job_put(buf, &j);
	rc = call(CP_POOL_JOB, buf, sizeof(buf), &reply, &rlen);
	if (!rc)
		printf("ok\n");
	free(reply);
	return rc;
}

/* A row per command: its name, how many arguments follow it (-1: any number), and what
 * runs it (argv: those arguments). */
static const struct command {
	const char *name;
	int min_args, max_args;
	int (*run)(int argc, char **argv);
} commands[] = {
	{"controld-stub", 0, -1, controld_stub},
	{"malformed", 0, -1, malformed},
	{"start", 7, -1, cmd_start},
	{"stop", 3, 4, cmd_stop},
	{"ctl", 3, 3, cmd_ctl},
	{"console", 2, 4, cmd_console},
	{"console-in", 3, 3, cmd_console_in},
	{"forget", 2, 2, cmd_forget},
	{"register", 4, 4, cmd_register},
	{"query", 2, 2, cmd_query},
	{"migrate", 3, 3, cmd_migrate},
	{"pool-job", 2, 3, cmd_pool_job},
};

/* The options before the command: which certificate (if any) the probe presents. */
static int probe_options(int *argc, char ***argv, const char *cmd)
{
	const char *dir = NULL, *as = getenv("LEGO_ADMIN");
	bool insecure = false, no_cert = false;
	int kind = strcmp(cmd, "controld-stub") ? TLS_KIND_ADMIN : TLS_KIND_CONTROLD;
	char err[1024], name[TLS_PKI_NAME_MAX + 1];

	if (as && !*as)
		as = NULL;
	if (kind == TLS_KIND_CONTROLD)
		as = NULL;
	while (*argc > 1 && !strncmp((*argv)[1], "--", 2)) {
		const char *o = (*argv)[1];

		if (!strcmp(o, "--insecure")) {
			insecure = true;
		} else if (!strcmp(o, "--no-cert")) {
			no_cert = true;
		} else if (*argc > 2 && !strcmp(o, "--pki")) {
			dir = (*argv)[2];
			(*argc)--;
			(*argv)++;
		} else if (*argc > 2 && !strcmp(o, "--as")) {
			const char *v = (*argv)[2], *colon = strchr(v, ':');

			snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - v) : 0, v);
			kind = tls_pki_kind_parse(name);
			if (kind < 0) {
				fprintf(stderr, "cluster_probe: --as KIND:NAME, not '%s'\n", v);
				return EX_USAGE;
			}
			as = colon + 1;
			(*argc)--;
			(*argv)++;
		} else {
			return -1;
		}
		(*argc)--;
		(*argv)++;
	}
	if (insecure)
		return 0;
	pki = no_cert ? tls_pki_load_ca(tls_pki_dir(dir), err, sizeof(err))
		      : tls_pki_load(tls_pki_dir(dir), kind, as, err, sizeof(err));
	if (!pki) {
		fprintf(stderr, "cluster_probe: %s\n", err);
		return EXIT_FAILED;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	{
		int i = 1;

		while (i < argc && !strncmp(argv[i], "--", 2))
			i += strcmp(argv[i], "--pki") && strcmp(argv[i], "--as") ? 1 : 2;
		rc = probe_options(&argc, &argv, i < argc ? argv[i] : "");
		if (rc)
			return rc;
	}
	for (size_t i = 0; argc >= 2 && i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *k = &commands[i];
		int n = argc - 2;

		if (strcmp(argv[1], k->name))
			continue;
		if (n < k->min_args || (k->max_args >= 0 && n > k->max_args)) {
			fprintf(stderr, "cluster_probe %s: wrong arguments\n", k->name);
			break;
		}
		target = n ? argv[2] : NULL;
		return k->run(n, argv + 2);
	}
	usage(stderr);
	return EX_USAGE;
}
