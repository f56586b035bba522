/* legoctl_migrate.c: `legoctl migrate NAME HOST`: MIGRATE on one connection, answered when
 * the live migration is over, its progress on stderr meanwhile, then the report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "legoctl.h"
#include "lib/proto/cluster_proto.h"

struct show {
	const char *name;
	bool tty, drawn;
	uint32_t last_phase;
	int last_tenth;
};

/* One progress report: on a terminal a line redrawn in place, otherwise a line whenever
 * the phase or the tenth of the way changes. */
static void show_progress(struct show *s, const struct cluster_proto_mig_progress *p)
{
	int pct = p->bytes_total ? (int)(100 * p->bytes_processed / p->bytes_total) : 0;
	char bar[21];

	if (p->phase == CP_MIG_NONE)
		return;
	if (s->tty) {
		legoctl_common_bar(bar, pct);
		fprintf(stderr, "\rmigrating %s to %s: %-10s [%s] %3d%% %8.1f/%.1f MiB %6.1f s ",
			s->name, p->to, cluster_proto_mig_phase_name(p->phase), bar, pct,
			(double)p->bytes_processed / LEGOCTL_MIB,
			(double)p->bytes_total / LEGOCTL_MIB, (double)p->elapsed_ms / 1000.0);
		s->drawn = true;
		return;
	}
	if (p->phase == s->last_phase && pct / 10 == s->last_tenth)
		return;
	s->last_phase = p->phase;
	s->last_tenth = pct / 10;
	fprintf(stderr, "migrating %s from %s to %s: %s", s->name, p->from, p->to,
		cluster_proto_mig_phase_name(p->phase));
	if (p->bytes_total)
		fprintf(stderr, ", %d%% (%.1f of %.1f MiB)", pct,
			(double)p->bytes_processed / LEGOCTL_MIB,
			(double)p->bytes_total / LEGOCTL_MIB);
	fprintf(stderr, " after %.1f s\n", (double)p->elapsed_ms / 1000.0);
}

static void show(const uint8_t *p, size_t len, void *ctx)
{
	struct cluster_proto_mig_progress pr;
	char why[256];

	if (cluster_proto_mig_progress_get(p, len, &pr, why, sizeof(why)) == CP_OK)
		show_progress(ctx, &pr);
}

static int report_json(const char *name, const struct cluster_proto_mig_report *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "vnode", json_string(name));
	json_object_set_new(o, "from", json_string(r->from));
	json_object_set_new(o, "to", json_string(r->to));
	json_object_set_new(o, "total_ms", legoctl_common_real((double)r->total_us / 1000.0, 3));
	json_object_set_new(o, "downtime_ms",
			    r->downtime_us == CP_MIG_UNKNOWN
				    ? json_null()
				    : legoctl_common_real((double)r->downtime_us / 1000.0, 3));
	json_object_set_new(o, "bytes",
			    r->bytes == CP_MIG_UNKNOWN ? json_null()
						       : json_integer((json_int_t)r->bytes));
	return legoctl_common_print_json(o, false);
}

static int report(const char *name, const struct cluster_proto_mig_report *r, bool json)
{
	bool known = r->downtime_us != CP_MIG_UNKNOWN, bytes = r->bytes != CP_MIG_UNKNOWN;

	if (json)
		return report_json(name, r);
	printf("%s migrated from %s to %s: total %.1f ms, ", name, r->from, r->to,
	       (double)r->total_us / 1000.0);
	if (known)
		printf("downtime %.1f ms, ", (double)r->downtime_us / 1000.0);
	if (bytes)
		printf("%.1f MiB sent (%llu bytes)\n", (double)r->bytes / LEGOCTL_MIB,
		       (unsigned long long)r->bytes);
	else
		printf("%sbytes sent not reported (the source lego-vmm ended first)\n",
		       known ? "" : "downtime and ");
	return 0;
}

int legoctl_migrate_vnode(const struct legoctl_opts *o, int argc, char **argv)
{
	const char *name = argv[0], *host = argv[1];
	struct cluster_proto_migrate m = {0};
	struct cluster_proto_mig_report r;
	struct wire_hdr h;
	uint8_t req[CP_MIGRATE_LEN], sreq[CP_MIG_STATUS_LEN], *p = NULL;
	char see[CP_NAME_LEN + 16];
	char why[256];
	struct show s = {.name = name, .tty = isatty(2), .last_tenth = -1};
	int rc;

	(void)argc;
	if (strlen(name) > CP_NAME_LEN)
		return legoctl_common_bad_usage("vNode name '%s' is too long", name);
	if (!cluster_proto_name_ok(host))
		return legoctl_common_bad_usage(
			"'%s' is not a processor host's name (1-64 of [A-Za-z0-9._-])", host);
	snprintf(m.vnode, sizeof(m.vnode), "%s", name);
	snprintf(m.host, sizeof(m.host), "%s", host);
	snprintf(see, sizeof(see), "legoctl vnode %s", name);
	cluster_proto_migrate_put(req, &m);
	cluster_proto_mig_status_put(sreq, name);
	rc = legoctl_common_long_call(o,
				      &(struct legoctl_long_call){.op = CP_MIGRATE,
								  .status_op = CP_MIG_STATUS,
								  .req = req,
								  .len = sizeof(req),
								  .sreq = sreq,
								  .slen = sizeof(sreq),
								  .show = show,
								  .ctx = &s,
								  .what = "the migration",
								  .see = see},
				      &h, &p);
	if (s.drawn)
		fprintf(stderr, "\n");
	if (!rc && cluster_proto_mig_report_get(p, h.len, &r, why, sizeof(why)) != CP_OK) {
		fprintf(stderr, "legoctl: lego-controld %s: a bad migration report: %s\n",
			o->controld, why);
		rc = 2;
	} else if (!rc) {
		rc = report(name, &r, o->json);
	}
	free(p);
	return rc;
}
