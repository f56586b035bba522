/* mem_churn.c: a guest's memory workload without KVM, for the replication and drain tests
 * and the mempool bench: an ordinary thread verifies and rewrites every page of a working
 * set several times larger than the ExCache, through lego-vmm's own pager and remote
 * memory (so every pass writes back and fetches), with lego-vmm's control socket.
 *
 * Each pass p reads every page, checks it holds pass p-1's pattern (a page never written
 * is zeros), then writes pass p's. It reports verification errors, pages per second, the
 * longest page access of each second (a guest-visible stall), and with --kill the time
 * from a SIGKILL it sends (to a memory server) until the next page it verified that had
 * to come from or go to the memory servers. Output: one "name value" line per figure;
 * exit 1 on any verification error, 125 when the pager stopped it (memory lost).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/control/control_sock.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "tests/tools/tool_caps.h"
#include "vmm/migration/migrate.h"
#include "lib/mono_clock.h"
#include "vmm/memory/pager.h"
#include "lib/parse.h"
#include "vmm/memory/remote_mem.h"
#include "vmm/devices/legacy/serial.h"
#include "vmm/kvm/vm.h"

#define PAGE	     4096ULL
#define FAULT_MIN_NS 1500 /* an access slower than this went through the pager */
#define MAX_SECONDS  3600
#define MAX_OWNERS   1024

struct churn {
	atomic_bool stop;
	uint8_t *base;
	uint64_t pages;
	uint64_t passes_max;
	int64_t deadline_us;
	const char *stop_file;
	/* Results. */
	uint64_t errors, passes, ops;
	uint64_t window_max_ns[MAX_SECONDS + 1]; /* longest access per second of the run */
	int64_t t0_us;
	/* --kill: when it was sent, and the first remote access verified after it. */
	atomic_int_fast64_t kill_us;
	int64_t failover_us;
	uint64_t max_after_kill_ns;
	int signal;
};

static uint64_t word(uint64_t page, int w, uint64_t pass)
{
	return pass ? (pass << 44) ^ (page * 512 + (uint64_t)w + 1) : 0;
}

static bool stop_now(struct churn *c)
{
	struct stat st;

	if (atomic_load(&c->stop))
		return true;
	if (c->deadline_us && mono_clock_us() >= c->deadline_us)
		return true;
	if (c->passes_max && c->passes >= c->passes_max)
		return true;
	return c->stop_file && stat(c->stop_file, &st) == 0;
}

static void *churn_thread(void *arg)
{
	struct churn *c = arg;

	c->t0_us = mono_clock_us();
	for (uint64_t pass = 1; !stop_now(c); pass++) {
		for (uint64_t i = 0; i < c->pages; i++) {
			volatile uint64_t *p = (volatile uint64_t *)(c->base + i * PAGE);
			int64_t t0 = mono_clock_us() * 1000, dt, sec, k;
			bool bad = false;

			for (int w = 0; w < 512; w++)
				bad |= p[w] != word(i, w, pass - 1);
			for (int w = 0; w < 512; w++)
				p[w] = word(i, w, pass);
			dt = mono_clock_us() * 1000 - t0;
			if (bad && c->errors++ < 5)
				fprintf(stderr,
					"mem_churn: pass %llu: page %llu holds %llx, not %llx\n",
					(unsigned long long)pass, (unsigned long long)i,
					(unsigned long long)p[0],
					(unsigned long long)word(i, 0, pass - 1));
			c->ops++;
			sec = (t0 / 1000 - c->t0_us) / 1000000;
			if (sec >= 0 && sec <= MAX_SECONDS && (uint64_t)dt > c->window_max_ns[sec])
				c->window_max_ns[sec] = (uint64_t)dt;
			k = atomic_load(&c->kill_us);
			if (k && t0 / 1000 >= k) {
				if ((uint64_t)dt > c->max_after_kill_ns)
					c->max_after_kill_ns = (uint64_t)dt;
				if (!c->failover_us && dt >= FAULT_MIN_NS && !bad)
					c->failover_us = (t0 + dt) / 1000 - k;
			}
			if ((i & 1023) == 0 && stop_now(c))
				break;
		}
		c->passes = pass;
	}
	return NULL;
}

struct killer {
	struct churn *c;
	pid_t pid;
	int after_ms;
};

static void *kill_thread(void *arg)
{
	struct killer *k = arg;

	usleep((useconds_t)k->after_ms * 1000);
	atomic_store(&k->c->kill_us, mono_clock_us());
	if (kill(k->pid, SIGKILL))
		fprintf(stderr, "mem_churn: kill %d: %s\n", (int)k->pid, strerror(errno));
	return NULL;
}

/* SIGTERM/SIGINT: the run ends as if its time were up. */
static void *signal_thread(void *arg)
{
	struct churn *c = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigwait(&set, &sig) == 0) {
		c->signal = sig;
		atomic_store(&c->stop, true);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: mem_churn --mmon HOST:PORT... [options]\n"
		   "  --ws SIZE            working set = guest RAM (default 64M)\n"
		   "  --cache SIZE         ExCache (default a quarter of the working set)\n"
		   "  --region-size SIZE   vRegion size (default 8M)\n"
		   "  --replicas N | --region-owners LIST   copies of each vRegion (as lego-vmm)\n"
		   "  --vnode-id N         the vNode's id on the servers (default: from the pid)\n"
		   "  --threads N          pager threads (default 2)\n"
		   "  --control PATH       lego-vmm's control socket (@NAME: abstract)\n"
		   "  --exit-file PATH     the exit status written there at the end (as lego-vmm)\n"
		   "  --capability FILE    lego-controld's capabilities (as lego-vmm; default: "
		   "signed with\n"
		   "                       $LEGO_CAPABILITY_KEY)\n"
		   "  --seconds S | --passes N | --stop-file PATH   when to stop (default 10 s)\n"
		   "  --kill PID --kill-after-ms MS   SIGKILL PID then (a memory server)\n");
}

static int bad_usage(const char *what)
{
	fprintf(stderr, "mem_churn: %s\n", what);
	usage(stderr);
	return 64;
}

/* --exit-file (lego-pmon gives it to every lego-vmm): the exit status is written there whole,
 * as lego-vmm does, for a lego-pmon that restarted and adopted this process. */
static const char *exit_file;

static int churn_main(int argc, char **argv);

int main(int argc, char **argv)
{
	int rc = churn_main(argc, argv);
	char tmp[4096];
	FILE *f;

	if (exit_file && snprintf(tmp, sizeof(tmp), "%s.tmp", exit_file) < (int)sizeof(tmp) &&
	    (f = fopen(tmp, "we"))) {
		if (fprintf(f, "%d\n", rc) < 0 || fclose(f) || rename(tmp, exit_file))
			unlink(tmp);
	}
	return rc;
}

static int churn_main(int argc, char **argv)
{
	struct remote_mem_config cfg = {.client_name = "mem_churn",
					.region_size = 8ULL << 20,
					.timeout_ms = 5000,
					.use_rma = true};
	static int owners[MAX_OWNERS][RM_MAX_COPIES];
	static struct churn c;
	struct killer k = {.c = &c};
	uint64_t ws = 64ULL << 20, cache = 0, seconds = 10, v;
	const char *control = NULL, *owner_list = NULL, *console = NULL, *capability = NULL;
	static struct cap_holder bundle;
	pthread_t sig_thread;
	sigset_t set;
	FILE *out = stdout;
	bool timed = false;
	int threads = 2;
	struct pager_config pc = {.prefetch = true};
	struct control_sock *cs = NULL;
	struct migrate mig;
	struct remote_mem rm;
	struct pager_stats st;
	struct pager *pg;
	struct vm vm;
	pthread_t t, kt;
	uint64_t sorted[MAX_SECONDS + 1], n = 0;

	log_init("mem_churn");
	cfg.provider = fabric_default_provider();
	cfg.vnode = (uint64_t)getpid() << 8 | 3;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!val)
			return bad_usage("every option takes a value");
		i++;
		if (!strcmp(a, "--mmon") && cfg.nr_servers < RM_MAX_SERVERS)
			cfg.servers[cfg.nr_servers++] = val;
		else if (!strcmp(a, "--provider") && *val)
			cfg.provider = val;
		else if ((!strcmp(a, "--ws") || !strcmp(a, "--mem")) && !parse_size(val, &ws) &&
			 ws >= (2ULL << 20))
			ws &= ~((2ULL << 20) - 1);
		else if (!strcmp(a, "--kernel") || !strcmp(a, "--cpus") || !strcmp(a, "--append") ||
			 !strcmp(a, "--pki") || !strcmp(a, "--pki-name"))
			; /* lego-vmm's, as lego-pmon gives them: nothing to do here */
		else if (!strcmp(a, "--console"))
			console = val;
		else if (!strcmp(a, "--exit-file"))
			exit_file = val;
		else if (!strcmp(a, "--cache") && !parse_size(val, &cache) && cache >= (1ULL << 20))
			;
		else if (!strcmp(a, "--region-size") && !parse_size(val, &v) && v &&
			 v % (2ULL << 20) == 0)
			cfg.region_size = v;
		else if (!strcmp(a, "--replicas") && !parse_uint(val, 1, RM_MAX_COPIES, &v))
			cfg.replicas = (int)v;
		else if (!strcmp(a, "--region-owners"))
			owner_list = val;
		else if (!strcmp(a, "--vnode-id") && !parse_uint(val, 1, UINT64_MAX, &v))
			cfg.vnode = v;
		else if (!strcmp(a, "--threads") && !parse_uint(val, 1, PAGER_MAX_THREADS, &v))
			threads = (int)v;
		else if (!strcmp(a, "--control"))
			control = val;
		else if (!strcmp(a, "--capability"))
			capability = val;
		else if (!strcmp(a, "--seconds") && !parse_uint(val, 1, MAX_SECONDS, &seconds))
			timed = true;
		else if (!strcmp(a, "--passes") && !parse_uint(val, 1, 1000000, &c.passes_max))
			timed = true;
		else if (!strcmp(a, "--stop-file"))
			c.stop_file = val;
		else if (!strcmp(a, "--kill") && !parse_uint(val, 1, INT32_MAX, &v))
			k.pid = (pid_t)v;
		else if (!strcmp(a, "--kill-after-ms") && !parse_uint(val, 1, 3600000, &v))
			k.after_ms = (int)v;
		else
			return bad_usage("bad option or value");
	}
	if (!cfg.nr_servers)
		return bad_usage("give at least one --mmon");
	if (owner_list) {
		/* "0+1,1+0,...": as lego-vmm's --region-owners. */
		const char *p = owner_list;
		int r = 0;

		memset(owners, 0xff, sizeof(owners));
		while (*p && r < MAX_OWNERS) {
			for (int j = 0; j < RM_MAX_COPIES; j++) {
				char *end;

				owners[r][j] = (int)strtol(p, &end, 10);
				if (end == p)
					return bad_usage("--region-owners must be like 0+1,1+0");
				p = end;
				if (*p != '+')
					break;
				p++;
			}
			r++;
			if (*p == ',')
				p++;
		}
		cfg.owners = (const int(*)[RM_MAX_COPIES])owners;
	}
	if ((k.pid != 0) != (k.after_ms != 0))
		return bad_usage("--kill and --kill-after-ms go together");
	if (console && !(out = fopen(console, "w"))) {
		fprintf(stderr, "mem_churn: cannot open the console '%s': %s\n", console,
			strerror(errno));
		return 1;
	}
	/* Before any thread: only the signal thread takes these. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_create(&sig_thread, NULL, signal_thread, &c);
	pthread_detach(sig_thread);
	pc.cache_bytes = cache ? cache : ws / 4;
	pc.threads = threads;
	migrate_init(&mig);
	if (vm_init(&vm, ws))
		return 1;
	if (capability) {
		char err[512];

		if (cap_holder_init_bundle_file(&bundle, capability, err, sizeof(err))) {
			fprintf(stderr, "mem_churn: %s\n", err);
			return 1;
		}
		cfg.holder = &bundle;
	} else {
		cfg.holder = tool_caps_memory(cfg.vnode, ws, cfg.region_size);
	}
	if (remote_mem_open(&rm, &cfg, ws, threads + 1)) {
		fprintf(stderr, "mem_churn: %s\n", rm.error);
		remote_mem_close(&rm, false);
		return 125;
	}
	if (pager_start(&pg, &vm, &rm, &pc))
		return 125;
	if (control) {
		/* No guest, so a UART on no bus: the stats' console counts (zero), and
		 * console-in has a FIFO nobody reads. control_sock keeps the pointer. */
		static struct serial none = {.lock = PTHREAD_MUTEX_INITIALIZER, .out_fd = -1};
		struct control_sock_target ct = {.vnode = cfg.vnode,
						 .vcpus = 1,
						 .mem_bytes = ws,
						 .vm = &vm,
						 .pg = pg,
						 .rm = &rm,
						 .serial = &none,
						 .mig = &mig,
						 .holder = cfg.holder};

		/* It runs once its control socket is up: its stats say "running" (lego-pmon
		 * answers a start then); a migration still finds nothing to move (no pager in
		 * mig). */
		mig.ready = true;
		if (control_sock_start(&cs, control, &ct))
			return 1;
	}
	c.base = vm.mem.base;
	c.pages = ws / PAGE;
	/* As a vNode (a console, no limit given) it runs until it is stopped. */
	if (!timed && console)
		seconds = 0;
	c.deadline_us = seconds && !c.passes_max ? mono_clock_us() + (int64_t)seconds * 1000000 : 0;
	{
		struct timespec now;

		/* Wall-clock start, so that a bench can map its events onto the seconds. */
		clock_gettime(CLOCK_REALTIME, &now);
		fprintf(out, "started\nstart_unix_ms %lld\n",
			(long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	}
	fflush(out);
	pthread_create(&t, NULL, churn_thread, &c);
	if (k.pid)
		pthread_create(&kt, NULL, kill_thread, &k);
	pthread_join(t, NULL);
	if (k.pid)
		pthread_join(kt, NULL);
	control_sock_stop(cs);
	pager_stats_get(pg, &st);
	for (int64_t s = 0; s <= MAX_SECONDS && s * 1000000 <= mono_clock_us() - c.t0_us; s++)
		if (c.window_max_ns[s])
			sorted[n++] = c.window_max_ns[s];
	qsort(sorted, n, sizeof(sorted[0]), cmp_u64);
	fprintf(out, "passes %llu\npages_per_s %.0f\n", (unsigned long long)c.passes,
		(double)c.ops * 1e6 / (double)(mono_clock_us() - c.t0_us));
	fprintf(out, "seconds %.3f\n", (double)(mono_clock_us() - c.t0_us) / 1e6);
	fprintf(out, "stall_max_ms %.3f\nstall_p99_ms %.3f\n",
		n ? (double)sorted[n - 1] / 1e6 : 0.0,
		n ? (double)sorted[(size_t)(0.99 * (double)(n - 1))] / 1e6 : 0.0);
	fprintf(out, "stall_ms_per_s");
	for (int64_t s = 0; s <= MAX_SECONDS && s * 1000000 <= mono_clock_us() - c.t0_us; s++)
		fprintf(out, "%c%.2f", s ? ',' : ' ', (double)c.window_max_ns[s] / 1e6);
	fprintf(out, "\n");
	if (k.pid)
		fprintf(out, "failover_ms %.3f\nstall_after_kill_ms %.3f\n",
			c.failover_us ? (double)c.failover_us / 1e3 : -1.0,
			(double)c.max_after_kill_ns / 1e6);
	fprintf(out, "pager_writebacks %llu\npager_fetched %llu\n",
		(unsigned long long)st.writebacks, (unsigned long long)st.pages_fetched);
	fprintf(out, "copies_lost %llu\nredirects %llu\n",
		(unsigned long long)atomic_load(&rm.copies_lost),
		(unsigned long long)atomic_load(&rm.redirects));
	fprintf(out, "errors %llu\n", (unsigned long long)c.errors);
	/* As a vNode, its console goes when its host forgets it: the verdict stays in its log. */
	if (out != stdout)
		fprintf(stderr, "mem_churn: verdict: %llu verification errors over %llu passes\n",
			(unsigned long long)c.errors, (unsigned long long)c.passes);
	pager_stop(pg);
	vm_destroy(&vm);
	remote_mem_close(&rm, true);
	migrate_destroy(&mig);
	if (out != stdout)
		fclose(out);
	if (c.errors)
		return 1;
	return c.signal ? 128 + c.signal : 0;
}
