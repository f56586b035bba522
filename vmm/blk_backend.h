/* blk_backend.h: asynchronous, request-based block storage behind virtio-blk. */
#ifndef LEGO_BLK_BACKEND_H
#define LEGO_BLK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define BLK_SECTOR_SIZE 512
#define BLK_ID_BYTES	20 /* VIRTIO_BLK_ID_BYTES */

enum blk_req_type {
	BLK_REQ_READ,  /* fill iov from [sector * 512, + len) */
	BLK_REQ_WRITE, /* store iov at [sector * 512, + len) */
	BLK_REQ_FLUSH, /* make every completed write durable; iov unused */
};

/* One request. The submitter owns the memory of the request and of its iovec array
 * (here: guest RAM) until complete() is called. The range is already checked against
 * the backend's capacity and len is a multiple of BLK_SECTOR_SIZE. */
struct blk_req {
	enum blk_req_type type;
	uint64_t sector;
	const struct iovec *iov;
	int iovcnt;
	uint64_t len; /* sum of the iov lengths */
	/* Called exactly once with 0 or -errno: possibly on another thread, possibly
	 * before submit() returns. The request may be reused as soon as it is called. */
	void (*complete)(struct blk_req *req, int err);
	void *opaque; /* for the submitter */
};

struct blk_backend;

struct blk_backend_ops {
	/* Start a request; never fails directly: errors arrive through complete(). May
	 * be called from several threads at once, with any number of requests in flight. */
	void (*submit)(struct blk_backend *be, struct blk_req *req);
	/* Free the backend. No request may be in flight. */
	void (*close)(struct blk_backend *be);
};

struct blk_backend {
	const struct blk_backend_ops *ops;
	uint64_t sectors; /* capacity in BLK_SECTOR_SIZE units */
	bool read_only;
	char id[BLK_ID_BYTES]; /* device id string (VIRTIO_BLK_T_GET_ID), zero-padded */
};

static inline void blk_backend_submit(struct blk_backend *be, struct blk_req *req)
{
	be->ops->submit(be, req);
}

static inline void blk_backend_close(struct blk_backend *be)
{
	if (be)
		be->ops->close(be);
}

/* Local file or block device backend (blk_file.c): opens path (read-write, or
 * read-only), whose size must be a multiple of 512 bytes; id "lego-<basename>".
 * I/O completes synchronously inside submit(). Returns 0 or -errno (logged). */
int blk_file_open(const char *path, bool read_only, struct blk_backend **out);

#endif
