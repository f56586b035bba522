/* smon_io.c: raw volume I/O against a lego-smon for tests: write stdin at an offset (then
 * flush), or read a range to stdout.
 * Usage: smon_io HOST:PORT VOLUME write OFFSET < data
 *        smon_io HOST:PORT VOLUME read OFFSET LENGTH > data
 *        smon_io HOST:PORT VOLUME lat COUNT   (random 4 KiB reads: latency figures) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "tool_caps.h"
#include "lib/mono_clock.h"
#include "lib/parse.h"
#include "lib/client/smon_client.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: smon_io HOST:PORT VOLUME write OFFSET < data\n"
		   "       smon_io HOST:PORT VOLUME read OFFSET LENGTH > data\n"
		   "       smon_io HOST:PORT VOLUME lat COUNT\n"
		   "Raw I/O on a lego-smon volume: write stdin at OFFSET and flush, read a range\n"
		   "to stdout, or time COUNT random 4 KiB reads (p50 and mean, microseconds).\n"
		   "Offsets and lengths in whole 512-byte sectors.\n");
}

static int bad_usage(void)
{
	usage(stderr);
	return EX_USAGE;
}

static int do_write(struct smon_client *cl, const char *vol, uint64_t off)
{
	uint8_t *buf = smon_client_write_buf(cl);

	for (;;) {
		size_t n = 0;
		ssize_t r;

		while (n < SP_MAX_IO && (r = read(0, buf + n, SP_MAX_IO - n)) > 0)
			n += (size_t)r;
		if (!n)
			break;
		if (n % SP_SECTOR) {
			fprintf(stderr, "smon_io: input is not whole sectors\n");
			return 1;
		}
		if (smon_client_vol_write_buf(cl, vol, off, (uint32_t)n)) {
			fprintf(stderr, "smon_io: write at %llu: %s\n", (unsigned long long)off,
				smon_client_error(cl));
			return 1;
		}
		off += n;
	}
	if (smon_client_vol_flush(cl, vol)) {
		fprintf(stderr, "smon_io: flush: %s\n", smon_client_error(cl));
		return 1;
	}
	return 0;
}

static int do_read(struct smon_client *cl, const char *vol, uint64_t off, uint64_t len)
{
	while (len) {
		uint32_t n = len < SP_MAX_IO ? (uint32_t)len : SP_MAX_IO;
		const void *p;

		if (smon_client_vol_read_ref(cl, vol, off, n, &p)) {
			fprintf(stderr, "smon_io: read at %llu: %s\n", (unsigned long long)off,
				smon_client_error(cl));
			return 1;
		}
		if (fwrite(p, 1, n, stdout) != n)
			return 1;
		off += n;
		len -= n;
	}
	return fflush(stdout) ? 1 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* COUNT random 4 KiB reads, one at a time: p50 and mean in microseconds. */
static int do_lat(struct smon_client *cl, const char *vol, uint64_t count)
{
	struct stor_proto_vol_info info;
	uint64_t *t, sum = 0, x = 88172645463325252ULL;
	const void *p;

	if (smon_client_vol_stat(cl, vol, &info) || info.size < 4096 || !count ||
	    count > 10000000) {
		fprintf(stderr, "smon_io: stat: %s\n", smon_client_error(cl));
		return 1;
	}
	t = calloc(count, sizeof(*t));
	if (!t)
		return 1;
	for (uint64_t i = 0; i < count; i++) {
		int64_t t0;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		t0 = mono_clock_ns();
		if (smon_client_vol_read_ref(cl, vol, (x % (info.size / 4096)) * 4096, 4096, &p)) {
			fprintf(stderr, "smon_io: read: %s\n", smon_client_error(cl));
			free(t);
			return 1;
		}
		t[i] = (uint64_t)(mono_clock_ns() - t0);
		sum += t[i];
	}
	qsort(t, count, sizeof(*t), cmp_u64);
	printf("smon_rand4k_read_p50_us %.1f\nsmon_rand4k_read_mean_us %.1f\n",
	       t[count / 2] / 1000.0, sum / 1000.0 / count);
	free(t);
	return 0;
}

/* The command's numbers: true if they are what it takes. */
static bool command_args(int argc, char **argv, uint64_t *off, uint64_t *len)
{
	const char *cmd = argv[3];

	if (!strcmp(cmd, "lat"))
		return argc == 5 && !parse_uint(argv[4], 1, 10000000, len);
	if (!strcmp(cmd, "write"))
		return argc == 5 && !parse_size(argv[4], off) && *off % SP_SECTOR == 0;
	return !strcmp(cmd, "read") && argc == 6 && !parse_size(argv[4], off) &&
	       *off % SP_SECTOR == 0 && !parse_size(argv[5], len) && *len % SP_SECTOR == 0;
}

int main(int argc, char **argv)
{
	char host[256], port[16], err[1024];
	struct smon_client *cl;
	uint64_t off = 0, len = 0;
	int rc;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 5 || parse_hostport(argv[1], 1, host, sizeof(host), port, sizeof(port)) ||
	    !command_args(argc, argv, &off, &len))
		return bad_usage();
	log_init("smon_io");
	if (smon_client_connect(
		    fabric_default_provider(), host, port, "smon_io",
		    tool_caps_storage(argv[2], CAP_STOR_READ | CAP_STOR_WRITE | CAP_STOR_STAT),
		    10000, &cl, err, sizeof(err))) {
		fprintf(stderr, "smon_io: %s\n", err);
		return 2;
	}
	if (!strcmp(argv[3], "lat"))
		rc = do_lat(cl, argv[2], len);
	else if (!strcmp(argv[3], "write"))
		rc = do_write(cl, argv[2], off);
	else
		rc = do_read(cl, argv[2], off, len);
	smon_client_disconnect(cl);
	return rc;
}
