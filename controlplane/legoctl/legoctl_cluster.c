/* legoctl_cluster.c: the cluster as lego-controld sees it (components, vNodes, one vNode,
 * the memory pool): a QUERY, whose answer (a table, or JSON) goes to stdout as it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legoctl.h"
#include "lib/cluster/cluster_io.h"
#include "lib/proto/cluster_proto.h"

static int query(const struct legoctl_opts *o, struct cluster_proto_query *q)
{
	uint8_t req[CP_QUERY_LEN], *reply;
	size_t rlen;
	char err[CP_ERRTEXT_MAX + 64];
	struct tls_conn *c;
	int rc;

	q->flags = o->json ? CP_QUERY_JSON : 0;
	cluster_proto_query_put(req, q);
	c = legoctl_common_connect(o, &rc);
	if (!c)
		return rc;
	rc = cluster_io_call(c, CP_QUERY, req, sizeof(req), &reply, &rlen, LEGOCTL_TIMEOUT_MS, err,
			     sizeof(err));
	tls_conn_close(c);
	if (rc < 0) {
		fprintf(stderr, "legoctl: lego-controld %s: %s\n", o->controld, err);
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

int legoctl_cluster_components(const struct legoctl_opts *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return query(o, &(struct cluster_proto_query){.what = CP_Q_COMPONENTS});
}

int legoctl_cluster_vnodes(const struct legoctl_opts *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return query(o, &(struct cluster_proto_query){.what = CP_Q_VNODES});
}

int legoctl_cluster_vnode(const struct legoctl_opts *o, int argc, char **argv)
{
	struct cluster_proto_query q = {.what = CP_Q_VNODE};

	(void)argc;
	if (strlen(argv[0]) > CP_NAME_LEN)
		return legoctl_common_bad_usage("vNode name '%s' is too long", argv[0]);
	snprintf(q.name, sizeof(q.name), "%s", argv[0]);
	return query(o, &q);
}

int legoctl_cluster_pool(const struct legoctl_opts *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return query(o, &(struct cluster_proto_query){.what = CP_Q_POOL});
}
