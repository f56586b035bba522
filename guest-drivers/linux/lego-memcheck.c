/* lego-memcheck.c: fills guest RAM from every CPU with a per-word pattern and verifies it (a Linux
 * guest program). */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check_util.h"

#define MAX_THREADS 64

struct worker {
	pthread_t thread;
	int index;
	uint64_t *base;
	uint64_t first, nwords;	  /* the words this thread writes */
	uint64_t vfirst, vnwords; /* the words it verifies: another thread's */
	uint64_t seed;
	uint64_t errors;
	bool verify;
};

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t reports;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lego-memcheck [--size SIZE] [--threads N] [--passes N] [--seed N]\n"
		"Fill SIZE bytes of anonymous memory (default 64M) with a pattern that differs in\n"
		"every 8-byte word, from N threads (default: one per online CPU), then let each\n"
		"thread verify another thread's part; each pass uses a new seed. Prints\n"
		"'RESULT memcheck PASS|FAIL size=.. threads=.. passes=.. errors=.. ms=..'.\n"
		"Exit status: 0 if every word read back as written, 1 otherwise, 64 for a bad\n"
		"command line.\n");
}

static void *work(void *arg)
{
	struct worker *w = arg;

	if (!w->verify) {
		for (uint64_t i = 0; i < w->nwords; i++)
			w->base[w->first + i] = check_util_word(w->seed, w->first + i);
		return NULL;
	}
	for (uint64_t i = 0; i < w->vnwords; i++) {
		uint64_t at = w->vfirst + i, want = check_util_word(w->seed, at), got = w->base[at];

		if (got == want)
			continue;
		w->errors++;
		pthread_mutex_lock(&report_lock);
		if (reports++ < CHECK_MAX_REPORTS)
			printf("lego-memcheck: mismatch at byte 0x%llx: read 0x%016llx, wrote "
			       "0x%016llx\n",
			       (unsigned long long)at * 8, (unsigned long long)got,
			       (unsigned long long)want);
		pthread_mutex_unlock(&report_lock);
	}
	return NULL;
}

static int run_all(struct worker *w, int n, bool verify)
{
	for (int t = 0; t < n; t++) {
		w[t].verify = verify;
		if (pthread_create(&w[t].thread, NULL, work, &w[t])) {
			fprintf(stderr, "lego-memcheck: cannot start thread %d\n", t);
			return -1;
		}
	}
	for (int t = 0; t < n; t++)
		pthread_join(w[t].thread, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"size", required_argument, NULL, 's'},	  {"threads", required_argument, NULL, 't'},
		{"passes", required_argument, NULL, 'p'}, {"seed", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0}};
	struct worker w[MAX_THREADS];
	uint64_t size = 64ULL << 20, nwords, errors = 0, seed = 1, t0;
	long threads = sysconf(_SC_NPROCESSORS_ONLN), passes = 1;
	uint64_t *base;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 's':
			if (check_util_parse_size(optarg, &size) || size < 4096) {
				fprintf(stderr,
					"lego-memcheck: --size '%s' is not a size of at "
					"least 4K\n",
					optarg);
				return 64;
			}
			break;
		case 't':
			threads = strtol(optarg, &end, 10);
			if (*end || threads < 1 || threads > MAX_THREADS) {
				fprintf(stderr, "lego-memcheck: --threads must be 1..%d\n",
					MAX_THREADS);
				return 64;
			}
			break;
		case 'p':
			passes = strtol(optarg, &end, 10);
			if (*end || passes < 1 || passes > 1000) {
				fprintf(stderr, "lego-memcheck: --passes must be 1..1000\n");
				return 64;
			}
			break;
		case 'S':
			seed = strtoull(optarg, &end, 0);
			if (*end) {
				fprintf(stderr, "lego-memcheck: --seed must be a number\n");
				return 64;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 64;
	}
	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	nwords = size / 8;
	base = mmap(NULL, nwords * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		fprintf(stderr, "lego-memcheck: cannot map %llu bytes\n", (unsigned long long)size);
		printf("RESULT memcheck FAIL size=%llu reason=mmap\n", (unsigned long long)size);
		return 1;
	}
	t0 = check_util_now_ms();
	for (long p = 0; p < passes; p++) {
		for (int t = 0; t < threads; t++) {
			int v = (t + 1) % (int)threads;

			w[t] = (struct worker){
				.index = t,
				.base = base,
				.first = nwords * t / threads,
				.nwords = nwords * (t + 1) / threads - nwords * t / threads,
				.vfirst = nwords * v / threads,
				.vnwords = nwords * (v + 1) / threads - nwords * v / threads,
				.seed = seed + (uint64_t)p};
		}
		if (run_all(w, (int)threads, false) || run_all(w, (int)threads, true))
			return 1;
		for (int t = 0; t < threads; t++)
			errors += w[t].errors;
	}
	printf("RESULT memcheck %s size=%llu threads=%ld passes=%ld errors=%llu ms=%llu\n",
	       errors ? "FAIL" : "PASS", (unsigned long long)size, threads, passes,
	       (unsigned long long)errors, (unsigned long long)(check_util_now_ms() - t0));
	munmap(base, nwords * 8);
	return errors ? 1 : 0;
}
