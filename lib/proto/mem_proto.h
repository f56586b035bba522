/* mem_proto.h: the memory protocol between lego-vmm (pager) and lego-mmon (memory server).
 *
 * Every message is a 32-byte header followed by exactly `len` payload bytes. All fields are
 * little-endian at fixed offsets; nothing is sent as a C struct. A reply carries the
 * request's op with MP_REPLY set, the request's id, and a status (MP_OK or an error; an
 * error reply's payload is a NUL-free text saying what was wrong, at most MP_ERRTEXT_MAX).
 *
 *   off size header                      ops (request payload -> reply payload)
 *   0   4    magic "LEGM" (0x4d47454c)     HELLO       vnode, name[32] -> server info, challenge
 *   4   2    version (2)                   OPEN        index, size, flags -> handle, epoch,..
 *   6   2    op                            CLOSE       handle, epoch -> (none)
 *   8   8    request id                    READ        handle, epoch, offset, npages -> data
 *   16  4    status (replies)              WRITE       handle, epoch, offset, npages, data
 *   20  4    payload length                STAT        (none) -> pool figures
 *   24  8    reserved, zero                FILL        index, source copy[, capability for
 *                                                      the source] -> (none)
 *                                          RSTAT       index -> the region's state
 *                                          RELEASE     handle, epoch, new owner -> (none)
 *                                          BITMAP      handle, epoch, pages -> stored bits
 *                                          AUTH        proof, capability -> its expiry, rights
 *
 * A vRegion may have copies on several servers (replicas; or a new home while a drain
 * moves it). A new copy is OPENed with JOIN: it takes the vNode's writes at once (its
 * pages written so far are remembered) but answers no READ until it is filled. FILL tells
 * it to copy the rest from a live copy on another server, server to server (BITMAP says
 * which pages that copy holds; pages the vNode wrote to the new copy meanwhile are never
 * overwritten by older data); RSTAT follows the fill. RELEASE frees a copy that moved:
 * every later request for it is answered EREDIRECT with the new owner's "NAME@HOST:PORT".
 * Every request acts only on regions of the vNode the connection's HELLO named.
 *
 * Capabilities (lib/cap/cap.h): a server that requires them (HELLO reply flag
 * MP_HELLO_AUTH) answers every request but HELLO and AUTH with EAUTH until the connection
 * presents a memory capability for the HELLO's vNode, signed by lego-controld's key and
 * proven by its holder over the challenge of the HELLO reply (AUTH). From then on each
 * request needs its right (CAP_MEM_*), may name only vRegion indexes the capability covers,
 * and may reserve no more than its quota; once it expires (EEXPIRED) the connection AUTHs
 * again with a renewed one. A FILL carries a capability for the source server whose holder
 * is this server (the key in its HELLO reply), which it presents there.
 */
#ifndef LEGO_MEM_PROTO_H
#define LEGO_MEM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cap/cap.h"
#include "wire.h"

#define MP_MAGIC	 0x4d47454cU /* "LEGM" */
#define MP_VERSION	 2
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
#define MP_OPEN_JOIN	 2U	      /* OPEN flag (with CREATE): a new copy, to be filled */
#define MP_ADDR_LEN	 64U	      /* "HOST:PORT" fields */
#define MP_OWNER_LEN	 (MP_NAME_LEN + 1 + MP_ADDR_LEN)    /* "NAME@HOST:PORT" */
#define MP_BITMAP_MAX	 (MP_MAX_PAGES * MP_PAGE_SIZE * 8U) /* pages per BITMAP */
#define MP_FIXED_LEN_MAX 64U /* longest fixed (non-data) part of any payload */

enum mem_proto_op {
	MP_HELLO = 1,
	MP_OPEN = 2,
	MP_CLOSE = 3,
	MP_READ = 4,
	MP_WRITE = 5,
	MP_STAT = 6,
	MP_FILL = 7,
	MP_RSTAT = 8,
	MP_RELEASE = 9,
	MP_BITMAP = 10,
	MP_AUTH = 11,
};

enum mem_proto_status {
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
	MP_EBUSY = 13,	  /* a copy that is not filled yet (no READ), or a fill under way */
	MP_EEXIST = 14,	  /* JOIN of a region this server already holds as a live copy */
	MP_EAUTH = 15,	  /* no valid capability: none presented, forged, or another's */
	MP_EEXPIRED = 16, /* the capability expired: AUTH with a renewed one */
	MP_EQUOTA = 17,	  /* the vNode's regions here would exceed its capability's quota */
	MP_STATUS_MAX = 17,
};

/* Request and reply bodies (host form). Offsets are in mem_proto.c. */
struct mem_proto_hello {
	uint64_t vnode;
	char name[MP_NAME_LEN + 1]; /* the client's name, for the server's log */
};
#define MP_HELLO_LEN (8 + MP_NAME_LEN)

struct mem_proto_hello_reply {
	uint32_t version;
	uint32_t page_size;
	uint32_t max_pages;
	uint32_t flags; /* MP_HELLO_RMA: READ data may be fetched with one-sided RMA;
			 * MP_HELLO_AUTH: requests need a capability (AUTH) */
	uint64_t pool_bytes;
	uint64_t pool_free;
	char name[MP_NAME_LEN + 1];
	uint8_t challenge[32];	/* what this connection's AUTH proof signs */
	uint8_t server_key[32]; /* this server's Ed25519 key: holder of its fill capabilities */
};
#define MP_HELLO_REPLY_LEN (32 + MP_NAME_LEN + 64)
#define MP_HELLO_RMA	   1U
#define MP_HELLO_AUTH	   2U

/* AUTH: the holder's proof (its signature over the challenge and the capability), then the
 * capability; the reply says what was granted. */
#define MP_AUTH_MIN_LEN (CAP_SIG_LEN + CAP_HEAD_LEN + 8 + CAP_SIG_LEN)
#define MP_AUTH_MAX_LEN (CAP_SIG_LEN + CAP_MAX_LEN)
struct mem_proto_auth {
	const uint8_t *proof; /* CAP_SIG_LEN bytes, in the message */
	const uint8_t *cap;   /* cap_len bytes, in the message */
	size_t cap_len;
};
struct mem_proto_auth_reply {
	uint64_t expires; /* Unix seconds */
	uint32_t rights;
};
#define MP_AUTH_REPLY_LEN 16

struct mem_proto_open {
	uint32_t index; /* the vNode's region number */
	uint32_t flags;
	uint64_t size;
};
#define MP_OPEN_LEN 16

struct mem_proto_open_reply {
	uint64_t handle;
	uint64_t epoch;
	uint64_t size;
	uint64_t rma_addr; /* with MP_HELLO_RMA: remote address of byte 0 and its key */
	uint64_t rma_key;
};
#define MP_OPEN_REPLY_LEN 40

struct mem_proto_close {
	uint64_t handle;
	uint64_t epoch;
};
#define MP_CLOSE_LEN 16

/* READ and WRITE: a run of npages pages starting at offset (page-aligned). WRITE's payload
 * continues with npages * 4096 data bytes; READ's reply payload is exactly those bytes. */
struct mem_proto_io {
	uint64_t handle;
	uint64_t epoch;
	uint64_t offset;
	uint32_t npages;
};
#define MP_IO_LEN 32

struct mem_proto_stat_reply {
	uint64_t pool_bytes;
	uint64_t reserved_bytes; /* sum of region sizes */
	uint64_t stored_bytes;	 /* pages ever written */
	uint64_t regions;
	uint64_t reads, writes, errors;
};
#define MP_STAT_REPLY_LEN 56

/* FILL: copy region `index` (a JOINing copy here) from the live copy (src_handle,
 * src_epoch) on the server at src_addr ("HOST:PORT"); answered when the copy started. A
 * capability for the source (whose holder is this server) may follow the fixed part. */
struct mem_proto_fill {
	uint32_t index;
	uint64_t src_handle, src_epoch;
	char src_addr[MP_ADDR_LEN + 1];
	const uint8_t *cap; /* cap_len bytes (0: none), in the message */
	size_t cap_len;
};
#define MP_FILL_LEN	(24 + MP_ADDR_LEN)
#define MP_FILL_MAX_LEN (MP_FILL_LEN + CAP_MAX_LEN)

/* RSTAT: what this server holds of region `index` of the connection's vNode. */
struct mem_proto_rstat {
	uint32_t index;
};
#define MP_RSTAT_LEN 8

enum mem_proto_region_state {
	MP_RS_LIVE = 1,	   /* readable: filled, or created as the first copy */
	MP_RS_JOINING = 2, /* takes writes, waits for FILL */
	MP_RS_FILLING = 3, /* being filled from another server */
	MP_RS_FAILED = 4,  /* the fill failed (error says why): only CLOSE is left */
	MP_RS_MAX = 4,
};

struct mem_proto_rstat_reply {
	uint32_t state; /* mp_region_state */
	uint64_t handle, epoch, size;
	uint64_t stored_pages;		/* pages held */
	uint64_t fill_done, fill_total; /* pages copied by the fill, of those to copy */
	char error[MP_ERRTEXT_MAX + 1];
};
#define MP_RSTAT_REPLY_LEN (56 + MP_ERRTEXT_MAX)

/* RELEASE: the region moved to new_owner ("NAME@HOST:PORT"); free it here. */
struct mem_proto_release {
	uint64_t handle, epoch;
	char new_owner[MP_OWNER_LEN + 1];
};
#define MP_RELEASE_LEN (16 + MP_OWNER_LEN)

/* BITMAP: which of npages pages from page `first` (both multiples of 64) are held; the
 * reply is npages / 8 bytes, bit i of byte j for page first + 8 * j + i. */
struct mem_proto_bitmap {
	uint64_t handle, epoch, first;
	uint32_t npages;
};
#define MP_BITMAP_LEN 32

/* Header: encode always succeeds; decode checks magic, version, reserved and that
 * len == the bytes that followed, returning MP_OK or the error status to answer with and
 * a message in err. */
void mem_proto_hdr_put(void *buf, const struct wire_hdr *h);
enum mem_proto_status mem_proto_hdr_get(const void *buf, size_t buflen, struct wire_hdr *h,
					char *err, size_t errlen);

/* Bodies: put returns the encoded length; get checks the exact length and every field's
 * range, returning MP_OK or a status with err set. */
size_t mem_proto_hello_put(void *p, const struct mem_proto_hello *m);
enum mem_proto_status mem_proto_hello_get(const void *p, size_t len, struct mem_proto_hello *m,
					  char *err, size_t errlen);
size_t mem_proto_hello_reply_put(void *p, const struct mem_proto_hello_reply *m);
enum mem_proto_status mem_proto_hello_reply_get(const void *p, size_t len,
						struct mem_proto_hello_reply *m);
size_t mem_proto_open_put(void *p, const struct mem_proto_open *m);
enum mem_proto_status mem_proto_open_get(const void *p, size_t len, struct mem_proto_open *m,
					 char *err, size_t errlen);
size_t mem_proto_open_reply_put(void *p, const struct mem_proto_open_reply *m);
enum mem_proto_status mem_proto_open_reply_get(const void *p, size_t len,
					       struct mem_proto_open_reply *m);
size_t mem_proto_close_put(void *p, const struct mem_proto_close *m);
enum mem_proto_status mem_proto_close_get(const void *p, size_t len, struct mem_proto_close *m,
					  char *err, size_t errlen);
size_t mem_proto_io_put(void *p, const struct mem_proto_io *m);
/* write: true for WRITE, whose payload must also carry the data. */
enum mem_proto_status mem_proto_io_get(const void *p, size_t len, int write, struct mem_proto_io *m,
				       char *err, size_t errlen);
size_t mem_proto_stat_reply_put(void *p, const struct mem_proto_stat_reply *m);
enum mem_proto_status mem_proto_stat_reply_get(const void *p, size_t len,
					       struct mem_proto_stat_reply *m);
/* With m->cap_len bytes of m->cap after the fixed part: returns the whole length. */
size_t mem_proto_fill_put(void *p, const struct mem_proto_fill *m);
enum mem_proto_status mem_proto_fill_get(const void *p, size_t len, struct mem_proto_fill *m,
					 char *err, size_t errlen);
size_t mem_proto_rstat_put(void *p, const struct mem_proto_rstat *m);
enum mem_proto_status mem_proto_rstat_get(const void *p, size_t len, struct mem_proto_rstat *m,
					  char *err, size_t errlen);
size_t mem_proto_rstat_reply_put(void *p, const struct mem_proto_rstat_reply *m);
enum mem_proto_status mem_proto_rstat_reply_get(const void *p, size_t len,
						struct mem_proto_rstat_reply *m);
size_t mem_proto_release_put(void *p, const struct mem_proto_release *m);
enum mem_proto_status mem_proto_release_get(const void *p, size_t len, struct mem_proto_release *m,
					    char *err, size_t errlen);
size_t mem_proto_bitmap_put(void *p, const struct mem_proto_bitmap *m);
enum mem_proto_status mem_proto_bitmap_get(const void *p, size_t len, struct mem_proto_bitmap *m,
					   char *err, size_t errlen);
size_t mem_proto_auth_put(void *p, const uint8_t proof_and_cap[], size_t len);
enum mem_proto_status mem_proto_auth_get(const void *p, size_t len, struct mem_proto_auth *m,
					 char *err, size_t errlen);
size_t mem_proto_auth_reply_put(void *p, const struct mem_proto_auth_reply *m);
enum mem_proto_status mem_proto_auth_reply_get(const void *p, size_t len,
					       struct mem_proto_auth_reply *m);
/* Is text a "HOST:PORT" (or, with owner, "NAME@HOST:PORT") these fields may carry? */
bool mem_proto_addr_ok(const char *text, bool owner);

const char *mem_proto_op_name(unsigned op);
const char *mem_proto_status_name(unsigned status);

#endif
