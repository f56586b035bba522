/* test_blk_file.c: the local-file block backend: open checks, I/O, partial transfers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm/block/blk_backend.h"
#include "lib/log.h"

struct done {
	int calls;
	int err;
};

static void on_complete(struct blk_backend_req *req, int err)
{
	struct done *d = req->opaque;

	d->calls++;
	d->err = err;
}

/* Submit and return the completion's error; the file backend completes inside submit. */
static int run(struct blk_backend *be, enum blk_backend_req_type type, uint64_t sector,
	       const struct iovec *iov, int iovcnt)
{
	struct done d = {0};
	struct blk_backend_req req = {.type = type, .sector = sector, .iov = iov, .iovcnt = iovcnt};

	for (int i = 0; i < iovcnt; i++)
		req.len += iov[i].iov_len;
	req.complete = on_complete;
	req.opaque = &d;
	blk_backend_submit(be, &req);
	assert_int_equal(d.calls, 1);
	return d.err;
}

static char *temp_file(size_t size, uint8_t fill)
{
	char *path = strdup("/tmp/lego-blkfile-XXXXXX");
	uint8_t *buf = malloc(size ? size : 1);
	int fd;

	assert_non_null(path);
	assert_non_null(buf);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	memset(buf, fill, size);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	close(fd);
	free(buf);
	return path;
}

static void read_file(const char *path, off_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

/* Run blk_file_open with stderr captured; returns its result and the log text. */
static int open_logged(const char *path, bool ro, struct blk_backend **be, char *log, size_t n)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO), rc;
	size_t got;

	assert_non_null(f);
	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	rc = blk_file_open(path, ro, be);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	got = fread(log, 1, n - 1, f);
	log[got] = 0;
	fclose(f);
	return rc;
}

static void test_open_missing(void **state)
{
	struct blk_backend *be = (void *)1;
	char log[1024];

	(void)state;
	assert_int_equal(open_logged("/tmp/lego-no-such-disk.img", false, &be, log, sizeof(log)),
			 -ENOENT);
	assert_null(be);
	assert_non_null(strstr(log, "/tmp/lego-no-such-disk.img"));
	assert_non_null(strstr(log, "No such file"));
	assert_int_equal(open_logged("/tmp/lego-no-such-disk.img", true, &be, log, sizeof(log)),
			 -ENOENT);
}

static void test_open_bad_size(void **state)
{
	char *path = temp_file(1000, 0);
	struct blk_backend *be;
	char log[1024];

	(void)state;
	assert_int_equal(open_logged(path, false, &be, log, sizeof(log)), -EINVAL);
	assert_null(be);
	assert_non_null(strstr(log, path));
	assert_non_null(strstr(log, "1000 bytes"));
	unlink(path);
	free(path);
}

static void test_open_not_a_file(void **state)
{
	struct blk_backend *be;
	char log[1024];

	(void)state;
	assert_int_equal(open_logged("/tmp", false, &be, log, sizeof(log)), -EISDIR);
	assert_non_null(strstr(log, "/tmp"));
	assert_int_equal(open_logged("/tmp", true, &be, log, sizeof(log)), -EINVAL);
	assert_non_null(strstr(log, "/tmp is neither"));
	assert_int_equal(open_logged("/dev/null", false, &be, log, sizeof(log)), -EINVAL);
	assert_non_null(strstr(log, "neither a regular file nor a block device"));
}

static void test_open_sizes_and_id(void **state)
{
	char *path = temp_file(512 * 3, 0);
	char *empty = temp_file(0, 0);
	struct blk_backend *be;
	char want[BLK_ID_BYTES] = {0};

	(void)state;
	assert_int_equal(blk_file_open(path, false, &be), 0);
	assert_int_equal(be->sectors, 3);
	assert_false(be->read_only);
	/* "lego-" + the basename, cut to 20 bytes (no terminator needed) */
	memcpy(want, "lego-", 5);
	{
		const char *base = strrchr(path, '/') + 1;
		size_t n = strlen(base) < BLK_ID_BYTES - 5 ? strlen(base) : BLK_ID_BYTES - 5;

		memcpy(want + 5, base, n);
	}
	assert_memory_equal(be->id, want, BLK_ID_BYTES);
	blk_backend_close(be);
	assert_int_equal(blk_file_open(empty, true, &be), 0);
	assert_int_equal(be->sectors, 0);
	assert_true(be->read_only);
	blk_backend_close(be);
	blk_backend_close(NULL);
	unlink(path);
	unlink(empty);
	free(path);
	free(empty);
}

static void test_id_truncated(void **state)
{
	const char *path = "/tmp/0123456789abcdefghij.img";
	struct blk_backend *be;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 512), 0);
	close(fd);
	assert_int_equal(blk_file_open(path, true, &be), 0);
	assert_memory_equal(be->id, "lego-0123456789abcde", BLK_ID_BYTES);
	/* The backend around the id is intact: I/O still works. */
	{
		uint8_t buf[512];
		struct iovec v = {buf, sizeof(buf)};

		assert_int_equal(run(be, BLK_REQ_READ, 0, &v, 1), 0);
	}
	blk_backend_close(be);
	unlink(path);
}

static void test_read_write_flush(void **state)
{
	char *path = temp_file(512 * 8, 0x11);
	struct blk_backend *be;
	uint8_t a[100], b[412], c[1024], back[1536];
	struct iovec wv[] = {{a, sizeof(a)}, {NULL, 0}, {b, sizeof(b)}, {c, sizeof(c)}};
	struct iovec rv[] = {{back, 7}, {back + 7, 0}, {back + 7, sizeof(back) - 7}, {back, 0}};

	(void)state;
	memset(a, 0xa1, sizeof(a));
	memset(b, 0xb2, sizeof(b));
	memset(c, 0xc3, sizeof(c));
	assert_int_equal(blk_file_open(path, false, &be), 0);
	assert_int_equal(run(be, BLK_REQ_WRITE, 2, wv, 4), 0);
	assert_int_equal(run(be, BLK_REQ_FLUSH, 0, NULL, 0), 0);
	read_file(path, 1024, back, sizeof(back));
	assert_memory_equal(back, a, sizeof(a));
	assert_memory_equal(back + 100, b, sizeof(b));
	assert_memory_equal(back + 512, c, sizeof(c));
	read_file(path, 1020, back, 4);
	assert_int_equal(back[0], 0x11);
	memset(back, 0, sizeof(back));
	assert_int_equal(run(be, BLK_REQ_READ, 2, rv, 4), 0); /* trailing empty iovec */
	assert_memory_equal(back, a, sizeof(a));
	assert_memory_equal(back + 512, c, sizeof(c));
	assert_int_equal(run(be, (enum blk_backend_req_type)42, 0, NULL, 0), -EOPNOTSUPP);
	blk_backend_close(be);
	unlink(path);
	free(path);
}

static void test_read_only(void **state)
{
	char *path = temp_file(512 * 2, 0x22);
	struct blk_backend *be;
	uint8_t buf[512];
	struct iovec v = {buf, sizeof(buf)};

	(void)state;
	memset(buf, 0x99, sizeof(buf));
	assert_int_equal(blk_file_open(path, true, &be), 0);
	assert_int_equal(run(be, BLK_REQ_WRITE, 0, &v, 1), -EROFS);
	read_file(path, 0, buf, sizeof(buf));
	assert_int_equal(buf[0], 0x22);
	assert_int_equal(buf[511], 0x22);
	assert_int_equal(run(be, BLK_REQ_READ, 1, &v, 1), 0);
	assert_int_equal(run(be, BLK_REQ_FLUSH, 0, NULL, 0), 0);
	blk_backend_close(be);
	unlink(path);
	free(path);
}

/* More iovecs than one preadv/pwritev call takes. */
static void test_many_iovecs(void **state)
{
	const int n = IOV_MAX + 100;
	char *path = temp_file(512ULL * n, 0);
	struct blk_backend *be;
	struct iovec *v = calloc((size_t)n, sizeof(*v));
	uint8_t *buf = malloc(512ULL * n), *back = malloc(512ULL * n);

	(void)state;
	assert_non_null(v);
	assert_non_null(buf);
	assert_non_null(back);
	for (int i = 0; i < n; i++) {
		memset(buf + 512ULL * i, (uint8_t)(i * 13 + 1), 512);
		v[i] = (struct iovec){buf + 512ULL * i, 512};
	}
	assert_int_equal(blk_file_open(path, false, &be), 0);
	assert_int_equal(run(be, BLK_REQ_WRITE, 0, v, n), 0);
	read_file(path, 0, back, 512ULL * n);
	assert_memory_equal(back, buf, 512ULL * n);
	memset(buf, 0, 512ULL * n);
	assert_int_equal(run(be, BLK_REQ_READ, 0, v, n), 0);
	assert_memory_equal(back, buf, 512ULL * n);
	blk_backend_close(be);
	unlink(path);
	free(path);
	free(v);
	free(buf);
	free(back);
}

/* A read that reaches past end of file returns short, resumes mid-iovec, then fails. */
static void test_short_read(void **state)
{
	char *path = temp_file(4096, 0x33);
	struct blk_backend *be;
	uint8_t x[768], y[768];
	struct iovec v[] = {{x, sizeof(x)}, {y, sizeof(y)}};

	(void)state;
	assert_int_equal(blk_file_open(path, false, &be), 0);
	assert_int_equal(truncate(path, 1024), 0);
	memset(x, 0, sizeof(x));
	memset(y, 0, sizeof(y));
	assert_int_equal(run(be, BLK_REQ_READ, 0, v, 2), -EIO);
	assert_int_equal(x[767], 0x33);
	assert_int_equal(y[255], 0x33);
	assert_int_equal(y[256], 0);
	blk_backend_close(be);
	unlink(path);
	free(path);
}

/* A write cut short by RLIMIT_FSIZE resumes, then reports the error. */
static void test_short_write(void **state)
{
	char *path = temp_file(4096, 0);
	struct blk_backend *be;
	uint8_t x[768], y[768], back[1536];
	struct iovec v[] = {{x, sizeof(x)}, {y, sizeof(y)}};
	struct rlimit old, lim;
	void (*prev)(int);

	(void)state;
	memset(x, 0x44, sizeof(x));
	memset(y, 0x55, sizeof(y));
	assert_int_equal(blk_file_open(path, false, &be), 0);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 1024;
	prev = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(run(be, BLK_REQ_WRITE, 0, v, 2), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);
	read_file(path, 0, back, 1024);
	assert_memory_equal(back, x, sizeof(x));
	assert_memory_equal(back + 768, y, 256);
	blk_backend_close(be);
	unlink(path);
	free(path);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_missing),	cmocka_unit_test(test_open_bad_size),
		cmocka_unit_test(test_open_not_a_file), cmocka_unit_test(test_open_sizes_and_id),
		cmocka_unit_test(test_id_truncated),	cmocka_unit_test(test_read_write_flush),
		cmocka_unit_test(test_read_only),	cmocka_unit_test(test_many_iovecs),
		cmocka_unit_test(test_short_read),	cmocka_unit_test(test_short_write),
	};

	(void)argc;
	log_init(argv[0]);
	if (!getenv("LEGO_LOG"))
		log_set_level(LOG_WARN);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("blk_file", tests, NULL, NULL);
}
