/* controld_main.c: lego-controld: the control plane behind the libvirt remote protocol.
 * So far: the connection handshake (auth list, open, feature queries, close), keepalive,
 * the connection-level calls (type, version, hostname, node info), and libvirtd's
 * domain lookups and listing over a registry that is still empty (define is to come), and
 * libvirtd's "unknown procedure" answer for everything else. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "rpc_proto.h"
#include "xdr.h"

#define EXIT_USAGE    64
#define LEGO_VERSION  1000ULL /* 0.1.0 as major * 1e6 + minor * 1e3 + micro */
#define HOSTNAME_MAX  256
#define MAX_ARGS_SEEN 4194304U /* largest argument the procedures here accept */

enum proc {
	P_CONNECT_OPEN = 1,
	P_CONNECT_CLOSE = 2,
	P_GET_TYPE = 3,
	P_GET_VERSION = 4,
	P_NODE_GET_INFO = 6,
	P_GET_HOSTNAME = 59,
	P_SUPPORTS_FEATURE = 60,
	P_AUTH_LIST = 66,
	P_GET_LIB_VERSION = 157,
	P_LOOKUP_BY_ID = 22,
	P_LOOKUP_BY_NAME = 23,
	P_LOOKUP_BY_UUID = 24,
	P_LIST_ALL_DOMAINS = 273,
};

struct client {
	int fd;
	bool open; /* CONNECT_OPEN done */
};

static const char *sock_path;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lego-controld --socket PATH [options]\n"
		"The lego control plane, speaking the libvirt remote protocol: connect with\n"
		"  virsh -c 'lego+unix:///system?socket=PATH'\n"
		"\n"
		"  -s, --socket PATH   UNIX socket to listen on (replaced if stale)\n"
		"  -v, --verbose       debug log lines (every call)\n"
		"  -q, --quiet         warnings and errors only\n"
		"  -h, --help          this text\n"
		"\n"
		"Answers today: the handshake, keepalive, connect type/version/hostname, node\n"
		"info, and domain listing and lookup over a registry that is still empty\n"
		"(define is to come); every other procedure gets libvirtd's 'unknown procedure'\n"
		"error, which clients report as 'not supported'. SIGINT or SIGTERM stop it.\n");
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void node_info(struct xdr_out *o)
{
	static const char model[32] = "x86_64";
	struct sysinfo si;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	for (int i = 0; i < 32; i++) /* char[32]: four bytes per char on the wire */
		xdr_put_i32(o, model[i]);
	xdr_put_u64(o, sysinfo(&si) ? 0 : (uint64_t)si.totalram * si.mem_unit / 1024);
	xdr_put_i32(o, (int32_t)cpus); /* cpus */
	xdr_put_i32(o, 0);	       /* mhz: unknown */
	xdr_put_i32(o, 1);	       /* nodes */
	xdr_put_i32(o, 1);	       /* sockets */
	xdr_put_i32(o, (int32_t)cpus); /* cores */
	xdr_put_i32(o, 1);	       /* threads */
}

/* One call: its reply in o; false if the connection must close after it. */
static bool dispatch(struct client *cl, const struct rpc_hdr *h, struct xdr_in *args,
		     struct xdr_out *o)
{
	char host[HOSTNAME_MAX + 1];
	bool present, keep = true;
	char *name;

	switch (h->proc) {
	case P_AUTH_LIST:
	case P_CONNECT_CLOSE:
	case P_GET_TYPE:
	case P_GET_VERSION:
	case P_GET_LIB_VERSION:
	case P_GET_HOSTNAME:
	case P_NODE_GET_INFO:
		break; /* no arguments */
	case P_SUPPORTS_FEATURE:
	case P_LOOKUP_BY_ID:
		xdr_get_i32(args);
		break;
	case P_LOOKUP_BY_NAME:
		free(xdr_get_string(args, MAX_ARGS_SEEN));
		break;
	case P_LOOKUP_BY_UUID:
		xdr_get_fixed(args, 16);
		break;
	case P_LIST_ALL_DOMAINS:
		xdr_get_i32(args); /* need_results */
		xdr_get_u32(args); /* flags */
		break;
	case P_CONNECT_OPEN:
		name = xdr_get_opt_string(args, MAX_ARGS_SEEN, &present);
		xdr_get_u32(args); /* flags: only read-only (1) means something; ignored here */
		log_info("client opened '%s'", present && name ? name : "(no URI)");
		free(name);
		break;
	default:
		log_debug("unknown procedure %d", h->proc);
		rpc_unknown_proc_reply(o, h);
		return true;
	}
	if (!xdr_in_done(args)) {
		char why[160];

		snprintf(why, sizeof(why), "malformed arguments of procedure %d: %s", h->proc,
			 args->err);
		log_warn("%s", why);
		rpc_error_reply(o, h, RPC_ERR_RPC, RPC_FROM_RPC, why);
		return true;
	}
	if (!cl->open && h->proc != P_AUTH_LIST && h->proc != P_CONNECT_OPEN &&
	    h->proc != P_SUPPORTS_FEATURE) {
		rpc_error_reply(o, h, RPC_ERR_RPC, RPC_FROM_RPC, "connection not open");
		return true;
	}
	if (h->proc == P_LOOKUP_BY_ID || h->proc == P_LOOKUP_BY_NAME ||
	    h->proc == P_LOOKUP_BY_UUID) {
		/* The registry holds no vNode yet: libvirt's answer for a missing domain. */
		rpc_error_reply(o, h, RPC_ERR_NO_DOMAIN, RPC_FROM_DOMAIN,
				"Domain not found: no vNode is defined");
		return true;
	}
	rpc_begin_reply(o, h);
	switch (h->proc) {
	case P_AUTH_LIST:
		xdr_put_u32(o, 1);
		xdr_put_i32(o, 0); /* REMOTE_AUTH_NONE */
		break;
	case P_SUPPORTS_FEATURE:
		xdr_put_i32(o, 0); /* no keepalive, events or close callbacks yet */
		break;
	case P_CONNECT_OPEN:
		cl->open = true;
		break;
	case P_CONNECT_CLOSE:
		keep = false;
		break;
	case P_GET_TYPE:
		xdr_put_string(o, "LEGO");
		break;
	case P_GET_VERSION:
	case P_GET_LIB_VERSION:
		xdr_put_u64(o, LEGO_VERSION);
		break;
	case P_GET_HOSTNAME:
		if (gethostname(host, sizeof(host) - 1))
			snprintf(host, sizeof(host), "localhost");
		host[HOSTNAME_MAX] = '\0';
		xdr_put_string(o, host);
		break;
	case P_NODE_GET_INFO:
		node_info(o);
		break;
	case P_LIST_ALL_DOMAINS:
		xdr_put_u32(o, 0); /* domains<> */
		xdr_put_u32(o, 0); /* ret: how many */
		break;
	}
	rpc_end(o);
	return keep;
}

static void *serve(void *arg)
{
	struct client *cl = arg;
	uint8_t word[RPC_LEN_LEN], *body = NULL;

	for (;;) {
		struct rpc_hdr h;
		struct xdr_in x;
		struct xdr_out o;
		int64_t len;
		bool keep = true;

		if (read_all(cl->fd, word, sizeof(word)))
			break;
		len = rpc_body_len(word);
		if (len < 0) {
			log_warn("client sent an impossible packet length: closing");
			break;
		}
		free(body);
		body = malloc((size_t)len);
		if (!body || read_all(cl->fd, body, (size_t)len))
			break;
		xdr_in_init(&x, body, (size_t)len);
		if (rpc_hdr_get(&x, &h)) {
			log_warn("client sent a malformed header (%s): closing", x.err);
			break;
		}
		xdr_out_init(&o, RPC_MESSAGE_MAX + RPC_LEN_LEN);
		if (h.prog == RPC_KEEPALIVE_PROGRAM && h.proc == RPC_KEEPALIVE_PING &&
		    h.type == RPC_MESSAGE) {
			struct rpc_hdr pong = h;

			pong.proc = RPC_KEEPALIVE_PONG;
			rpc_begin(&o, &pong);
			rpc_end(&o);
		} else if (h.type != RPC_CALL) {
			xdr_out_free(&o);
			continue; /* nothing else a client sends expects an answer here */
		} else if (h.prog != RPC_REMOTE_PROGRAM || h.vers != RPC_REMOTE_VERSION) {
			rpc_error_reply(&o, &h, RPC_ERR_RPC, RPC_FROM_RPC,
					"unknown program or version");
		} else {
			keep = dispatch(cl, &h, &x, &o);
		}
		if (o.err || write_all(cl->fd, o.p, o.len))
			keep = false;
		xdr_out_free(&o);
		if (!keep)
			break;
	}
	free(body);
	close(cl->fd);
	free(cl);
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	if (sock_path)
		unlink(sock_path);
	_exit(0);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int c, lfd;

	log_init("lego-controld");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock_path = optarg;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'q':
			log_set_level(LOG_WARN);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr,
				"lego-controld: bad option '%s'\nTry 'lego-controld --help'.\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (!sock_path || optind < argc || strlen(sock_path) >= sizeof(a.sun_path)) {
		fprintf(stderr,
			"lego-controld: give --socket PATH (at most %zu bytes)\nTry "
			"'lego-controld --help'.\n",
			sizeof(a.sun_path) - 1);
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	memcpy(a.sun_path, sock_path, strlen(sock_path));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(sock_path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 64)) {
		log_error("cannot listen on %s: %s", sock_path, strerror(errno));
		return 1;
	}
	log_info("listening on %s (libvirt remote protocol)", sock_path);
	for (;;) {
		pthread_t t;
		struct client *cl;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			continue;
		}
		cl = calloc(1, sizeof(*cl));
		if (!cl || (cl->fd = fd, pthread_create(&t, NULL, serve, cl))) {
			log_error("cannot serve a client: out of resources");
			close(fd);
			free(cl);
			continue;
		}
		pthread_detach(t);
	}
}
