/* blk_backend.h: asynchronous, request-based block storage behind virtio-blk. */
#ifndef LEGO_BLK_BACKEND_H
#define LEGO_BLK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define BLK_SECTOR_SIZE 512
#define BLK_ID_BYTES	20 /* VIRTIO_BLK_ID_BYTES */

enum blk_backend_req_type {
	BLK_REQ_READ,  /* fill iov from [sector * 512, + len) */
	BLK_REQ_WRITE, /* store iov at [sector * 512, + len) */
	BLK_REQ_FLUSH, /* make every completed write durable; iov unused */
};

/* One request. The submitter owns the memory of the request and of its iovec array
 * (here: guest RAM) until complete() is called. The range is already checked against
 * the backend's capacity and len is a multiple of BLK_SECTOR_SIZE. */
struct blk_backend_req {
	enum blk_backend_req_type type;
	uint64_t sector;
	const struct iovec *iov;
	int iovcnt;
	uint64_t len; /* sum of the iov lengths */
	/* Called exactly once with 0 or -errno: possibly on another thread, possibly
	 * before submit() returns. The request may be reused as soon as it is called. */
	void (*complete)(struct blk_backend_req *req, int err);
	void *opaque; /* for the submitter */
	/* The submitter can wait for this one (the last of a batch): a backend may serve it
	 * on the calling thread, saving two thread hand-offs. */
	bool may_wait;
	struct blk_backend_req *be_next; /* for the backend's own queue */
};

struct blk_backend;

struct blk_backend_ops {
	/* Start a request; never fails directly: errors arrive through complete(). May
	 * be called from several threads at once, with any number of requests in flight. */
	void (*submit)(struct blk_backend *be, struct blk_backend_req *req);
	/* Free the backend. No request may be in flight. */
	void (*close)(struct blk_backend *be);
};

struct blk_backend {
	const struct blk_backend_ops *ops;
	uint64_t sectors; /* capacity in BLK_SECTOR_SIZE units */
	bool read_only;
	char id[BLK_ID_BYTES]; /* device id string (VIRTIO_BLK_T_GET_ID), zero-padded */
};

static inline void blk_backend_submit(struct blk_backend *be, struct blk_backend_req *req)
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

/* Storage-server backend (blk_smon.c): volume vol on the lego-smon at host:port, served by
 * `channels` connections (one request in flight on each) on as many threads. A request
 * whose connection breaks is sent again on a new one until it succeeds or timeout_ms
 * passes since it first failed, then it completes with -EIO; a refused request (e.g.
 * beyond the volume's end) completes with -EIO at once. Where the server requires a
 * capability, holder's is shown (NULL: none, and the server refuses). Returns 0 or -errno
 * (logged). */
#define BLK_SMON_MAX_CHANNELS 64
struct cap_holder;
int blk_smon_open(const char *provider, const char *host, const char *port, const char *vol,
		  bool read_only, int channels, int timeout_ms, struct cap_holder *holder,
		  struct blk_backend **out);

#endif
