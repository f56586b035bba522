/* smon_file.c: lego-smon's file backend: one sparse file per volume in a directory.
 *
 * Data goes through O_DIRECT by default: the guest caches what it reads, so a second cache
 * here would only cost memory and make latency depend on what happens to be cached. Where
 * the file system refuses O_DIRECT (tmpfs) or a request is not aligned for the device, the
 * page cache is used instead; a flush is fdatasync either way. */
#include <dirent.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/log.h"
#include "smon_store.h"

struct file_be {
	int dirfd;
	bool direct;
};

static int dirfd_of(struct smon_store *st)
{
	return ((struct file_be *)st->be)->dirfd;
}

static int file_load(struct smon_store *st, const char *name, struct smon_store_vol **out)
{
	struct smon_store_vol *v;
	struct stat s;
	int fd = openat(dirfd_of(st), name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return errno == ELOOP ? -ENOENT : -errno;
	if (fstat(fd, &s) || !S_ISREG(s.st_mode) || s.st_size % SP_SECTOR) {
		log_warn("file backend: '%s' is not a volume (not a regular file of whole "
			 "sectors): ignored",
			 name);
		close(fd);
		return -ENOENT;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		close(fd);
		return -ENOMEM;
	}
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->size = (uint64_t)s.st_size;
	v->fd = fd;
	v->dfd = -1;
	if (((struct file_be *)st->be)->direct) {
		v->dfd = openat(dirfd_of(st), name, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_DIRECT);
		if (v->dfd < 0)
			log_info("file backend: '%s': no O_DIRECT here (%s): using the page cache",
				 name, strerror(errno));
	}
	*out = v;
	return 0;
}

static void file_unload(struct smon_store *st, struct smon_store_vol *v)
{
	(void)st;
	close(v->fd);
	if (v->dfd >= 0)
		close(v->dfd);
	free(v);
}

static int file_create(struct smon_store *st, const char *name, uint64_t size)
{
	int fd = openat(dirfd_of(st), name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) || fsync(fd))
		rc = -errno;
	close(fd);
	if (rc) {
		unlinkat(dirfd_of(st), name, 0);
		return rc;
	}
	/* The new name must survive a crash too. */
	return fsync(dirfd_of(st)) ? -errno : 0;
}

static int file_destroy(struct smon_store *st, struct smon_store_vol *v)
{
	if (unlinkat(dirfd_of(st), v->name, 0))
		return -errno;
	return fsync(dirfd_of(st)) ? -errno : 0;
}

static int file_resize(struct smon_store *st, struct smon_store_vol *v, uint64_t size)
{
	(void)st;
	if (ftruncate(v->fd, (off_t)size) || fsync(v->fd))
		return -errno;
	return 0;
}

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct stor_proto_vol_info *)a)->name,
		      ((const struct stor_proto_vol_info *)b)->name);
}

static int file_list(struct smon_store *st, const char *after, struct stor_proto_vol_info *out,
		     uint32_t max, uint32_t *n, bool *more)
{
	struct stor_proto_vol_info *all = NULL;
	size_t nall = 0, cap = 0;
	struct dirent *d;
	int fd = dup(dirfd_of(st));
	DIR *dir;

	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	rewinddir(dir);
	while ((d = readdir(dir))) {
		struct stat s;

		if (!stor_proto_vol_name_ok(d->d_name) ||
		    (after[0] && strcmp(d->d_name, after) <= 0))
			continue;
		if (fstatat(dirfd_of(st), d->d_name, &s, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(s.st_mode) || s.st_size % SP_SECTOR)
			continue;
		if (nall == cap) {
			struct stor_proto_vol_info *na;

			cap = cap ? 2 * cap : 64;
			na = realloc(all, cap * sizeof(*all));
			if (!na) {
				free(all);
				closedir(dir);
				return -ENOMEM;
			}
			all = na;
		}
		memset(&all[nall], 0, sizeof(all[nall]));
		memcpy(all[nall].name, d->d_name, strlen(d->d_name)); /* checked: <= 64 */
		all[nall].size = (uint64_t)s.st_size;
		nall++;
	}
	closedir(dir);
	if (nall)
		qsort(all, nall, sizeof(*all), cmp_info);
	*n = nall < max ? (uint32_t)nall : max;
	*more = nall > max;
	if (*n)
		memcpy(out, all, *n * sizeof(*all));
	free(all);
	return 0;
}

/* The direct descriptor when it can take this request; EINVAL from it (an alignment the
 * device wants and we lack) sends the request through the page cache instead. */
static int pick_fd(const struct smon_store_vol *v, const void *buf, uint64_t off, uint32_t len)
{
	if (v->dfd < 0 || ((uintptr_t)buf | off | len) % 4096)
		return v->fd;
	return v->dfd;
}

/* The whole range, resuming after short transfers and EINTR. */
static int file_rw(struct smon_store_vol *v, bool write, uint64_t off, uint8_t *p, uint32_t len)
{
	int fd = pick_fd(v, p, off, len);

	while (len) {
		ssize_t n = write ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && fd != v->fd) {
			fd = v->fd;
			continue;
		}
		if (n < 0)
			return -errno;
		if (n == 0 && !write) { /* the file was cut behind our back: the rest reads 0 */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (uint32_t)n;
	}
	return 0;
}

static int file_read(struct smon_store *st, struct smon_store_vol *v, uint64_t off, void *buf,
		     uint32_t len)
{
	(void)st;
	return file_rw(v, false, off, buf, len);
}

static int file_write(struct smon_store *st, struct smon_store_vol *v, uint64_t off,
		      const void *buf, uint32_t len)
{
	(void)st;
	return file_rw(v, true, off, (uint8_t *)buf, len);
}

static int file_flush(struct smon_store *st, struct smon_store_vol *v)
{
	(void)st;
	while (fdatasync(v->fd))
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int file_space(struct smon_store *st, uint64_t *capacity, uint64_t *free_bytes)
{
	struct statvfs s;

	if (fstatvfs(dirfd_of(st), &s))
		return -errno;
	*capacity = (uint64_t)s.f_blocks * s.f_frsize;
	*free_bytes = (uint64_t)s.f_bavail * s.f_frsize;
	return 0;
}

static void file_close(struct smon_store *st)
{
	struct file_be *f = st->be;

	close(f->dirfd);
	free(f);
	st->be = NULL;
}

static const struct smon_store_backend file_ops = {
	.kind = "file",
	.load = file_load,
	.unload = file_unload,
	.create = file_create,
	.destroy = file_destroy,
	.resize = file_resize,
	.list = file_list,
	.read = file_read,
	.write = file_write,
	.flush = file_flush,
	.space = file_space,
	.close = file_close,
};

int smon_file_open(struct smon_store *st, const char *dir, bool direct)
{
	struct file_be *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return -ENOMEM;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		rc = -errno;
		log_error("file backend: cannot create directory '%s': %s", dir, strerror(-rc));
		free(f);
		return rc;
	}
	f->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0) {
		rc = -errno;
		log_error("file backend: cannot open directory '%s': %s", dir, strerror(-rc));
		free(f);
		return rc;
	}
	f->direct = direct;
	st->ops = &file_ops;
	st->kind = SP_BACKEND_FILE;
	st->be = f;
	st->aligned_io = direct;
	return 0;
}
