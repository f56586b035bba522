/* smon_probe.c: drives a running lego-smon through every volume operation and every kind
 * of bad request over the real transport, checking each answer and the data, and that
 * the server keeps serving. TAP on stdout. Usage: smon_probe HOST PORT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "tap_ok.h"
#include "tool_caps.h"
#include "lib/client/smon_client.h"
#include "lib/proto/wire.h"

#define TIMEOUT_MS 10000
#define VOL_SIZE   (16ULL << 20)
#define MIB	   (1U << 20)

static uint64_t raw_id = 1000000;

static uint8_t pattern_byte(uint64_t off, unsigned salt)
{
	uint64_t x = (off + salt) * 0x9e3779b97f4a7c15ULL;

	return (uint8_t)(x >> 56);
}

static void fill(uint8_t *b, uint64_t off, uint32_t len, unsigned salt)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = pattern_byte(off + i, salt);
}

static int check(const uint8_t *b, uint64_t off, uint32_t len, int salt)
{
	for (uint32_t i = 0; i < len; i++)
		if (b[i] != (salt < 0 ? 0 : pattern_byte(off + i, (unsigned)salt)))
			return 0;
	return 1;
}

/* A request built by hand: header fields as given, body of blen bytes already placed at
 * smon_client_raw_buf + SP_HDR_LEN. Returns the reply's status or -errno. */
static int raw(struct smon_client *c, uint32_t magic, uint16_t version, uint16_t op,
	       uint32_t status, size_t blen, size_t send_len)
{
	struct wire_hdr h = {.magic = magic,
			     .version = version,
			     .op = op,
			     .id = ++raw_id,
			     .status = status,
			     .len = (uint32_t)blen},
			r;
	const void *p;
	int rc;

	wire_hdr_put(smon_client_raw_buf(c), &h);
	rc = smon_client_raw_call(c, send_len ? send_len : SP_HDR_LEN + blen, &r, &p);
	if (rc)
		return rc;
	if (!(r.op & SP_REPLY) || (send_len >= SP_HDR_LEN && r.id != h.id))
		return -EPROTO;
	return (int)r.status;
}

static int req(struct smon_client *c, unsigned op, const struct stor_proto_req *m)
{
	size_t len = stor_proto_req_put(smon_client_raw_buf(c), op, ++raw_id, m);

	return raw(c, SP_MAGIC, SP_VERSION, (uint16_t)op, 0, len - SP_HDR_LEN, 0);
}

static struct stor_proto_req io_req(const char *vol, uint64_t off, uint32_t len)
{
	struct stor_proto_req m = {.offset = off, .len = len};

	snprintf(m.vol, sizeof(m.vol), "%s", vol);
	return m;
}

static void volume_ops(struct smon_client *a, uint8_t *buf, uint64_t obj)
{
	struct stor_proto_vol_info info, *list = NULL;
	size_t n = 0;
	int rc, found = 0;
	/* A range that crosses a RADOS object boundary (or just sits mid-file). */
	uint64_t cross = obj ? obj - 4096 : 3 * MIB + 4096;

	smon_client_vol_delete(a, "probe-a");
	smon_client_vol_delete(a, "probe-b");
	ok(smon_client_vol_create(a, "probe-a", VOL_SIZE) == 0, "CREATE probe-a, 16 MiB");
	rc = smon_client_vol_create(a, "probe-a", VOL_SIZE);
	ok(rc == -EEXIST, "CREATE of an existing name: EEXIST (%s)", smon_client_error(a));
	ok(smon_client_vol_stat(a, "probe-a", &info) == 0 && info.size == VOL_SIZE,
	   "STAT: 16 MiB (object size %llu)", (unsigned long long)info.obj_size);
	ok(smon_client_vol_create(a, "probe-b", 1 * MIB) == 0, "CREATE probe-b, 1 MiB");
	rc = smon_client_vol_list(a, &list, &n);
	for (size_t i = 0; !rc && i < n; i++)
		found += (!strcmp(list[i].name, "probe-a") && list[i].size == VOL_SIZE) ||
			 (!strcmp(list[i].name, "probe-b") && list[i].size == MIB);
	ok(!rc && found == 2, "LIST has both volumes with their sizes (%zu volumes)", n);
	free(list);

	ok(smon_client_vol_read(a, "probe-a", cross, buf, MIB) == 0 && check(buf, cross, MIB, -1),
	   "never-written 1 MiB at %llu reads as zeros", (unsigned long long)cross);
	fill(buf, cross, MIB, 1);
	ok(smon_client_vol_write(a, "probe-a", cross, buf, MIB) == 0, "WRITE 1 MiB at %llu",
	   (unsigned long long)cross);
	memset(buf, 0xee, MIB);
	ok(smon_client_vol_read(a, "probe-a", cross, buf, MIB) == 0 && check(buf, cross, MIB, 1),
	   "READ gives the bytes back");
	ok(smon_client_vol_read(a, "probe-a", cross + MIB - 4096, buf, 8192) == 0 &&
		   check(buf, cross + MIB - 4096, 4096, 1) && check(buf + 4096, 0, 4096, -1),
	   "READ across the end of the written range: data, then zeros");
	fill(buf, VOL_SIZE - 512, 512, 2);
	ok(smon_client_vol_write(a, "probe-a", VOL_SIZE - 512, buf, 512) == 0 &&
		   smon_client_vol_read(a, "probe-a", VOL_SIZE - 512, buf, 512) == 0 &&
		   check(buf, VOL_SIZE - 512, 512, 2),
	   "the last sector writes and reads back");
	ok(smon_client_vol_flush(a, "probe-a") == 0, "FLUSH");

	rc = smon_client_vol_read(a, "probe-a", VOL_SIZE, buf, 512);
	ok(rc == -ERANGE, "READ at the volume's end: ERANGE (%s)", smon_client_error(a));
	rc = smon_client_vol_write(a, "probe-a", VOL_SIZE - 512, buf, 1024);
	ok(rc == -ERANGE, "WRITE across the volume's end: ERANGE");
	rc = smon_client_vol_read(a, "probe-a", 1ULL << 60, buf, 512);
	ok(rc == -ERANGE, "READ at 2^60: ERANGE");
	rc = smon_client_vol_read(a, "nosuch", 0, buf, 512);
	ok(rc == -ENOENT, "READ of an unknown volume: ENOENT (%s)", smon_client_error(a));
	rc = smon_client_vol_write(a, "nosuch", 0, buf, 512);
	ok(rc == -ENOENT, "WRITE to an unknown volume: ENOENT");
	ok(smon_client_vol_flush(a, "nosuch") == -ENOENT, "FLUSH of an unknown volume: ENOENT");
	ok(smon_client_vol_resize(a, "nosuch", MIB) == -ENOENT,
	   "RESIZE of an unknown volume: ENOENT");
	ok(smon_client_vol_delete(a, "nosuch") == -ENOENT, "DELETE of an unknown volume: ENOENT");

	/* Shrink below the written range, grow again: what was cut off is gone. */
	ok(smon_client_vol_resize(a, "probe-a", cross + 4096) == 0 &&
		   smon_client_vol_stat(a, "probe-a", &info) == 0 && info.size == cross + 4096,
	   "RESIZE shrinks to %llu", (unsigned long long)(cross + 4096));
	rc = smon_client_vol_read(a, "probe-a", cross + 4096, buf, 512);
	ok(rc == -ERANGE, "READ beyond the new end: ERANGE");
	ok(smon_client_vol_resize(a, "probe-a", VOL_SIZE) == 0, "RESIZE grows back to 16 MiB");
	ok(smon_client_vol_read(a, "probe-a", cross, buf, MIB) == 0 && check(buf, cross, 4096, 1) &&
		   check(buf + 4096, 0, MIB - 4096, -1),
	   "after shrink and grow: the kept 4 KiB are there, the rest reads as zeros");
	ok(smon_client_vol_read(a, "probe-a", VOL_SIZE - 512, buf, 512) == 0 &&
		   check(buf, 0, 512, -1),
	   "the old last sector reads as zeros");

	ok(smon_client_vol_delete(a, "probe-b") == 0, "DELETE probe-b");
	ok(smon_client_vol_stat(a, "probe-b", &info) == -ENOENT, "STAT after DELETE: ENOENT");
	ok(smon_client_vol_delete(a, "probe-a") == 0 &&
		   smon_client_vol_create(a, "probe-a", VOL_SIZE) == 0 &&
		   smon_client_vol_read(a, "probe-a", cross, buf, MIB) == 0 &&
		   check(buf, cross, MIB, -1),
	   "a volume deleted and created again under the same name reads as zeros");
}

static void bad_requests(struct smon_client *a, uint8_t *body)
{
	struct stor_proto_req m = io_req("probe-a", 0, 4096);
	int st;

	st = req(a, SP_CREATE, &(struct stor_proto_req){.vol = "../etc", .size = MIB});
	ok(st == SP_EINVAL, "CREATE '../etc': EINVAL (%d)", st);
	st = req(a, SP_CREATE, &(struct stor_proto_req){.vol = ".hidden", .size = MIB});
	ok(st == SP_EINVAL, "CREATE '.hidden': EINVAL");
	memset(body, 0, SP_VOL_LEN + 8);
	memcpy(body, "ab\x01", 3);
	wire_put_le64(body + SP_VOL_LEN, MIB);
	st = raw(a, SP_MAGIC, SP_VERSION, SP_CREATE, 0, SP_VOL_LEN + 8, 0);
	ok(st == SP_EINVAL, "CREATE with a control character in the name: EINVAL");
	memset(body, 'x', SP_VOL_LEN);
	body[3] = 0;
	st = raw(a, SP_MAGIC, SP_VERSION, SP_CREATE, 0, SP_VOL_LEN + 8, 0);
	ok(st == SP_EINVAL, "CREATE with bytes after the name's NUL: EINVAL");
	st = req(a, SP_CREATE, &(struct stor_proto_req){.vol = "probe-z", .size = 0});
	ok(st == SP_EINVAL, "CREATE of size 0: EINVAL");
	st = req(a, SP_CREATE, &(struct stor_proto_req){.vol = "probe-z", .size = 1000});
	ok(st == SP_EINVAL, "CREATE of 1000 bytes (not whole sectors): EINVAL");
	st = req(a, SP_CREATE, &(struct stor_proto_req){.vol = "probe-z", .size = 1ULL << 51});
	ok(st == SP_E2BIG, "CREATE of 2 PiB: E2BIG");

	m.len = 0;
	ok(req(a, SP_READ, &m) == SP_EINVAL, "READ of length 0: EINVAL");
	m.len = 1000;
	ok(req(a, SP_READ, &m) == SP_EINVAL, "READ of 1000 bytes: EINVAL");
	m.len = 4096;
	m.offset = 100;
	ok(req(a, SP_READ, &m) == SP_EINVAL, "READ at an unaligned offset: EINVAL");
	m.offset = 0;
	m.len = 2 * MIB;
	ok(req(a, SP_READ, &m) == SP_E2BIG, "READ of 2 MiB (over the 1 MiB limit): E2BIG");
	m.len = 4096;
	stor_proto_req_put(smon_client_raw_buf(a), SP_READ, 1, &m);
	wire_put_le32(body + SP_VOL_LEN + 12, 1);
	st = raw(a, SP_MAGIC, SP_VERSION, SP_READ, 0, SP_IO_LEN, 0);
	ok(st == SP_EINVAL, "READ with unknown flags: EINVAL");
	/* WRITE whose data is shorter than its length field. */
	stor_proto_req_put(smon_client_raw_buf(a), SP_WRITE, 1, &m);
	st = raw(a, SP_MAGIC, SP_VERSION, SP_WRITE, 0, SP_IO_LEN + 2048, 0);
	ok(st == SP_EPROTO, "WRITE with 2048 data bytes for a length of 4096: EPROTO");
	st = raw(a, SP_MAGIC, SP_VERSION, SP_READ, 0, SP_IO_LEN - 8, 0);
	ok(st == SP_EPROTO, "READ with a truncated body: EPROTO");

	st = raw(a, 0xdeadbeef, SP_VERSION, SP_READ, 0, SP_IO_LEN, 0);
	ok(st == SP_EPROTO, "bad magic: EPROTO");
	st = raw(a, SP_MAGIC, 7, SP_READ, 0, SP_IO_LEN, 0);
	ok(st == SP_EPROTO, "unknown protocol version: EPROTO");
	st = raw(a, SP_MAGIC, SP_VERSION, 99, 0, 0, 0);
	ok(st == SP_EBADOP, "unknown op 99: EBADOP");
	st = raw(a, SP_MAGIC, SP_VERSION, SP_READ | SP_REPLY, 0, SP_IO_LEN, 0);
	ok(st == SP_EPROTO, "a request with the reply flag: EPROTO");
	st = raw(a, SP_MAGIC, SP_VERSION, SP_READ, 3, SP_IO_LEN, 0);
	ok(st == SP_EPROTO, "a request with a status: EPROTO");
	st = raw(a, SP_MAGIC, SP_VERSION, SP_READ, 0, SP_IO_LEN, 10);
	ok(st == SP_EPROTO, "a truncated header (10 bytes): EPROTO");
	st = raw(a, SP_MAGIC, SP_VERSION, SP_READ, 0, SP_IO_LEN + 100, SP_HDR_LEN + SP_IO_LEN);
	ok(st == SP_EPROTO, "length field longer than the bytes sent: EPROTO");
	wire_hdr_put(smon_client_raw_buf(a), &(struct wire_hdr){.magic = SP_MAGIC, .version = 1});
	((uint8_t *)smon_client_raw_buf(a))[30] = 1;
	{
		struct wire_hdr r;
		const void *p;

		st = smon_client_raw_call(a, SP_HDR_LEN, &r, &p);
		ok(!st && r.status == SP_EPROTO, "non-zero reserved header bytes: EPROTO");
	}
}

/* Raw connections, for what a well-behaved client cannot send. */
static int raw_conn_call(struct fab_conn *c, size_t len, struct wire_hdr *r)
{
	size_t rlen = 0;
	char err[SP_ERRTEXT_MAX + 1];
	int rc = fabric_call(c, len, &rlen, TIMEOUT_MS);

	if (rc)
		return rc;
	if (stor_proto_hdr_get(fabric_rbuf(c), rlen, r, err, sizeof(err)) != SP_OK ||
	    !(r->op & SP_REPLY))
		return -EPROTO;
	return (int)r->status;
}

static int no_hello(const char *prov, const char *host, const char *port)
{
	struct stor_proto_req m = io_req("probe-a", 0, 512);
	struct fab_conn *c;
	struct wire_hdr r;
	int st;

	if (fabric_connect(prov, host, port, 2 * SP_MAX_MSG, TIMEOUT_MS, &c))
		return -ENOTCONN;
	st = raw_conn_call(c, stor_proto_req_put(fabric_sbuf(c), SP_READ, 1, &m), &r);
	fabric_close(c);
	return st;
}

static struct cap_holder *holder; /* the probe's capability (NULL: the server needs none) */

/* After a raw HELLO (its reply in the receive buffer): AUTH where the server asks for it. */
static void raw_auth(struct fab_conn *c)
{
	struct stor_proto_hello_reply hr;
	struct wire_hdr r;
	char err[256];
	unsigned gen;
	size_t len;

	if (stor_proto_hello_reply_get((uint8_t *)fabric_rbuf(c) + SP_HDR_LEN, SP_HELLO_REPLY_LEN,
				       &hr) != SP_OK ||
	    !(hr.flags & SP_HELLO_AUTH) || !holder)
		return;
	len = cap_holder_present(holder, CAP_KIND_STORAGE, hr.challenge,
				 (uint8_t *)fabric_sbuf(c) + SP_HDR_LEN, &gen, err, sizeof(err));
	raw_conn_call(c, stor_proto_auth_put(fabric_sbuf(c), 2, NULL, len), &r);
}

static void oversized(const char *prov, const char *host, const char *port)
{
	struct stor_proto_req m = {.client = "smon_probe-big"};
	struct fab_conn *c;
	struct wire_hdr r;
	size_t len;
	int st;

	if (fabric_connect(prov, host, port, 3 * SP_MAX_MSG, TIMEOUT_MS, &c)) {
		ok(0, "connect for oversized messages");
		ok(0, "connect for oversized messages");
		return;
	}
	raw_conn_call(c, stor_proto_req_put(fabric_sbuf(c), SP_HELLO, 1, &m), &r);
	raw_auth(c);
	/* Over the protocol's limit but within the server's buffer: refused, usable after. */
	len = SP_MAX_MSG + 4096;
	memset(fabric_sbuf(c), 0, len);
	wire_hdr_put(fabric_sbuf(c), &(struct wire_hdr){.magic = SP_MAGIC,
							.version = SP_VERSION,
							.op = SP_WRITE,
							.id = 2,
							.len = (uint32_t)(len - SP_HDR_LEN)});
	st = raw_conn_call(c, len, &r);
	m = io_req("probe-a", 0, 512);
	ok(st == SP_E2BIG && raw_conn_call(c, stor_proto_req_put(fabric_sbuf(c), SP_READ, 3, &m),
					   &r) == SP_OK,
	   "a message of 1 MiB + 4 KiB payload: E2BIG, and the connection still serves (%d)", st);
	/* Over the server's buffer: E2BIG, then the server closes the connection. */
	len = 2 * SP_MAX_MSG + 4096;
	memset(fabric_sbuf(c), 0, len);
	wire_hdr_put(fabric_sbuf(c), &(struct wire_hdr){.magic = SP_MAGIC,
							.version = SP_VERSION,
							.op = SP_WRITE,
							.id = 4,
							.len = (uint32_t)(len - SP_HDR_LEN)});
	st = raw_conn_call(c, len, &r);
	ok(st == SP_E2BIG || st == -ENOTCONN,
	   "a message longer than the server's buffer: E2BIG or the connection closed (%d)", st);
	fabric_close(c);
}

int main(int argc, char **argv)
{
	const char *prov = fabric_default_provider();
	struct smon_client *a, *b;
	struct stor_proto_vol_info info;
	char err[1024];
	uint8_t *buf;
	int st;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: smon_probe HOST PORT\nDrives a lego-smon through every volume "
		       "operation and bad request; checks the answers and data (TAP).\n");
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "Usage: smon_probe HOST PORT\n");
		return EX_USAGE;
	}
	log_init("smon_probe");
	buf = malloc(MIB);
	if (!buf)
		return 1;
	holder = tool_caps_storage(NULL, CAP_STOR_ALL);
	if (smon_client_connect(prov, argv[1], argv[2], "smon_probe", holder, TIMEOUT_MS, &a, err,
				sizeof(err)) ||
	    smon_client_connect(prov, argv[1], argv[2], "smon_probe-b", holder, TIMEOUT_MS, &b, err,
				sizeof(err))) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	printf("1..57\n");
	ok(smon_client_server(a)->backend == SP_BACKEND_FILE ||
		   smon_client_server(a)->backend == SP_BACKEND_RADOS,
	   "HELLO: server %s, backend %u, %llu MiB free", smon_client_server(a)->name,
	   smon_client_server(a)->backend, (unsigned long long)(smon_client_server(a)->free >> 20));
	st = no_hello(prov, argv[1], argv[2]);
	ok(st == SP_ENOTCONN, "a request before HELLO: ENOTCONN (%d)", st);
	smon_client_vol_create(a, "probe-obj", MIB);
	smon_client_vol_stat(a, "probe-obj", &info);
	smon_client_vol_delete(a, "probe-obj");
	volume_ops(a, buf, info.obj_size);
	bad_requests(a, (uint8_t *)smon_client_raw_buf(a) + SP_HDR_LEN);
	ok(smon_client_vol_read(a, "probe-a", 0, buf, 4096) == 0,
	   "after every bad request the connection still serves");
	ok(smon_client_vol_read(b, "probe-a", 0, buf, 4096) == 0 && check(buf, 0, 4096, -1),
	   "and so does another connection");

	oversized(prov, argv[1], argv[2]);
	ok(smon_client_vol_read(b, "probe-a", 0, buf, 4096) == 0, "the server still serves");
	ok(smon_client_vol_delete(a, "probe-a") == 0, "DELETE probe-a");
	smon_client_disconnect(a);
	smon_client_disconnect(b);
	free(buf);
	return failed ? 1 : 0;
}
