/* pmon_main.c: lego-pmon, the processor-host agent: options, run directory, listener,
 * registration with lego-controld, then the event loop until SIGINT/SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/cluster/cluster_agent.h"
#include "lib/proto/cluster_proto.h"
#include "lib/proto/net_proto.h"
#include "lib/fabric/fab_server.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/svc_notify.h"
#include "lib/tcp.h"
#include "lib/tls/tls_pki.h"
#include "pmon_adopt.h"
#include "pmon_ctx.h"
#include "pmon_ready.h"
#include "pmon_loop.h"
#include "pmon_requests.h"
#include "pmon_net.h"
#include "pmon_spawn.h"

#define EXIT_USAGE 64
#define MAX_CORES  4096 /* what REGISTER allows */

struct options {
	const char *controld, *name, *listen, *vmm, *run_dir, *port_file, *pki_dir, *vtep,
		*dhcp_dir, *dnsmasq;
	bool insecure;
	char host[256], port[16];
	uint32_t cores;
	uint64_t memory;
};

static struct options opts;
static struct pmon_ctx pm;
static char vmm_buf[PATH_MAX], run_dir_buf[PATH_MAX], dhcp_dir_buf[PATH_MAX];

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lego-pmon --controld HOST:PORT --name NAME [options]\n"
		"Processor-host agent: registers this host's cores and ExCache memory with\n"
		"lego-controld, reports its vNodes in every heartbeat, and serves lego-controld's\n"
		"requests to start, stop, control and read the console of vNodes (one lego-vmm\n"
		"process each).\n"
		"\n"
		"  -C, --controld HOST:PORT  lego-controld's cluster port (required); with\n"
		"                            standbys, every one's: H1:P1,H2:P2 (the leader is\n"
		"                            followed)\n"
		"  -n, --name NAME           this host's name in the cluster: 1-64 of "
		"[A-Za-z0-9._-]\n"
		"                            (required)\n"
		"  -l, --listen HOST:PORT    where to serve requests (default 127.0.0.1:0; port 0\n"
		"                            picks one); registered as this host's address\n"
		"      --cores N             cores offered for vCPUs, 1..%d (default: online "
		"CPUs)\n"
		"      --memory SIZE         memory offered for ExCaches, e.g. 8G (default: half "
		"of\n"
		"                            physical RAM)\n"
		"      --vmm PATH            lego-vmm to run (default: lego-vmm next to "
		"lego-pmon)\n"
		"      --run-dir DIR         vNodes' control sockets, consoles and logs (created\n"
		"                            0700; default /tmp/lego-pmon-NAME)\n"
		"      --port-file PATH      write the bound port to PATH once listening\n"
		"      --pki DIR             the cluster PKI (default $LEGO_PKI "
		"or " TLS_PKI_DEFAULT_DIR "):\n"
		"                            DIR/ca.pem, DIR/pmon-NAME.pem and its key, for the\n"
		"                            cluster port, requests (lego-controld's or an "
		"admin's\n"
		"                            certificate only) and vNodes' migration streams\n"
		"      --insecure            plain TCP everywhere: anyone who reaches this host "
		"runs\n"
		"                            vNodes on it (a loud warning at every start)\n"
		"      --start-wait-ms MS    a start is answered once lego-vmm reports the vNode\n"
		"                            running, or with its reason when it ends first; a\n"
		"                            lego-vmm still starting after MS is stopped (default\n"
		"                            45000; 0: answered once lego-vmm is spawned)\n"
		"      --vtep ADDR|none      this host's IPv4 address for the virtual networks'\n"
		"                            VXLAN traffic (default: the --listen address when it\n"
		"                            is one, other than loopback; none: networks stay on\n"
		"                            this host)\n"
		"      --dhcp-dir DIR        the networks' dnsmasq files; every directory on the "
		"way\n"
		"                            must be enterable by user nobody (default "
		"RUNDIR-dhcp)\n"
		"      --dnsmasq PATH        dnsmasq to run (default /usr/sbin/dnsmasq)\n"
		"  -v, --verbose             debug log lines\n"
		"  -q, --quiet               warnings and errors only\n"
		"  -h, --help                this text\n"
		"  -V, --version             version\n"
		"\n"
		"Each vNode's files in the run directory are UUID.sock (lego-vmm's control "
		"socket),\n"
		"UUID.console (the guest console) and UUID.log (lego-vmm's output, kept after\n"
		"VM_FORGET), UUID.run (the vNode and its process, for adoption) and UUID.exit\n"
		"(lego-vmm's exit status). SIGINT or SIGTERM stop every vNode (SIGTERM, SIGKILL\n"
		"after 10 s), then lego-pmon leaves the cluster and exits 0. A lego-pmon killed\n"
		"or crashed leaves its vNodes running: the next one with the same run directory\n"
		"adopts each still running (the same process, by its start time) and reports the\n"
		"others as exited.\n"
		"For each virtual network a vNode here uses it builds a bridge lgbrVNI with a "
		"VXLAN\n"
		"device lgvxVNI (replicating to the other hosts lego-controld lists), dnsmasq, a\n"
		"tap ltDOMIDnI per interface and nftables rules (tables lego_pmon); all of it "
		"goes\n"
		"with the last vNode using it, and a restarted lego-pmon removes what it left.\n",
		MAX_CORES);
}

static int bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "lego-pmon: %s '%s'\nTry 'lego-pmon --help'.\n", what, arg);
	return EXIT_USAGE;
}

static long online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > MAX_CORES ? MAX_CORES : n;
}

/* Returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"controld", required_argument, NULL, 'C'},
		{"name", required_argument, NULL, 'n'},
		{"listen", required_argument, NULL, 'l'},
		{"cores", required_argument, NULL, 'c'},
		{"memory", required_argument, NULL, 'm'},
		{"vmm", required_argument, NULL, 'x'},
		{"run-dir", required_argument, NULL, 'r'},
		{"port-file", required_argument, NULL, 'F'},
		{"pki", required_argument, NULL, 'K'},
		{"insecure", no_argument, NULL, 'I'},
		{"start-wait-ms", required_argument, NULL, 'W'},
		{"vtep", required_argument, NULL, 'T'},
		{"dhcp-dir", required_argument, NULL, 'D'},
		{"dnsmasq", required_argument, NULL, 'Q'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	uint64_t u;
	int c;

	opts.listen = "127.0.0.1:0";
	pm.start_wait_ms = PMON_READY_WAIT_MS;
	opts.cores = (uint32_t)online_cpus();
	opts.memory = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE) / 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":C:n:l:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'C':
			if (cluster_agent_addrs_ok(optarg))
				return bad_usage(
					"--controld must be HOST:PORT or a list H1:P1,H2:P2 "
					"(every lego-controld), not",
					optarg);
			opts.controld = optarg;
			break;
		case 'n':
			if (!cluster_proto_name_ok(optarg))
				return bad_usage("--name must be 1-64 of [A-Za-z0-9._-], not",
						 optarg);
			opts.name = optarg;
			break;
		case 'l':
			if (parse_hostport(optarg, 0, opts.host, sizeof(opts.host), opts.port,
					   sizeof(opts.port)))
				return bad_usage("--listen must be HOST:PORT, not", optarg);
			opts.listen = optarg;
			break;
		case 'c':
			if (parse_uint(optarg, 1, MAX_CORES, &u))
				return bad_usage("--cores must be a number from 1 to 4096, not",
						 optarg);
			opts.cores = (uint32_t)u;
			break;
		case 'm':
			if (parse_size(optarg, &u) || u < (1U << 20))
				return bad_usage("--memory must be a size of at least 1M, not",
						 optarg);
			opts.memory = u;
			break;
		case 'x':
			if (!*optarg)
				return bad_usage("--vmm needs a path, not", optarg);
			opts.vmm = optarg;
			break;
		case 'r':
			if (!*optarg)
				return bad_usage("--run-dir needs a directory, not", optarg);
			opts.run_dir = optarg;
			break;
		case 'F':
			opts.port_file = optarg;
			break;
		case 'K':
			opts.pki_dir = optarg;
			break;
		case 'I':
			opts.insecure = true;
			break;
		case 'W':
			if (parse_uint(optarg, 0, 600000, &u))
				return bad_usage("--start-wait-ms must be 0..600000, not", optarg);
			pm.start_wait_ms = (int)u;
			break;
		case 'T':
			opts.vtep = optarg;
			break;
		case 'D':
			if (!*optarg)
				return bad_usage("--dhcp-dir needs a directory, not", optarg);
			opts.dhcp_dir = optarg;
			break;
		case 'Q':
			if (!*optarg)
				return bad_usage("--dnsmasq needs a path, not", optarg);
			opts.dnsmasq = optarg;
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
			printf("lego-pmon (lego) cluster protocol %d\n", CP_VERSION);
			return 0;
		case ':':
			return bad_usage("option needs a value:", argv[optind - 1]);
		default:
			return bad_usage("unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument", argv[optind]);
	if (!opts.controld || !opts.name) {
		fprintf(stderr, "lego-pmon: %s is required\nTry 'lego-pmon --help'.\n",
			!opts.controld ? "--controld HOST:PORT" : "--name NAME");
		return EXIT_USAGE;
	}
	if (!opts.host[0])
		parse_hostport(opts.listen, 0, opts.host, sizeof(opts.host), opts.port,
			       sizeof(opts.port));
	return -1;
}

/* --vmm, or lego-vmm in the directory of our own executable. */
static int find_vmm(void)
{
	ssize_t n;
	char *slash;

	if (!opts.vmm) {
		n = readlink("/proc/self/exe", vmm_buf, sizeof(vmm_buf) - 16);
		slash = n > 0 ? memrchr(vmm_buf, '/', (size_t)n) : NULL;
		if (!slash) {
			log_error(
				"cannot find my own executable (/proc/self/exe): give --vmm PATH");
			return -1;
		}
		snprintf(slash + 1, 16, "lego-vmm");
		opts.vmm = vmm_buf;
	}
	if (access(opts.vmm, X_OK)) {
		log_error("lego-vmm '%s' cannot be executed: %s (give --vmm PATH)", opts.vmm,
			  strerror(errno));
		return -1;
	}
	return 0;
}

/* The run directory: ours alone (control sockets pause and stop vNodes), one pmon at a
 * time (the lock is held until exit). */
static int setup_run_dir(void)
{
	struct sockaddr_un sa;
	struct stat sb;
	char lock[PMON_SPAWN_PATH_MAX];
	int fd;

	if (!opts.run_dir) {
		snprintf(run_dir_buf, sizeof(run_dir_buf), "/tmp/lego-pmon-%s", opts.name);
		opts.run_dir = run_dir_buf;
	}
	/* RUNDIR/UUID.sock must fit a UNIX socket address. */
	if (strlen(opts.run_dir) + 1 + 36 + strlen(".sock") >= sizeof(sa.sun_path)) {
		log_error("run directory '%s' is too long for control socket paths (at most %zu "
			  "characters): give a shorter --run-dir",
			  opts.run_dir, sizeof(sa.sun_path) - 1 - 1 - 36 - strlen(".sock"));
		return -1;
	}
	if (mkdir(opts.run_dir, 0700) && errno != EEXIST) {
		log_error("cannot create run directory '%s': %s", opts.run_dir, strerror(errno));
		return -1;
	}
	if (lstat(opts.run_dir, &sb) || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid()) {
		log_error("run directory '%s' is not a directory of mine", opts.run_dir);
		return -1;
	}
	if ((sb.st_mode & 077) && chmod(opts.run_dir, 0700)) {
		log_error("cannot make run directory '%s' private: %s", opts.run_dir,
			  strerror(errno));
		return -1;
	}
	snprintf(lock, sizeof(lock), "%s/lego-pmon.lock", opts.run_dir);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
		log_error("cannot lock '%s': %s", lock,
			  errno == EWOULDBLOCK ? "another lego-pmon uses this run directory"
					       : strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return 0; /* fd stays open: the lock lasts as long as we do */
}

/* The address lego-controld calls us at: a wildcard listener is reached by host name. */
static int advertised(char *out, size_t len, const char *port)
{
	char host[256];
	int n;

	snprintf(host, sizeof(host), "%s", opts.host);
	if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !host[0]) {
		if (gethostname(host, sizeof(host) - 1))
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
	}
	n = snprintf(out, len, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	if (n < 0 || (size_t)n >= len) {
		log_error("address %s:%s is longer than %zu characters", host, port, len - 1);
		return -1;
	}
	return 0;
}

/* The networks' part: the VXLAN address (--vtep, or the listen address), the DHCP files. */
static int setup_networks(void)
{
	struct pmon_net_config nc = {.name = opts.name,
				     .dnsmasq = opts.dnsmasq ? opts.dnsmasq : "/usr/sbin/dnsmasq",
				     .vxlan_port = NET_PROTO_VXLAN_PORT};
	const char *v = opts.vtep ? opts.vtep : opts.host;
	char err[512];

	if (!opts.dhcp_dir) {
		snprintf(dhcp_dir_buf, sizeof(dhcp_dir_buf), "%s-dhcp", opts.run_dir);
		opts.dhcp_dir = dhcp_dir_buf;
	}
	nc.dhcp_dir = opts.dhcp_dir;
	if (strcmp(v, "none") && !net_proto_ip_parse(v, &nc.vtep) && nc.vtep &&
	    nc.vtep >> 24 != 127 && nc.vtep >> 28 != 14 && nc.vtep != ~0U) {
		/* a unicast address: this host's end of the VXLAN tunnels */
	} else if (opts.vtep && strcmp(v, "none")) {
		log_error("--vtep '%s' is not a unicast IPv4 address (nor none)", v);
		return -1;
	} else {
		nc.vtep = 0; /* none, or a loopback or wildcard listener: networks stay here */
	}
	if (pmon_net_init(&nc, err, sizeof(err))) {
		log_error("networks: %s", err);
		return -1;
	}
	return 0;
}

static size_t heartbeat(void *ctx, uint8_t *buf, size_t cap)
{
	return pmon_vms_heartbeat(&((struct pmon_ctx *)ctx)->vms, buf, cap);
}

int main(int argc, char **argv)
{
	struct cluster_agent_config cfg = {.heartbeat = heartbeat, .ctx = &pm};
	char port[16], err[1024];
	static struct tls_pki *pki; /* as long as we live */
	sigset_t set;
	int rc, lfd, sfd;

	log_init("lego-pmon");
	svc_notify_init();
	rc = parse_options(argc, argv);
	if (rc >= 0)
		return rc;
	if (find_vmm())
		return 1;
	if (opts.insecure) {
		tls_pki_warn_insecure(
			"lego-pmon",
			"its request port, its registration and its vNodes' migrations");
	} else if (!(pki = tls_pki_load(tls_pki_dir(opts.pki_dir), TLS_KIND_PMON, opts.name, err,
					sizeof(err)))) {
		log_error("%s", err);
		return 1;
	}
	if (setup_run_dir())
		return 1;
	/* Before any thread exists, so that only the signalfd sees these. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	pm.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sfd < 0 || pm.wake_fd < 0) {
		log_error("cannot create signalfd/eventfd: %s", strerror(errno));
		return 1;
	}
	if (setup_networks())
		return 1;
	lfd = tcp_listen(opts.listen, port, sizeof(port), err, sizeof(err));
	if (lfd < 0) {
		log_error("%s", err);
		return 1;
	}
	if (opts.port_file && fab_server_port_file(opts.port_file, port))
		return 1;
	pm.name = opts.name;
	pm.run_dir = opts.run_dir;
	pm.vmm = opts.vmm;
	pm.pki_dir = pki ? tls_pki_dirname(pki) : NULL;
	pmon_vms_init(&pm.vms, opts.cores, opts.memory);
	cfg.controld = opts.controld;
	cfg.pki = pki;
	cfg.reg = (struct cluster_proto_register){
		.kind = CP_KIND_PMON, .cores = opts.cores, .capacity_bytes = opts.memory};
	snprintf(cfg.reg.name, sizeof(cfg.reg.name), "%s", opts.name);
	if (advertised(cfg.reg.addr, sizeof(cfg.reg.addr), port))
		return 1;
	/* Before the first heartbeat: lego-controld must see them running here. */
	pmon_adopt_all(&pm);
	pmon_net_cleanup(); /* what the earlier one left that no adopted vNode uses */
	if (cluster_agent_start(&pm.agent, &cfg)) {
		log_error("cannot start the cluster agent thread");
		return 1;
	}
	pm.requests = pmon_requests_start(&pm, lfd, pki);
	if (!pm.requests)
		return 1;
	log_info("%s: serving vNode requests on %s%s (%u cores, %llu MiB for ExCaches; lego-vmm "
		 "%s; run directory %s; lego-controld %s)",
		 opts.name, cfg.reg.addr, pki ? " with mutual TLS" : " in plain TCP (--insecure)",
		 opts.cores, (unsigned long long)(opts.memory >> 20), opts.vmm, opts.run_dir,
		 opts.controld);
	svc_notify_ready("serving vNode requests");
	rc = pmon_loop(&pm, sfd);
	cluster_agent_stop(pm.agent);
	pmon_net_shutdown();
	log_info("%s: every vNode stopped; left the cluster", opts.name);
	close(sfd);
	close(pm.wake_fd);
	return rc ? 1 : 0;
}
