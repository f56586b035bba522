/* mem_proto.h: the memory protocol between lego-vmm (pager) and lego-mmon (memory server).
 *
 * Every message is a 32-byte header followed by exactly `len` payload bytes. All fields are
 * little-endian at fixed offsets; nothing is sent as a C struct. A reply carries the
 * request's op with MP_REPLY set, the request's id, and a status (MP_OK or an error; an
 * error reply's payload is a NUL-free text saying what was wrong, at most MP_ERRTEXT_MAX).
 *
 *   off size header                      ops (request payload -> reply payload)
 *   0   4    magic "LEGM" (0x4d47454c)     HELLO       vnode, name[32] -> server info
 *   4   2    version (1)                   OPEN        index, size, flags -> handle, epoch,..
 *   6   2    op                            CLOSE       handle, epoch -> (none)
 *   8   8    request id                    READ        handle, epoch, offset, npages -> data
 *   16  4    status (replies)              WRITE       handle, epoch, offset, npages, data
 *   20  4    payload length                STAT        (none) -> pool figures
 *   24  8    reserved, zero
 */
#ifndef LEGO_MEM_PROTO_H
#define LEGO_MEM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define MP_MAGIC	 0x4d47454cU /* "LEGM" */
#define MP_VERSION	 1
#define MP_HDR_LEN	 32
#define MP_PAGE_SIZE	 4096U
#define MP_MAX_PAGES	 64U /* per READ/WRITE: 256 KiB */
#define MP_MAX_PAYLOAD	 (64U + MP_MAX_PAGES * MP_PAGE_SIZE)
#define MP_MAX_MSG	 (MP_HDR_LEN + MP_MAX_PAYLOAD)
#define MP_NAME_LEN	 32
#define MP_ERRTEXT_MAX	 200
#define MP_REPLY	 0x8000U
#define MP_REGION_MAX	 (1ULL << 40) /* 1 TiB per vRegion */
#define MP_OPEN_CREATE	 1U	      /* OPEN flag: create the region if it does not exist */
#define MP_FIXED_LEN_MAX 64U	      /* longest fixed (non-data) part of any payload */

enum mp_op {
	MP_HELLO = 1,
	MP_OPEN = 2,
	MP_CLOSE = 3,
	MP_READ = 4,
	MP_WRITE = 5,
	MP_STAT = 6,
};

enum mp_status {
	MP_OK = 0,
	MP_EPROTO = 1,	  /* bad magic, version, reserved bits or length */
	MP_EBADOP = 2,	  /* unknown op */
	MP_EINVAL = 3,	  /* a field's value is invalid */
	MP_E2BIG = 4,	  /* more than the protocol allows in one message */
	MP_ERANGE = 5,	  /* outside the region */
	MP_EACCES = 6,	  /* the region belongs to another vNode */
	MP_ENOENT = 7,	  /* no such region */
	MP_ESTALE = 8,	  /* epoch mismatch: the caller's view of the region is old */
	MP_EREDIRECT = 9, /* this server no longer holds the region; ask the GMM */
	MP_ENOSPC = 10,	  /* the pool cannot hold the region */
	MP_ENOTCONN = 11, /* HELLO first */
	MP_EIO = 12,	  /* the server failed */
	MP_STATUS_MAX = 12,
};

/* Request and reply bodies (host form). Offsets are in mem_proto.c. */
struct mp_hello {
	uint64_t vnode;
	char name[MP_NAME_LEN + 1]; /* the client's name, for the server's log */
};
#define MP_HELLO_LEN (8 + MP_NAME_LEN)

struct mp_hello_reply {
	uint32_t version;
	uint32_t page_size;
	uint32_t max_pages;
	uint32_t flags; /* MP_HELLO_RMA: READ data may be fetched with one-sided RMA */
	uint64_t pool_bytes;
	uint64_t pool_free;
	char name[MP_NAME_LEN + 1];
};
#define MP_HELLO_REPLY_LEN (32 + MP_NAME_LEN)
#define MP_HELLO_RMA	   1U

struct mp_open {
	uint32_t index; /* the vNode's region number */
	uint32_t flags;
	uint64_t size;
};
#define MP_OPEN_LEN 16

struct mp_open_reply {
	uint64_t handle;
	uint64_t epoch;
	uint64_t size;
	uint64_t rma_addr; /* with MP_HELLO_RMA: remote address of byte 0 and its key */
	uint64_t rma_key;
};
#define MP_OPEN_REPLY_LEN 40

struct mp_close {
	uint64_t handle;
	uint64_t epoch;
};
#define MP_CLOSE_LEN 16

/* READ and WRITE: a run of npages pages starting at offset (page-aligned). WRITE's payload
 * continues with npages * 4096 data bytes; READ's reply payload is exactly those bytes. */
struct mp_io {
	uint64_t handle;
	uint64_t epoch;
	uint64_t offset;
	uint32_t npages;
};
#define MP_IO_LEN 32

struct mp_stat_reply {
	uint64_t pool_bytes;
	uint64_t reserved_bytes; /* sum of region sizes */
	uint64_t stored_bytes;	 /* pages ever written */
	uint64_t regions;
	uint64_t reads, writes, errors;
};
#define MP_STAT_REPLY_LEN 56

/* Header: encode always succeeds; decode checks magic, version, reserved and that
 * len == the bytes that followed, returning MP_OK or the error status to answer with and
 * a message in err. */
void mp_hdr_put(void *buf, const struct wire_hdr *h);
enum mp_status mp_hdr_get(const void *buf, size_t buflen, struct wire_hdr *h, const char **err);

/* Bodies: put returns the encoded length; get checks the exact length and every field's
 * range, returning MP_OK or a status with err set. */
size_t mp_hello_put(void *p, const struct mp_hello *m);
enum mp_status mp_hello_get(const void *p, size_t len, struct mp_hello *m, const char **err);
size_t mp_hello_reply_put(void *p, const struct mp_hello_reply *m);
enum mp_status mp_hello_reply_get(const void *p, size_t len, struct mp_hello_reply *m);
size_t mp_open_put(void *p, const struct mp_open *m);
enum mp_status mp_open_get(const void *p, size_t len, struct mp_open *m, const char **err);
size_t mp_open_reply_put(void *p, const struct mp_open_reply *m);
enum mp_status mp_open_reply_get(const void *p, size_t len, struct mp_open_reply *m);
size_t mp_close_put(void *p, const struct mp_close *m);
enum mp_status mp_close_get(const void *p, size_t len, struct mp_close *m, const char **err);
size_t mp_io_put(void *p, const struct mp_io *m);
/* write: true for WRITE, whose payload must also carry the data. */
enum mp_status mp_io_get(const void *p, size_t len, int write, struct mp_io *m, const char **err);
size_t mp_stat_reply_put(void *p, const struct mp_stat_reply *m);
enum mp_status mp_stat_reply_get(const void *p, size_t len, struct mp_stat_reply *m);

const char *mp_op_name(unsigned op);
const char *mp_status_name(unsigned status);

#endif
