/* fab_server_cli.c: the servers' shared options, their parsing and --help lines. */
#include "fab_server_cli.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "fab_server.h"
#include "lib/cluster/cluster_agent.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/tls/tls_pki.h"

/* The shared long-only options' codes: above every character an own option may use. */
enum {
	OPT_PROVIDER = 256,
	OPT_PORT_FILE,
	OPT_CONTROLD,
	OPT_PKI,
	OPT_INSECURE,
	OPT_NO_CAPS,
	OPT_MAX_CONNS,
	OPT_MAX_PER_PEER,
	OPT_HANDSHAKE,
	OPT_IDLE,
};

#define SHARED_SHORT "l:n:vqhV"
static const struct option shared_long[] = {
	{"listen", required_argument, NULL, 'l'},
	{"name", required_argument, NULL, 'n'},
	{"provider", required_argument, NULL, OPT_PROVIDER},
	{"port-file", required_argument, NULL, OPT_PORT_FILE},
	{"controld", required_argument, NULL, OPT_CONTROLD},
	{"pki", required_argument, NULL, OPT_PKI},
	{"insecure", no_argument, NULL, OPT_INSECURE},
	{"insecure-no-capabilities", no_argument, NULL, OPT_NO_CAPS},
	{"max-conns", required_argument, NULL, OPT_MAX_CONNS},
	{"max-conns-per-peer", required_argument, NULL, OPT_MAX_PER_PEER},
	{"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE},
	{"idle-timeout", required_argument, NULL, OPT_IDLE},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
};
#define NR_SHARED (sizeof(shared_long) / sizeof(shared_long[0]))
#define MAX_LONG  64 /* long options of a program, its own and the shared ones */

int fab_server_cli_bad(const struct fab_server_cli *o, const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s '%s'\nTry '%s --help'.\n", o->prog, what, arg, o->prog);
	return EX_USAGE;
}

void fab_server_cli_usage(FILE *f, const struct fab_server_cli *o)
{
	fprintf(f,
		"  -l, --listen HOST:PORT  address to serve (default 127.0.0.1:%s; port 0 picks "
		"one)\n"
		"  -n, --name NAME         server name in logs and replies (default %s-PORT)\n"
		"      --provider NAME     libfabric provider (default $LEGO_FABRIC_PROVIDER or "
		"tcp)\n"
		"      --port-file PATH    write the bound port to PATH once listening\n"
		"      --controld HOST:PORT  join the cluster: register with lego-controld (with\n"
		"                           standbys: every one's, H1:P1,H2:P2) and\n"
		"                          report use every heartbeat (mutual TLS)\n"
		"      --pki DIR           the cluster PKI (default $LEGO_PKI "
		"or " TLS_PKI_DEFAULT_DIR "):\n"
		"                          DIR/ca.pem and this server's KIND-NAME.pem and key;\n"
		"                          clients must show capabilities signed by the key in\n"
		"                          DIR/capability-pub.pem\n"
		"      --insecure          register in plain TCP, unauthenticated (a loud "
		"warning)\n"
		"      --insecure-no-capabilities  serve every client without a capability: "
		"anyone\n"
		"                          on the network reads, writes and frees everything\n"
		"      --max-conns N       connections at once (default %d: from the fd limit)\n"
		"      --max-conns-per-peer N  connections from one address (default %d)\n"
		"      --handshake-timeout MS  a connection must say HELLO and show its\n"
		"                          capability within MS (default %d)\n"
		"      --idle-timeout S    close established connections silent S seconds "
		"(default\n"
		"                          0: never; clients reconnect only on their next "
		"request)\n"
		"  -v, --verbose           debug log lines\n"
		"  -q, --quiet             warnings and errors only\n"
		"  -h, --help              this text\n"
		"  -V, --version           version\n",
		o->default_port, o->name_prefix, o->limits.max_conns, o->limits.max_per_peer,
		o->limits.handshake_ms);
}

/* A connection limit's value: -1 when taken, else the status to exit with. */
static int limit_option(struct fab_server_cli *o, int c, const char *arg)
{
	struct fab_server_limits *l = &o->limits;
	uint64_t v;

	switch (c) {
	case OPT_MAX_CONNS:
		if (parse_uint(arg, 2, 65536, &v))
			return fab_server_cli_bad(o, "--max-conns must be 2..65536, not", arg);
		if ((int)v > fab_server_limits_fit()) {
			/* Past the fd limit, accepts would fail in the provider, out of sight. */
			log_warn("--max-conns %llu: the file descriptor limit has room for %d "
				 "connections: at most that many",
				 (unsigned long long)v, fab_server_limits_fit());
			v = (uint64_t)fab_server_limits_fit();
		}
		l->max_conns = (int)v;
		if (l->max_per_peer > l->max_conns)
			l->max_per_peer = l->max_conns;
		l->max_handshaking = fab_server_limits_handshaking(l->max_conns);
		return -1;
	case OPT_MAX_PER_PEER:
		if (parse_uint(arg, 1, 65536, &v))
			return fab_server_cli_bad(o, "--max-conns-per-peer must be 1..65536, not",
						  arg);
		l->max_per_peer = (int)v;
		return -1;
	case OPT_HANDSHAKE:
		if (parse_uint(arg, 100, 3600000, &v))
			return fab_server_cli_bad(
				o, "--handshake-timeout must be 100..3600000 ms, not", arg);
		l->handshake_ms = (int)v;
		return -1;
	default: /* OPT_IDLE */
		if (parse_uint(arg, 0, 2000000, &v))
			return fab_server_cli_bad(o, "--idle-timeout must be 0..2000000 s, not",
						  arg);
		l->idle_ms = (int)v * 1000;
		return -1;
	}
}

/* One shared option: -1 when taken, else the status to exit with. */
static int shared_option(struct fab_server_cli *o, int c, const char *arg)
{
	char what[64];

	switch (c) {
	case 'l':
		if (parse_hostport(arg, 0, o->host, sizeof(o->host), o->port, sizeof(o->port)))
			return fab_server_cli_bad(o, "--listen must be HOST:PORT, not", arg);
		return -1;
	case 'n':
		if (!*arg || strlen(arg) > o->name_max) {
			snprintf(what, sizeof(what),
				 "--name must be 1..%zu characters:", o->name_max);
			return fab_server_cli_bad(o, what, arg);
		}
		o->name = arg;
		return -1;
	case OPT_PROVIDER:
		o->provider = arg;
		return -1;
	case OPT_PORT_FILE:
		o->port_file = arg;
		return -1;
	case OPT_CONTROLD:
		if (cluster_agent_addrs_ok(arg))
			return fab_server_cli_bad(
				o, "--controld must be HOST:PORT or a list H1:P1,H2:P2, not", arg);
		o->controld = arg;
		return -1;
	case OPT_PKI:
		o->pki_dir = arg;
		return -1;
	case OPT_INSECURE:
		o->insecure = true;
		return -1;
	case OPT_NO_CAPS:
		o->no_caps = true;
		return -1;
	case OPT_MAX_CONNS:
	case OPT_MAX_PER_PEER:
	case OPT_HANDSHAKE:
	case OPT_IDLE:
		return limit_option(o, c, arg);
	case 'v':
		log_set_level(LOG_DEBUG);
		return -1;
	case 'q':
		log_set_level(LOG_WARN);
		return -1;
	case 'h':
		o->usage(stdout);
		return 0;
	default: /* 'V' */
		printf("%s\n", o->version);
		return 0;
	}
}

static bool is_shared(int c)
{
	if (c >= OPT_PROVIDER)
		return true;
	return c > 0 && c != ':' && strchr(SHARED_SHORT, c);
}

int fab_server_cli_parse(struct fab_server_cli *o, int argc, char **argv,
			 const struct fab_server_cli_own *own)
{
	struct option longopts[MAX_LONG];
	char shortopts[64];
	size_t n = 0;
	int c, rc;

	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	snprintf(o->port, sizeof(o->port), "%s", o->default_port);
	o->provider = fabric_default_provider();
	fab_server_limits_default(&o->limits);
	while (own->longopts[n].name)
		n++;
	if (n + NR_SHARED + 1 > MAX_LONG ||
	    snprintf(shortopts, sizeof(shortopts), ":%s" SHARED_SHORT, own->shortopts) >=
		    (int)sizeof(shortopts))
		abort(); /* a program with more options than this file was made for */
	memcpy(longopts, own->longopts, n * sizeof(longopts[0]));
	memcpy(longopts + n, shared_long, sizeof(shared_long));
	memset(&longopts[n + NR_SHARED], 0, sizeof(longopts[0]));
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == ':')
			return fab_server_cli_bad(o, "option needs a value:", argv[optind - 1]);
		if (c == '?')
			return fab_server_cli_bad(o, "unknown option", argv[optind - 1]);
		rc = is_shared(c) ? shared_option(o, c, optarg) : own->option(c, optarg);
		if (rc >= 0)
			return rc;
	}
	if (optind < argc)
		return fab_server_cli_bad(o, "unexpected argument", argv[optind]);
	return -1;
}

int fab_server_cli_capabilities(const struct fab_server_cli *o, struct cap_verify *v)
{
	char err[512];

	memset(v, 0, sizeof(*v));
	if (o->no_caps) {
		log_warn("WARNING: %s runs with --insecure-no-capabilities: no client is asked for "
			 "a capability; anyone who reaches this port can read, write and free "
			 "every vNode's data here",
			 o->prog);
		return 1;
	}
	if (cap_verify_load_dir(v, tls_pki_dir(o->pki_dir), err, sizeof(err))) {
		log_error("%s; clients are checked against the capability key of the cluster's "
			  "PKI directory (--pki DIR; `legoctl pki init` makes one), or "
			  "--insecure-no-capabilities serves everyone",
			  err);
		cap_verify_free(v);
		return -1;
	}
	log_info("capabilities: %d trusted key%s from %s", v->nr_keys, v->nr_keys == 1 ? "" : "s",
		 tls_pki_dir(o->pki_dir));
	return 0;
}

void fab_server_cli_reload_capabilities(const struct fab_server_cli *o, struct cap_verify *v)
{
	char err[512];

	if (cap_verify_reload_dir(v, tls_pki_dir(o->pki_dir), err, sizeof(err)))
		log_error("capabilities: the keys stay as they were: %s", err);
	else
		log_info("capabilities: %d trusted key%s from %s", v->nr_keys,
			 v->nr_keys == 1 ? "" : "s", tls_pki_dir(o->pki_dir));
}

int fab_server_cli_listen(struct fab_server_cli *o, struct fab_listener **out)
{
	if (fabric_listen(o->provider, o->host, o->port, out))
		return -1;
	if (!o->name) {
		snprintf(o->default_name, sizeof(o->default_name), "%s-%s", o->name_prefix,
			 fabric_listener_port(*out));
		o->name = o->default_name;
	}
	if (o->port_file && fab_server_port_file(o->port_file, fabric_listener_port(*out))) {
		fabric_listener_close(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int fab_server_cli_join(struct fab_server_cli *o, int kind, const char *port, uint64_t capacity,
			size_t (*heartbeat)(void *ctx, uint8_t *buf, size_t cap),
			struct cluster_agent **agent)
{
	static struct tls_pki *pki; /* as long as the agent */
	char err[1024];

	*agent = NULL;
	if (!o->controld)
		return 0;
	if (o->insecure) {
		tls_pki_warn_insecure(o->prog, "its registration with lego-controld");
	} else if (!pki) {
		pki = tls_pki_load(tls_pki_dir(o->pki_dir),
				   kind == CP_KIND_MMON ? TLS_KIND_MMON : TLS_KIND_SMON, o->name,
				   err, sizeof(err));
		if (!pki) {
			log_error("cannot join the cluster: %s", err);
			return -1;
		}
	}
	return cluster_agent_join(agent, o->controld, pki, kind, o->name, o->host, port,
				  o->provider, 0, capacity, heartbeat, NULL);
}
