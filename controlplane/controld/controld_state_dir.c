/* controld_state_dir.c: the state directory (the default store): each entry a file
 * (mode 0600) replaced through a temporary file, fsync and rename; SUB/ entries in
 * subdirectories (0700) created on first use; the directory locked against a second
 * lego-controld. */
#include "controld_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controld_single.h"
#include "lib/fdio.h"
#include "lib/log.h"

static char dir[4096];

static int mkdir_p(const char *path)
{
	if (mkdir(path, 0700) && errno != EEXIST) {
		log_error("state: cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* key's directory (d) and file name within it (*name); -1 if d cannot be created. */
static int split(const char *key, char *d, size_t dlen, const char **name)
{
	const char *slash = strrchr(key, '/');

	*name = slash ? slash + 1 : key;
	if (!slash) {
		snprintf(d, dlen, "%s", dir);
		return 0;
	}
	snprintf(d, dlen, "%s/%.*s", dir, (int)(slash - key), key);
	return mkdir_p(d);
}

/* Replace the file atomically and durably. */
static int dir_put(const char *key, const void *data, size_t len)
{
	char d[4400], path[4700], tmp[4700];
	const char *name;
	int fd, rc = -1;

	if (split(key, d, sizeof(d), &name))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", d, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", d, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (fdio_write_all(fd, data, len)) {
		close(fd);
		goto out;
	}
	if (fsync(fd) || close(fd) || rename(tmp, path) || fsync_dir(d))
		goto out;
	rc = 0;
out:
	if (rc) {
		log_error("state: cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	return rc;
}

static int dir_remove(const char *key)
{
	char path[4400];
	const char *slash = strrchr(key, '/');

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (unlink(path) && errno != ENOENT) {
		log_error("state: cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	path[strlen(dir) + 1 + (slash ? (size_t)(slash - key) : 0)] = '\0';
	fsync_dir(path);
	return 0;
}

static char *read_path(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(CONTROLD_STATE_MAX + 1);
	n = buf ? fread(buf, 1, CONTROLD_STATE_MAX + 1, f) : 0;
	fclose(f);
	if (!buf || n > CONTROLD_STATE_MAX) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static char *dir_get(const char *key, size_t *len)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return read_path(path, len);
}

static void dir_each(const char *sub, const char *suffix,
		     void (*fn)(const char *key, char *text, size_t len, void *ctx), void *ctx)
{
	char d[4400];
	DIR *dp;
	struct dirent *e;

	snprintf(d, sizeof(d), "%s/%s", dir, sub);
	dp = opendir(d);
	while (dp && (e = readdir(dp))) {
		size_t n = strlen(e->d_name), k = strlen(suffix), len;
		char path[4700], *text;

		if (e->d_name[0] == '.' || n <= k || strcmp(e->d_name + n - k, suffix))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d, e->d_name);
		text = read_path(path, &len);
		if (!text) {
			log_error("state: cannot read %s", path);
			continue;
		}
		fn(path, text, len, ctx);
		free(text);
	}
	if (dp)
		closedir(dp);
}

static const struct controld_state_ops dir_ops = {
	.put = dir_put, .remove = dir_remove, .get = dir_get, .each = dir_each};

int controld_state_dir_open(const char *path)
{
	char where[4200];

	snprintf(dir, sizeof(dir), "%s", path);
	/* Ours alone before anything is read: two would edit the same state. */
	if (mkdir_p(dir) || controld_single_lock_state(dir))
		return -1;
	snprintf(where, sizeof(where), "%s/domains", dir);
	if (mkdir_p(where))
		return -1;
	snprintf(where, sizeof(where), "%s/run", dir);
	if (mkdir_p(where))
		return -1;
	snprintf(where, sizeof(where), "directory %s", dir);
	controld_state_set_ops(&dir_ops, where);
	return 0;
}
