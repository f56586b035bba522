/* legoctl_main.c: the operator's command line for what libvirt has no words for: the
 * cluster as lego-controld sees it (components, vNodes, a vNode's vRegion copies and
 * ExCache statistics, the memory pool), live migration of a vNode to another processor
 * host, draining a memory server and rebalancing the pool, the volumes of a storage
 * server, and the cluster's PKI (`legoctl pki`). Options, then the command: a row of the
 * table below, found by its words. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legoctl.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/tls/tls_pki.h"

#define HELP_WIDTH 78 /* the help's lines */
#define USAGE_COL  26 /* where a command's help starts in the list of commands */

static int mmon_which(const struct legoctl_opts *o, int argc, char **argv);
static int volume_which(const struct legoctl_opts *o, int argc, char **argv);
static int pki_which(const struct legoctl_opts *o, int argc, char **argv);

/* A group's row (nargs < 0) answers when none of its subcommands matches. */
#define GROUP (-1)

static const struct legoctl_cmd cmds[] = {
	{"components", legoctl_cluster_components, "components",
	 "every processor host, memory and storage server with capacity, use and liveness", 0, NULL,
	 LEGOCTL_ASKS_CONTROLD},
	{"vnodes", legoctl_cluster_vnodes, "vnodes", "every vNode: state, host, memory, ExCache", 0,
	 NULL, LEGOCTL_ASKS_CONTROLD},
	{"vnode", legoctl_cluster_vnode, "vnode NAME",
	 "one vNode: its host, a migration under way, its vRegion map (which memory servers hold "
	 "each part of its RAM: the primary copy first, e.g. mm1+mm2), its replication factor, "
	 "disks, and its ExCache and fault statistics while it runs",
	 1, NULL, LEGOCTL_ASKS_CONTROLD},
	{"migrate", legoctl_migrate_vnode, "migrate NAME HOST",
	 "move the running vNode NAME to the processor host HOST, live (as virsh migrate --live "
	 "--p2p); progress on stderr, then a report: total time, downtime, bytes sent",
	 2, "migrate: give NAME HOST", LEGOCTL_ASKS_CONTROLD},
	{"pool", legoctl_cluster_pool, "pool",
	 "the memory pool: each memory server's capacity, use, vRegion copies, draining or down; "
	 "a drain or rebalance under way; re-replication still to do",
	 0, "pool: give no argument, or 'rebalance'", LEGOCTL_ASKS_CONTROLD},
	{"pool rebalance", legoctl_pool_rebalance, "pool rebalance",
	 "move vRegion copies from the fullest memory servers to the emptiest until within about "
	 "one vRegion of even; progress on stderr, then a report",
	 0, "pool: give no argument, or 'rebalance'", LEGOCTL_ASKS_CONTROLD},
	{"mmon", mmon_which, "mmon COMMAND NAME",
	 "the memory servers of the pool: drain one, or let a drained one take vRegions again",
	 GROUP, NULL, LEGOCTL_ASKS_CONTROLD},
	{"mmon drain", legoctl_pool_drain, "mmon drain NAME",
	 "move every vRegion copy off memory server NAME while the vNodes run (refused if the "
	 "others lack room); it then stays draining, holds nothing and can be stopped; progress "
	 "on stderr, then a report: copies and MiB moved, seconds, MiB/s",
	 1, "mmon drain: give the memory server's NAME", LEGOCTL_ASKS_CONTROLD},
	{"mmon undrain", legoctl_pool_undrain, "mmon undrain NAME",
	 "let a drained memory server take vRegions again", 1,
	 "mmon undrain: give the memory server's NAME", LEGOCTL_ASKS_CONTROLD},
	{"volume", volume_which, "volume COMMAND [ARGS]",
	 "the volumes (vNode disks) of the storage server --smon names", GROUP, NULL,
	 LEGOCTL_ASKS_SMON},
	{"volume create", legoctl_volume_create, "volume create NAME SIZE",
	 "a new zero-filled volume, e.g. SIZE 10G", 2, NULL, LEGOCTL_ASKS_SMON},
	{"volume list", legoctl_volume_list, "volume list", "every volume with its size", 0, NULL,
	 LEGOCTL_ASKS_SMON},
	{"volume stat", legoctl_volume_stat, "volume stat NAME", "size and layout of one volume", 1,
	 NULL, LEGOCTL_ASKS_SMON},
	{"volume resize", legoctl_volume_resize, "volume resize NAME SIZE",
	 "grow, or shrink (bytes beyond SIZE are lost)", 2, NULL, LEGOCTL_ASKS_SMON},
	{"volume delete", legoctl_volume_delete, "volume delete NAME",
	 "remove a volume and its data", 1, NULL, LEGOCTL_ASKS_SMON},
	{"pki", pki_which, "pki COMMAND DIR ...",
	 "the cluster's PKI in DIR: its CA, a certificate per component and admin, virsh's files",
	 GROUP, NULL, LEGOCTL_ASKS_NONE},
	{"pki init", legoctl_pki_init, "pki init DIR [--days N]",
	 "a new cluster CA in DIR (ca.pem; its key ca-key.pem stays with the operator: only "
	 "'legoctl pki' reads it) and lego-controld's capability key pair (capability-key.pem, "
	 "capability-pub.pem); the CA is valid N days (default 3650)",
	 LEGOCTL_ARGS_OWN, NULL, LEGOCTL_ASKS_NONE},
	{"pki issue", legoctl_pki_issue,
	 "pki issue DIR KIND NAME [--host H]... [--days N] [--replace]",
	 "a key and a certificate signed by DIR's CA (KIND-NAME.pem, KIND-NAME-key.pem) granting "
	 "KIND (controld, pmon, mmon, smon or admin) and NAME (the component's --name, or an "
	 "operator's); --host: a name or address the holder serves at (checked by virsh for "
	 "lego-controld, and by a migration's source for its destination's lego-pmon); valid N "
	 "days (default 365); --replace: a new key and certificate in place of the old (to "
	 "rotate them)",
	 LEGOCTL_ARGS_OWN, NULL, LEGOCTL_ASKS_NONE},
	{"pki libvirt-client", legoctl_pki_libvirt_client, "pki libvirt-client DIR NAME OUTDIR",
	 "virsh's files for admin NAME in OUTDIR (cacert.pem, clientcert.pem, clientkey.pem; the "
	 "admin's certificate is issued first if DIR has none): virsh -c "
	 "'lego+tls://HOST/system?pkipath=OUTDIR'",
	 LEGOCTL_ARGS_OWN, NULL, LEGOCTL_ASKS_NONE},
	{"pki list", legoctl_pki_list, "pki list DIR",
	 "every certificate in DIR: kind, name, expiry, hosts", LEGOCTL_ARGS_OWN, NULL,
	 LEGOCTL_ASKS_NONE},
};

#define NR_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static int mmon_which(const struct legoctl_opts *o, int argc, char **argv)
{
	(void)o;
	(void)argc;
	(void)argv;
	return legoctl_common_bad_usage("%s", "mmon: which command? (drain NAME, undrain NAME)");
}

static int volume_which(const struct legoctl_opts *o, int argc, char **argv)
{
	(void)o;
	if (argc)
		return legoctl_common_bad_usage("unknown volume command '%s'", argv[0]);
	return legoctl_common_bad_usage(
		"%s", "volume: which command? (create, list, stat, resize, delete)");
}

static int pki_which(const struct legoctl_opts *o, int argc, char **argv)
{
	(void)o;
	if (argc)
		return legoctl_common_bad_usage("unknown pki command '%s'", argv[0]);
	return legoctl_common_bad_usage("%s",
					"pki: which command? (init, issue, libvirt-client, list)");
}

/* ---- help ------------------------------------------------------------------------------ */

/* text wrapped at HELP_WIDTH, the first line from column col, the others indented to it. */
static void wrap(FILE *f, const char *text, int col)
{
	int at = col;

	while (*text) {
		size_t n = strcspn(text, " ");

		if (at > col && at + 1 + (int)n > HELP_WIDTH) {
			fprintf(f, "\n%*s", col, "");
			at = col;
		} else if (at > col) {
			fputc(' ', f);
			at++;
		}
		fwrite(text, 1, n, f);
		at += (int)n;
		text += n;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

static void list_cmd(FILE *f, const struct legoctl_cmd *c)
{
	int n = fprintf(f, "  %-*s", USAGE_COL, c->usage);

	if (n > USAGE_COL + 2) /* a usage longer than the column: the help on the next line */
		fprintf(f, "\n%*s", USAGE_COL + 2, "");
	wrap(f, c->help, USAGE_COL + 2);
}

static void usage(FILE *f)
{
	static const char *const heading[] = {
		[LEGOCTL_ASKS_CONTROLD] = "Cluster commands (asked of lego-controld):",
		[LEGOCTL_ASKS_SMON] = "Volume commands (asked of a lego-smon):",
		[LEGOCTL_ASKS_NONE] = "PKI commands (files only; no server is asked):",
	};

	fprintf(f, "Usage: legoctl [options] COMMAND [ARGS]\n"
		   "Shows the lego cluster, manages the volumes (vNode disks) of a storage\n"
		   "server, and makes the cluster's certificates.\n");
	for (size_t i = 0; i < NR_CMDS; i++) {
		if (!i || cmds[i].asks != cmds[i - 1].asks)
			fprintf(f, "\n%s\n", heading[cmds[i].asks]);
		if (cmds[i].nargs != GROUP)
			list_cmd(f, &cmds[i]);
	}
	fprintf(f,
		"\nEvery command answers --help (or -h) with its own usage: legoctl vnode --help.\n"
		"\n"
		"Options:\n"
		"  -c, --controld HOST:PORT  the control plane's cluster port (default\n"
		"                        $LEGO_CONTROLD or 127.0.0.1:7400); with standbys,\n"
		"                        every lego-controld's: H1:P1,H2:P2 (the leader is asked)\n"
		"      --pki DIR         the cluster PKI (default $LEGO_PKI or " TLS_PKI_DEFAULT_DIR
		"):\n"
		"                        DIR/ca.pem and an admin's certificate and key\n"
		"      --admin NAME      whose: DIR/admin-NAME.pem (default $LEGO_ADMIN, or the\n"
		"                        only admin certificate in DIR)\n"
		"      --insecure        plain TCP to lego-controld (one started --insecure)\n"
		"  -s, --smon HOST:PORT  the storage server (default $LEGO_SMON or "
		"127.0.0.1:7420)\n"
		"      --provider NAME   libfabric provider (default $LEGO_FABRIC_PROVIDER or "
		"tcp)\n"
		"      --capability-key FILE  the cluster's capability key, which signs what\n"
		"                        the storage server is shown for a volume command "
		"(default\n"
		"                        $LEGO_CAPABILITY_KEY or the PKI directory's\n"
		"                        capability-key.pem)\n"
		"  -j, --json            machine-readable output (one JSON object)\n"
		"  -v, --verbose         log lines on stderr\n"
		"  -h, --help            this text\n"
		"Volume names: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'.\n"
		"Exit status: 0 done; 1 the server refused or failed (its reason on stderr); 2 "
		"the\n"
		"server is unreachable; 64 bad command line.\n");
}

/* `legoctl WORDS --help`: the command's usage and help, and its subcommands. */
static int cmd_help(const struct legoctl_cmd *c)
{
	size_t len = strlen(c->words);
	bool subs = false;

	printf("Usage: legoctl [options] %s\n  ", c->usage);
	wrap(stdout, c->help, 2);
	for (size_t i = 0; i < NR_CMDS; i++) {
		if (strncmp(cmds[i].words, c->words, len) || cmds[i].words[len] != ' ')
			continue;
		if (!subs)
			printf("\nCommands:\n");
		subs = true;
		list_cmd(stdout, &cmds[i]);
	}
	printf("\nThe options (before the command) are in 'legoctl --help'.\n");
	return 0;
}

/* ---- dispatch -------------------------------------------------------------------------- */

/* How many of c's words argv starts with, or 0 if not all of them. */
static int match(const struct legoctl_cmd *c, int argc, char **argv)
{
	const char *w = c->words;
	int n = 0;

	while (*w) {
		size_t len = strcspn(w, " ");

		if (n >= argc || strlen(argv[n]) != len || strncmp(argv[n], w, len))
			return 0;
		n++;
		w += len;
		w += strspn(w, " ");
	}
	return n;
}

/* The row with the most words argv starts with. */
static const struct legoctl_cmd *lookup(int argc, char **argv, int *nwords)
{
	const struct legoctl_cmd *best = NULL;

	*nwords = 0;
	for (size_t i = 0; i < NR_CMDS; i++) {
		int n = match(&cmds[i], argc, argv);

		if (n > *nwords) {
			*nwords = n;
			best = &cmds[i];
		}
	}
	return best;
}

static bool asks_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int run(const struct legoctl_opts *o, int argc, char **argv)
{
	int nwords;
	const struct legoctl_cmd *c = lookup(argc, argv, &nwords);

	if (!c)
		return legoctl_common_bad_usage("unknown command '%s'", argv[0]);
	argc -= nwords;
	argv += nwords;
	if (asks_help(argc, argv))
		return cmd_help(c);
	if (c->nargs >= 0 && argc != c->nargs) {
		if (c->bad_args)
			return legoctl_common_bad_usage("%s", c->bad_args);
		return legoctl_common_bad_usage("%s: wrong number of arguments", c->words);
	}
	return c->handler(o, argc, argv);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"smon", required_argument, NULL, 's'},
		{"provider", required_argument, NULL, 'P'},
		{"capability-key", required_argument, NULL, 'C'},
		{"controld", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"pki", required_argument, NULL, 'K'},
		{"admin", required_argument, NULL, 'a'},
		{"insecure", no_argument, NULL, 'I'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct legoctl_opts o = {.smon = getenv("LEGO_SMON"),
				 .provider = fabric_default_provider(),
				 .controld = getenv("LEGO_CONTROLD"),
				 .admin = getenv("LEGO_ADMIN"),
				 .capability_key = getenv("LEGO_CAPABILITY_KEY")};
	int c;

	log_init("legoctl");
	log_set_level(LOG_ERROR);
	if (!o.smon || !*o.smon)
		o.smon = "127.0.0.1:7420";
	if (!o.controld || !*o.controld)
		o.controld = "127.0.0.1:7400";
	if (o.admin && !*o.admin)
		o.admin = NULL;
	if (o.capability_key && !*o.capability_key)
		o.capability_key = NULL;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:s:c:jvh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.smon = optarg;
			break;
		case 'c':
			o.controld = optarg;
			break;
		case 'P':
			o.provider = optarg;
			break;
		case 'C':
			o.capability_key = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'K':
			o.pki_dir = optarg;
			break;
		case 'a':
			o.admin = optarg;
			break;
		case 'I':
			o.insecure = true;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return legoctl_common_bad_usage("option %s needs a value",
							argv[optind - 1]);
		default:
			return legoctl_common_bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return legoctl_common_bad_usage("%s", "no command given");
	return run(&o, argc - optind, argv + optind);
}
