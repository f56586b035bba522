/* smon_main.c: lego-smon, the storage server: options, backend, request threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cap/cap_verify.h"
#include "lib/cluster/cluster_agent.h"
#include "lib/fabric/fab_server.h"
#include "lib/fabric/fab_server_cli.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/svc_notify.h"
#include "lib/parse.h"
#include "smon_handler.h"
#include "smon_store.h"

struct options {
	const char *dir;
	const char *ceph_conf;
	const char *pool;
	uint64_t obj_size;
	int rados_timeout;
	bool buffered;
};

static struct options opts = {
	.ceph_conf = "/etc/ceph/ceph.conf", .obj_size = 4U << 20, .rados_timeout = 30};
static struct smon_store store;
static struct cap_verify verify;
static bool capabilities; /* clients are checked against verify */

static void usage(FILE *f);

static struct fab_server_cli cli = {
	.prog = "lego-smon",
	.name_prefix = "smon",
	.default_port = "7420",
	.name_max = SP_NAME_LEN,
	.usage = usage,
};

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
		"Server:\n");
	fab_server_cli_usage(f, &cli);
	fprintf(f,
		"\n"
		"A WRITE is answered once the data is in the backend (written to the file, or\n"
		"acknowledged by RADOS); a FLUSH once every answered write is durable (fdatasync;\n"
		"RADOS acknowledgements are durable). SIGINT or SIGTERM shut it down cleanly.\n");
}

static int own_option(int c, const char *arg)
{
	uint64_t u;

	switch (c) {
	case 'd':
		if (!*arg)
			return fab_server_cli_bad(&cli, "--dir needs a directory, not", arg);
		opts.dir = arg;
		return -1;
	case 'r':
		if (!*arg || strlen(arg) > 100)
			return fab_server_cli_bad(
				&cli, "--rados needs a pool name of 1-100 characters, not", arg);
		opts.pool = arg;
		return -1;
	case 'C':
		opts.ceph_conf = arg;
		return -1;
	case 'O':
		if (parse_size(arg, &opts.obj_size) || opts.obj_size < SMON_OBJ_MIN ||
		    opts.obj_size > SMON_OBJ_MAX || (opts.obj_size & (opts.obj_size - 1)))
			return fab_server_cli_bad(
				&cli, "--object-size must be a power of 2 from 64K to 1G:", arg);
		return -1;
	case 'T':
		if (parse_uint(arg, 1, 3600, &u))
			return fab_server_cli_bad(&cli,
						  "--rados-timeout must be 1..3600 seconds:", arg);
		opts.rados_timeout = (int)u;
		return -1;
	default: /* 'B' */
		opts.buffered = true;
		return -1;
	}
}

static int parse_options(int argc, char **argv)
{
	static const struct option own_long[] = {
		{"dir", required_argument, NULL, 'd'},
		{"rados", required_argument, NULL, 'r'},
		{"ceph-conf", required_argument, NULL, 'C'},
		{"object-size", required_argument, NULL, 'O'},
		{"rados-timeout", required_argument, NULL, 'T'},
		{"buffered", no_argument, NULL, 'B'},
		{NULL, 0, NULL, 0},
	};
	static const struct fab_server_cli_own own = {
		.shortopts = "d:r:", .longopts = own_long, .option = own_option};
	static char version[64];
	int rc;

	snprintf(version, sizeof(version), "lego-smon (lego) storage protocol %d", SP_VERSION);
	cli.version = version;
	rc = fab_server_cli_parse(&cli, argc, argv, &own);
	if (rc < 0 && !opts.dir == !opts.pool)
		return fab_server_cli_bad(&cli,
					  "give exactly one backend: --dir DIR or --rados POOL;",
					  opts.dir ? "both given" : "none given");
	return rc;
}

/* SIGHUP: the PKI directory's capability keys again (a key rotation). */
static void reload_keys(void)
{
	fab_server_cli_reload_capabilities(&cli, &verify);
}

static void *conn_open(void *ctx, struct fab_conn *c)
{
	struct smon_handler_session *s = calloc(1, sizeof(*s));
	const char *peer = fabric_peer(c);

	(void)ctx;
	if (s) {
		s->peer = strdup(peer);
		s->server = cli.name;
		s->verify = capabilities ? &verify : NULL;
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
	return smon_handler_request(&store, conn, req, len, truncated, reply);
}

static void conn_close(void *ctx, void *conn)
{
	struct smon_handler_session *s = conn;

	(void)ctx;
	if (s->hello)
		log_info("%s: client '%s' disconnected after %llu requests%s", s->peer, s->client,
			 (unsigned long long)s->requests, s->bad_requests ? " (some refused)" : "");
	free((char *)s->peer);
	free(s->bounce);
	free(s);
}

static bool conn_established(void *conn)
{
	return smon_handler_established(conn);
}

static const struct fab_server_ops smon_ops = {
	.open = conn_open,
	.handle = conn_handle,
	.close = conn_close,
	.established = conn_established,
};

static size_t heartbeat(void *ctx, uint8_t *buf, size_t cap)
{
	uint64_t capacity = 0, avail = 0;

	(void)ctx;
	(void)cap;
	if (store.ops->space(&store, &capacity, &avail))
		capacity = avail = 0;
	return cluster_agent_heartbeat_put(buf, capacity > avail ? capacity - avail : 0, 0);
}

int main(int argc, char **argv)
{
	struct cluster_agent *agent = NULL;
	struct fab_listener *l;
	uint64_t cap = 0, avail = 0;
	int rc;

	log_init("lego-smon");
	svc_notify_init();
	rc = parse_options(argc, argv);
	if (rc >= 0)
		return rc;
	rc = fab_server_cli_capabilities(&cli, &verify);
	if (rc < 0)
		return 1;
	capabilities = rc == 0;
	if (fab_server_signals(capabilities ? reload_keys : NULL))
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
	if (fab_server_cli_listen(&cli, &l)) {
		smon_store_close(&store);
		return 1;
	}
	store.ops->space(&store, &cap, &avail);
	if (opts.dir)
		log_info("%s: serving volumes in %s (%llu of %llu MiB free) on %s:%s (provider %s)",
			 cli.name, opts.dir, (unsigned long long)(avail >> 20),
			 (unsigned long long)(cap >> 20), cli.host, fabric_listener_port(l),
			 cli.provider);
	else
		log_info("%s: serving volumes in RADOS pool %s (objects of %llu KiB; cluster %llu "
			 "of %llu MiB free) on %s:%s (provider %s)",
			 cli.name, opts.pool, (unsigned long long)(opts.obj_size >> 10),
			 (unsigned long long)(avail >> 20), (unsigned long long)(cap >> 20),
			 cli.host, fabric_listener_port(l), cli.provider);
	if (fab_server_cli_join(&cli, CP_KIND_SMON, fabric_listener_port(l), cap, heartbeat,
				&agent)) {
		fabric_listener_close(l);
		smon_store_close(&store);
		return 1;
	}
	svc_notify_ready("serving");
	fab_server_run(l, SP_MAX_MSG, &smon_ops, NULL, &cli.limits);
	cluster_agent_stop(agent);
	log_info("%s: shutting down after %llu reads, %llu writes, %llu flushes, %llu failed",
		 cli.name, (unsigned long long)atomic_load(&store.reads),
		 (unsigned long long)atomic_load(&store.writes),
		 (unsigned long long)atomic_load(&store.flushes),
		 (unsigned long long)atomic_load(&store.errors));
	fabric_listener_close(l);
	smon_store_close(&store);
	cap_verify_free(&verify);
	return 0;
}
