/* pager_bench.c: the remote-memory bench's measuring program. One mode per run:
 *
 *   local       memory populated locally, no userfaultfd: the memory floor
 *   uffd-local  userfaultfd serving one 4 KiB page per fault from local memory: the floor
 *               of the fault mechanism itself
 *   remote      lego-vmm's pager (ExCache a quarter of the working set) over lego-mmon;
 *               --pager-mode copy|zerocopy|auto picks how fetched pages reach the memory
 *               (figures of the zero-copy mode are named zerocopy_...), and the pager's CPU
 *               time per fetched page is measured over the sequential pass
 *   tcp-rtt     plain TCP 64-byte request / 4 KiB reply on loopback
 *   zipf        the pager over lego-mmon under zipfian page accesses (--theta, --seed; one in
 *               four a whole-page rewrite, every read checked): the ExCache's hit ratio;
 *               with --trace FILE the pager's fault trace (take it with --cache 4K
 *               --no-prefetch: every access to another page than the last then faults)
 *
 * Faults are raised by an ordinary thread touching the memory, so this runs without KVM;
 * the pager is the one lego-vmm uses. --cpu pins this process (the "processor host"),
 * --server-cpu the TCP floor's server thread (a "memory server"), as the bench script pins
 * lego-mmon. Output: one "name value" line per figure.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/cap/cap_holder.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "vmm/memory/pager.h"
#include "lib/parse.h"
#include "vmm/memory/remote_mem.h"
#include "vmm/kvm/vm.h"

#define PAGE	     4096ULL
#define GUARD	     (2ULL << 20)
#define FAULT_MIN_NS 1500 /* an access slower than this was a fault, not a cache hit */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, size_t n, double q)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	return (double)v[(size_t)(q * (double)(n - 1))] / 1e3;
}

/* Read every word of a page (so the whole page is really used), return a checksum. */
static uint64_t use_page(const volatile uint64_t *p)
{
	uint64_t s = 0;

	for (int i = 0; i < 512; i++)
		s += p[i];
	return s;
}

static void fill(uint8_t *base, uint64_t pages)
{
	for (uint64_t i = 0; i < pages; i++)
		for (int w = 0; w < 512; w++)
			((uint64_t *)(base + i * PAGE))[w] = i * 512 + (uint64_t)w + 1;
}

/* Sequential pass: ns per page; checks the data filled before. */
static double seq_pass(uint8_t *base, uint64_t pages, uint64_t *bad)
{
	uint64_t t0 = (uint64_t)mono_clock_ns();

	for (uint64_t i = 0; i < pages; i++) {
		const volatile uint64_t *p = (const uint64_t *)(base + i * PAGE);

		if (p[0] != i * 512 + 1 || p[511] != i * 512 + 512) {
			if (!*bad)
				fprintf(stderr, "pager_bench: page %llu holds %llx..%llx\n",
					(unsigned long long)i, (unsigned long long)p[0],
					(unsigned long long)p[511]);
			(*bad)++;
		}
		use_page(p);
	}
	return (double)((uint64_t)mono_clock_ns() - t0) / (double)pages;
}

/* Every word of every page rewritten (new values), then every word read back. */
static void rewrite_check(uint8_t *base, uint64_t pages, uint64_t *bad)
{
	const uint64_t salt = 0xa5a5a5a500000000ULL;

	for (uint64_t i = 0; i < pages; i++)
		for (int w = 0; w < 512; w++)
			((uint64_t *)(base + i * PAGE))[w] = (i * 512 + (uint64_t)w) ^ salt;
	for (uint64_t i = 0; i < pages; i++)
		for (int w = 0; w < 512; w++)
			if (((const volatile uint64_t *)(base + i * PAGE))[w] !=
			    ((i * 512 + (uint64_t)w) ^ salt)) {
				if (!*bad)
					fprintf(stderr,
						"pager_bench: page %llu word %d not as "
						"rewritten\n",
						(unsigned long long)i, w);
				(*bad)++;
			}
}

/* Random single-page touches; latencies of the ones that faulted into lat[]. */
static size_t rand_pass(uint8_t *base, uint64_t pages, uint64_t touches, uint64_t *lat,
			uint64_t *bad)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t n = 0;

	for (uint64_t k = 0; k < touches; k++) {
		uint64_t i, t0, dt;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = x % pages;
		t0 = (uint64_t)mono_clock_ns();
		if (*(volatile uint64_t *)(base + i * PAGE) != i * 512 + 1)
			(*bad)++;
		dt = (uint64_t)mono_clock_ns() - t0;
		if (dt >= FAULT_MIN_NS)
			lat[n++] = dt;
	}
	return n;
}

/* ---- userfaultfd floor: a handler copying from a local backing buffer --------------- */
struct uffd_floor {
	int uffd;
	uint8_t *area, *backing;
	volatile int stop;
};

static void *floor_handler(void *arg)
{
	struct uffd_floor *f = arg;
	struct pollfd p = {.fd = f->uffd, .events = POLLIN};
	struct uffd_msg m;

	while (!f->stop) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (read(f->uffd, &m, sizeof(m)) != sizeof(m) || m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		uint64_t off =
			(m.arg.pagefault.address & ~(PAGE - 1)) - (uint64_t)(uintptr_t)f->area;
		struct uffdio_copy c = {.dst = (uint64_t)(uintptr_t)f->area + off,
					.src = (uint64_t)(uintptr_t)f->backing + off,
					.len = PAGE};

		if (ioctl(f->uffd, UFFDIO_COPY, &c))
			fprintf(stderr, "pager_bench: UFFDIO_COPY at +%llu: %s\n",
				(unsigned long long)off, strerror(errno));
	}
	return NULL;
}

static int run_uffd_local(uint64_t pages, uint64_t touches, int seq)
{
	struct uffd_floor f = {0};
	struct uffdio_api api = {.api = UFFD_API};
	uint64_t len = pages * PAGE, bad = 0, *lat = NULL;
	struct uffdio_register reg;
	pthread_t t;

	f.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (f.uffd < 0 || ioctl(f.uffd, UFFDIO_API, &api)) {
		perror("userfaultfd");
		return 1;
	}
	f.backing = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	f.area = mmap(NULL, len + 2 * GUARD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	if (f.backing == MAP_FAILED || f.area == MAP_FAILED)
		return 1;
	/* Guards on both sides, as lego-vmm maps guest RAM. */
	f.area += GUARD;
	if (mprotect(f.area, len, PROT_READ | PROT_WRITE))
		return 1;
	fill(f.backing, pages);
	madvise(f.area, len, MADV_NOHUGEPAGE);
	reg = (struct uffdio_register){.range = {.start = (uint64_t)(uintptr_t)f.area, .len = len},
				       .mode = UFFDIO_REGISTER_MODE_MISSING};
	if (ioctl(f.uffd, UFFDIO_REGISTER, &reg)) {
		perror("UFFDIO_REGISTER");
		return 1;
	}
	pthread_create(&t, NULL, floor_handler, &f);
	if (seq) {
		printf("uffd_local_seq_ns_per_page %.1f\n", seq_pass(f.area, pages, &bad));
	} else {
		size_t n;

		lat = calloc(touches, sizeof(*lat));
		n = rand_pass(f.area, pages, touches, lat, &bad);
		printf("uffd_local_fault_p50_us %.2f\n", pct(lat, n, 0.5));
		printf("uffd_local_faults %zu\n", n);
	}
	f.stop = 1;
	pthread_join(t, NULL);
	free(lat);
	printf("errors %llu\n", (unsigned long long)bad);
	return bad != 0;
}

static int run_local(uint64_t pages)
{
	uint8_t *a = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uint64_t bad = 0;

	if (a == MAP_FAILED)
		return 1;
	fill(a, pages);
	printf("local_seq_ns_per_page %.1f\n", seq_pass(a, pages, &bad));
	printf("errors %llu\n", (unsigned long long)bad);
	return bad != 0;
}

/* As lego-vmm --capability-key does: the vNode's vRegions, signed here. */
static int self_sign(struct cap_holder *h, const char *key, uint64_t ws,
		     struct remote_mem_config *cfg)
{
	struct cap m = {.kind = CAP_KIND_MEMORY,
			.rights = CAP_MEM_OPEN | CAP_MEM_CREATE | CAP_MEM_READ | CAP_MEM_WRITE |
				  CAP_MEM_CLOSE,
			.vnode = cfg->vnode,
			.region_count = (uint32_t)((ws + cfg->region_size - 1) / cfg->region_size),
			.region_max = cfg->region_size,
			.quota = ws};
	char err[512];
	int rc = cap_holder_init_env(h, key, 0, err, sizeof(err));

	if (rc > 0)
		return 0;
	if (rc < 0 || cap_holder_grant(h, &m, err, sizeof(err))) {
		fprintf(stderr, "pager_bench: %s\n", err);
		return -1;
	}
	cfg->holder = h;
	return 0;
}

/* The memory servers on this machine (--server-pid): their CPU time around the random pass. */
static int server_pids[RM_MAX_SERVERS], nr_server_pids;

/* Every live thread's CPU time of the --server-pid processes, in ns (schedstat's first
 * field: exact, where /proc/PID/stat counts 10 ms ticks). */
static uint64_t servers_cpu_ns(void)
{
	uint64_t sum = 0;

	for (int i = 0; i < nr_server_pids; i++) {
		char path[64];
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%d/task", server_pids[i]);
		d = opendir(path);
		for (struct dirent *e; d && (e = readdir(d));) {
			char p[384];
			unsigned long long ns;
			FILE *f;

			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s/schedstat", path, e->d_name);
			f = fopen(p, "r");
			if (f && fscanf(f, "%llu", &ns) == 1)
				sum += ns;
			if (f)
				fclose(f);
		}
		if (d)
			closedir(d);
	}
	return sum;
}

/* CPU time of every thread of this process but the calling one (the pager's threads and the
 * transport's: the processor host's cost of serving the faults the caller raises). */
static uint64_t others_cpu_ns(void)
{
	struct rusage ru;
	struct timespec self;

	getrusage(RUSAGE_SELF, &ru);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &self);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL -
	       ((uint64_t)self.tv_sec * 1000000000ULL + (uint64_t)self.tv_nsec);
}

static int run_remote(uint64_t ws, uint64_t touches, struct remote_mem_config *cfg, int threads,
		      enum pager_mode mode, bool vhost)
{
	struct pager_config pc = {.cache_bytes = ws / 4,
				  .threads = threads,
				  .prefetch = true,
				  .mode = mode,
				  .vhost = vhost};
	uint64_t pages = ws / PAGE, bad = 0, *lat = calloc(touches, sizeof(uint64_t));
	struct remote_mem rm;
	struct pager_stats st;
	struct pager *pg;
	struct vm vm;
	uint64_t reads0, scpu0, scpu1;
	size_t n;
	uint64_t cpu0, fetched0;
	double seq;
	const char *p; /* the figures' prefix */

	if (!lat || vm_init(&vm, ws))
		return 1;
	if (remote_mem_open(&rm, cfg, ws, threads + 1)) {
		fprintf(stderr, "pager_bench: %s\n", rm.error);
		remote_mem_close(&rm, false);
		return 1;
	}
	if (pager_start(&pg, &vm, &rm, &pc))
		return 1;
	fill(vm.mem.base, pages); /* everything written, most of it evicted to the servers */
	seq_pass(vm.mem.base, pages, &bad); /* warm-up: brings every page back once */
	pager_stats_get(pg, &st);
	p = strcmp(st.mode, "zerocopy") ? "remote" : "zerocopy";
	printf("pager_mode %s\n", st.mode);
	fetched0 = st.pages_fetched;
	cpu0 = others_cpu_ns();
	seq = seq_pass(vm.mem.base, pages, &bad);
	cpu0 = others_cpu_ns() - cpu0;
	pager_stats_get(pg, &st);
	printf("%s_seq_ns_per_page %.1f\n", p, seq);
	printf("pager_cpu_ns_per_page_%s %.1f\n", st.mode,
	       st.pages_fetched > fetched0 ? (double)cpu0 / (double)(st.pages_fetched - fetched0)
					   : 0.0);
	reads0 = st.reads_rma + st.reads_msg;
	scpu0 = servers_cpu_ns();
	n = rand_pass(vm.mem.base, pages, touches, lat, &bad);
	scpu1 = servers_cpu_ns();
	printf("%s_rand_faults %zu\n", p, n);
	if (nr_server_pids) {
		/* The servers' CPU for the page reads of the random pass (and its write-backs). */
		pager_stats_get(pg, &st);
		printf("rand_page_reads %llu\n",
		       (unsigned long long)(st.reads_rma + st.reads_msg - reads0));
		printf("rand_server_cpu_us %.1f\n", (double)(scpu1 - scpu0) / 1e3);
	}
	printf("%s_rand_fault_p50_us %.2f\n", p, pct(lat, n, 0.5));
	printf("%s_rand_fault_p99_us %.2f\n", p, pct(lat, n, 0.99));
	/* Writes then reads back: every page rewritten with new contents (dirtied, written
	 * back when evicted), then every word checked. */
	rewrite_check(vm.mem.base, pages, &bad);
	/* What a migration asks: every dirty page written back, then every page held by the
	 * servers (all were written) and none dirty. */
	uint8_t *bits = calloc((pages + 7) / 8, 1);
	uint64_t redirty = pages / 16; /* resident (last read), clean: now dirtied again */

	for (uint64_t i = pages - redirty; i < pages; i++)
		((volatile uint64_t *)(vm.mem.base + i * PAGE))[0] =
			(i * 512) ^ 0xa5a5a5a500000000ULL;
	printf("pager_redirtied %llu\n", (unsigned long long)redirty);
	/* As a migration's last flush: again while a page is still dirty (a flush skips the
	 * one a pager thread is still marking dirty after the write it let through). */
	int64_t flushed = 0, f;

	for (int tries = 0; tries < 1000; tries++) {
		if ((f = pager_evict_flush(pg)) < 0)
			bad++;
		flushed += f > 0 ? f : 0;
		if (f < 0 || !pager_stats_dirty_pages(pg))
			break;
		sched_yield();
	}
	printf("pager_flushed %lld\n", (long long)flushed);
	printf("pager_dirty_after_flush %llu\n", (unsigned long long)pager_stats_dirty_pages(pg));
	if (bits)
		printf("pager_remote_pages %llu\n",
		       (unsigned long long)pager_migration_remote_bits(pg, bits, false));
	free(bits);
	pager_stats_get(pg, &st);
	printf("pager_wp_faults %llu\n", (unsigned long long)st.wp_faults);
	printf("pager_fault_p50_us %.2f\n", (double)st.lat_p50_ns / 1e3);
	printf("pager_evictions %llu\n", (unsigned long long)st.evictions);
	printf("pager_second_chances %llu\n", (unsigned long long)st.second_chances);
	printf("pager_writebacks %llu\n", (unsigned long long)st.writebacks);
	printf("pager_fetched %llu\n", (unsigned long long)st.pages_fetched);
	printf("pager_reads_rma %llu\n", (unsigned long long)st.reads_rma);
	printf("pager_reads_msg %llu\n", (unsigned long long)st.reads_msg);
	pager_stop(pg);
	vm_destroy(&vm);
	remote_mem_close(&rm, true);
	free(lat);
	printf("errors %llu\n", (unsigned long long)bad);
	return bad != 0;
}

/* ---- zipfian accesses through the pager ------------------------------------------- */
struct zipf_opts {
	uint64_t cache; /* bytes; 0: a quarter of the working set */
	double theta;
	uint64_t seed;
	const char *trace;
	bool no_prefetch;
};

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static uint64_t zipf_word(uint64_t page, uint64_t w, uint32_t ver)
{
	return ver ? (page << 32 | w << 20 | ver) * 0x9e3779b97f4a7c15ULL : 0;
}

/* Rank k (0 = hottest) has weight 1 / (k + 1)^theta; page perm[k] is rank k. */
static int zipf_pass(uint8_t *base, uint64_t pages, uint64_t touches, const struct zipf_opts *o,
		     uint64_t *bad)
{
	double *cdf = malloc(pages * sizeof(*cdf)), sum = 0;
	uint32_t *perm = malloc(pages * sizeof(*perm)), *ver = calloc(pages, sizeof(*ver));
	uint64_t x = o->seed * 0x9e3779b97f4a7c15ULL + 1;

	if (!cdf || !perm || !ver)
		return -1;
	for (uint64_t k = 0; k < pages; k++) {
		uint64_t j = xorshift(&x) % (k + 1);

		sum += pow((double)(k + 1), -o->theta);
		cdf[k] = sum;
		perm[k] = perm[j]; /* inside-out Fisher-Yates */
		perm[j] = (uint32_t)k;
	}
	for (uint64_t t = 0; t < touches; t++) {
		double u = (double)(xorshift(&x) >> 11) / 9007199254740992.0 * sum;
		uint64_t lo = 0, hi = pages - 1, page;
		volatile uint64_t *p;

		while (lo < hi) {
			uint64_t mid = (lo + hi) / 2;

			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		page = perm[lo];
		p = (volatile uint64_t *)(base + page * PAGE);
		if (xorshift(&x) % 4 == 0) {
			ver[page]++;
			for (uint64_t w = 0; w < 512; w++)
				p[w] = zipf_word(page, w, ver[page]);
			continue;
		}
		for (uint64_t w = 0; w < 512; w++)
			if (p[w] != zipf_word(page, w, ver[page]) && !(*bad)++)
				fprintf(stderr, "pager_bench: page %llu word %llu is stale\n",
					(unsigned long long)page, (unsigned long long)w);
	}
	free(cdf);
	free(perm);
	free(ver);
	return 0;
}

static int run_zipf(uint64_t ws, uint64_t touches, struct remote_mem_config *cfg,
		    const struct zipf_opts *o)
{
	struct pager_config pc = {.cache_bytes = o->cache ? o->cache : ws / 4,
				  .threads = 1,
				  .prefetch = !o->no_prefetch,
				  .trace_path = o->trace};
	uint64_t pages = ws / PAGE, bad = 0, t0;
	struct remote_mem rm;
	struct pager_stats st;
	struct pager *pg;
	struct vm vm;
	double secs;

	if (vm_init(&vm, ws))
		return 1;
	if (remote_mem_open(&rm, cfg, ws, 2)) {
		fprintf(stderr, "pager_bench: %s\n", rm.error);
		remote_mem_close(&rm, false);
		return 1;
	}
	if (pager_start(&pg, &vm, &rm, &pc))
		return 1;
	t0 = (uint64_t)mono_clock_ns();
	if (zipf_pass(vm.mem.base, pages, touches, o, &bad))
		return 1;
	secs = (double)((uint64_t)mono_clock_ns() - t0) / 1e9;
	pager_stats_get(pg, &st);
	printf("zipf_accesses %llu\n", (unsigned long long)touches);
	printf("zipf_faults %llu\n", (unsigned long long)st.faults);
	printf("zipf_hit_ratio %.4f\n", 1.0 - (double)st.faults / (double)touches);
	printf("zipf_ops_s %.0f\n", (double)touches / secs);
	printf("zipf_cache_pages %llu\n", (unsigned long long)st.cache_pages);
	printf("zipf_wp_faults %llu\n", (unsigned long long)st.wp_faults);
	printf("zipf_refaults %llu\n", (unsigned long long)st.refaults);
	printf("zipf_second_chances %llu\n", (unsigned long long)st.second_chances);
	printf("zipf_fault_p50_us %.2f\n", (double)st.lat_p50_ns / 1e3);
	printf("zipf_fault_p99_us %.2f\n", (double)st.lat_p99_ns / 1e3);
	pager_stop(pg);
	vm_destroy(&vm);
	remote_mem_close(&rm, true);
	printf("errors %llu\n", (unsigned long long)bad);
	return bad != 0;
}

/* ---- plain TCP round trip, 64-byte request and 4 KiB reply ------------------------- */
static int full_io(int fd, void *buf, size_t len, int wr)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = wr ? write(fd, (char *)buf + done, len - done)
			       : read(fd, (char *)buf + done, len - done);

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static int server_cpu = -1;

static void *tcp_server(void *arg)
{
	int lfd = *(int *)arg, fd = accept(lfd, NULL, NULL), one = 1;
	char req[64], page[PAGE];

	if (server_cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(server_cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	memset(page, 0x5a, sizeof(page));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (full_io(fd, req, sizeof(req), 0) == 0 && full_io(fd, page, sizeof(page), 1) == 0)
		;
	close(fd);
	return NULL;
}

static int run_tcp(uint64_t rounds)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd, one = 1;
	uint64_t *lat = calloc(rounds, sizeof(*lat));
	char req[64] = {0}, page[PAGE];
	pthread_t t;

	if (!lat || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl))
		return 1;
	pthread_create(&t, NULL, tcp_server, &lfd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t t0 = (uint64_t)mono_clock_ns();

		if (full_io(fd, req, sizeof(req), 1) || full_io(fd, page, sizeof(page), 0))
			return 1;
		lat[i] = (uint64_t)mono_clock_ns() - t0;
	}
	close(fd);
	pthread_join(t, NULL);
	close(lfd);
	printf("tcp_rtt_4k_p50_us %.2f\n", pct(lat, rounds, 0.5));
	free(lat);
	return 0;
}

/* A zipf exponent in [0, 2]. */
static bool parse_theta(const char *v, double *out)
{
	char *end;
	double t = strtod(v, &end);

	if (end == v || *end || !(t >= 0 && t <= 2))
		return false;
	*out = t;
	return true;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pager_bench MODE [--ws SIZE] [--touches N] [--mmon HOST:PORT]... "
		"[--threads N] [--replicas N] [--no-rma] [--cpu N] [--server-cpu N]\n"
		"       [--capability-key FILE] [--pager-mode auto|copy|zerocopy] [--vhost] "
		"[--server-pid PID]...\n"
		"       [--theta X] [--seed N] [--cache SIZE] [--trace FILE] [--no-prefetch]\n"
		"MODE: local | uffd-local-seq | uffd-local-rand | remote | tcp-rtt | zipf\n"
		"remote and zipf show the servers a capability signed with FILE (default "
		"$LEGO_CAPABILITY_KEY), as a standalone lego-vmm does; without one, the\n"
		"servers must run --insecure-no-capabilities. --vhost: the pager is told that "
		"vhost-net shares guest RAM, as lego-vmm tells it with --net. --server-pid: the\n"
		"servers' CPU time (every thread's) over the random pass is printed "
		"(rand_server_cpu_us).\n"
		"Prints one 'name value' line per figure; exit 1 on any verification "
		"error.\n");
}

int main(int argc, char **argv)
{
	struct remote_mem_config cfg = {.vnode = 0,
					.client_name = "pager_bench",
					.region_size = 1ULL << 30,
					.timeout_ms = 10000,
					.use_rma = true};
	uint64_t ws = 64ULL << 20, touches = 20000;
	struct zipf_opts zo = {.theta = 0.99, .seed = 1};
	int threads = 1;
	enum pager_mode pmode = PAGER_MODE_AUTO;
	bool vhost = false;
	const char *mode, *key = NULL;
	struct cap_holder holder;

	log_init("pager_bench");
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 64 : 0;
	}
	mode = argv[1];
	cfg.provider = fabric_default_provider();
	cfg.vnode = (uint64_t)getpid() << 8 | 1;
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t x;

		if (!strcmp(argv[i], "--no-rma")) {
			cfg.use_rma = false;
			continue;
		}
		if (!strcmp(argv[i], "--vhost")) {
			vhost = true; /* the pager told what lego-vmm tells it with --net */
			continue;
		}
		if (!strcmp(argv[i], "--no-prefetch")) {
			zo.no_prefetch = true;
			continue;
		}
		if (!v) {
			usage(stderr);
			return 64;
		}
		if (!strcmp(argv[i], "--cpu") && !parse_uint(v, 0, CPU_SETSIZE - 1, &x)) {
			cpu_set_t set;

			/* This thread and every thread started later (pager, handler). */
			CPU_ZERO(&set);
			CPU_SET((int)x, &set);
			if (sched_setaffinity(0, sizeof(set), &set)) {
				perror("sched_setaffinity");
				return 1;
			}
		} else if (!strcmp(argv[i], "--server-cpu") &&
			   !parse_uint(v, 0, CPU_SETSIZE - 1, &x)) {
			server_cpu = (int)x;
		} else if (!strcmp(argv[i], "--ws") && !parse_size(v, &ws)) {
			ws &= ~((2ULL << 20) - 1);
		} else if (!strcmp(argv[i], "--touches") && !parse_uint(v, 1, 1 << 26, &touches)) {
		} else if (!strcmp(argv[i], "--threads") &&
			   !parse_uint(v, 1, PAGER_MAX_THREADS, &x)) {
			threads = (int)x;
		} else if (!strcmp(argv[i], "--replicas") && !parse_uint(v, 1, RM_MAX_COPIES, &x)) {
			cfg.replicas = (int)x;
		} else if (!strcmp(argv[i], "--theta") && parse_theta(v, &zo.theta)) {
		} else if (!strcmp(argv[i], "--seed") && !parse_uint(v, 0, UINT32_MAX, &zo.seed)) {
		} else if (!strcmp(argv[i], "--cache") && !parse_size(v, &zo.cache) && zo.cache) {
		} else if (!strcmp(argv[i], "--trace")) {
			zo.trace = v;
		} else if (!strcmp(argv[i], "--mmon") && cfg.nr_servers < RM_MAX_SERVERS) {
			cfg.servers[cfg.nr_servers++] = v;
		} else if (!strcmp(argv[i], "--pager-mode") &&
			   (!strcmp(v, "auto") || !strcmp(v, "copy") || !strcmp(v, "zerocopy"))) {
			pmode = !strcmp(v, "copy")	 ? PAGER_MODE_COPY
				: !strcmp(v, "zerocopy") ? PAGER_MODE_ZEROCOPY
							 : PAGER_MODE_AUTO;
		} else if (!strcmp(argv[i], "--server-pid") && nr_server_pids < RM_MAX_SERVERS &&
			   !parse_uint(v, 1, INT32_MAX, &x)) {
			server_pids[nr_server_pids++] = (int)x;
		} else if (!strcmp(argv[i], "--capability-key")) {
			key = v;
		} else {
			usage(stderr);
			return 64;
		}
		i++;
	}
	if (!strcmp(mode, "local"))
		return run_local(ws / PAGE);
	if (!strcmp(mode, "uffd-local-seq"))
		return run_uffd_local(ws / PAGE, 0, 1);
	if (!strcmp(mode, "uffd-local-rand"))
		return run_uffd_local(ws / PAGE, touches, 0);
	if (!strcmp(mode, "tcp-rtt"))
		return run_tcp(touches);
	if ((!strcmp(mode, "remote") || !strcmp(mode, "zipf")) && cfg.nr_servers) {
		/* Regions small enough that both servers hold part of the working set. */
		cfg.region_size =
			ws / 8 >= (2ULL << 20) ? (ws / 8) & ~((2ULL << 20) - 1) : 2ULL << 20;
		int rc;

		if (self_sign(&holder, key, ws, &cfg))
			return 1;
		rc = !strcmp(mode, "remote") ? run_remote(ws, touches, &cfg, threads, pmode, vhost)
					     : run_zipf(ws, touches, &cfg, &zo);
		if (cfg.holder)
			cap_holder_free(cfg.holder);
		return rc;
	}
	usage(stderr);
	return 64;
}
