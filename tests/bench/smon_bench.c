/* smon_bench.c: a lego-smon volume read as fio reads a local file, from this host, no guest:
 * random 4 KiB reads with 1 in flight (mean latency) and with 16 (IOPS, one connection per
 * request in flight), sequential 1 MiB reads with 4 in flight (MiB/s). The volume is written
 * whole first, so reads find data rather than holes.
 * Usage: smon_bench HOST:PORT VOLUME [SECONDS]; prints "name value" lines. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/parse.h"
#include "lib/client/smon_client.h"
#include "tests/tools/tool_caps.h"

#define MAX_WORKERS 16

struct controld_migrate_job {
	char host[256], port[16];
	const char *vol;
	uint64_t size;
	double seconds;
	bool seq;
	uint32_t bs;
	int workers;
	atomic_uint_fast64_t next_seq; /* sequential: the next block to read */
	atomic_uint_fast64_t ops, ns, errors;
};

/* The bench's capability: every volume, signed with $LEGO_CAPABILITY_KEY (none without). */
static struct cap_holder *caps(void)
{
	static struct cap_holder *h;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

	pthread_mutex_lock(&lock);
	if (!h)
		h = tool_caps_storage(NULL, CAP_STOR_ALL);
	pthread_mutex_unlock(&lock);
	return h;
}

static double now_s(void)
{
	return (double)mono_clock_ns() / 1e9;
}

static void *worker(void *arg)
{
	struct controld_migrate_job *j = arg;
	struct smon_client *cl;
	char err[1024];
	uint64_t x = 88172645463325252ULL ^ (uint64_t)(uintptr_t)&cl, blocks = j->size / j->bs;
	double end;

	if (smon_client_connect(fabric_default_provider(), j->host, j->port, "smon_bench", caps(),
				10000, &cl, err, sizeof(err))) {
		fprintf(stderr, "smon_bench: %s\n", err);
		atomic_fetch_add(&j->errors, 1);
		return NULL;
	}
	/* One request in flight is what lego-vmm serves on the vCPU's own inline channel:
	 * poll as long as it does. */
	if (j->workers == 1)
		smon_client_set_spin_us(cl, 250);
	end = now_s() + j->seconds;
	while (now_s() < end) {
		uint64_t b;
		const void *p;
		double t0 = now_s();

		if (j->seq) {
			b = atomic_fetch_add(&j->next_seq, 1) % blocks;
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			b = x % blocks;
		}
		if (smon_client_vol_read_ref(cl, j->vol, b * j->bs, j->bs, &p)) {
			fprintf(stderr, "smon_bench: %s\n", smon_client_error(cl));
			atomic_fetch_add(&j->errors, 1);
			break;
		}
		atomic_fetch_add(&j->ops, 1);
		atomic_fetch_add(&j->ns, (uint64_t)((now_s() - t0) * 1e9));
	}
	smon_client_disconnect(cl);
	return NULL;
}

/* Run a job; returns its wall time in seconds, or -1. */
static double run(struct controld_migrate_job *j)
{
	pthread_t t[MAX_WORKERS];
	double t0 = now_s();

	for (int i = 0; i < j->workers; i++)
		pthread_create(&t[i], NULL, worker, j);
	for (int i = 0; i < j->workers; i++)
		pthread_join(t[i], NULL);
	return atomic_load(&j->errors) ? -1 : now_s() - t0;
}

static int fill(struct controld_migrate_job *j)
{
	struct smon_client *cl;
	char err[1024];

	if (smon_client_connect(fabric_default_provider(), j->host, j->port, "smon_bench", caps(),
				10000, &cl, err, sizeof(err))) {
		fprintf(stderr, "smon_bench: %s\n", err);
		return -1;
	}
	for (uint64_t off = 0; off < j->size; off += SP_MAX_IO) {
		uint8_t *b = smon_client_write_buf(cl);

		for (uint32_t i = 0; i < SP_MAX_IO; i += 4096)
			memset(b + i, (int)((off + i) >> 12), 4096);
		if (smon_client_vol_write_buf(cl, j->vol, off, SP_MAX_IO)) {
			fprintf(stderr, "smon_bench: fill: %s\n", smon_client_error(cl));
			smon_client_disconnect(cl);
			return -1;
		}
	}
	smon_client_vol_flush(cl, j->vol);
	smon_client_disconnect(cl);
	return 0;
}

int main(int argc, char **argv)
{
	struct controld_migrate_job j = {0};
	struct smon_client *cl;
	struct stor_proto_vol_info info;
	char err[1024];
	double secs, wall;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: smon_bench HOST:PORT VOLUME [SECONDS]\nReads a lego-smon volume as "
		       "fio would (random 4 KiB, sequential 1 MiB); prints \"name value\" "
		       "lines.\n");
		return 0;
	}
	if (argc < 3 || argc > 4 ||
	    parse_hostport(argv[1], 1, j.host, sizeof(j.host), j.port, sizeof(j.port))) {
		fprintf(stderr, "Usage: smon_bench HOST:PORT VOLUME [SECONDS]\n");
		return EX_USAGE;
	}
	secs = argc == 4 ? atof(argv[3]) : 5;
	log_init("smon_bench");
	j.vol = argv[2];
	if (smon_client_connect(fabric_default_provider(), j.host, j.port, "smon_bench", caps(),
				10000, &cl, err, sizeof(err)) ||
	    smon_client_vol_stat(cl, j.vol, &info)) {
		fprintf(stderr, "smon_bench: %s\n", cl ? smon_client_error(cl) : err);
		return 1;
	}
	smon_client_disconnect(cl);
	j.size = info.size & ~((uint64_t)SP_MAX_IO - 1);
	j.seconds = secs;
	if (!j.size || fill(&j))
		return 1;

	j.bs = 4096;
	j.workers = 1;
	if (run(&j) < 0)
		return 1;
	printf("rand4k_qd1_us %.1f\n",
	       (double)atomic_load(&j.ns) / 1000.0 / (double)atomic_load(&j.ops));
	atomic_store(&j.ops, 0);
	atomic_store(&j.ns, 0);
	j.workers = 16;
	if ((wall = run(&j)) < 0)
		return 1;
	printf("rand4k_qd16_iops %.0f\n", (double)atomic_load(&j.ops) / wall);
	atomic_store(&j.ops, 0);
	atomic_store(&j.ns, 0);
	j.workers = 4;
	j.seq = true;
	j.bs = SP_MAX_IO;
	if ((wall = run(&j)) < 0)
		return 1;
	printf("seq1m_mibs %.1f\n", (double)atomic_load(&j.ops) / wall);
	return 0;
}
