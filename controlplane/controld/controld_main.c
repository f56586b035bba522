/* controld_main.c: lego-controld, the control plane: the global managers (GPM, GMM, GSM)
 * behind the libvirt remote protocol, and the cluster port where lego-pmon, lego-mmon and
 * lego-smon register. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "controld_caps.h"
#include "lib/cluster/cluster_io.h"
#include "controld_autostart.h"
#include "controld_cluster.h"
#include "controld_lease.h"
#include "controld_single.h"
#include "controld_state.h"
#include "controlplane/controld/libvirt/libvirt_conn.h"
#include "controlplane/controld/mempool/controld_mempool.h"
#include "controlplane/controld/mempool/controld_owed.h"
#include "controld_metrics.h"
#include "controld_migrate.h"
#include "controld_net.h"
#include "controld_netsync.h"
#include "controld_registry.h"
#include "controld_vnode.h"
#include "lib/fabric/fab_server.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/netserver.h"
#include "lib/parse.h"
#include "lib/svc_notify.h"
#include "lib/tcp.h"
#include "lib/tls/tls_pki.h"

#define EXIT_USAGE	 64
#define DEFAULT_LISTEN	 "127.0.0.1:7400"
#define DEFAULT_STATE	 "/var/lib/lego/controld"
#define DEFAULT_REGION	 (64ULL << 20)
#define DEFAULT_TLS_PORT "16514" /* libvirtd's */
#define DEFAULT_LEASE_S	 8
/* The libvirt listeners' limits: many local or remote tools at once, a few from one. */
#define LIBVIRT_MAX_CONNS    256
#define LIBVIRT_MAX_PER_PEER 32
#define LIBVIRT_MAX_PENDING  32
#define LIBVIRT_BUDGET	     (64ULL << 20) /* two of libvirt's biggest packets at once */

struct options {
	const char *sock_path, *tcp, *tls, *listen_addr, *port_file, *pki_dir, *name;
	struct controld_state_options so; /* --state, --ceph-* and --lease-s */
	const char *metrics;
	const char *allow[LIBVIRT_CONN_ALLOW_MAX];
	int nallow;
	const char *netspecs[CONTROLD_NET_MAX]; /* --network NAME=CIDR */
	int nnets;
	bool insecure;
	uint64_t hb, loss_ms, host_loss_ms;
	struct controld_vnode_options vo;
	struct controld_caps_options co; /* co.key NULL: the PKI directory's */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lego-controld --socket PATH [options]\n"
		"The lego control plane: global managers for processors, memory and storage,\n"
		"speaking the libvirt remote protocol. Connect with\n"
		"  virsh -c 'lego+unix:///system?socket=PATH'   (PATH-ro: read-only)\n"
		"  virsh -c 'lego+tls://HOST/system?pkipath=DIR' (with --libvirt-tls)\n"
		"\n"
		"  -s, --socket PATH        libvirt UNIX socket, its owner only (replaced if "
		"stale;\n"
		"                           refused while another lego-controld serves on it);\n"
		"                           PATH-ro, for anyone, serves read-only procedures\n"
		"      --libvirt-tls HOST[:PORT]  also serve libvirt over TLS "
		"(port " DEFAULT_TLS_PORT " by\n"
		"                           default) to admin certificates on the allow-list\n"
		"      --libvirt-allow PATTERN  an admin certificate name (fnmatch pattern) "
		"allowed\n"
		"                           over TLS; repeatable (default: every admin "
		"certificate)\n"
		"  -t, --libvirt-tcp H:P    also serve libvirt on plain TCP: NO authentication "
		"nor\n"
		"                           encryption, anyone who reaches it controls every "
		"vNode\n"
		"  -l, --listen HOST:PORT   cluster port where lego-pmon/-mmon/-smon register and\n"
		"                           legoctl asks (default " DEFAULT_LISTEN
		"; port 0 picks)\n"
		"  -d, --state-dir DIR      vNode definitions and placements (default\n"
		"                           " DEFAULT_STATE ")\n"
		"      --state rados:POOL   keep them in a Ceph RADOS pool instead, shared by\n"
		"                           two or three lego-controld: one leads, the others\n"
		"                           stand by (answering with the leader's name) and take\n"
		"                           over when its lease lapses (--state DIR: as -d)\n"
		"      --ceph-conf PATH     Ceph configuration (default /etc/ceph/ceph.conf)\n"
		"      --ceph-keyring PATH  Ceph keyring (default: the configuration's)\n"
		"      --ceph-client NAME   Ceph client (default client.admin)\n"
		"      --lease-s N          the leader's lease, renewed every quarter; a leader\n"
		"                           that cannot renew stops (exit 75) (2..60, default 8)\n"
		"  -N, --network NAME=CIDR  a virtual network across every processor host, e.g.\n"
		"                           default=10.77.0.0/16 (repeatable; kept in the state\n"
		"                           directory, so later starts need not repeat it); each\n"
		"                           vNode interface on it gets an address from the range\n"
		"      --region-size SIZE   vRegion size the GMM places (default 64M; multiple\n"
		"                           of 2M)\n"
		"      --replication N      copies of each vRegion, each on its own memory "
		"server,\n"
		"                           for vNodes whose XML has no <lego:replication>\n"
		"                           (1..4, default 1)\n"
		"      --heartbeat-ms N     components' heartbeat interval; five missed mark one\n"
		"                           down (default 1000)\n"
		"      --mmon-loss-ms N     a memory server down this long is lost: its vRegion\n"
		"                           copies are dropped (the next copy of each becomes the\n"
		"                           primary) and re-replicated (default: two heartbeats)\n"
		"      --pmon-loss-ms N     a processor host down this long is lost: its vNodes\n"
		"                           are marked crashed and their vRegions freed\n"
		"                           (default 30000)\n"
		"      --max-components N   components the table holds (default and at most\n"
		"                           %d); when full, one down and named by no vNode\n"
		"                           makes room for a new one\n"
		"      --stop-grace-ms N    destroy: SIGKILL a VMM still running this long after\n"
		"                           SIGTERM (default 5000)\n"
		"      --provider NAME      libfabric provider of the storage and memory servers\n"
		"                           (tcp or verbs; default $LEGO_FABRIC_PROVIDER or tcp),\n"
		"                           passed on to every lego-vmm\n"
		"      --capability-key FILE  the cluster's Ed25519 capability key, which signs\n"
		"                           what each vNode may do on the memory and storage\n"
		"                           servers (default: the PKI directory's\n"
		"                           capability-key.pem)\n"
		"      --capability-lifetime S  a vNode's capabilities last S seconds and are\n"
		"                           renewed at half (10..604800, default 3600)\n"
		"      --insecure-no-capabilities  sign nothing (the servers then serve anyone)\n"
		"      --port-file PATH     write the cluster port to PATH once listening\n"
		"      --metrics HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics\n"
		"                           (port 0 picks; default: none): plain HTTP, read-only\n"
		"                           and unauthenticated: whoever reaches it reads the\n"
		"                           cluster's names, capacities and vNode figures, so\n"
		"                           bind it to loopback or a management network\n"
		"      --pki DIR            the cluster PKI (default $LEGO_PKI "
		"or " TLS_PKI_DEFAULT_DIR "):\n"
		"                           DIR/ca.pem, DIR/controld-NAME.pem and its key\n"
		"      --name NAME          which controld certificate (default: the only one)\n"
		"      --insecure           no TLS on the cluster port: anyone may register or\n"
		"                           drive the cluster (a loud warning at every start)\n"
		"  -v, --verbose            debug log lines (every call)\n"
		"  -q, --quiet              warnings and errors only\n"
		"  -h, --help               this text\n"
		"  -V, --version            version\n"
		"\n"
		"Running vNodes belong to their lego-pmon, not to lego-controld: restarting it\n"
		"leaves them running, and it finds them again from its state directory and the\n"
		"hosts' heartbeats; a live migration under way is followed to its end (its\n"
		"client sees the connection drop); a memory pool job (legoctl mmon drain, pool\n"
		"rebalance) ends with it, and is asked for again. SIGINT or SIGTERM stop it.\n"
		"One lego-controld per state directory and per socket: a second is refused.\n",
		REG_MAX_COMPONENTS);
}

static int __attribute__((format(printf, 1, 2))) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lego-controld: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'lego-controld --help'.\n");
	return EXIT_USAGE;
}

/* The value after option c: -1 to go on, or an exit status. */
static int option(struct options *o, int c, char **argv)
{
	char host[256], port[16];
	uint64_t n;

	switch (c) {
	case 's':
		o->sock_path = optarg;
		break;
	case 't':
		o->tcp = optarg;
		break;
	case 'T':
		o->tls = optarg;
		break;
	case 'A':
		if (o->nallow == LIBVIRT_CONN_ALLOW_MAX)
			return bad_usage("at most %d --libvirt-allow", LIBVIRT_CONN_ALLOW_MAX);
		o->allow[o->nallow++] = optarg;
		break;
	case 'l':
		o->listen_addr = optarg;
		break;
	case 'd':
	case 'S':
		o->so.spec = optarg;
		break;
	case 'c':
		o->so.ceph_conf = optarg;
		break;
	case 'k':
		o->so.ceph_keyring = optarg;
		break;
	case 'u':
		o->so.ceph_client = optarg;
		break;
	case 'e':
		if (parse_uint(optarg, 2, 60, &n))
			return bad_usage("--lease-s '%s' must be 2..60", optarg);
		o->so.lease_s = (int)n;
		break;
	case 'R':
		if (parse_size(optarg, &n) || n == 0 || n % (2 << 20) || n > (1ULL << 40))
			return bad_usage("--region-size '%s' must be a multiple of 2M", optarg);
		o->vo.region_size = n;
		break;
	case 'H':
		if (parse_uint(optarg, 10, 60000, &o->hb))
			return bad_usage("--heartbeat-ms '%s' must be 10..60000", optarg);
		break;
	case 'Y':
		if (parse_uint(optarg, 1, DOM_MAX_COPIES, &n))
			return bad_usage("--replication '%s' must be 1..%d", optarg,
					 DOM_MAX_COPIES);
		o->vo.replication = (int)n;
		break;
	case 'L':
		if (parse_uint(optarg, 1, 600000, &o->loss_ms))
			return bad_usage("--mmon-loss-ms '%s' must be 1..600000", optarg);
		break;
	case 'O':
		if (parse_uint(optarg, 1, 86400000, &o->host_loss_ms))
			return bad_usage("--pmon-loss-ms '%s' must be 1..86400000", optarg);
		break;
	case 'X':
		if (parse_uint(optarg, 1, REG_MAX_COMPONENTS, &n))
			return bad_usage("--max-components '%s' must be 1..%d", optarg,
					 REG_MAX_COMPONENTS);
		controld_registry_set_max_components((int)n);
		break;
	case 'G':
		if (parse_uint(optarg, 0, 600000, &n))
			return bad_usage("--stop-grace-ms '%s' must be 0..600000", optarg);
		o->vo.stop_grace_ms = (int)n;
		break;
	case 'P':
		o->vo.provider = optarg;
		break;
	case 'F':
		o->port_file = optarg;
		break;
	case 'M':
		if (parse_hostport(optarg, 0, host, sizeof(host), port, sizeof(port)))
			return bad_usage("--metrics '%s' must be HOST:PORT", optarg);
		o->metrics = optarg;
		break;
	case 'K':
		o->pki_dir = optarg;
		break;
	case 'N':
		if (o->nnets == CONTROLD_NET_MAX)
			return bad_usage("at most %d --network options", CONTROLD_NET_MAX);
		o->netspecs[o->nnets++] = optarg;
		break;
	case 'n':
		if (!tls_pki_name_ok(optarg))
			return bad_usage("--name '%s' is not a certificate name", optarg);
		o->name = optarg;
		break;
	case 'I':
		o->insecure = true;
		break;
	case 'C':
		o->co.key = optarg;
		break;
	case 'W':
		if (parse_uint(optarg, 10, CAP_MAX_LIFETIME, &n))
			return bad_usage("--capability-lifetime '%s' must be 10..%d", optarg,
					 CAP_MAX_LIFETIME);
		o->co.lifetime = (uint32_t)n;
		break;
	case 'U':
		o->co.insecure = true;
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
		printf("lego-controld 0.1.0\n");
		return 0;
	case ':':
		return bad_usage("option '%s' needs a value", argv[optind - 1]);
	default:
		return bad_usage("bad option '%s'", argv[optind - 1]);
	}
	return -1;
}

/* Returns -1 to go on, or an exit status. */
static int parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"libvirt-tcp", required_argument, NULL, 't'},
		{"libvirt-tls", required_argument, NULL, 'T'},
		{"libvirt-allow", required_argument, NULL, 'A'},
		{"listen", required_argument, NULL, 'l'},
		{"state-dir", required_argument, NULL, 'd'},
		{"state", required_argument, NULL, 'S'},
		{"ceph-conf", required_argument, NULL, 'c'},
		{"ceph-keyring", required_argument, NULL, 'k'},
		{"ceph-client", required_argument, NULL, 'u'},
		{"lease-s", required_argument, NULL, 'e'},
		{"network", required_argument, NULL, 'N'},
		{"region-size", required_argument, NULL, 'R'},
		{"heartbeat-ms", required_argument, NULL, 'H'},
		{"replication", required_argument, NULL, 'Y'},
		{"mmon-loss-ms", required_argument, NULL, 'L'},
		{"pmon-loss-ms", required_argument, NULL, 'O'},
		{"stop-grace-ms", required_argument, NULL, 'G'},
		{"max-components", required_argument, NULL, 'X'},
		{"provider", required_argument, NULL, 'P'},
		{"port-file", required_argument, NULL, 'F'},
		{"metrics", required_argument, NULL, 'M'},
		{"pki", required_argument, NULL, 'K'},
		{"name", required_argument, NULL, 'n'},
		{"insecure", no_argument, NULL, 'I'},
		{"capability-key", required_argument, NULL, 'C'},
		{"capability-lifetime", required_argument, NULL, 'W'},
		{"insecure-no-capabilities", no_argument, NULL, 'U'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:t:l:d:N:vqhV", longopts, NULL)) != -1)
		if ((rc = option(o, c, argv)) >= 0)
			return rc;
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	if (!o->sock_path)
		return bad_usage("%s", "give --socket PATH");
	/* PATH-ro must fit a socket address too. */
	if (strlen(o->sock_path) + 3 >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return bad_usage("socket path '%s' is too long", o->sock_path);
	if (o->insecure && o->tls)
		return bad_usage("%s", "--libvirt-tls needs the PKI: it cannot go with --insecure");
	return -1;
}

/* Signals go to the main thread only (its sigwait), blocked before any thread starts. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The libvirt listeners: the UNIX sockets, and TLS and plain TCP if asked for. */
static int start_libvirt(const struct options *o, const struct tls_pki *pki, int rw_fd, int ro_fd)
{
	static const struct netserver_config cfg = {.what = "libvirt",
						    .max_conns = LIBVIRT_MAX_CONNS,
						    .max_per_peer = LIBVIRT_MAX_PER_PEER,
						    .max_pending = LIBVIRT_MAX_PENDING,
						    .handshake_ms = TLS_CONN_HANDSHAKE_MS,
						    .budget = LIBVIRT_BUDGET,
						    .serve = libvirt_conn_serve};
	struct netserver *s = netserver_new(&cfg);
	char err[256], port[16], hostport[300], host[256];
	int fd;

	if (!s)
		return -1;
	libvirt_conn_allow(o->allow, o->nallow);
	netserver_listen(s, rw_fd, NULL, LIBVIRT_CONN_UNIX);
	netserver_listen(s, ro_fd, NULL, LIBVIRT_CONN_UNIX_RO);
	if (o->tls) {
		/* HOST alone means libvirtd's port. */
		if (parse_hostport(o->tls, 0, host, sizeof(host), port, sizeof(port)))
			snprintf(hostport, sizeof(hostport), "%s:%s", o->tls, DEFAULT_TLS_PORT);
		else
			snprintf(hostport, sizeof(hostport), "%s", o->tls);
		fd = tcp_listen(hostport, port, sizeof(port), err, sizeof(err));
		if (fd < 0) {
			log_error("libvirt TLS: %s", err);
			return -1;
		}
		netserver_listen(s, fd, pki, LIBVIRT_CONN_TLS);
		log_info("libvirt remote protocol over TLS on %s (port %s): admin certificates %s",
			 hostport, port, o->nallow ? "on the allow-list" : "of the cluster CA");
	}
	if (o->tcp) {
		fd = tcp_listen(o->tcp, port, sizeof(port), err, sizeof(err));
		if (fd < 0) {
			log_error("libvirt TCP: %s", err);
			return -1;
		}
		netserver_listen(s, fd, NULL, LIBVIRT_CONN_TCP);
		log_warn("WARNING: INSECURE: libvirt remote protocol on plain TCP %s (port %s) "
			 "(--libvirt-tcp): no authentication, no encryption: anyone who can reach "
			 "it can define, start, destroy and undefine every vNode",
			 o->tcp, port);
	}
	return netserver_start(s);
}

/* The state read back (as a restart does), once this process may write it. */
static int load_state(const struct options *o)
{
	if (controld_registry_store_init() || controld_net_init(o->netspecs, o->nnets))
		return -1;
	controld_owed_init(); /* vRegion copies still to free, swept by the pool's worker */
	return 0;
}

/* RADOS: stand by (answering on the cluster port and libvirt with the leader's name) until
 * the lease is ours, then load the state as a restart does. 0, 1 (stopped by a signal while
 * standing by) or -1. */
static int lead(const struct options *o, const struct tls_pki *pki, int rw_fd, int ro_fd,
		const char *port, const sigset_t *stop)
{
	char me[512];
	int rc;

	if (o->port_file && fab_server_port_file(o->port_file, port)) {
		log_error("cannot write %s", o->port_file);
		return -1;
	}
	if (start_libvirt(o, pki, rw_fd, ro_fd))
		return -1;
	snprintf(me, sizeof(me), "lego-controld '%s' (pid %d, cluster port %s, libvirt socket %s)",
		 pki ? tls_pki_self(pki)->name : "insecure", (int)getpid(), o->listen_addr,
		 o->sock_path);
	if (port[0] && strlen(o->listen_addr) < 256) {
		char host[256], p[16];

		if (!parse_hostport(o->listen_addr, 0, host, sizeof(host), p, sizeof(p)))
			snprintf(me, sizeof(me),
				 "lego-controld '%s' (pid %d, cluster port %s:%s, libvirt socket "
				 "%s)",
				 pki ? tls_pki_self(pki)->name : "insecure", (int)getpid(), host,
				 port, o->sock_path);
	}
	svc_notify_ready("standing by (the lease is another lego-controld's or not taken yet)");
	rc = controld_lease_acquire(o->so.lease_s * 1000, me, stop);
	if (rc)
		return rc;
	if (load_state(o))
		return -1;
	controld_lease_serving();
	return 0;
}

/* Everything that acts on the state, once it is loaded and ours. */
static int serve(const struct options *o, const struct tls_pki *pki, int rw_fd, int ro_fd,
		 const char *port)
{
	char err[1024], mport[16];
	bool rados = controld_state_is_rados();

	controld_migrate_resume_all(); /* migrations the run files record, once hosts can
					* register */
	if (controld_netsync_start()) {
		log_error("cannot start the networks' thread");
		return -1;
	}
	if (controld_mempool_start(&(struct controld_mempool_options){
		    .heartbeat_ms = (int)o->hb,
		    .loss_grace_ms = (int)(o->loss_ms ? o->loss_ms : 2 * o->hb),
		    .host_loss_ms = (int)o->host_loss_ms}))
		return -1;
	if (!rados && o->port_file && fab_server_port_file(o->port_file, port)) {
		log_error("cannot write %s", o->port_file);
		return -1;
	}
	if (!rados && start_libvirt(o, pki, rw_fd, ro_fd))
		return -1;
	if (o->metrics &&
	    controld_metrics_start(o->metrics, mport, sizeof(mport), err, sizeof(err))) {
		log_error("metrics: %s", err);
		return -1;
	}
	log_info("libvirt remote protocol on %s (read-only: %s-ro)", o->sock_path, o->sock_path);
	return controld_autostart_begin(1000) ? -1 : 0; /* once clients and components can
							 * reach us */
}

int main(int argc, char **argv)
{
	static struct options o = {
		.listen_addr = DEFAULT_LISTEN,
		.so = {.spec = DEFAULT_STATE, .lease_s = DEFAULT_LEASE_S},
		.hb = 1000,
		.host_loss_ms = 30000,
		.co = {.lifetime = 3600},
		.vo = {.region_size = DEFAULT_REGION, .stop_grace_ms = 5000, .replication = 1}};
	char port[16], ro_path[sizeof(((struct sockaddr_un *)0)->sun_path)], err[1024];
	static char key_path[4096];
	struct tls_pki *pki = NULL;
	sigset_t set;
	int sig, rw_fd, ro_fd, rc;

	log_init("lego-controld");
	svc_notify_init();
	rc = parse_options(&o, argc, argv);
	if (rc >= 0)
		return rc;
	if (!o.vo.provider)
		o.vo.provider = fabric_default_provider();
	if (o.insecure) {
		tls_pki_warn_insecure("lego-controld", "the cluster port");
	} else {
		pki = tls_pki_load(tls_pki_dir(o.pki_dir), TLS_KIND_CONTROLD, o.name, err,
				   sizeof(err));
		if (!pki) {
			log_error("%s", err);
			return 1;
		}
		log_info("PKI %s: I am controld '%s'", tls_pki_dirname(pki),
			 tls_pki_self(pki)->name);
	}
	o.vo.pki = pki;
	controld_vnode_configure(&o.vo);

	block_signals(&set);

	/* Another lego-controld's socket or state directory: refused before anything is done
	 * (its clients queue on our sockets until the libvirt side starts). */
	snprintf(ro_path, sizeof(ro_path), "%s-ro", o.sock_path);
	rw_fd = controld_single_unix_listen(o.sock_path, 0600); /* as libvirtd's: its owner */
	ro_fd = rw_fd < 0 ? -1 : controld_single_unix_listen(ro_path, 0666);
	if (ro_fd < 0)
		return 1;
	if (!o.co.key) {
		snprintf(key_path, sizeof(key_path), "%s/capability-key.pem",
			 tls_pki_dir(o.pki_dir));
		o.co.key = key_path;
	}
	if (controld_caps_start(&o.co) || controld_state_open(&o.so))
		return 1;
	if (controld_state_is_rados())
		controld_lease_begin_standby(); /* until leading: the listeners name the leader */
	else if (load_state(&o))
		return 1;
	if (controld_cluster_listen(o.listen_addr, (int)o.hb, pki, port, sizeof(port)))
		return 1;
	log_info("cluster port %s (bound port %s)%s", o.listen_addr, port,
		 pki ? ": mutual TLS" : ": plain TCP (--insecure)");
	rc = controld_state_is_rados() ? lead(&o, pki, rw_fd, ro_fd, port, &set) : 0;
	if (rc) {
		unlink(o.sock_path);
		unlink(ro_path);
		return rc < 0 ? 1 : 0;
	}
	if (serve(&o, pki, rw_fd, ro_fd, port))
		return 1;
	svc_notify_ready("serving the cluster port and libvirt");

	while (sigwait(&set, &sig) != 0)
		;
	svc_notify_stopping();
	log_info("signal %d: stopping (running vNodes keep running)", sig);
	if (controld_state_is_rados())
		controld_lease_release();
	unlink(o.sock_path);
	unlink(ro_path);
	return 0;
}
