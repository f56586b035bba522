/* blk_file.c: block backend on a local file or block device (preadv/pwritev/fdatasync). */
#include "blk_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"

struct blk_file {
	struct blk_backend be;
	int fd;
};

/* Transfer the whole iovec array at off, resuming after short transfers and EINTR. */
static int file_rw(int fd, bool write, const struct iovec *iov, int cnt, off_t off)
{
	int i = 0;
	size_t skip = 0; /* bytes of iov[i] already done */

	for (;;) {
		ssize_t n;

		while (i < cnt && skip == iov[i].iov_len) {
			i++;
			skip = 0;
		}
		if (i == cnt)
			return 0;
		if (skip) {
			char *p = (char *)iov[i].iov_base + skip;
			size_t len = iov[i].iov_len - skip;

			n = write ? pwrite(fd, p, len, off) : pread(fd, p, len, off);
		} else {
			int c = cnt - i < IOV_MAX ? cnt - i : IOV_MAX;

			n = write ? pwritev(fd, iov + i, c, off) : preadv(fd, iov + i, c, off);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* end of file: cannot happen for a checked range */
		off += n;
		while (n > 0) {
			size_t left = iov[i].iov_len - skip;

			if ((size_t)n < left) {
				skip += (size_t)n;
				break;
			}
			n -= (ssize_t)left;
			i++;
			skip = 0;
		}
	}
}

static void blk_file_submit(struct blk_backend *be, struct blk_backend_req *req)
{
	struct blk_file *f = (struct blk_file *)be;
	int err = 0;

	switch (req->type) {
	case BLK_REQ_READ:
		err = file_rw(f->fd, false, req->iov, req->iovcnt,
			      (off_t)(req->sector * BLK_SECTOR_SIZE));
		break;
	case BLK_REQ_WRITE:
		if (be->read_only)
			err = -EROFS;
		else
			err = file_rw(f->fd, true, req->iov, req->iovcnt,
				      (off_t)(req->sector * BLK_SECTOR_SIZE));
		break;
	case BLK_REQ_FLUSH:
		do
			err = fdatasync(f->fd) ? -errno : 0;
		while (err == -EINTR);
		break;
	default:
		err = -EOPNOTSUPP;
		break;
	}
	req->complete(req, err);
}

static void blk_file_close(struct blk_backend *be)
{
	struct blk_file *f = (struct blk_file *)be;

	close(f->fd);
	free(f);
}

static const struct blk_backend_ops blk_file_ops = {
	.submit = blk_file_submit,
	.close = blk_file_close,
};

static void make_id(char id[BLK_ID_BYTES], const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t n = strlen(base);

	memset(id, 0, BLK_ID_BYTES);
	memcpy(id, "lego-", 5);
	if (n > BLK_ID_BYTES - 5)
		n = BLK_ID_BYTES - 5;
	memcpy(id + 5, base, n);
}

int blk_file_open(const char *path, bool read_only, struct blk_backend **out)
{
	struct blk_file *f;
	struct stat st;
	uint64_t size;
	int fd, err;

	*out = NULL;
	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_error("blk-file: cannot open disk image %s%s: %s", path,
			  read_only ? " read-only" : " read-write", strerror(-err));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		log_error("blk-file: cannot stat disk image %s: %s", path, strerror(-err));
		goto fail;
	}
	if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size)) {
			err = -errno;
			log_error("blk-file: cannot get the size of block device %s: %s", path,
				  strerror(-err));
			goto fail;
		}
	} else {
		err = -EINVAL;
		log_error("blk-file: disk image %s is neither a regular file nor a block device",
			  path);
		goto fail;
	}
	if (size % BLK_SECTOR_SIZE) {
		err = -EINVAL;
		log_error("blk-file: disk image %s is %llu bytes, not a multiple of %d", path,
			  (unsigned long long)size, BLK_SECTOR_SIZE);
		goto fail;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		err = -ENOMEM;
		log_error("blk-file: out of memory opening %s", path);
		goto fail;
	}
	f->fd = fd;
	f->be.ops = &blk_file_ops;
	f->be.sectors = size / BLK_SECTOR_SIZE;
	f->be.read_only = read_only;
	make_id(f->be.id, path);
	log_info("blk-file: %s: %llu sectors%s", path, (unsigned long long)f->be.sectors,
		 read_only ? ", read-only" : "");
	*out = &f->be;
	return 0;
fail:
	close(fd);
	return err;
}
