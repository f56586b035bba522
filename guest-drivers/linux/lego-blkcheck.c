/* lego-blkcheck.c: writes a pattern through a disk or file and verifies it; checks a file tree
 * against a manifest. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_util.h"

#define PATH_MAX_LEN 4096
#define ALIGN	     4096

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lego-blkcheck [--size SIZE] [--bs SIZE] [--seed N] [--direct]\n"
		"                     [--verify-only] PATH\n"
		"       lego-blkcheck --manifest-make DIR\n"
		"       lego-blkcheck --manifest-check DIR MANIFEST\n"
		"Write SIZE bytes (default 4M) of a pattern that differs in every 8-byte word to\n"
		"PATH (a block device, or a file, created if need be) in blocks of --bs (default\n"
		"64K), make them durable (fdatasync), drop the page cache, then read everything\n"
		"back in reverse block order and verify it. --direct uses O_DIRECT (a disk is "
		"then\n"
		"read, not the page cache); --verify-only only reads (data written earlier with "
		"the\n"
		"same --size and --seed). Prints 'RESULT blkcheck PASS|FAIL path=.. bytes=..\n"
		"errors=.. ms=..'.\n"
		"--manifest-make prints a line 'HASH SIZE PATH' (FNV-1a 64) for every regular\n"
		"file under DIR; --manifest-check reads every file MANIFEST lists and prints\n"
		"'RESULT manifest PASS|FAIL files=.. bytes=.. errors=..'.\n"
		"Exit status: 0 if everything read back as it should, 1 otherwise, 64 for a bad\n"
		"command line.\n");
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* The hash and size of a file. 0, or -1 (reported). */
static int hash_file(const char *path, uint64_t *hash, uint64_t *size)
{
	static uint8_t buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		printf("lego-blkcheck: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	*hash = 0xcbf29ce484222325ULL;
	*size = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		*hash = fnv1a(*hash, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	close(fd);
	if (n < 0) {
		printf("lego-blkcheck: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int manifest_walk(const char *root, const char *rel)
{
	char dir[PATH_MAX_LEN], path[2 * PATH_MAX_LEN + 2], sub[PATH_MAX_LEN + 256];
	struct dirent **ents;
	int n, rc = 0;

	if ((size_t)snprintf(dir, sizeof(dir), "%s%s%s", root, *rel ? "/" : "", rel) >=
	    sizeof(dir)) {
		fprintf(stderr, "lego-blkcheck: path too long under %s\n", root);
		return -1;
	}
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "lego-blkcheck: cannot read directory %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		struct stat st;
		uint64_t h, size;

		if (!strcmp(name, ".") || !strcmp(name, "..") || rc) {
			free(ents[i]);
			continue;
		}
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", name);
		snprintf(path, sizeof(path), "%s/%s", root, sub);
		free(ents[i]);
		if (strlen(sub) >= PATH_MAX_LEN) {
			fprintf(stderr, "lego-blkcheck: path too long: %s\n", sub);
			rc = -1;
		} else if (lstat(path, &st)) {
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			rc = manifest_walk(root, sub);
		} else if (S_ISREG(st.st_mode)) {
			if (hash_file(path, &h, &size))
				rc = -1;
			else
				printf("%016" PRIx64 " %" PRIu64 " %s\n", h, size, sub);
		}
	}
	free(ents);
	return rc;
}

static int manifest_check(const char *root, const char *manifest)
{
	FILE *f = fopen(manifest, "r");
	char line[PATH_MAX_LEN + 64], rel[PATH_MAX_LEN], path[PATH_MAX_LEN * 2];
	uint64_t files = 0, bytes = 0, errors = 0;

	if (!f) {
		printf("RESULT manifest FAIL reason=cannot-open-%s\n", manifest);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		uint64_t want_h, want_size, h, size;

		if (sscanf(line, "%" SCNx64 " %" SCNu64 " %4095[^\n]", &want_h, &want_size, rel) !=
		    3) {
			printf("lego-blkcheck: malformed manifest line: %s", line);
			errors++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", root, rel);
		files++;
		if (hash_file(path, &h, &size)) {
			errors++;
		} else if (h != want_h || size != want_size) {
			printf("lego-blkcheck: %s: %" PRIu64 " bytes hash %016" PRIx64
			       ", the manifest says %" PRIu64 " bytes hash %016" PRIx64 "\n",
			       rel, size, h, want_size, want_h);
			errors++;
		} else {
			bytes += size;
		}
	}
	fclose(f);
	if (!files)
		errors++;
	printf("RESULT manifest %s files=%" PRIu64 " bytes=%" PRIu64 " errors=%" PRIu64 "\n",
	       errors ? "FAIL" : "PASS", files, bytes, errors);
	return errors ? 1 : 0;
}

static void fill(uint64_t *buf, uint64_t off, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len / 8; i++)
		buf[i] = check_util_word(seed, off / 8 + i);
}

static int full_io(int fd, bool write, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write ? pwrite(fd, (char *)buf + done, len - done, off + (off_t)done)
				  : pread(fd, (char *)buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return; /* not root, or not Linux: --direct reads the disk anyway */
	if (write(fd, "3\n", 2) != 2)
		fprintf(stderr, "lego-blkcheck: drop_caches: %s\n", strerror(errno));
	close(fd);
}

static int pattern_check(const char *path, uint64_t size, uint64_t bs, uint64_t seed, bool direct,
			 bool verify_only)
{
	uint64_t errors = 0, reported = 0, t0 = check_util_now_ms(), blocks = (size + bs - 1) / bs;
	int flags = O_CLOEXEC | (verify_only ? O_RDONLY : O_RDWR | O_CREAT);
	uint64_t *buf, *want;
	int fd = open(path, flags | (direct ? O_DIRECT : 0), 0644);

	if (fd < 0) {
		printf("lego-blkcheck: cannot open %s: %s\n", path, strerror(errno));
		printf("RESULT blkcheck FAIL path=%s reason=open\n", path);
		return 1;
	}
	if (posix_memalign((void **)&buf, ALIGN, bs) || posix_memalign((void **)&want, ALIGN, bs)) {
		printf("RESULT blkcheck FAIL path=%s reason=memory\n", path);
		return 1;
	}
	for (uint64_t b = 0; !verify_only && b < blocks; b++) {
		uint64_t off = b * bs, len = size - off < bs ? size - off : bs;

		fill(buf, off, len, seed);
		if (full_io(fd, true, buf, len, (off_t)off)) {
			printf("lego-blkcheck: write of %llu bytes at %llu: %s\n",
			       (unsigned long long)len, (unsigned long long)off, strerror(errno));
			errors++;
			break;
		}
	}
	if (!verify_only && fdatasync(fd)) {
		printf("lego-blkcheck: fdatasync: %s\n", strerror(errno));
		errors++;
	}
	drop_caches();
	for (uint64_t b = blocks; !errors && b-- > 0;) {
		uint64_t off = b * bs, len = size - off < bs ? size - off : bs;

		if (full_io(fd, false, buf, len, (off_t)off)) {
			printf("lego-blkcheck: read of %llu bytes at %llu: %s\n",
			       (unsigned long long)len, (unsigned long long)off,
			       errno ? strerror(errno) : "end of file");
			errors++;
			break;
		}
		fill(want, off, len, seed);
		for (uint64_t i = 0; i < len / 8; i++) {
			if (buf[i] == want[i])
				continue;
			if (reported++ < CHECK_MAX_REPORTS)
				printf("lego-blkcheck: mismatch at byte %llu: read 0x%016llx, "
				       "wrote 0x%016llx\n",
				       (unsigned long long)(off + i * 8),
				       (unsigned long long)buf[i], (unsigned long long)want[i]);
			errors++;
		}
	}
	close(fd);
	free(buf);
	free(want);
	printf("RESULT blkcheck %s path=%s bytes=%llu bs=%llu direct=%d errors=%llu ms=%llu\n",
	       errors ? "FAIL" : "PASS", path, (unsigned long long)size, (unsigned long long)bs,
	       direct, (unsigned long long)errors, (unsigned long long)(check_util_now_ms() - t0));
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"size", required_argument, NULL, 's'},
					     {"bs", required_argument, NULL, 'b'},
					     {"seed", required_argument, NULL, 'S'},
					     {"direct", no_argument, NULL, 'd'},
					     {"verify-only", no_argument, NULL, 'v'},
					     {"manifest-make", no_argument, NULL, 'm'},
					     {"manifest-check", no_argument, NULL, 'c'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	uint64_t size = 4ULL << 20, bs = 64ULL << 10, seed = 1;
	bool direct = false, verify_only = false, make = false, check = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 's':
		case 'b':
			if (check_util_parse_size(optarg, c == 's' ? &size : &bs) ||
			    (c == 'b' && bs % 512)) {
				fprintf(stderr, "lego-blkcheck: '%s' is not a size%s\n", optarg,
					c == 'b' ? " that is a multiple of 512" : "");
				return 64;
			}
			break;
		case 'S':
			seed = strtoull(optarg, &end, 0);
			if (*end) {
				fprintf(stderr, "lego-blkcheck: --seed must be a number\n");
				return 64;
			}
			break;
		case 'd':
			direct = true;
			break;
		case 'v':
			verify_only = true;
			break;
		case 'm':
			make = true;
			break;
		case 'c':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (make && !check && argc - optind == 1)
		return manifest_walk(argv[optind], "") ? 1 : 0;
	if (check && !make && argc - optind == 2)
		return manifest_check(argv[optind], argv[optind + 1]);
	if (make || check || argc - optind != 1) {
		usage(stderr);
		return 64;
	}
	if (direct && (size % 512)) {
		fprintf(stderr,
			"lego-blkcheck: --direct needs a --size that is a multiple of 512\n");
		return 64;
	}
	return pattern_check(argv[optind], size, bs, seed, direct, verify_only);
}
