/* mig_fill.c: the migration bench's RAM loader: writes a non-random per-page pattern into
 * every page of a vNode's vRegions on the memory servers, as the vNode itself (the guest's
 * fill workload writes the same kind of pattern, but a guest loop over gigabytes is far too
 * slow under this machine's software KVM). lego-vmm --attach-regions then runs the vNode on
 * that RAM. Writes through the memory protocol with several channels in parallel.
 *
 *   mig_fill --mmon HOST:PORT --vnode-id N --mem SIZE --region-size SIZE [--threads N]
 *
 * Prints "filled BYTES ms MS" on success.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "tests/tools/tool_caps.h"
#include "lib/mono_clock.h"
#include "lib/parse.h"
#include "vmm/memory/remote_mem.h"

#define PAGE	    ((uint64_t)MP_PAGE_SIZE) /* the memory protocol's page */
#define MAX_THREADS 8

struct worker {
	struct remote_mem *rm;
	int ch, nr;
	uint64_t ram;
	int failed;
	pthread_t t;
};

static void *fill_thread(void *arg)
{
	struct worker *w = arg;
	uint64_t chunk = MP_MAX_PAGES * PAGE;

	/* Chunk k goes to thread k % nr: every thread keeps its channel busy. */
	for (uint64_t off = (uint64_t)w->ch * chunk; off < w->ram; off += (uint64_t)w->nr * chunk) {
		uint64_t n = w->ram - off < chunk ? w->ram - off : chunk;
		uint64_t region_left = w->rm->region_size - off % w->rm->region_size;
		uint64_t *p;

		if (n > region_left)
			n = region_left;
		p = remote_mem_io_write_buf(w->rm, w->ch, off);
		for (uint64_t i = 0; i < n / 8; i++) {
			uint64_t a = off + i * 8;

			p[i] = (a >> 12) * 0x0101010101010101ULL + ((a & (PAGE - 1)) >> 3) + 1;
		}
		if (remote_mem_io_write(w->rm, w->ch, off, (unsigned)(n / PAGE))) {
			w->failed = 1;
			break;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"mmon", required_argument, NULL, 'M'},
					     {"vnode-id", required_argument, NULL, 'I'},
					     {"mem", required_argument, NULL, 'm'},
					     {"region-size", required_argument, NULL, 'R'},
					     {"threads", required_argument, NULL, 'T'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct remote_mem_config cfg = {.client_name = "mig_fill",
					.provider = fabric_default_provider(),
					.region_size = 1ULL << 30,
					.timeout_ms = 30000};
	struct worker w[MAX_THREADS];
	struct remote_mem rm;
	int64_t t0, t1;
	uint64_t mem = 0, v;
	int threads = 4, c, failed = 0;

	log_init("mig_fill");
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'M':
			if (cfg.nr_servers == RM_MAX_SERVERS)
				return EX_USAGE;
			cfg.servers[cfg.nr_servers++] = optarg;
			break;
		case 'I':
			if (parse_uint(optarg, 1, UINT64_MAX, &v))
				return EX_USAGE;
			cfg.vnode = v;
			break;
		case 'm':
			if (parse_size(optarg, &mem))
				return EX_USAGE;
			break;
		case 'R':
			if (parse_size(optarg, &cfg.region_size))
				return EX_USAGE;
			break;
		case 'T':
			if (parse_uint(optarg, 1, MAX_THREADS, &v))
				return EX_USAGE;
			threads = (int)v;
			break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"Usage: mig_fill --mmon HOST:PORT --vnode-id N --mem SIZE "
				"--region-size SIZE [--threads N]\n");
			return c == 'h' ? 0 : EX_USAGE;
		}
	}
	if (!cfg.nr_servers || !cfg.vnode || !mem || mem % PAGE) {
		fprintf(stderr, "mig_fill: --mmon, --vnode-id and --mem are needed\n");
		return EX_USAGE;
	}
	memset(&rm, 0, sizeof(rm));
	cfg.holder = tool_caps_memory(cfg.vnode, mem, cfg.region_size);
	if (remote_mem_open(&rm, &cfg, mem, threads)) {
		fprintf(stderr, "mig_fill: %s\n", rm.error);
		remote_mem_close(&rm, false);
		return 1;
	}
	t0 = mono_clock_ns();
	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){.rm = &rm, .ch = i, .nr = threads, .ram = mem};
		pthread_create(&w[i].t, NULL, fill_thread, &w[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].t, NULL);
		failed |= w[i].failed;
	}
	t1 = mono_clock_ns();
	if (failed)
		fprintf(stderr, "mig_fill: %s\n", rm.error);
	else
		printf("filled %llu ms %.0f\n", (unsigned long long)mem, (double)(t1 - t0) / 1e6);
	remote_mem_close(&rm, false); /* the regions stay for the vNode */
	return failed;
}
