/* fuzz_cluster_proto.c: every decoder of the cluster protocol (what lego-controld and
 * lego-pmon run on each message from the network, the networks' messages and --net-attach
 * included) on arbitrary bytes: no crash, no read past the input, and whatever decodes
 * re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/cluster_proto.h"
#include "lib/proto/net_proto.h"

static uint8_t out[CP_VM_START_LEN + CP_ARGS_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The networks' messages (net_proto.h), and --net-attach's text. */
static void net_cases(const uint8_t *p, size_t size)
{
	static struct net_proto_set m;
	struct net_proto_lease *l = NULL;
	struct net_proto_attach a, b;
	char err[256], name[CP_NAME_LEN + 1], *text, again[NET_PROTO_ATTACH_MAX];
	uint32_t vtep, n;
	uint8_t *buf;

	if (net_proto_set_get(p, size, &m, err, sizeof(err)) == CP_OK) {
		net_proto_set_put(out, &m);
		if (net_proto_set_len(&m) != size || memcmp(out, p, size))
			abort();
	}
	if (net_proto_set_reply_get(p, size, &vtep, err, sizeof(err)) == CP_OK) {
		net_proto_set_reply_put(out, vtep);
		if (memcmp(out, p, size))
			abort();
	}
	if (net_proto_leases_get(p, size, name, err, sizeof(err)) == CP_OK) {
		net_proto_leases_put(out, name);
		if (memcmp(out, p, size))
			abort();
	}
	if (net_proto_leases_reply_get(p, size, &l, &n, err, sizeof(err)) == CP_OK) {
		buf = malloc(net_proto_leases_reply_len(n));
		net_proto_leases_reply_put(buf, l, n);
		if (net_proto_leases_reply_len(n) != size || memcmp(buf, p, size))
			abort();
		free(buf);
	}
	free(l);
	text = strndup((const char *)p, size);
	if (!net_proto_attach_parse(text, &a, err, sizeof(err))) {
		net_proto_attach_format(&a, again);
		if (net_proto_attach_parse(again, &b, err, sizeof(err)) ||
		    memcmp(&a, &b, sizeof(a)))
			abort();
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *args;
	char err[256];
	struct wire_hdr h;
	uint8_t *p;

	if (size < 1)
		return 0;
	/* An exact-size copy, so ASan sees any read past the message. */
	p = malloc(size - 1 ? size - 1 : 1);
	memcpy(p, data + 1, size - 1);
	size--;
	switch (data[0] % 14) {
	case 0:
		cluster_proto_hdr_get(p, size, &h, err, sizeof(err));
		break;
	case 1: {
		struct cluster_proto_register m;

		if (cluster_proto_register_get(p, size, &m, err, sizeof(err)) == CP_OK) {
			cluster_proto_register_put(out, &m);
			if (memcmp(out, p, size))
				abort();
		}
		break;
	}
	case 2: {
		struct cluster_proto_heartbeat m;
		struct cluster_proto_vm_status s;

		if (cluster_proto_heartbeat_get(p, size, &m, err, sizeof(err)) == CP_OK)
			for (uint32_t i = 0; i < m.nr_vms; i++)
				cluster_proto_vm_status_get(p + CP_HEARTBEAT_LEN +
								    (size_t)i * CP_VM_STATUS_LEN,
							    &s, err, sizeof(err));
		break;
	}
	case 3: {
		struct cluster_proto_vm_start m;

		if (cluster_proto_vm_start_get(p, size, &m, &args, err, sizeof(err)) == CP_OK) {
			cluster_proto_vm_start_put(out, &m);
			memcpy(out + CP_VM_START_LEN, args, m.args_len);
			if (memcmp(out, p, size))
				abort();
		}
		break;
	}
	case 4: {
		struct cluster_proto_vm_stop m;

		cluster_proto_vm_stop_get(p, size, &m, err, sizeof(err));
		break;
	}
	case 5: {
		struct cluster_proto_vm_ctl m;

		if (cluster_proto_vm_ctl_get(p, size, &m, err, sizeof(err)) == CP_OK &&
		    (cluster_proto_vm_ctl_put(out, &m) != size || memcmp(out, p, size)))
			abort();
		break;
	}
	case 6: {
		struct cluster_proto_vm_console m;
		struct cluster_proto_vm_console_reply r;

		struct cluster_proto_vm_console_in in;
		struct cluster_proto_vm_console_in_reply ir;

		cluster_proto_vm_console_get(p, size, &m, err, sizeof(err));
		cluster_proto_vm_console_reply_get(p, size, &r);
		if (cluster_proto_vm_console_in_get(p, size, &in, err, sizeof(err)) == CP_OK) {
			cluster_proto_vm_console_in_put(out, &in);
			if (CP_VM_CONSOLE_IN_LEN + (size_t)in.len != size || memcmp(out, p, size))
				abort();
		}
		if (cluster_proto_vm_console_in_reply_get(p, size, &ir) == CP_OK) {
			cluster_proto_vm_console_in_reply_put(out, &ir);
			if (memcmp(out, p, CP_VM_CONSOLE_IN_REPLY_LEN))
				abort();
		}
		break;
	}
	case 7: {
		struct cluster_proto_query m;

		if (cluster_proto_query_get(p, size, &m, err, sizeof(err)) == CP_OK) {
			cluster_proto_query_put(out, &m);
			if (memcmp(out, p, CP_QUERY_LEN))
				abort();
		}
		break;
	}
	case 8: {
		struct cluster_proto_migrate m;
		char name[CP_NAME_LEN + 1];

		if (cluster_proto_migrate_get(p, size, &m, err, sizeof(err)) == CP_OK) {
			cluster_proto_migrate_put(out, &m);
			if (memcmp(out, p, CP_MIGRATE_LEN))
				abort();
		}
		if (cluster_proto_mig_status_get(p, size, name, err, sizeof(err)) == CP_OK) {
			cluster_proto_mig_status_put(out, name);
			if (memcmp(out, p, CP_MIG_STATUS_LEN))
				abort();
		}
		break;
	}
	case 9: {
		struct cluster_proto_mig_report m;

		if (cluster_proto_mig_report_get(p, size, &m, err, sizeof(err)) == CP_OK) {
			cluster_proto_mig_report_put(out, &m);
			if (memcmp(out, p, CP_MIG_REPORT_LEN))
				abort();
		}
		break;
	}
	case 10: {
		struct cluster_proto_mig_progress m;

		if (cluster_proto_mig_progress_get(p, size, &m, err, sizeof(err)) == CP_OK) {
			cluster_proto_mig_progress_put(out, &m);
			if (memcmp(out, p, CP_MIG_PROGRESS_LEN))
				abort();
		}
		break;
	}
	case 11: {
		struct cluster_proto_pool_job j;
		struct cluster_proto_pool_report r;
		struct cluster_proto_pool_progress m;

		cluster_proto_pool_status_get(size, err, sizeof(err));
		if (cluster_proto_pool_job_get(p, size, &j, err, sizeof(err)) == CP_OK) {
			cluster_proto_pool_job_put(out, &j);
			if (memcmp(out, p, CP_POOL_JOB_LEN))
				abort();
		}
		if (cluster_proto_pool_report_get(p, size, &r, err, sizeof(err)) == CP_OK) {
			cluster_proto_pool_report_put(out, &r);
			if (memcmp(out, p, CP_POOL_REPORT_LEN))
				abort();
		}
		if (cluster_proto_pool_progress_get(p, size, &m, err, sizeof(err)) == CP_OK) {
			cluster_proto_pool_progress_put(out, &m);
			if (memcmp(out, p, CP_POOL_PROGRESS_LEN))
				abort();
		}
		break;
	}
	case 12:
		net_cases(p, size);
		break;
	default: {
		uint8_t u[16];

		cluster_proto_uuid_get(p, size, u, err, sizeof(err));
		break;
	}
	}
	free(p);
	return 0;
}
