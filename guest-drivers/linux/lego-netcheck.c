/* lego-netcheck.c: TCP checks between vNodes (or a vNode and its host): a server, and clients
 * that stream a verified pattern, measure throughput, round trips and the longest silence. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_util.h"

#define DEFAULT_PORT 7777
#define MAGIC	     0x31434e4cU /* "LNC1" */
#define HDR_LEN	     32
#define BUF	     (64 * 1024)

enum mode { M_ECHO = 1, M_SINK, M_SOURCE, M_RR, M_QUIT };
static const char *const mode_names[] = {"", "echo", "send", "recv", "rr", "quit"};

/* The request every connection starts with (little-endian). */
struct req {
	uint32_t mode, chunk;
	uint64_t seed, bytes;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lego-netcheck server [--port P] [--quiet]\n"
		"       lego-netcheck MODE HOST [--port P] [--size SIZE] [--seconds S] [--seed N]\n"
		"                     [--rate KIB_S] [--chunk BYTES] [--count N] [--wait S]\n"
		"The server serves each connection on a thread of its own until a client says\n"
		"quit, then prints 'RESULT netcheck-server PASS|FAIL conns=.. errors=..' and "
		"exits\n"
		"with 0 if every byte a client sent it was as expected. A line per connection "
		"says\n"
		"what it saw, with the longest gap between two arrivals (max_gap_ms).\n"
		"Modes of a client (each prints one RESULT netcheck line, exit 0 on PASS):\n"
		"  echo  send SIZE bytes of a seeded pattern (or for S seconds, at most KIB_S "
		"KiB/s)\n"
		"        and verify every byte the server echoes; max_gap_ms is the longest wait "
		"for\n"
		"        the echo while data was outstanding (what a migration costs)\n"
		"  send  send SIZE bytes; the server verifies them: throughput (mbit_s)\n"
		"  recv  the server sends SIZE bytes; we verify them: throughput\n"
		"  rr    N round trips of CHUNK bytes (default 1): rtt_us avg, p50, p99\n"
		"  quit  the server exits\n"
		"A client waits up to --wait seconds (default 60) for the server to be up.\n"
		"Defaults: --port %d, --size 4M, --seed 1, --count 1000.\n"
		"Exit status: 0 on PASS, 1 on FAIL, 64 for a bad command line.\n",
		DEFAULT_PORT);
}

static uint8_t pattern(uint64_t seed, uint64_t off)
{
	return (uint8_t)(check_util_word(seed, off / 8) >> (8 * (off % 8)));
}

/* The pattern word by word where the stream is 8-byte aligned (byte k of a word is bits
 * 8k..8k+7, as pattern() says), byte by byte at the ends. */
static void fill(uint8_t *b, size_t n, uint64_t seed, uint64_t off)
{
	size_t i = 0;

	for (; i < n && (off + i) % 8; i++)
		b[i] = pattern(seed, off + i);
	for (; n - i >= 8; i += 8) {
		uint64_t w = check_util_word(seed, (off + i) / 8);

		for (int k = 0; k < 8; k++)
			b[i + (size_t)k] = (uint8_t)(w >> (8 * k));
	}
	for (; i < n; i++)
		b[i] = pattern(seed, off + i);
}

/* Mismatches of b against the pattern at off (the first few printed with who). */
static uint64_t verify(const uint8_t *b, size_t n, uint64_t seed, uint64_t off, uint64_t errors,
		       const char *who)
{
	uint8_t want[BUF];
	uint64_t bad = 0;

	for (size_t done = 0; done < n;) {
		size_t m = n - done < BUF ? n - done : BUF;

		fill(want, m, seed, off + done);
		if (memcmp(b + done, want, m)) {
			for (size_t i = 0; i < m; i++) {
				if (b[done + i] == want[i])
					continue;
				if (errors + bad < CHECK_MAX_REPORTS)
					printf("lego-netcheck: %s: byte %llu is 0x%02x, not "
					       "0x%02x\n",
					       who, (unsigned long long)(off + done + i),
					       b[done + i], want[i]);
				bad++;
			}
		}
		done += m;
	}
	return bad;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t r = read(fd, b, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void put32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *b, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* ---- server ------------------------------------------------------------------------------ */

static pthread_mutex_t srv_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t srv_conns, srv_errors;
static bool srv_quiet;

struct conn {
	int fd;
	char peer[64];
};

/* Read until EOF: for echo write everything back, for sink verify it. Bytes, errors and the
 * longest gap between two arrivals in *gap_us. -1 on a broken connection. */
static int64_t drain(int fd, const struct req *r, bool echo, uint64_t *errors, uint64_t *gap_us,
		     const char *who)
{
	static __thread uint8_t buf[BUF];
	uint64_t got = 0, last = now_us();

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		uint64_t t = now_us();

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return (int64_t)got;
		if (t - last > *gap_us)
			*gap_us = t - last;
		last = t;
		if (echo && write_all(fd, buf, (size_t)n))
			return -1;
		if (!echo)
			*errors += verify(buf, (size_t)n, r->seed, got, *errors, who);
		got += (uint64_t)n;
	}
}

static int serve_source(int fd, const struct req *r)
{
	static __thread uint8_t buf[BUF];

	for (uint64_t off = 0; off < r->bytes;) {
		size_t n = r->bytes - off < BUF ? (size_t)(r->bytes - off) : BUF;

		fill(buf, n, r->seed, off);
		if (write_all(fd, buf, n))
			return -1;
		off += n;
	}
	return 0;
}

static int serve_rr(int fd, const struct req *r)
{
	static __thread uint8_t buf[BUF];

	if (!r->chunk || r->chunk > BUF)
		return -1;
	while (read_all(fd, buf, r->chunk) == 0)
		if (write_all(fd, buf, r->chunk))
			return -1;
	return 0;
}

static void *serve(void *arg)
{
	struct conn *c = arg;
	uint8_t h[HDR_LEN], res[24];
	struct req r;
	uint64_t errors = 0, gap = 0;
	int64_t got = 0;
	int rc = 0;

	if (read_all(c->fd, h, HDR_LEN) || get(h, 4) != MAGIC) {
		printf("netcheck-server: %s: no valid request\n", c->peer);
		goto out;
	}
	r = (struct req){.mode = (uint32_t)get(h + 4, 4),
			 .chunk = (uint32_t)get(h + 8, 4),
			 .seed = get(h + 16, 8),
			 .bytes = get(h + 24, 8)};
	switch (r.mode) {
	case M_ECHO:
	case M_SINK:
		got = drain(c->fd, &r, r.mode == M_ECHO, &errors, &gap, c->peer);
		rc = got < 0 ? -1 : 0;
		if (r.mode == M_SINK && got >= 0) {
			put64(res, (uint64_t)got);
			put64(res + 8, errors);
			put64(res + 16, gap);
			rc = write_all(c->fd, res, sizeof(res));
		}
		break;
	case M_SOURCE:
		rc = serve_source(c->fd, &r);
		break;
	case M_RR:
		rc = serve_rr(c->fd, &r);
		break;
	case M_QUIT:
		pthread_mutex_lock(&srv_lock);
		printf("RESULT netcheck-server %s conns=%llu errors=%llu\n",
		       srv_errors ? "FAIL" : "PASS", (unsigned long long)srv_conns,
		       (unsigned long long)srv_errors);
		fflush(stdout);
		write_all(c->fd, "OK", 2);
		exit(srv_errors ? 1 : 0);
	default:
		printf("netcheck-server: %s: unknown mode %u\n", c->peer, r.mode);
		goto out;
	}
	pthread_mutex_lock(&srv_lock);
	srv_conns++;
	srv_errors += errors + (rc != 0);
	pthread_mutex_unlock(&srv_lock);
	if (!srv_quiet || errors || rc)
		printf("netcheck-server: %s: mode=%s bytes=%lld errors=%llu max_gap_ms=%.1f%s\n",
		       c->peer, mode_names[r.mode], (long long)got, (unsigned long long)errors,
		       (double)gap / 1000, rc ? " (connection broken)" : "");
	fflush(stdout);
out:
	close(c->fd);
	free(c);
	return NULL;
}

static int server(int port)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	int one = 1, zero = 0, ls = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(ls, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 16)) {
		printf("lego-netcheck: cannot listen on port %d: %s\n", port, strerror(errno));
		return 1;
	}
	printf("netcheck-server: listening on port %d\n", port);
	fflush(stdout);
	for (;;) {
		struct sockaddr_in6 p;
		socklen_t pl = sizeof(p);
		struct conn *c = malloc(sizeof(*c));
		pthread_t t;
		char host[INET6_ADDRSTRLEN];

		if (!c)
			return 1;
		c->fd = accept4(ls, (struct sockaddr *)&p, &pl, SOCK_CLOEXEC);
		if (c->fd < 0) {
			free(c);
			continue;
		}
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		inet_ntop(AF_INET6, &p.sin6_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "%s",
			 strncmp(host, "::ffff:", 7) ? host : host + 7);
		if (pthread_create(&t, NULL, serve, c)) {
			close(c->fd);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
}

/* ---- clients ----------------------------------------------------------------------------- */

struct opts {
	enum mode mode;
	const char *host;
	int port;
	uint64_t size, seed, rate_kib, count;
	uint32_t chunk;
	double seconds, wait;
};

/* HOST is an address (the guests have no resolver): IPv4 or IPv6. A server that is not up
 * yet (refused, unreachable) is tried again every 200 ms for --wait seconds. */
static int dial(const struct opts *o, int *fd)
{
	uint64_t until = now_us() + (uint64_t)(o->wait * 1e6);
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)o->port)};
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
	struct sockaddr *sa = (struct sockaddr *)&a4;
	socklen_t sl = sizeof(a4);
	int one = 1;

	if (inet_pton(AF_INET6, o->host, &a6.sin6_addr) == 1) {
		sa = (struct sockaddr *)&a6;
		sl = sizeof(a6);
	} else if (inet_pton(AF_INET, o->host, &a4.sin_addr) != 1) {
		printf("lego-netcheck: '%s' is not an IPv4 or IPv6 address\n", o->host);
		return -1;
	}
	for (;;) {
		*fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (*fd >= 0 && connect(*fd, sa, sl) == 0)
			break;
		int e = errno;

		if (*fd >= 0)
			close(*fd);
		if ((e != ECONNREFUSED && e != EHOSTUNREACH && e != ENETUNREACH &&
		     e != ETIMEDOUT) ||
		    now_us() >= until) {
			printf("lego-netcheck: cannot connect to %s port %d: %s\n", o->host,
			       o->port, strerror(e));
			return -1;
		}
		usleep(200000);
	}
	setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

static int send_req(int fd, const struct opts *o)
{
	uint8_t h[HDR_LEN] = {0};

	put32(h, MAGIC);
	put32(h + 4, o->mode);
	put32(h + 8, o->chunk);
	put64(h + 16, o->seed);
	put64(h + 24, o->size);
	return write_all(fd, h, HDR_LEN);
}

/* The echo writer: the pattern, paced at rate_kib if set, for size bytes or seconds. */
struct writer {
	int fd;
	const struct opts *o;
	uint64_t sent;
	bool failed;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	static uint8_t buf[BUF];
	uint64_t t0 = now_us(), limit = w->o->seconds ? UINT64_MAX : w->o->size;
	size_t step = w->o->rate_kib ? 4096 : BUF;

	while (w->sent < limit) {
		uint64_t el = now_us() - t0;
		size_t n = limit - w->sent < step ? (size_t)(limit - w->sent) : step;

		if (w->o->seconds && el >= (uint64_t)(w->o->seconds * 1e6))
			break;
		if (w->o->rate_kib && w->sent * 1000000 / 1024 > w->o->rate_kib * el) {
			usleep(2000);
			continue;
		}
		fill(buf, n, w->o->seed, w->sent);
		if (write_all(w->fd, buf, n)) {
			w->failed = true;
			break;
		}
		__atomic_store_n(&w->sent, w->sent + n, __ATOMIC_RELEASE);
	}
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

static void result(const struct opts *o, bool pass, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void result(const struct opts *o, bool pass, const char *fmt, ...)
{
	va_list ap;

	printf("RESULT netcheck %s mode=%s peer=%s:%d ", pass ? "PASS" : "FAIL",
	       mode_names[o->mode], o->host, o->port);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int client_echo(int fd, const struct opts *o)
{
	static uint8_t buf[BUF];
	struct writer w = {.fd = fd, .o = o};
	uint64_t got = 0, errors = 0, gap = 0, t0 = now_us(), last = t0;
	pthread_t t;
	bool broken = false;

	pthread_create(&t, NULL, writer_thread, &w);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		uint64_t now = now_us();

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			broken = n < 0;
			break;
		}
		/* A gap counts only while echoes were owed (not while the writer idled). */
		if (now - last > gap && __atomic_load_n(&w.sent, __ATOMIC_ACQUIRE) > got)
			gap = now - last;
		last = now;
		errors += verify(buf, (size_t)n, o->seed, got, errors, "echo");
		got += (uint64_t)n;
	}
	pthread_join(t, NULL);
	double s = (double)(now_us() - t0) / 1e6;
	bool pass = !broken && !w.failed && !errors && got == w.sent && got > 0;

	result(o, pass, "bytes=%llu sent=%llu errors=%llu seconds=%.2f mbit_s=%.1f max_gap_ms=%.1f",
	       (unsigned long long)got, (unsigned long long)w.sent, (unsigned long long)errors, s,
	       (double)got * 8 / 1e6 / s, (double)gap / 1000);
	return pass ? 0 : 1;
}

static int client_send(int fd, const struct opts *o)
{
	static uint8_t buf[BUF];
	uint8_t res[24];
	uint64_t t0 = now_us();

	for (uint64_t off = 0; off < o->size;) {
		size_t n = o->size - off < BUF ? (size_t)(o->size - off) : BUF;

		fill(buf, n, o->seed, off);
		if (write_all(fd, buf, n)) {
			result(o, false, "bytes=%llu error=write", (unsigned long long)off);
			return 1;
		}
		off += n;
	}
	shutdown(fd, SHUT_WR);
	if (read_all(fd, res, sizeof(res))) {
		result(o, false, "bytes=%llu error=no-answer", (unsigned long long)o->size);
		return 1;
	}
	double s = (double)(now_us() - t0) / 1e6;
	uint64_t got = get(res, 8), errors = get(res + 8, 8);
	bool pass = got == o->size && !errors;

	result(o, pass, "bytes=%llu errors=%llu seconds=%.2f mbit_s=%.1f server_max_gap_ms=%.1f",
	       (unsigned long long)got, (unsigned long long)errors, s, (double)got * 8 / 1e6 / s,
	       (double)get(res + 16, 8) / 1000);
	return pass ? 0 : 1;
}

static int client_recv(int fd, const struct opts *o)
{
	static uint8_t buf[BUF];
	uint64_t got = 0, errors = 0, t0 = now_us();

	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		errors += verify(buf, (size_t)n, o->seed, got, errors, "recv");
		got += (uint64_t)n;
	}
	double s = (double)(now_us() - t0) / 1e6;
	bool pass = got == o->size && !errors;

	result(o, pass, "bytes=%llu errors=%llu seconds=%.2f mbit_s=%.1f", (unsigned long long)got,
	       (unsigned long long)errors, s, (double)got * 8 / 1e6 / s);
	return pass ? 0 : 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int client_rr(int fd, const struct opts *o)
{
	static uint8_t buf[BUF];
	uint64_t *rtt = calloc(o->count, sizeof(*rtt)), sum = 0;
	uint64_t i;

	if (!rtt)
		return 1;
	fill(buf, o->chunk, o->seed, 0);
	for (i = 0; i < o->count; i++) {
		uint64_t t = now_us();

		if (write_all(fd, buf, o->chunk) || read_all(fd, buf, o->chunk))
			break;
		rtt[i] = now_us() - t;
		sum += rtt[i];
	}
	bool pass = i == o->count && !verify(buf, o->chunk, o->seed, 0, 0, "rr");

	qsort(rtt, i ? i : 1, sizeof(*rtt), cmp_u64);
	result(o, pass, "count=%llu chunk=%u rtt_us_avg=%.1f rtt_us_p50=%llu rtt_us_p99=%llu",
	       (unsigned long long)i, o->chunk, i ? (double)sum / (double)i : 0,
	       (unsigned long long)rtt[i / 2], (unsigned long long)rtt[i ? (i * 99) / 100 : 0]);
	free(rtt);
	return pass ? 0 : 1;
}

static int client(const struct opts *o)
{
	int fd, rc;
	char ok[2];

	if (dial(o, &fd) || send_req(fd, o)) {
		result(o, false, "error=connect");
		return 1;
	}
	switch (o->mode) {
	case M_ECHO:
		rc = client_echo(fd, o);
		break;
	case M_SINK:
		rc = client_send(fd, o);
		break;
	case M_SOURCE:
		rc = client_recv(fd, o);
		break;
	case M_RR:
		rc = client_rr(fd, o);
		break;
	default:
		rc = read_all(fd, ok, 2) || memcmp(ok, "OK", 2);
		result(o, !rc, "%s", rc ? "error=no-answer" : "stopped");
		break;
	}
	close(fd);
	return rc;
}

static int parse_mode(const char *s, enum mode *m)
{
	for (int i = M_ECHO; i <= M_QUIT; i++) {
		if (!strcmp(s, mode_names[i])) {
			*m = (enum mode)i;
			return 0;
		}
	}
	return -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"port", 1, 0, 'p'},  {"size", 1, 0, 's'},  {"seconds", 1, 0, 't'},
		{"seed", 1, 0, 'e'},  {"rate", 1, 0, 'r'},  {"chunk", 1, 0, 'c'},
		{"count", 1, 0, 'n'}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'},
		{"wait", 1, 0, 'w'},  {0, 0, 0, 0}};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		bool bad = false;

		switch (c) {
		case 'p':
			o->port = atoi(optarg);
			bad = o->port <= 0 || o->port > 65535;
			break;
		case 's':
			bad = check_util_parse_size(optarg, &o->size);
			break;
		case 't':
			o->seconds = atof(optarg);
			bad = !(o->seconds > 0);
			break;
		case 'e':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			bad = check_util_parse_size(optarg, &o->rate_kib);
			break;
		case 'c':
			bad = check_util_parse_size(optarg, &v) || v > BUF;
			o->chunk = (uint32_t)v;
			break;
		case 'n':
			bad = check_util_parse_size(optarg, &o->count);
			break;
		case 'q':
			srv_quiet = true;
			break;
		case 'w':
			o->wait = atof(optarg);
			bad = !(o->wait >= 0);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			bad = true;
		}
		if (bad)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.port = DEFAULT_PORT,
			 .size = 4 << 20,
			 .seed = 1,
			 .count = 1000,
			 .chunk = 1,
			 .wait = 60};
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "server")) {
		if (parse_opts(argc - 1, argv + 1, &o) || optind != argc - 1) {
			usage(stderr);
			return 64;
		}
		return server(o.port);
	}
	if (argc < 3 || parse_mode(cmd, &o.mode)) {
		usage(stderr);
		return 64;
	}
	o.host = argv[2];
	if (parse_opts(argc - 2, argv + 2, &o) || optind != argc - 2) {
		usage(stderr);
		return 64;
	}
	return client(&o);
}
