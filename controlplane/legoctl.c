/* legoctl.c: the operator's command line for what libvirt has no words for: the cluster
 * as lego-controld sees it (components, vNodes, a vNode's vRegion map and ExCache
 * statistics), and the volumes of a storage server. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster_io.h"
#include "cluster_proto.h"
#include "fabric.h"
#include "log.h"
#include "parse.h"
#include "smon_client.h"
#include "strbuf.h"

#define EXIT_USAGE 64
#define TIMEOUT_MS 10000

static void usage(FILE *f)
{
	fprintf(f, "Usage: legoctl [options] COMMAND [ARGS]\n"
		   "Shows the lego cluster and manages the volumes (vNode disks) of a storage\n"
		   "server.\n"
		   "\n"
		   "Cluster commands (asked of lego-controld):\n"
		   "  components                every processor host, memory and storage server\n"
		   "                            with capacity, use and liveness\n"
		   "  vnodes                    every vNode: state, host, memory, ExCache\n"
		   "  vnode NAME                one vNode: its vRegion map (which memory server\n"
		   "                            holds which part of its RAM), disks, and its\n"
		   "                            ExCache and fault statistics while it runs\n"
		   "\n"
		   "Volume commands (asked of a lego-smon):\n"
		   "  volume create NAME SIZE   a new zero-filled volume, e.g. SIZE 10G\n"
		   "  volume list               every volume with its size\n"
		   "  volume stat NAME          size and layout of one volume\n"
		   "  volume resize NAME SIZE   grow, or shrink (bytes beyond SIZE are lost)\n"
		   "  volume delete NAME        remove a volume and its data\n"
		   "\n"
		   "Options:\n"
		   "  -c, --controld HOST:PORT  the control plane's cluster port (default\n"
		   "                        $LEGO_CONTROLD or 127.0.0.1:7400)\n"
		   "  -s, --smon HOST:PORT  the storage server (default $LEGO_SMON or "
		   "127.0.0.1:7420)\n"
		   "      --provider NAME   libfabric provider (default $LEGO_FABRIC_PROVIDER or "
		   "tcp)\n"
		   "  -j, --json            machine-readable output (one JSON object)\n"
		   "  -v, --verbose         log lines on stderr\n"
		   "  -h, --help            this text\n"
		   "Volume names: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'.\n"
		   "Exit status: 0 done; 1 the server refused or failed (its reason on stderr); 2 "
		   "the\n"
		   "server is unreachable; 64 bad command line.\n");
}

__attribute__((format(printf, 1, 2))) static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "legoctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'legoctl --help'.\n");
	return EXIT_USAGE;
}

static void json_str(const char *s)
{
	struct strbuf b;

	sb_init(&b, 0);
	sb_json_str(&b, s);
	fwrite(b.p, 1, b.len, stdout);
	sb_free(&b);
}

static const char *backend_name(uint32_t kind)
{
	return kind == SP_BACKEND_FILE ? "file" : kind == SP_BACKEND_RADOS ? "rados" : "unknown";
}

static int failed(struct smon_client *cl, const char *what, const char *vol, int rc)
{
	fprintf(stderr, "legoctl: %s %s%s%s: %s\n", what, vol ? "'" : "", vol ? vol : "",
		vol ? "'" : "", smon_client_error(cl));
	return smon_client_broken(cl) || rc == -EPROTO ? 2 : 1;
}

/* The arguments of a volume command: -1 if they are fine, else the exit status. */
static int volume_args(int argc, char **argv, uint64_t *size)
{
	const char *cmd = argv[0], *vol = argc > 1 ? argv[1] : NULL;
	int want;

	if (!strcmp(cmd, "list"))
		want = 1;
	else if (!strcmp(cmd, "stat") || !strcmp(cmd, "delete"))
		want = 2;
	else if (!strcmp(cmd, "create") || !strcmp(cmd, "resize"))
		want = 3;
	else
		return bad_usage("unknown volume command '%s'", cmd);
	if (argc != want)
		return bad_usage("volume %s: wrong number of arguments", cmd);
	if (vol && !sp_vol_name_ok(vol))
		return bad_usage("'%s' is not a volume name (1-64 of [A-Za-z0-9._-])", vol);
	if (want == 3 && (parse_size(argv[2], size) || !*size || *size % SP_SECTOR))
		return bad_usage("'%s' is not a size in whole 512-byte sectors", argv[2]);
	return -1;
}

static int volume_cmd(struct smon_client *cl, int argc, char **argv, uint64_t size, bool json)
{
	const char *cmd = argv[0], *vol = argc > 1 ? argv[1] : NULL;
	int rc;

	if (!strcmp(cmd, "list")) {
		struct sp_vol_info *v = NULL;
		size_t n = 0;

		rc = smon_vol_list(cl, &v, &n);
		if (rc)
			return failed(cl, "list", NULL, rc);
		if (json) {
			printf("{\"server\":");
			json_str(smon_client_server(cl)->name);
			printf(",\"backend\":\"%s\",\"volumes\":[",
			       backend_name(smon_client_server(cl)->backend));
			for (size_t i = 0; i < n; i++) {
				printf("%s{\"name\":", i ? "," : "");
				json_str(v[i].name);
				printf(",\"size\":%llu}", (unsigned long long)v[i].size);
			}
			printf("]}\n");
		} else {
			for (size_t i = 0; i < n; i++)
				printf("%-40s %llu\n", v[i].name, (unsigned long long)v[i].size);
		}
		free(v);
		return 0;
	}
	if (!strcmp(cmd, "stat")) {
		struct sp_vol_info info;

		rc = smon_vol_stat(cl, vol, &info);
		if (rc)
			return failed(cl, "stat", vol, rc);
		if (json) {
			printf("{\"name\":");
			json_str(vol);
			printf(",\"size\":%llu,\"backend\":\"%s\",\"object_size\":%llu}\n",
			       (unsigned long long)info.size,
			       backend_name(smon_client_server(cl)->backend),
			       (unsigned long long)info.obj_size);
		} else {
			printf("%s: %llu bytes on %s (%s", vol, (unsigned long long)info.size,
			       smon_client_server(cl)->name,
			       backend_name(smon_client_server(cl)->backend));
			if (info.obj_size)
				printf(", objects of %llu bytes",
				       (unsigned long long)info.obj_size);
			printf(")\n");
		}
		return 0;
	}
	if (!strcmp(cmd, "create"))
		rc = smon_vol_create(cl, vol, size);
	else if (!strcmp(cmd, "resize"))
		rc = smon_vol_resize(cl, vol, size);
	else
		rc = smon_vol_delete(cl, vol);
	if (rc)
		return failed(cl, cmd, vol, rc);
	if (json) {
		printf("{\"%s\":", !strcmp(cmd, "delete") ? "deleted" : cmd);
		json_str(vol);
		if (size)
			printf(",\"size\":%llu", (unsigned long long)size);
		printf("}\n");
	} else if (!strcmp(cmd, "delete")) {
		printf("deleted %s\n", vol);
	} else {
		printf("%s %s: %llu bytes\n", !strcmp(cmd, "create") ? "created" : "resized", vol,
		       (unsigned long long)size);
	}
	return 0;
}

/* A cluster query to lego-controld; its answer (table or JSON) goes to stdout. */
static int cluster_cmd(const char *controld, int argc, char **argv, bool json)
{
	struct cp_query q = {.flags = json ? CP_QUERY_JSON : 0};
	uint8_t req[CP_QUERY_LEN], *reply;
	size_t rlen;
	char err[CP_ERRTEXT_MAX + 64];
	int fd, rc;

	if (!strcmp(argv[0], "components") && argc == 1) {
		q.what = CP_Q_COMPONENTS;
	} else if (!strcmp(argv[0], "vnodes") && argc == 1) {
		q.what = CP_Q_VNODES;
	} else if (!strcmp(argv[0], "vnode") && argc == 2) {
		if (strlen(argv[1]) > CP_NAME_LEN)
			return bad_usage("vNode name '%s' is too long", argv[1]);
		q.what = CP_Q_VNODE;
		snprintf(q.name, sizeof(q.name), "%s", argv[1]);
	} else {
		return bad_usage("%s: wrong number of arguments", argv[0]);
	}
	cp_query_put(req, &q);
	fd = cio_connect(controld, TIMEOUT_MS, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "legoctl: lego-controld: %s\n", err);
		return 2;
	}
	rc = cio_call(fd, CP_QUERY, req, sizeof(req), &reply, &rlen, TIMEOUT_MS, err, sizeof(err));
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "legoctl: lego-controld %s: %s\n", controld, err);
		return 2;
	}
	if (rc != CP_OK) {
		fprintf(stderr, "legoctl: %s\n", err);
		return 1;
	}
	fwrite(reply, 1, rlen, stdout);
	free(reply);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"smon", required_argument, NULL, 's'},
		{"provider", required_argument, NULL, 'P'},
		{"controld", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *smon = getenv("LEGO_SMON"), *provider = fab_default_provider(),
		   *controld = getenv("LEGO_CONTROLD");
	char host[256], port[16], err[1024];
	struct smon_client *cl;
	bool json = false;
	uint64_t size = 0;
	int c, rc;

	log_init("legoctl");
	log_set_level(LOG_ERROR);
	if (!smon || !*smon)
		smon = "127.0.0.1:7420";
	if (!controld || !*controld)
		controld = "127.0.0.1:7400";
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:s:c:jvh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			smon = optarg;
			break;
		case 'c':
			controld = optarg;
			break;
		case 'P':
			provider = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return bad_usage("option %s needs a value", argv[optind - 1]);
		default:
			return bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return bad_usage("%s", "no command given");
	if (!strcmp(argv[optind], "components") || !strcmp(argv[optind], "vnodes") ||
	    !strcmp(argv[optind], "vnode"))
		return cluster_cmd(controld, argc - optind, argv + optind, json);
	if (strcmp(argv[optind], "volume"))
		return bad_usage("unknown command '%s'", argv[optind]);
	if (optind + 1 >= argc)
		return bad_usage("%s",
				 "volume: which command? (create, list, stat, resize, delete)");
	rc = volume_args(argc - optind - 1, argv + optind + 1, &size);
	if (rc >= 0)
		return rc;
	if (parse_hostport(smon, 1, host, sizeof(host), port, sizeof(port)))
		return bad_usage("--smon must be HOST:PORT, not '%s'", smon);
	rc = smon_connect(provider, host, port, "legoctl", TIMEOUT_MS, &cl, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "legoctl: storage server %s: %s\n", smon, err);
		return 2;
	}
	rc = volume_cmd(cl, argc - optind - 1, argv + optind + 1, size, json);
	smon_disconnect(cl);
	return rc;
}
