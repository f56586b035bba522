/* legoctl_pool.c: the memory pool's jobs: `pool rebalance`, `mmon drain NAME`, `mmon undrain
 * NAME`: a POOL_JOB answered when it is over, its progress on stderr meanwhile, then the
 * report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "legoctl.h"
#include "lib/proto/cluster_proto.h"

struct show {
	bool tty, drawn;
	uint32_t last_done, last_region;
	char last_vnode[CP_NAME_LEN + 1];
	bool said;
};

/* A pool job's progress: on a terminal a bar redrawn in place, otherwise a line per step. */
static void show(const uint8_t *p, size_t len, void *ctx)
{
	struct show *s = ctx;
	struct cluster_proto_pool_progress pr;
	const char *job;
	char why[256];
	char on[CP_NAME_LEN + 8] = "";
	int pct;

	if (cluster_proto_pool_progress_get(p, len, &pr, why, sizeof(why)) != CP_OK ||
	    pr.what == CP_POOL_NONE)
		return;
	job = pr.what == CP_POOL_DRAIN ? "draining" : "rebalancing";
	if (pr.server[0])
		snprintf(on, sizeof(on), " %s", pr.server);
	pct = pr.bytes_total	? (int)(100 * pr.bytes_done / pr.bytes_total)
	      : pr.copies_total ? (int)(100 * pr.copies_done / pr.copies_total)
				: 100;
	if (s->tty) {
		char bar[21];

		legoctl_common_bar(bar, pct);
		fprintf(stderr, "\r%s%s: [%s] %3d%% %7.1f/%.1f MiB %u/%u copies %6.1f s ", job, on,
			bar, pct, (double)pr.bytes_done / LEGOCTL_MIB,
			(double)pr.bytes_total / LEGOCTL_MIB, pr.copies_done, pr.copies_total,
			(double)pr.elapsed_ms / 1000.0);
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
		pr.copies_total, (double)pr.bytes_done / LEGOCTL_MIB,
		(double)pr.bytes_total / LEGOCTL_MIB, pct);
	if (pr.vnode[0])
		fprintf(stderr, "; moving vNode %s's vRegion %u to %s", pr.vnode, pr.region, pr.to);
	fprintf(stderr, " after %.1f s\n", (double)pr.elapsed_ms / 1000.0);
}

static int report_json(const struct cluster_proto_pool_report *r)
{
	double s = (double)r->elapsed_us / 1e6, mib = (double)r->bytes / LEGOCTL_MIB;
	json_t *o = json_object();

	json_object_set_new(o, "job", json_string(cluster_proto_pool_what_name(r->what)));
	json_object_set_new(o, "server", legoctl_common_str_or_null(r->server));
	json_object_set_new(o, "copies", json_integer(r->copies));
	json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
	json_object_set_new(o, "seconds", legoctl_common_real(s, 3));
	json_object_set_new(o, "mib_per_s", legoctl_common_real(r->elapsed_us ? mib / s : 0, 1));
	if (r->what == CP_POOL_DRAIN)
		json_object_set_new(o, "server_used_bytes",
				    json_integer((json_int_t)r->server_used));
	if (r->what == CP_POOL_REBALANCE) {
		json_object_set_new(o, "spread_before",
				    legoctl_common_real((double)r->spread_before_ppm / CP_PPM, 4));
		json_object_set_new(o, "spread_after",
				    legoctl_common_real((double)r->spread_after_ppm / CP_PPM, 4));
	}
	return legoctl_common_print_json(o, false);
}

static int report(const struct cluster_proto_pool_report *r, bool json)
{
	double s = (double)r->elapsed_us / 1e6, mib = (double)r->bytes / LEGOCTL_MIB;
	double rate = r->elapsed_us ? mib / s : 0;

	if (json)
		return report_json(r);
	if (r->what == CP_POOL_UNDRAIN) {
		printf("memory server %s is no longer draining: it takes new vRegions\n",
		       r->server);
		return 0;
	}
	if (r->what == CP_POOL_DRAIN)
		printf("memory server %s drained: ", r->server);
	else
		printf("memory pool rebalanced: ");
	printf("%u vRegion cop%s (%.1f MiB) moved in %.1f s (%.1f MiB/s)", r->copies,
	       r->copies == 1 ? "y" : "ies", mib, s, rate);
	if (r->what == CP_POOL_DRAIN)
		printf("; it now reports %.1f MiB in use%s\n", (double)r->server_used / LEGOCTL_MIB,
		       r->server_used ? " (vRegions lego-controld did not place there)"
				      : ": it can be stopped");
	else
		printf("; spread between the fullest and the emptiest server %.1f%% -> %.1f%%\n",
		       (double)r->spread_before_ppm / 10000.0,
		       (double)r->spread_after_ppm / 10000.0);
	return 0;
}

/* POOL_JOB, with POOL_STATUS meanwhile. */
static int job(const struct legoctl_opts *o, const struct cluster_proto_pool_job *j)
{
	struct cluster_proto_pool_report r;
	struct wire_hdr h;
	uint8_t req[CP_POOL_JOB_LEN], *p = NULL;
	struct show s = {.tty = isatty(2)};
	char why[256];
	int rc;

	cluster_proto_pool_job_put(req, j);
	rc = legoctl_common_long_call(o,
				      &(struct legoctl_long_call){.op = CP_POOL_JOB,
								  .status_op = CP_POOL_STATUS,
								  .req = req,
								  .len = sizeof(req),
								  .show = show,
								  .ctx = &s,
								  .what = j->what == CP_POOL_DRAIN
										  ? "the drain"
										  : "the job",
								  .see = "legoctl pool"},
				      &h, &p);
	if (s.drawn)
		fprintf(stderr, "\n");
	if (!rc && (cluster_proto_pool_report_get(p, h.len, &r, why, sizeof(why)) != CP_OK ||
		    r.what != j->what)) {
		fprintf(stderr, "legoctl: lego-controld %s: a bad pool report: %s\n", o->controld,
			r.what != j->what ? "it reports another job" : why);
		rc = 2;
	} else if (!rc) {
		rc = report(&r, o->json);
	}
	free(p);
	return rc;
}

int legoctl_pool_rebalance(const struct legoctl_opts *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return job(o, &(struct cluster_proto_pool_job){.what = CP_POOL_REBALANCE});
}

static int drain_or_undrain(const struct legoctl_opts *o, const char *name, uint32_t what)
{
	struct cluster_proto_pool_job j = {.what = what};

	if (!cluster_proto_name_ok(name))
		return legoctl_common_bad_usage(
			"'%s' is not a memory server's name (1-64 of [A-Za-z0-9._-])", name);
	snprintf(j.server, sizeof(j.server), "%s", name);
	return job(o, &j);
}

int legoctl_pool_drain(const struct legoctl_opts *o, int argc, char **argv)
{
	(void)argc;
	return drain_or_undrain(o, argv[0], CP_POOL_DRAIN);
}

int legoctl_pool_undrain(const struct legoctl_opts *o, int argc, char **argv)
{
	(void)argc;
	return drain_or_undrain(o, argv[0], CP_POOL_UNDRAIN);
}
