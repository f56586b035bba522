/* smon_main.c: lego-smon, the storage server: options, backend, request threads. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cluster/cluster_agent.h"
#include "lib/fabric/fab_server.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "smon_handler.h"
#include "smon_store.h"

#define EXIT_USAGE 64

struct options {
	char host[256];
	char port[16];
	const char *name;
	const char *provider;
	const char *port_file;
	const char *controld;
	const char *dir;
	const char *ceph_conf;
	const char *pool;
	uint64_t obj_size;
	int rados_timeout;
	bool buffered;
};

static struct options opts;
static struct smon_store store;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lego-smon [options] --dir DIR\n"
		"       lego-smon [options] --rados POOL [--ceph-conf PATH]\n"
		"Storage server: holds vNodes' disks (volumes) and serves their block reads,\n"
		"writes and flushes to lego-vmm over libfabric. Volumes are created, listed,\n"
		"resized and deleted by name (legoctl volume ...).\n"
		"\n"
		"Backend (one of):\n"
		"  -d, --dir DIR           a sparse file per volume in DIR (created if missing)\n"
		"      --buffered          file I/O through the page cache (default: O_DIRECT "
		"where\n"
		"                          the file system has it)\n"
		"  -r, --rados POOL        Ceph RADOS: volumes striped over objects in POOL\n"
		"      --ceph-conf PATH    Ceph configuration (default /etc/ceph/ceph.conf)\n"
		"      --object-size SIZE  bytes per RADOS object for new volumes: a power of 2\n"
		"                          from 64K to 1G (default 4M)\n"
		"      --rados-timeout S   give up on an unreachable cluster or a stuck operation\n"
		"                          after S seconds (default 30)\n"
		"Server:\n"
		"  -l, --listen HOST:PORT  address to serve (default 127.0.0.1:7420; port 0 picks "
		"one)\n"
		"  -n, --name NAME         server name in logs and replies (default smon-PORT)\n"
		"      --provider NAME     libfabric provider (default $LEGO_FABRIC_PROVIDER or "
		"tcp)\n"
		"      --port-file PATH    write the bound port to PATH once listening\n"
		"      --controld HOST:PORT  join the cluster: register with lego-controld and\n"
		"                          report use every heartbeat\n"
		"  -v, --verbose           debug log lines\n"
		"  -q, --quiet             warnings and errors only\n"
		"  -h, --help              this text\n"
		"  -V, --version           version\n"
		"\n"
		"A WRITE is answered once the data is in the backend (written to the file, or\n"
		"acknowledged by RADOS); a FLUSH once every answered write is durable (fdatasync;\n"
		"RADOS acknowledgements are durable). SIGINT or SIGTERM shut it down cleanly.\n");
}

static int bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "lego-smon: %s '%s'\nTry 'lego-smon --help'.\n", what, arg);
	return EXIT_USAGE;
}

static int parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"rados", required_argument, NULL, 'r'},
		{"ceph-conf", required_argument, NULL, 'C'},
		{"object-size", required_argument, NULL, 'O'},
		{"rados-timeout", required_argument, NULL, 'T'},
		{"buffered", no_argument, NULL, 'B'},
		{"listen", required_argument, NULL, 'l'},
		{"name", required_argument, NULL, 'n'},
		{"provider", required_argument, NULL, 'P'},
		{"port-file", required_argument, NULL, 'F'},
		{"controld", required_argument, NULL, 'K'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	uint64_t u;
	int c;

	snprintf(opts.host, sizeof(opts.host), "127.0.0.1");
	snprintf(opts.port, sizeof(opts.port), "7420");
	opts.provider = fab_default_provider();
	opts.ceph_conf = "/etc/ceph/ceph.conf";
	opts.obj_size = 4U << 20;
	opts.rados_timeout = 30;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:r:l:n:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!*optarg)
				return bad_usage("--dir needs a directory, not", optarg);
			opts.dir = optarg;
			break;
		case 'r':
			if (!*optarg || strlen(optarg) > 100)
				return bad_usage(
					"--rados needs a pool name of 1-100 characters, not",
					optarg);
			opts.pool = optarg;
			break;
		case 'C':
			opts.ceph_conf = optarg;
			break;
		case 'O':
			if (parse_size(optarg, &opts.obj_size) || opts.obj_size < SMON_OBJ_MIN ||
			    opts.obj_size > SMON_OBJ_MAX || (opts.obj_size & (opts.obj_size - 1)))
				return bad_usage(
					"--object-size must be a power of 2 from 64K to 1G:",
					optarg);
			break;
		case 'T':
			if (parse_uint(optarg, 1, 3600, &u))
				return bad_usage("--rados-timeout must be 1..3600 seconds:",
						 optarg);
			opts.rados_timeout = (int)u;
			break;
		case 'B':
			opts.buffered = true;
			break;
		case 'l':
			if (parse_hostport(optarg, 0, opts.host, sizeof(opts.host), opts.port,
					   sizeof(opts.port)))
				return bad_usage("--listen must be HOST:PORT, not", optarg);
			break;
		case 'n':
			if (!*optarg || strlen(optarg) > SP_NAME_LEN)
				return bad_usage("--name must be 1..32 characters:", optarg);
			opts.name = optarg;
			break;
		case 'P':
			opts.provider = optarg;
			break;
		case 'F':
			opts.port_file = optarg;
			break;
		case 'K':
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
			printf("lego-smon (lego) storage protocol %d\n", SP_VERSION);
			return 0;
		case ':':
			return bad_usage("option needs a value:", argv[optind - 1]);
		default:
			return bad_usage("unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument", argv[optind]);
	if (!opts.dir == !opts.pool)
		return bad_usage("give exactly one backend: --dir DIR or --rados POOL;",
				 opts.dir ? "both given" : "none given");
	return -1;
}

static void *conn_open(void *ctx, const char *peer)
{
	struct smon_session *s = calloc(1, sizeof(*s));

	(void)ctx;
	if (s) {
		s->peer = strdup(peer);
		s->server = opts.name;
		if (store.aligned_io && posix_memalign((void **)&s->bounce, 4096, SP_MAX_IO))
			s->bounce = NULL;
	}
	if (!s || !s->peer || (store.aligned_io && !s->bounce)) {
		log_error("%s: out of memory for a connection", peer);
		if (s) {
			free((char *)s->peer);
			free(s->bounce);
		}
		free(s);
		return NULL;
	}
	return s;
}

static size_t conn_handle(void *ctx, void *conn, const void *req, size_t len, bool truncated,
			  void *reply)
{
	(void)ctx;
	return smon_handle(&store, conn, req, len, truncated, reply);
}

static void conn_close(void *ctx, void *conn)
{
	struct smon_session *s = conn;

	(void)ctx;
	if (s->hello)
		log_info("%s: client '%s' disconnected after %llu requests%s", s->peer, s->client,
			 (unsigned long long)s->requests, s->bad_requests ? " (some refused)" : "");
	free((char *)s->peer);
	free(s->bounce);
	free(s);
}

static const struct fab_server_ops smon_ops = {
	.open = conn_open,
	.handle = conn_handle,
	.close = conn_close,
};

static size_t heartbeat(void *ctx, uint8_t *buf, size_t cap)
{
	uint64_t capacity = 0, avail = 0;

	(void)ctx;
	(void)cap;
	if (store.ops->space(&store, &capacity, &avail))
		capacity = avail = 0;
	return cluster_heartbeat_put(buf, capacity > avail ? capacity - avail : 0, 0);
}

int main(int argc, char **argv)
{
	struct cluster_agent *agent = NULL;
	struct fab_listener *l;
	char name[SP_NAME_LEN + 1];
	uint64_t cap = 0, avail = 0;
	int rc;

	log_init("lego-smon");
	rc = parse_options(argc, argv);
	if (rc >= 0)
		return rc;
	if (fab_server_signals())
		return 1;
	smon_store_init(&store);
	if (opts.dir)
		rc = smon_file_open(&store, opts.dir, !opts.buffered);
	else
		rc = smon_rados_open(&store, opts.ceph_conf, opts.pool, opts.obj_size,
				     opts.rados_timeout);
	if (rc) {
		smon_store_close(&store);
		return 1;
	}
	if (fab_listen(opts.provider, opts.host, opts.port, &l)) {
		smon_store_close(&store);
		return 1;
	}
	if (!opts.name) {
		snprintf(name, sizeof(name), "smon-%s", fab_listener_port(l));
		opts.name = name;
	}
	if (opts.port_file && fab_server_port_file(opts.port_file, fab_listener_port(l))) {
		fab_listener_close(l);
		smon_store_close(&store);
		return 1;
	}
	store.ops->space(&store, &cap, &avail);
	if (opts.dir)
		log_info("%s: serving volumes in %s (%llu of %llu MiB free) on %s:%s (provider %s)",
			 opts.name, opts.dir, (unsigned long long)(avail >> 20),
			 (unsigned long long)(cap >> 20), opts.host, fab_listener_port(l),
			 opts.provider);
	else
		log_info("%s: serving volumes in RADOS pool %s (objects of %llu KiB; cluster %llu "
			 "of %llu MiB free) on %s:%s (provider %s)",
			 opts.name, opts.pool, (unsigned long long)(opts.obj_size >> 10),
			 (unsigned long long)(avail >> 20), (unsigned long long)(cap >> 20),
			 opts.host, fab_listener_port(l), opts.provider);
	if (opts.controld &&
	    cluster_agent_join(&agent, opts.controld, CP_KIND_SMON, opts.name, opts.host,
			       fab_listener_port(l), 0, cap, heartbeat, NULL)) {
		fab_listener_close(l);
		smon_store_close(&store);
		return 1;
	}
	fab_server_run(l, SP_MAX_MSG, &smon_ops, NULL);
	cluster_agent_stop(agent);
	log_info("%s: shutting down after %llu reads, %llu writes, %llu flushes, %llu failed",
		 opts.name, (unsigned long long)atomic_load(&store.reads),
		 (unsigned long long)atomic_load(&store.writes),
		 (unsigned long long)atomic_load(&store.flushes),
		 (unsigned long long)atomic_load(&store.errors));
	fab_listener_close(l);
	smon_store_close(&store);
	return 0;
}
