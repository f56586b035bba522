/* stor_proto.h: the storage protocol between storage clients (lego-vmm's virtio-blk
 * backend, legoctl) and lego-smon (storage server).
 *
 * Messages use the common 32-byte header of wire.h with magic "LEGS". Every request is
 * self-contained: it names its volume, so a server that restarts needs no session state to
 * resume serving. A reply carries the request's op with SP_REPLY set, its id and a status;
 * an error reply's payload is a NUL-free text saying what was wrong (<= SP_ERRTEXT_MAX).
 *
 *   op       request payload                          reply payload
 *   HELLO    client name[32]                          version, max_io, backend, flags (4 each),
 *                                                     capacity, free (8 each), server name[32],
 *                                                     challenge[32]
 *   AUTH     proof[64], capability                    expires(8), rights(4), 0(4)
 *   CREATE   volume[64], size(8)                      -
 *   DELETE   volume[64]                               -
 *   RESIZE   volume[64], size(8)                      -
 *   LIST     after[64] (list names > after; "" first)  count(4), more(4), count x
 *                                                     {volume[64], size(8)}
 *   STAT     volume[64]                               size(8), object size(8; 0: file)
 *   READ     volume[64], offset(8), len(4), flags(4)  len data bytes
 *   WRITE    volume[64], offset(8), len(4), flags(4),  -
 *            len data bytes
 *   FLUSH    volume[64]                               - (sent once every completed WRITE
 *                                                     to the volume is durable)
 * Sizes, offsets and lengths are multiples of SP_SECTOR; 0 < len <= SP_MAX_IO; flags 0.
 * Volume names: 1..64 of [A-Za-z0-9._-], not starting with '.' or '-'; NUL-padded.
 *
 * Capabilities (lib/cap/cap.h): a server that requires them (HELLO reply flag SP_HELLO_AUTH)
 * answers every request but HELLO and AUTH with EAUTH until the connection presents a
 * storage capability signed by lego-controld's key and proven by its holder over the HELLO
 * reply's challenge; then each request needs its right on the volume it names (LIST: the
 * right to list every volume). An expired capability is answered EEXPIRED until AUTH shows
 * a renewed one.
 */
#ifndef LEGO_STOR_PROTO_H
#define LEGO_STOR_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cap/cap.h"
#include "wire.h"

#define SP_MAGIC       0x5347454cU /* "LEGS" */
#define SP_VERSION     2
#define SP_HDR_LEN     WIRE_HDR_LEN
#define SP_SECTOR      512U
#define SP_MAX_IO      (1U << 20) /* data bytes per READ or WRITE */
#define SP_VOL_LEN     64	  /* volume name field */
#define SP_NAME_LEN    32	  /* client and server names */
#define SP_IO_LEN      80	  /* fixed part of READ and WRITE */
#define SP_LIST_ENTRY  (SP_VOL_LEN + 8)
#define SP_LIST_MAX    1024U /* entries per LIST reply */
#define SP_MAX_PAYLOAD (SP_IO_LEN + SP_MAX_IO)
#define SP_MAX_MSG     (SP_HDR_LEN + SP_MAX_PAYLOAD)
#define SP_VOL_MAX     (1ULL << 50) /* largest volume: 1 PiB */
#define SP_ERRTEXT_MAX 200
#define SP_REPLY       0x8000U

enum stor_proto_op {
	SP_HELLO = 1,
	SP_CREATE = 2,
	SP_DELETE = 3,
	SP_RESIZE = 4,
	SP_LIST = 5,
	SP_STAT = 6,
	SP_READ = 7,
	SP_WRITE = 8,
	SP_FLUSH = 9,
	SP_AUTH = 10,
	SP_OP_MAX = 10,
};

enum stor_proto_status {
	SP_OK = 0,
	SP_EPROTO = 1,	  /* bad magic, version, reserved bits or length */
	SP_EBADOP = 2,	  /* unknown op */
	SP_EINVAL = 3,	  /* a field's value is invalid */
	SP_E2BIG = 4,	  /* more than the protocol allows in one message */
	SP_ERANGE = 5,	  /* beyond the volume's end */
	SP_ENOENT = 6,	  /* no such volume */
	SP_EEXIST = 7,	  /* a volume of that name exists */
	SP_ENOSPC = 8,	  /* the backend is full */
	SP_EIO = 9,	  /* the backend failed */
	SP_ENOTCONN = 10, /* HELLO first */
	SP_EAUTH = 11,	  /* no valid capability: none presented, forged, or another's */
	SP_EEXPIRED = 12, /* the capability expired: AUTH with a renewed one */
	SP_EACCES = 13,	  /* the capability does not grant this on this volume */
	SP_STATUS_MAX = 13,
};

enum stor_proto_backend_kind {
	SP_BACKEND_FILE = 1,
	SP_BACKEND_RADOS = 2,
};

/* A request body (host form); which fields count depends on the op. */
struct stor_proto_req {
	char vol[SP_VOL_LEN + 1];     /* all but HELLO; LIST: the name to list after */
	char client[SP_NAME_LEN + 1]; /* HELLO */
	uint64_t size;		      /* CREATE, RESIZE */
	uint64_t offset;	      /* READ, WRITE */
	uint32_t len;		      /* READ, WRITE */
	const uint8_t *data;	      /* WRITE: len bytes (points into the message) */
	const uint8_t *proof, *cap;   /* AUTH: CAP_SIG_LEN and cap_len bytes, in the message */
	size_t cap_len;
};
#define SP_AUTH_MIN_LEN (CAP_SIG_LEN + CAP_HEAD_LEN + 8 + CAP_SIG_LEN)
#define SP_AUTH_MAX_LEN (CAP_SIG_LEN + CAP_MAX_LEN)

struct stor_proto_hello_reply {
	uint32_t version, max_io, backend, flags;
	uint64_t capacity, free;
	char name[SP_NAME_LEN + 1];
	uint8_t challenge[32]; /* what this connection's AUTH proof signs */
};
#define SP_HELLO_REPLY_LEN 96
#define SP_HELLO_AUTH	   1U /* flag: requests need a capability (AUTH) */

struct stor_proto_auth_reply {
	uint64_t expires;
	uint32_t rights;
};
#define SP_AUTH_REPLY_LEN 16

struct stor_proto_vol_info {
	char name[SP_VOL_LEN + 1];
	uint64_t size;
	uint64_t obj_size; /* RADOS: bytes per object; file: 0 */
};
#define SP_STAT_REPLY_LEN 16

/* The whole request: header and body, into buf (SP_MAX_MSG bytes); returns its length. For
 * WRITE, data is copied unless NULL (the caller then puts len bytes at buf + SP_HDR_LEN +
 * SP_IO_LEN itself). */
size_t stor_proto_req_put(void *buf, unsigned op, uint64_t id, const struct stor_proto_req *m);
/* Header check; SP_OK or the status to answer with, err set. */
enum stor_proto_status stor_proto_hdr_get(const void *buf, size_t buflen, struct wire_hdr *h,
					  char *err, size_t errlen);
/* Body check for op: exact length, every field's range. */
enum stor_proto_status stor_proto_req_get(unsigned op, const void *body, size_t len,
					  struct stor_proto_req *m, char *err, size_t errlen);

/* AUTH's payload: the proof and the capability (the caller built them) into the request. */
size_t stor_proto_auth_put(void *buf, uint64_t id, const uint8_t *proof_and_cap, size_t len);
size_t stor_proto_auth_reply_put(void *p, const struct stor_proto_auth_reply *m);
enum stor_proto_status stor_proto_auth_reply_get(const void *p, size_t len,
						 struct stor_proto_auth_reply *m);

/* Reply header for op/id with status and len payload bytes (already in place after it). */
size_t stor_proto_reply_put(void *buf, unsigned op, uint64_t id, enum stor_proto_status st,
			    size_t len);
size_t stor_proto_hello_reply_put(void *p, const struct stor_proto_hello_reply *m);
enum stor_proto_status stor_proto_hello_reply_get(const void *p, size_t len,
						  struct stor_proto_hello_reply *m);
size_t stor_proto_stat_reply_put(void *p, const struct stor_proto_vol_info *v);
enum stor_proto_status stor_proto_stat_reply_get(const void *p, size_t len,
						 struct stor_proto_vol_info *v);
/* LIST replies: header of count and more, then entries. */
void stor_proto_list_head_put(void *p, uint32_t count, bool more);
void stor_proto_list_entry_put(void *p, uint32_t i, const struct stor_proto_vol_info *v);
/* Checks the reply's length against count; SP_OK or SP_EPROTO. */
enum stor_proto_status stor_proto_list_get(const void *p, size_t len, uint32_t *count, bool *more);
enum stor_proto_status stor_proto_list_entry_get(const void *p, uint32_t i,
						 struct stor_proto_vol_info *v);

bool stor_proto_vol_name_ok(const char *name);
const char *stor_proto_op_name(unsigned op);
const char *stor_proto_status_name(unsigned status);
/* Between statuses and -errno values (for backends and clients). */
enum stor_proto_status stor_proto_status_from_errno(int err);
int stor_proto_status_errno(enum stor_proto_status st);

#endif
