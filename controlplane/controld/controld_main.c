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

#include "lib/cluster/cluster_io.h"
#include "controld_cluster.h"
#include "controlplane/controld/libvirt/libvirt_conn.h"
#include "controlplane/controld/mempool/controld_mempool.h"
#include "controlplane/controld/mempool/controld_owed.h"
#include "controld_migrate.h"
#include "controld_net.h"
#include "controld_netsync.h"
#include "controld_registry.h"
#include "controld_vnode.h"
#include "lib/fabric/fab_server.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/parse.h"

#define EXIT_USAGE     64
#define DEFAULT_LISTEN "127.0.0.1:7400"
#define DEFAULT_STATE  "/var/lib/lego/controld"
#define DEFAULT_REGION (64ULL << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lego-controld --socket PATH [options]\n"
		"The lego control plane: global managers for processors, memory and storage,\n"
		"speaking the libvirt remote protocol. Connect with\n"
		"  virsh -c 'lego+unix:///system?socket=PATH'   (or lego+tcp://HOST:PORT/system)\n"
		"\n"
		"  -s, --socket PATH        libvirt UNIX socket (replaced if stale)\n"
		"  -t, --libvirt-tcp H:P    also serve libvirt clients on this TCP address\n"
		"  -l, --listen HOST:PORT   cluster port where lego-pmon/-mmon/-smon register and\n"
		"                           legoctl asks (default " DEFAULT_LISTEN
		"; port 0 picks)\n"
		"  -d, --state-dir DIR      vNode definitions and placements (default\n"
		"                           " DEFAULT_STATE ")\n"
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
		"      --stop-grace-ms N    destroy: SIGKILL a VMM still running this long after\n"
		"                           SIGTERM (default 5000)\n"
		"      --provider NAME      libfabric provider for the storage and memory servers\n"
		"      --port-file PATH     write the cluster port to PATH once listening\n"
		"  -v, --verbose            debug log lines (every call)\n"
		"  -q, --quiet              warnings and errors only\n"
		"  -h, --help               this text\n"
		"  -V, --version            version\n"
		"\n"
		"Running vNodes belong to their lego-pmon, not to lego-controld: restarting it\n"
		"leaves them running, and it finds them again from its state directory and the\n"
		"hosts' heartbeats; a live migration under way is followed to its end (its\n"
		"client sees the connection drop); a memory pool job (legoctl mmon drain, pool\n"
		"rebalance) ends with it, and is asked for again. SIGINT or SIGTERM stop it.\n");
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

static void *accept_loop(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			continue;
		}
		libvirt_conn_serve_fd(fd);
	}
	return NULL;
}

static int serve_in_background(int lfd)
{
	pthread_t t;

	if (pthread_create(&t, NULL, accept_loop, (void *)(intptr_t)lfd))
		return -1;
	pthread_detach(t);
	return 0;
}

/* libvirt clients on TCP too: 0, or -1 after logging why. */
static int serve_tcp(const char *tcp)
{
	char err[256] = "", tport[16];
	int lfd = cluster_io_listen(tcp, tport, sizeof(tport), err, sizeof(err));

	if (lfd < 0 || serve_in_background(lfd)) {
		log_error("libvirt TCP: %s", err);
		return -1;
	}
	log_info("libvirt remote protocol on TCP %s (port %s)", tcp, tport);
	return 0;
}

static int unix_listen(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(a.sun_path, path, strlen(path));
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128)) {
		log_error("cannot listen on %s: %s", path, strerror(errno));
		return -1;
	}
	chmod(path, 0600); /* as libvirtd's read-write socket: its owner only */
	return fd;
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

/* The libvirt listeners: the UNIX socket, and the TCP address if given. 0, or -1. */
static int libvirt_listen(const char *sock_path, const char *tcp)
{
	int lfd;

	if (tcp && serve_tcp(tcp))
		return -1;
	lfd = unix_listen(sock_path);
	if (lfd < 0 || serve_in_background(lfd))
		return -1;
	log_info("libvirt remote protocol on %s", sock_path);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"libvirt-tcp", required_argument, NULL, 't'},
		{"listen", required_argument, NULL, 'l'},
		{"state-dir", required_argument, NULL, 'd'},
		{"network", required_argument, NULL, 'N'},
		{"region-size", required_argument, NULL, 'R'},
		{"heartbeat-ms", required_argument, NULL, 'H'},
		{"replication", required_argument, NULL, 'Y'},
		{"mmon-loss-ms", required_argument, NULL, 'L'},
		{"pmon-loss-ms", required_argument, NULL, 'O'},
		{"stop-grace-ms", required_argument, NULL, 'G'},
		{"provider", required_argument, NULL, 'P'},
		{"port-file", required_argument, NULL, 'F'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *sock_path = NULL, *tcp = NULL, *listen_addr = DEFAULT_LISTEN,
		   *state = DEFAULT_STATE, *port_file = NULL;
	struct controld_vnode_options vo = {
		.region_size = DEFAULT_REGION, .stop_grace_ms = 5000, .replication = 1};
	uint64_t n, hb = 1000, loss_ms = 0, host_loss_ms = 30000;
	const char *netspecs[CONTROLD_NET_MAX];
	int nnets = 0;
	char port[16];
	sigset_t set;
	int c, sig;

	log_init("lego-controld");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:t:l:d:N:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock_path = optarg;
			break;
		case 't':
			tcp = optarg;
			break;
		case 'l':
			listen_addr = optarg;
			break;
		case 'd':
			state = optarg;
			break;
		case 'N':
			if (nnets == CONTROLD_NET_MAX)
				return bad_usage("at most %d --network options", CONTROLD_NET_MAX);
			netspecs[nnets++] = optarg;
			break;
		case 'R':
			if (parse_size(optarg, &n) || n == 0 || n % (2 << 20) || n > (1ULL << 40))
				return bad_usage("--region-size '%s' must be a multiple of 2M",
						 optarg);
			vo.region_size = n;
			break;
		case 'H':
			if (parse_uint(optarg, 10, 60000, &hb))
				return bad_usage("--heartbeat-ms '%s' must be 10..60000", optarg);
			break;
		case 'Y':
			if (parse_uint(optarg, 1, DOM_MAX_COPIES, &n))
				return bad_usage("--replication '%s' must be 1..%d", optarg,
						 DOM_MAX_COPIES);
			vo.replication = (int)n;
			break;
		case 'L':
			if (parse_uint(optarg, 1, 600000, &loss_ms))
				return bad_usage("--mmon-loss-ms '%s' must be 1..600000", optarg);
			break;
		case 'O':
			if (parse_uint(optarg, 1, 86400000, &host_loss_ms))
				return bad_usage("--pmon-loss-ms '%s' must be 1..86400000", optarg);
			break;
		case 'G':
			if (parse_uint(optarg, 0, 600000, &n))
				return bad_usage("--stop-grace-ms '%s' must be 0..600000", optarg);
			vo.stop_grace_ms = (int)n;
			break;
		case 'P':
			vo.provider = optarg;
			break;
		case 'F':
			port_file = optarg;
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
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	if (!sock_path)
		return bad_usage("%s", "give --socket PATH");
	if (strlen(sock_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return bad_usage("socket path '%s' is too long", sock_path);
	if (!vo.provider)
		vo.provider = fabric_default_provider();
	controld_vnode_configure(&vo);

	block_signals(&set);

	if (controld_registry_store_init(state) || controld_net_init(netspecs, nnets))
		return 1;
	controld_owed_init(); /* vRegion copies still to free, swept by the pool's worker */
	if (controld_cluster_listen(listen_addr, (int)hb, port, sizeof(port)))
		return 1;
	log_info("cluster port %s (bound port %s)", listen_addr, port);
	controld_migrate_resume_all(); /* migrations the run files record, once hosts can register
					*/
	if (controld_netsync_start()) {
		log_error("cannot start the networks' thread");
		return 1;
	}
	if (controld_mempool_start(&(struct controld_mempool_options){
		    .heartbeat_ms = (int)hb,
		    .loss_grace_ms = (int)(loss_ms ? loss_ms : 2 * hb),
		    .host_loss_ms = (int)host_loss_ms}))
		return 1;
	if (port_file && fab_server_port_file(port_file, port)) {
		log_error("cannot write %s", port_file);
		return 1;
	}
	if (libvirt_listen(sock_path, tcp))
		return 1;

	while (sigwait(&set, &sig) != 0)
		;
	log_info("signal %d: stopping (running vNodes keep running)", sig);
	unlink(sock_path);
	return 0;
}
