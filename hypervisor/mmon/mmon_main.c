/* mmon_main.c: lego-mmon, the memory server: options, listener, one thread per connection. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lib/cap/cap_key.h"
#include "lib/cap/cap_verify.h"
#include "lib/cluster/cluster_agent.h"
#include "lib/fabric/fab_server.h"
#include "lib/fabric/fab_server_cli.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/svc_notify.h"
#include "lib/proto/mem_proto.h"
#include "mmon_fill.h"
#include "mmon_handler.h"
#include "mmon_pool.h"
#include "lib/parse.h"

static struct mmon_pool pool;
static struct mmon_fill_ctx fill_ctx;
static uint64_t pool_bytes = 1ULL << 30;
static bool rma = true;
static struct cap_verify verify;
static bool capabilities;	  /* verify is what clients are checked against */
static struct cap_key server_key; /* holder of the capabilities FILLs bring */
static atomic_uint_fast64_t next_tag = 1;

static void usage(FILE *f);

static struct fab_server_cli cli = {
	.prog = "lego-mmon",
	.name_prefix = "mmon",
	.default_port = "7410",
	.name_max = MP_NAME_LEN,
	.usage = usage,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lego-mmon [options]\n"
		"Memory server: holds vNodes' guest memory (vRegions) in a pool and serves page\n"
		"reads and write-backs to lego-vmm pagers over libfabric.\n"
		"\n"
		"Pool:\n"
		"  -p, --pool SIZE         pool capacity for vRegions, e.g. 4G (default 1G)\n"
		"      --no-rma            serve page reads by messages only\n"
		"Server:\n");
	fab_server_cli_usage(f, &cli);
	fprintf(f, "\nSIGINT or SIGTERM shut it down cleanly; region contents are not kept.\n");
}

static int own_option(int c, const char *arg)
{
	if (c == 'R') {
		rma = false;
		return -1;
	}
	/* 'p' */
	if (parse_size(arg, &pool_bytes) || pool_bytes < MP_PAGE_SIZE)
		return fab_server_cli_bad(&cli, "--pool is not a size of at least 4K:", arg);
	return -1;
}

static int parse_options(int argc, char **argv)
{
	static const struct option own_long[] = {
		{"pool", required_argument, NULL, 'p'},
		{"no-rma", no_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	static const struct fab_server_cli_own own = {
		.shortopts = "p:", .longopts = own_long, .option = own_option};
	static char version[64];

	snprintf(version, sizeof(version), "lego-mmon (lego) memory protocol %d", MP_VERSION);
	cli.version = version;
	return fab_server_cli_parse(&cli, argc, argv, &own);
}

/* SIGHUP: the PKI directory's capability keys again (a key rotation). */
static void reload_keys(void)
{
	fab_server_cli_reload_capabilities(&cli, &verify);
}

static void *conn_open(void *ctx, struct fab_conn *c)
{
	struct mmon_handler_session *s = calloc(1, sizeof(*s));

	(void)ctx;
	if (s) {
		s->peer = strdup(fabric_peer(c));
		s->server = cli.name;
		s->fill = &fill_ctx;
		s->verify = capabilities ? &verify : NULL;
		s->server_key = server_key.pub;
		s->rma.domain = rma ? fabric_conn_domain(c) : NULL;
		s->rma.tag = atomic_fetch_add(&next_tag, 1);
	}
	if (!s || !s->peer) {
		log_error("%s: out of memory for a connection", fabric_peer(c));
		free(s);
		return NULL;
	}
	return s;
}

static size_t conn_handle(void *ctx, void *conn, const void *req, size_t len, bool truncated,
			  void *reply)
{
	(void)ctx;
	return mmon_handler_request(&pool, conn, req, len, truncated, reply);
}

static void conn_close(void *ctx, void *conn)
{
	struct mmon_handler_session *s = conn;

	(void)ctx;
	if (s->hello)
		log_info("%s: vNode %llu disconnected%s", s->peer, (unsigned long long)s->vnode,
			 s->bad_requests ? " (after refused requests)" : "");
	mmon_handler_end(&pool, s);
	free((char *)s->peer);
	free(s);
}

static bool conn_established(void *conn)
{
	return mmon_handler_established(conn);
}

static const struct fab_server_ops mmon_ops = {
	.open = conn_open,
	.handle = conn_handle,
	.close = conn_close,
	.established = conn_established,
};

static size_t heartbeat(void *ctx, uint8_t *buf, size_t cap)
{
	struct mem_proto_stat_reply st;

	(void)ctx;
	(void)cap;
	mmon_pool_stat(&pool, &st);
	return cluster_agent_heartbeat_put(buf, st.reserved_bytes, 0);
}

int main(int argc, char **argv)
{
	struct cluster_agent *agent = NULL;
	struct fab_listener *l;
	struct mem_proto_stat_reply st;
	struct rusage ru;
	char err[256];
	int rc;

	log_init("lego-mmon");
	svc_notify_init();
	rc = parse_options(argc, argv);
	if (rc >= 0)
		return rc;
	rc = fab_server_cli_capabilities(&cli, &verify);
	if (rc < 0)
		return 1;
	capabilities = rc == 0;
	if (cap_key_generate(&server_key, err, sizeof(err))) {
		log_error("%s", err);
		return 1;
	}
	if (fab_server_signals(capabilities ? reload_keys : NULL))
		return 1;
	if (fab_server_cli_listen(&cli, &l))
		return 1;
	if (mmon_pool_init(&pool, pool_bytes)) {
		log_error("out of memory for the pool's tables");
		return 1;
	}
	/* RMA only where keys are bound to a connection: a domain of its own per connection
	 * (its protection domain on verbs). tcp's keys would open every region to everyone. */
	rma = rma && fabric_listener_has_rma(l);
	if (rma)
		fabric_listener_private_domains(l);
	fill_ctx = (struct mmon_fill_ctx){.pool = &pool,
					  .provider = cli.provider,
					  .server = cli.name,
					  .timeout_ms = 5000,
					  .key = &server_key};
	log_info("%s: serving %llu MiB on %s:%s (provider %s, %s; capabilities %s; at most %d "
		 "connections, %d per address)",
		 cli.name, (unsigned long long)(pool_bytes >> 20), cli.host,
		 fabric_listener_port(l), cli.provider,
		 rma ? "RMA reads on each connection's own registrations"
		     : "no RMA: regions are not registered for remote access",
		 capabilities ? "required" : "NOT CHECKED", cli.limits.max_conns,
		 cli.limits.max_per_peer);
	if (fab_server_cli_join(&cli, CP_KIND_MMON, fabric_listener_port(l), pool_bytes, heartbeat,
				&agent)) {
		fabric_listener_close(l);
		return 1;
	}
	svc_notify_ready("serving");
	fab_server_run(l, MP_MAX_MSG, &mmon_ops, NULL, &cli.limits);
	log_info("%s: shutting down", cli.name);
	cluster_agent_stop(agent);
	mmon_pool_stat(&pool, &st);
	/* The server's whole CPU time (every thread's, exited ones too): what one-sided page
	 * reads save it (bench "rdma"). */
	if (getrusage(RUSAGE_SELF, &ru))
		memset(&ru, 0, sizeof(ru));
	log_info("%s: served %llu reads, %llu writes, refused %llu requests; %llu regions "
		 "dropped; CPU %llu us",
		 cli.name, (unsigned long long)st.reads, (unsigned long long)st.writes,
		 (unsigned long long)st.errors, (unsigned long long)st.regions,
		 (unsigned long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ULL +
			 (unsigned long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec));
	mmon_pool_destroy(&pool);
	fabric_listener_close(l);
	cap_verify_free(&verify);
	cap_key_free(&server_key);
	return 0;
}
