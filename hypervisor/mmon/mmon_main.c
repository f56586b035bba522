/* mmon_main.c: lego-mmon, the memory server: options, listener, one thread per connection. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/cluster/cluster_agent.h"
#include "lib/fabric/fab_server.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/proto/mem_proto.h"
#include "mmon_fill.h"
#include "mmon_handler.h"
#include "mmon_pool.h"
#include "lib/parse.h"

#define EXIT_USAGE 64

struct options {
	char host[256];
	char port[16];
	const char *name;
	const char *provider;
	const char *port_file;
	const char *controld;
	uint64_t pool;
	bool rma;
};

static struct mmon_pool pool;
static struct options opts;
static struct mmon_fill_ctx fill_ctx;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lego-mmon [options]\n"
		"Memory server: holds vNodes' guest memory (vRegions) in a pool and serves page\n"
		"reads and write-backs to lego-vmm pagers over libfabric.\n"
		"\n"
		"  -l, --listen HOST:PORT  address to serve (default 127.0.0.1:7410; port 0 picks "
		"one)\n"
		"  -p, --pool SIZE         pool capacity for vRegions, e.g. 4G (default 1G)\n"
		"  -n, --name NAME         server name in logs and replies (default mmon-PORT)\n"
		"      --provider NAME     libfabric provider (default $LEGO_FABRIC_PROVIDER or "
		"tcp)\n"
		"      --no-rma            serve page reads by messages only\n"
		"      --port-file PATH    write the bound port to PATH once listening\n"
		"      --controld HOST:PORT  join the cluster: register with lego-controld and\n"
		"                          report use every heartbeat\n"
		"  -v, --verbose           debug log lines\n"
		"  -q, --quiet             warnings and errors only\n"
		"  -h, --help              this text\n"
		"  -V, --version           version\n"
		"\n"
		"SIGINT or SIGTERM shut it down cleanly; region contents are not kept.\n");
}

static int bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "lego-mmon: %s '%s'\nTry 'lego-mmon --help'.\n", what, arg);
	return EXIT_USAGE;
}

static int parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"pool", required_argument, NULL, 'p'},
		{"name", required_argument, NULL, 'n'},
		{"provider", required_argument, NULL, 'P'},
		{"no-rma", no_argument, NULL, 'R'},
		{"port-file", required_argument, NULL, 'F'},
		{"controld", required_argument, NULL, 'C'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	snprintf(opts.host, sizeof(opts.host), "127.0.0.1");
	snprintf(opts.port, sizeof(opts.port), "7410");
	opts.pool = 1ULL << 30;
	opts.rma = true;
	opts.provider = fab_default_provider();
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:p:n:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (parse_hostport(optarg, 0, opts.host, sizeof(opts.host), opts.port,
					   sizeof(opts.port)))
				return bad_usage("--listen must be HOST:PORT, not", optarg);
			break;
		case 'p':
			if (parse_size(optarg, &opts.pool) || opts.pool < MP_PAGE_SIZE)
				return bad_usage("--pool is not a size of at least 4K:", optarg);
			break;
		case 'n':
			if (!*optarg || strlen(optarg) > MP_NAME_LEN)
				return bad_usage("--name must be 1..32 characters:", optarg);
			opts.name = optarg;
			break;
		case 'P':
			opts.provider = optarg;
			break;
		case 'R':
			opts.rma = false;
			break;
		case 'F':
			opts.port_file = optarg;
			break;
		case 'C':
			if (!parse_hostport_ok(optarg, 1))
				return bad_usage("--controld must be HOST:PORT, not", optarg);
			opts.controld = optarg;
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
		case 'V':
			printf("lego-mmon (lego) memory protocol %d\n", MP_VERSION);
			return 0;
		case ':':
			return bad_usage("option needs a value:", argv[optind - 1]);
		default:
			return bad_usage("unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument", argv[optind]);
	return -1;
}

static void *conn_open(void *ctx, const char *peer)
{
	struct mmon_session *s = calloc(1, sizeof(*s));

	(void)ctx;
	if (s) {
		s->peer = strdup(peer);
		s->server = opts.name;
		s->rma = opts.rma;
		s->fill = &fill_ctx;
	}
	if (!s || !s->peer) {
		log_error("%s: out of memory for a connection", peer);
		free(s);
		return NULL;
	}
	return s;
}

static size_t conn_handle(void *ctx, void *conn, const void *req, size_t len, bool truncated,
			  void *reply)
{
	(void)ctx;
	return mmon_handle(&pool, conn, req, len, truncated, reply);
}

static void conn_close(void *ctx, void *conn)
{
	struct mmon_session *s = conn;

	(void)ctx;
	if (s->hello)
		log_info("%s: vNode %llu disconnected%s", s->peer, (unsigned long long)s->vnode,
			 s->bad_requests ? " (after refused requests)" : "");
	free((char *)s->peer);
	free(s);
}

static const struct fab_server_ops mmon_ops = {
	.open = conn_open,
	.handle = conn_handle,
	.close = conn_close,
};

static size_t heartbeat(void *ctx, uint8_t *buf, size_t cap)
{
	struct mp_stat_reply st;

	(void)ctx;
	(void)cap;
	mmon_pool_stat(&pool, &st);
	return cluster_heartbeat_put(buf, st.reserved_bytes, 0);
}

int main(int argc, char **argv)
{
	struct cluster_agent *agent = NULL;
	struct fab_listener *l;
	struct mp_stat_reply st;
	char name[MP_NAME_LEN + 1];
	int rc;

	log_init("lego-mmon");
	rc = parse_options(argc, argv);
	if (rc >= 0)
		return rc;
	if (fab_server_signals())
		return 1;
	if (fab_listen(opts.provider, opts.host, opts.port, &l))
		return 1;
	if (!opts.name) {
		snprintf(name, sizeof(name), "mmon-%s", fab_listener_port(l));
		opts.name = name;
	}
	mmon_pool_init(&pool, opts.pool, (uint64_t)time(NULL) ^ (uint64_t)getpid(),
		       opts.rma ? fab_listener_domain(l) : NULL);
	fill_ctx = (struct mmon_fill_ctx){
		.pool = &pool, .provider = opts.provider, .server = opts.name, .timeout_ms = 5000};
	if (opts.port_file && fab_server_port_file(opts.port_file, fab_listener_port(l))) {
		fab_listener_close(l);
		return 1;
	}
	log_info("%s: serving %llu MiB on %s:%s (provider %s, regions %sregistered for RMA)",
		 opts.name, (unsigned long long)(opts.pool >> 20), opts.host, fab_listener_port(l),
		 opts.provider, opts.rma ? "" : "not ");
	if (opts.controld &&
	    cluster_agent_join(&agent, opts.controld, CP_KIND_MMON, opts.name, opts.host,
			       fab_listener_port(l), 0, opts.pool, heartbeat, NULL)) {
		fab_listener_close(l);
		return 1;
	}
	fab_server_run(l, MP_MAX_MSG, &mmon_ops, NULL);
	log_info("%s: shutting down", opts.name);
	cluster_agent_stop(agent);
	mmon_pool_stat(&pool, &st);
	log_info("%s: served %llu reads, %llu writes, refused %llu requests; %llu regions "
		 "dropped",
		 opts.name, (unsigned long long)st.reads, (unsigned long long)st.writes,
		 (unsigned long long)st.errors, (unsigned long long)st.regions);
	mmon_pool_destroy(&pool);
	fab_listener_close(l);
	return 0;
}
