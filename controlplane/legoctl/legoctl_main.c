/* legoctl.c: the operator's command line for what libvirt has no words for: the cluster
 * as lego-controld sees it (components, vNodes, a vNode's vRegion copies and ExCache
 * statistics, the memory pool), live migration of a vNode to another processor host,
 * draining a memory server and rebalancing the pool, and the volumes of a storage server. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cluster/cluster_io.h"
#include "lib/proto/cluster_proto.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/client/smon_client.h"
#include "lib/strbuf.h"

#define EXIT_USAGE  64
#define TIMEOUT_MS  10000
#define PROGRESS_MS 250
#define MIB	    1048576.0

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: legoctl [options] COMMAND [ARGS]\n"
		"Shows the lego cluster and manages the volumes (vNode disks) of a storage\n"
		"server.\n"
		"\n"
		"Cluster commands (asked of lego-controld):\n"
		"  components                every processor host, memory and storage server\n"
		"                            with capacity, use and liveness\n"
		"  vnodes                    every vNode: state, host, memory, ExCache\n"
		"  vnode NAME                one vNode: its host, a migration under way, its\n"
		"                            vRegion map (which memory servers hold each part\n"
		"                            of its RAM: the primary copy first, e.g.\n"
		"                            mm1+mm2), its replication factor, disks, and its\n"
		"                            ExCache and fault statistics while it runs\n"
		"  migrate NAME HOST         move the running vNode NAME to the processor host\n"
		"                            HOST, live (as virsh migrate --live --p2p);\n"
		"                            progress on stderr, then a report: total time,\n"
		"                            downtime, bytes sent\n"
		"  pool                      the memory pool: each memory server's capacity,\n"
		"                            use, vRegion copies, draining or down; a drain or\n"
		"                            rebalance under way; re-replication still to do\n"
		"  pool rebalance            move vRegion copies from the fullest memory\n"
		"                            servers to the emptiest until within about one\n"
		"                            vRegion of even; progress on stderr, then a report\n"
		"  mmon drain NAME           move every vRegion copy off memory server NAME\n"
		"                            while the vNodes run (refused if the others lack\n"
		"                            room); it then stays draining, holds nothing and\n"
		"                            can be stopped; progress on stderr, then a report:\n"
		"                            copies and MiB moved, seconds, MiB/s\n"
		"  mmon undrain NAME         let a drained memory server take vRegions again\n"
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
	} else if (!strcmp(argv[0], "pool") && argc == 1) {
		q.what = CP_Q_POOL;
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

/* One progress report: on a terminal a line redrawn in place, otherwise a line whenever
 * the phase or the tenth of the way changes. */
static void show_progress(const char *name, const struct cp_mig_progress *p, bool tty,
			  uint32_t *last_phase, int *last_tenth)
{
	int pct = p->bytes_total ? (int)(100 * p->bytes_processed / p->bytes_total) : 0;
	char bar[21];

	if (p->phase == CP_MIG_NONE)
		return;
	if (tty) {
		for (int i = 0; i < 20; i++)
			bar[i] = i < pct / 5 ? '#' : ' ';
		bar[20] = '\0';
		fprintf(stderr, "\rmigrating %s to %s: %-10s [%s] %3d%% %8.1f/%.1f MiB %6.1f s ",
			name, p->to, cp_mig_phase_name(p->phase), bar, pct,
			(double)p->bytes_processed / MIB, (double)p->bytes_total / MIB,
			(double)p->elapsed_ms / 1000.0);
		return;
	}
	if (p->phase == *last_phase && pct / 10 == *last_tenth)
		return;
	*last_phase = p->phase;
	*last_tenth = pct / 10;
	fprintf(stderr, "migrating %s from %s to %s: %s", name, p->from, p->to,
		cp_mig_phase_name(p->phase));
	if (p->bytes_total)
		fprintf(stderr, ", %d%% (%.1f of %.1f MiB)", pct, (double)p->bytes_processed / MIB,
			(double)p->bytes_total / MIB);
	fprintf(stderr, " after %.1f s\n", (double)p->elapsed_ms / 1000.0);
}

static void report(const char *name, const struct cp_mig_report *r, bool json)
{
	bool known = r->downtime_us != CP_MIG_UNKNOWN, bytes = r->bytes != CP_MIG_UNKNOWN;

	if (json) {
		printf("{\"vnode\": ");
		json_str(name);
		printf(", \"from\": ");
		json_str(r->from);
		printf(", \"to\": ");
		json_str(r->to);
		printf(", \"total_ms\": %.3f, \"downtime_ms\": ", (double)r->total_us / 1000.0);
		if (known)
			printf("%.3f", (double)r->downtime_us / 1000.0);
		else
			printf("null");
		if (bytes)
			printf(", \"bytes\": %llu}\n", (unsigned long long)r->bytes);
		else
			printf(", \"bytes\": null}\n");
		return;
	}
	printf("%s migrated from %s to %s: total %.1f ms, ", name, r->from, r->to,
	       (double)r->total_us / 1000.0);
	if (known)
		printf("downtime %.1f ms, ", (double)r->downtime_us / 1000.0);
	if (bytes)
		printf("%.1f MiB sent (%llu bytes)\n", (double)r->bytes / MIB,
		       (unsigned long long)r->bytes);
	else
		printf("%sbytes sent not reported (the source lego-vmm ended first)\n",
		       known ? "" : "downtime and ");
}

/* A request answered when its work is over (MIGRATE, POOL_JOB) on one connection, and its
 * progress (MIG_STATUS, POOL_STATUS) asked on another every PROGRESS_MS meanwhile and handed
 * to show. 0 with the reply's header and payload (malloc'ed), or an exit status after saying
 * why on stderr. */
struct long_call {
	uint16_t op, status_op;
	const void *req, *sreq;
	size_t len, slen;
	void (*show)(const uint8_t *p, size_t len, void *ctx);
	void *ctx;
	const char *what; /* "the migration", for "... before the migration's end" */
	const char *see;  /* where to look then: "legoctl vnode vn1" */
};

static int long_call(const char *controld, const struct long_call *c, struct wire_hdr *h,
		     uint8_t **p)
{
	char err[CP_ERRTEXT_MAX + 64];
	const char *why = "?";
	int fd, sfd, rc = 2;

	*p = NULL;
	fd = cio_connect(controld, TIMEOUT_MS, err, sizeof(err));
	sfd = fd < 0 ? -1 : cio_connect(controld, TIMEOUT_MS, err, sizeof(err));
	if (fd < 0 || sfd < 0) {
		fprintf(stderr, "legoctl: lego-controld: %s\n", err);
		if (fd >= 0)
			close(fd);
		return 2;
	}
	if (cio_send(fd, c->op, 1, 0, c->req, c->len)) {
		fprintf(stderr, "legoctl: lego-controld %s: cannot send: %s\n", controld,
			strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		uint8_t *sp = NULL;
		size_t slen;
		int pr_rc = poll(&pf, 1, PROGRESS_MS);

		if (pr_rc < 0 && errno == EINTR)
			continue;
		if (pr_rc != 0)
			break;
		/* Progress is a nicety: a status that cannot be had is skipped. */
		if (cio_call(sfd, c->status_op, c->sreq, c->slen, &sp, &slen, TIMEOUT_MS, err,
			     sizeof(err)) == CP_OK)
			c->show(sp, slen, c->ctx);
		free(sp);
	}
	switch (cio_recv(fd, TIMEOUT_MS, h, p, &why)) {
	case CIO_MSG:
		break;
	case CIO_EOF:
		why = "the connection closed";
		/* fall through */
	default:
		fprintf(stderr,
			"legoctl: lego-controld %s: %s before %s's end (it goes on without "
			"legoctl: see '%s')\n",
			controld, why, c->what, c->see);
		goto out;
	}
	if (h->op != (c->op | CP_REPLY) || h->id != 1) {
		fprintf(stderr, "legoctl: lego-controld %s: a reply that does not match\n",
			controld);
	} else if (h->status != CP_OK) {
		fprintf(stderr, "legoctl: %s\n", h->len ? (char *)*p : cp_status_name(h->status));
		rc = 1;
	} else {
		rc = 0;
	}
out:
	if (rc) {
		free(*p);
		*p = NULL;
	}
	close(fd);
	close(sfd);
	return rc;
}

struct mig_show {
	const char *name;
	bool tty, drawn;
	uint32_t last_phase;
	int last_tenth;
};

static void mig_show(const uint8_t *p, size_t len, void *ctx)
{
	struct mig_show *m = ctx;
	struct cp_mig_progress pr;
	const char *why;

	if (cp_mig_progress_get(p, len, &pr, &why) != CP_OK)
		return;
	show_progress(m->name, &pr, m->tty, &m->last_phase, &m->last_tenth);
	m->drawn |= m->tty && pr.phase != CP_MIG_NONE;
}

/* MIGRATE on one connection, answered when it is over; MIG_STATUS on another meanwhile. */
static int migrate_cmd(const char *controld, int argc, char **argv, bool json)
{
	const char *name = argv[1], *host = argv[2];
	struct cp_migrate m = {0};
	struct cp_mig_report r;
	struct wire_hdr h;
	uint8_t req[CP_MIGRATE_LEN], sreq[CP_MIG_STATUS_LEN], *p = NULL;
	char see[CP_NAME_LEN + 16];
	const char *why = "?";
	struct mig_show ms = {.name = name, .tty = isatty(2), .last_tenth = -1};
	int rc;

	if (argc != 3)
		return bad_usage("%s", "migrate: give NAME HOST");
	if (strlen(name) > CP_NAME_LEN)
		return bad_usage("vNode name '%s' is too long", name);
	if (!cp_name_ok(host))
		return bad_usage("'%s' is not a processor host's name (1-64 of [A-Za-z0-9._-])",
				 host);
	snprintf(m.vnode, sizeof(m.vnode), "%s", name);
	snprintf(m.host, sizeof(m.host), "%s", host);
	snprintf(see, sizeof(see), "legoctl vnode %s", name);
	cp_migrate_put(req, &m);
	cp_mig_status_put(sreq, name);
	rc = long_call(controld,
		       &(struct long_call){.op = CP_MIGRATE,
					   .status_op = CP_MIG_STATUS,
					   .req = req,
					   .len = sizeof(req),
					   .sreq = sreq,
					   .slen = sizeof(sreq),
					   .show = mig_show,
					   .ctx = &ms,
					   .what = "the migration",
					   .see = see},
		       &h, &p);
	if (ms.drawn)
		fprintf(stderr, "\n");
	if (!rc && cp_mig_report_get(p, h.len, &r, &why) != CP_OK) {
		fprintf(stderr, "legoctl: lego-controld %s: a bad migration report: %s\n", controld,
			why);
		rc = 2;
	} else if (!rc) {
		report(name, &r, json);
	}
	free(p);
	return rc;
}

struct pool_show {
	bool tty, drawn;
	uint32_t last_done, last_region;
	char last_vnode[CP_NAME_LEN + 1];
	bool said;
};

/* A pool job's progress: on a terminal a bar redrawn in place, otherwise a line per step. */
static void pool_show(const uint8_t *p, size_t len, void *ctx)
{
	struct pool_show *s = ctx;
	struct cp_pool_progress pr;
	const char *why, *job;
	char on[CP_NAME_LEN + 8] = "";
	int pct;

	if (cp_pool_progress_get(p, len, &pr, &why) != CP_OK || pr.what == CP_POOL_NONE)
		return;
	job = pr.what == CP_POOL_DRAIN ? "draining" : "rebalancing";
	if (pr.server[0])
		snprintf(on, sizeof(on), " %s", pr.server);
	pct = pr.bytes_total	? (int)(100 * pr.bytes_done / pr.bytes_total)
	      : pr.copies_total ? (int)(100 * pr.copies_done / pr.copies_total)
				: 100;
	if (s->tty) {
		char bar[21];

		for (int i = 0; i < 20; i++)
			bar[i] = i < pct / 5 ? '#' : ' ';
		bar[20] = '\0';
		fprintf(stderr, "\r%s%s: [%s] %3d%% %7.1f/%.1f MiB %u/%u copies %6.1f s ", job, on,
			bar, pct, (double)pr.bytes_done / MIB, (double)pr.bytes_total / MIB,
			pr.copies_done, pr.copies_total, (double)pr.elapsed_ms / 1000.0);
		s->drawn = true;
		return;
	}
	if (s->said && pr.copies_done == s->last_done && pr.region == s->last_region &&
	    !strcmp(pr.vnode, s->last_vnode))
		return;
	s->said = true;
	s->last_done = pr.copies_done;
	s->last_region = pr.region;
	snprintf(s->last_vnode, sizeof(s->last_vnode), "%s", pr.vnode);
	fprintf(stderr, "%s%s: %u of %u copies, %.1f of %.1f MiB (%d%%)", job, on, pr.copies_done,
		pr.copies_total, (double)pr.bytes_done / MIB, (double)pr.bytes_total / MIB, pct);
	if (pr.vnode[0])
		fprintf(stderr, "; moving vNode %s's vRegion %u to %s", pr.vnode, pr.region, pr.to);
	fprintf(stderr, " after %.1f s\n", (double)pr.elapsed_ms / 1000.0);
}

static void pool_report(const struct cp_pool_report *r, bool json)
{
	double s = (double)r->elapsed_us / 1e6, mib = (double)r->bytes / MIB;
	double rate = r->elapsed_us ? mib / s : 0;

	if (json) {
		printf("{\"job\": \"%s\", \"server\": ", cp_pool_what_name(r->what));
		if (r->server[0])
			json_str(r->server);
		else
			printf("null");
		printf(", \"copies\": %u, \"bytes\": %llu, \"seconds\": %.3f, "
		       "\"mib_per_s\": %.1f",
		       r->copies, (unsigned long long)r->bytes, s, rate);
		if (r->what == CP_POOL_DRAIN)
			printf(", \"server_used_bytes\": %llu", (unsigned long long)r->server_used);
		if (r->what == CP_POOL_REBALANCE)
			printf(", \"spread_before\": %.4f, \"spread_after\": %.4f",
			       (double)r->spread_before_ppm / CP_PPM,
			       (double)r->spread_after_ppm / CP_PPM);
		printf("}\n");
		return;
	}
	if (r->what == CP_POOL_UNDRAIN) {
		printf("memory server %s is no longer draining: it takes new vRegions\n",
		       r->server);
		return;
	}
	if (r->what == CP_POOL_DRAIN)
		printf("memory server %s drained: ", r->server);
	else
		printf("memory pool rebalanced: ");
	printf("%u vRegion cop%s (%.1f MiB) moved in %.1f s (%.1f MiB/s)", r->copies,
	       r->copies == 1 ? "y" : "ies", mib, s, rate);
	if (r->what == CP_POOL_DRAIN)
		printf("; it now reports %.1f MiB in use%s\n", (double)r->server_used / MIB,
		       r->server_used ? " (vRegions lego-controld did not place there)"
				      : ": it can be stopped");
	else
		printf("; spread between the fullest and the emptiest server %.1f%% -> %.1f%%\n",
		       (double)r->spread_before_ppm / 10000.0,
		       (double)r->spread_after_ppm / 10000.0);
}

/* mmon drain|undrain NAME, pool rebalance: POOL_JOB, with POOL_STATUS meanwhile. */
static int pool_cmd(const char *controld, int argc, char **argv, bool json)
{
	struct cp_pool_job j = {0};
	struct cp_pool_report r;
	struct wire_hdr h;
	uint8_t req[CP_POOL_JOB_LEN], *p = NULL;
	struct pool_show ps = {.tty = isatty(2)};
	const char *why = "?";
	int rc;

	if (!strcmp(argv[0], "pool")) {
		if (argc != 2 || strcmp(argv[1], "rebalance"))
			return bad_usage("%s", "pool: give no argument, or 'rebalance'");
		j.what = CP_POOL_REBALANCE;
	} else {
		if (argc < 2 || (strcmp(argv[1], "drain") && strcmp(argv[1], "undrain")))
			return bad_usage("%s", "mmon: which command? (drain NAME, undrain NAME)");
		if (argc != 3)
			return bad_usage("mmon %s: give the memory server's NAME", argv[1]);
		if (!cp_name_ok(argv[2]))
			return bad_usage("'%s' is not a memory server's name (1-64 of "
					 "[A-Za-z0-9._-])",
					 argv[2]);
		j.what = !strcmp(argv[1], "drain") ? CP_POOL_DRAIN : CP_POOL_UNDRAIN;
		snprintf(j.server, sizeof(j.server), "%s", argv[2]);
	}
	cp_pool_job_put(req, &j);
	rc = long_call(
		controld,
		&(struct long_call){.op = CP_POOL_JOB,
				    .status_op = CP_POOL_STATUS,
				    .req = req,
				    .len = sizeof(req),
				    .show = pool_show,
				    .ctx = &ps,
				    .what = j.what == CP_POOL_DRAIN ? "the drain" : "the job",
				    .see = "legoctl pool"},
		&h, &p);
	if (ps.drawn)
		fprintf(stderr, "\n");
	if (!rc && (cp_pool_report_get(p, h.len, &r, &why) != CP_OK || r.what != j.what)) {
		fprintf(stderr, "legoctl: lego-controld %s: a bad pool report: %s\n", controld,
			r.what != j.what ? "it reports another job" : why);
		rc = 2;
	} else if (!rc) {
		pool_report(&r, json);
	}
	free(p);
	return rc;
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
	    !strcmp(argv[optind], "vnode") || (!strcmp(argv[optind], "pool") && optind + 1 == argc))
		return cluster_cmd(controld, argc - optind, argv + optind, json);
	if (!strcmp(argv[optind], "pool") || !strcmp(argv[optind], "mmon"))
		return pool_cmd(controld, argc - optind, argv + optind, json);
	if (!strcmp(argv[optind], "migrate"))
		return migrate_cmd(controld, argc - optind, argv + optind, json);
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
