/* test_cluster_proto.c: cluster-protocol messages round-trip, and every decoder refuses
 * what a broken or hostile peer could send (lengths, names, ranges, reserved bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/proto/cluster_proto.h"

static void test_header(void **state)
{
	uint8_t b[CP_HDR_LEN + 8] = {0};
	struct wire_hdr h;
	char err[256];

	(void)state;
	wire_hdr_put(b,
		     &(struct wire_hdr){
			     .magic = CP_MAGIC, .version = CP_VERSION, .op = 2, .id = 9, .len = 8});
	assert_int_equal(cluster_proto_hdr_get(b, sizeof(b), &h, err, sizeof(err)), CP_OK);
	assert_int_equal(h.id, 9);
	assert_int_equal(cluster_proto_hdr_get(b, sizeof(b) - 1, &h, err, sizeof(err)), CP_EPROTO);
	b[0] ^= 1;
	assert_int_equal(cluster_proto_hdr_get(b, sizeof(b), &h, err, sizeof(err)), CP_EPROTO);
	assert_string_equal(err, "bad magic");
	assert_string_equal(cluster_proto_status_name(CP_ENOSPC), "no space");
	assert_string_equal(cluster_proto_status_name(999), "unknown status");
}

static void test_register(void **state)
{
	struct cluster_proto_register r = {.kind = CP_KIND_PMON,
					   .cores = 8,
					   .capacity_bytes = 1ULL << 33},
				      o;
	uint8_t b[CP_REGISTER_LEN];
	char err[256];

	(void)state;
	snprintf(r.name, sizeof(r.name), "host-a");
	snprintf(r.addr, sizeof(r.addr), "127.0.0.1:7500");
	cluster_proto_register_put(b, &r);
	assert_int_equal(cluster_proto_register_get(b, sizeof(b), &o, err, sizeof(err)), CP_OK);
	assert_string_equal(o.name, "host-a");
	assert_string_equal(o.addr, "127.0.0.1:7500");
	assert_int_equal(o.cores, 8);
	assert_string_equal(o.provider, "");
	snprintf(r.provider, sizeof(r.provider), "verbs");
	cluster_proto_register_put(b, &r);
	assert_int_equal(cluster_proto_register_get(b, sizeof(b), &o, err, sizeof(err)), CP_OK);
	assert_string_equal(o.provider, "verbs");
	/* An older sender's REGISTER, without the provider: accepted, provider not said. */
	assert_int_equal(cluster_proto_register_get(b, CP_REGISTER_V1_LEN, &o, err, sizeof(err)),
			 CP_OK);
	assert_string_equal(o.provider, "");
	b[CP_REGISTER_V1_LEN] = 0x02;
	assert_int_equal(cluster_proto_register_get(b, sizeof(b), &o, err, sizeof(err)), CP_EINVAL);
	assert_int_equal(cluster_proto_register_get(b, sizeof(b) - 1, &o, err, sizeof(err)),
			 CP_EPROTO);
	r.cores = 0;
	cluster_proto_register_put(b, &r);
	assert_int_equal(cluster_proto_register_get(b, sizeof(b), &o, err, sizeof(err)), CP_EINVAL);
	r.cores = 2;
	r.kind = CP_KIND_MMON;
	cluster_proto_register_put(b, &r);
	assert_int_equal(cluster_proto_register_get(b, sizeof(b), &o, err, sizeof(err)), CP_EINVAL);
	r.kind = 9;
	cluster_proto_register_put(b, &r);
	assert_int_equal(cluster_proto_register_get(b, sizeof(b), &o, err, sizeof(err)), CP_EINVAL);
	r.kind = CP_KIND_PMON;
	cluster_proto_register_put(b, &r);
	b[16] = 0x01; /* control character in the name */
	assert_int_equal(cluster_proto_register_get(b, sizeof(b), &o, err, sizeof(err)), CP_EINVAL);
	cluster_proto_register_put(b, &r);
	b[16 + 10] = 'x'; /* bytes after the name's NUL */
	assert_int_equal(cluster_proto_register_get(b, sizeof(b), &o, err, sizeof(err)), CP_EINVAL);
}

static void test_heartbeat(void **state)
{
	uint8_t b[CP_HEARTBEAT_LEN + 2 * CP_VM_STATUS_LEN];
	struct cluster_proto_vm_status s = {.uuid = {1},
					    .vnode_uid = 7,
					    .domid = 3,
					    .pid = 100,
					    .state = CP_VM_EXITED,
					    .exit_status = 0,
					    .vcpus = 2},
				       o;
	struct cluster_proto_heartbeat hb;
	char err[256];

	(void)state;
	cluster_proto_heartbeat_put(b, &(struct cluster_proto_heartbeat){
					       .used_bytes = 5, .used_cores = 2, .nr_vms = 2});
	cluster_proto_vm_status_put(b + CP_HEARTBEAT_LEN, &s);
	cluster_proto_vm_status_put(b + CP_HEARTBEAT_LEN + CP_VM_STATUS_LEN, &s);
	assert_int_equal(cluster_proto_heartbeat_get(b, sizeof(b), &hb, err, sizeof(err)), CP_OK);
	assert_int_equal(hb.nr_vms, 2);
	assert_int_equal(cluster_proto_heartbeat_get(b, sizeof(b) - 1, &hb, err, sizeof(err)),
			 CP_EPROTO);
	assert_int_equal(cluster_proto_heartbeat_get(b, CP_HEARTBEAT_LEN, &hb, err, sizeof(err)),
			 CP_EPROTO);
	assert_int_equal(cluster_proto_vm_status_get(b + CP_HEARTBEAT_LEN, &o, err, sizeof(err)),
			 CP_OK);
	assert_int_equal(o.domid, 3);
	assert_int_equal(o.vcpus, 2);
	s.exit_status = 256;
	cluster_proto_vm_status_put(b + CP_HEARTBEAT_LEN, &s);
	assert_int_equal(cluster_proto_vm_status_get(b + CP_HEARTBEAT_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	s.exit_status = 0;
	s.state = 4;
	cluster_proto_vm_status_put(b + CP_HEARTBEAT_LEN, &s);
	assert_int_equal(cluster_proto_vm_status_get(b + CP_HEARTBEAT_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	s.state = CP_VM_RUNNING;
	memset(s.uuid, 0, 16);
	cluster_proto_vm_status_put(b + CP_HEARTBEAT_LEN, &s);
	assert_int_equal(cluster_proto_vm_status_get(b + CP_HEARTBEAT_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	cluster_proto_heartbeat_put(b, &(struct cluster_proto_heartbeat){.nr_vms = CP_MAX_VMS + 1});
	assert_int_equal(cluster_proto_heartbeat_get(b, sizeof(b), &hb, err, sizeof(err)),
			 CP_EINVAL);
}

static void test_vm_start(void **state)
{
	static const char args[] = "--kernel\0/g.elf\0--mem\0"
				   "256M";
	uint8_t b[CP_VM_START_LEN + sizeof(args)];
	struct cluster_proto_vm_start m = {.uuid = {9},
					   .vnode_uid = 1,
					   .domid = 1,
					   .vcpus = 1,
					   .argc = 4,
					   .args_len = sizeof(args)},
				      o;
	const char *a;
	char err[256];

	(void)state;
	snprintf(m.name, sizeof(m.name), "vn1");
	cluster_proto_vm_start_put(b, &m);
	memcpy(b + CP_VM_START_LEN, args, sizeof(args));
	assert_int_equal(cluster_proto_vm_start_get(b, sizeof(b), &o, &a, err, sizeof(err)), CP_OK);
	assert_string_equal(a, "--kernel");
	assert_string_equal(o.name, "vn1");
	assert_int_equal(cluster_proto_vm_start_get(b, sizeof(b) - 1, &o, &a, err, sizeof(err)),
			 CP_EPROTO);
	m.argc = 3;
	cluster_proto_vm_start_put(b, &m);
	assert_int_equal(cluster_proto_vm_start_get(b, sizeof(b), &o, &a, err, sizeof(err)),
			 CP_EINVAL);
	m.argc = 4;
	cluster_proto_vm_start_put(b, &m);
	b[CP_VM_START_LEN + 2] = '\n';
	assert_int_equal(cluster_proto_vm_start_get(b, sizeof(b), &o, &a, err, sizeof(err)),
			 CP_EINVAL);
	b[CP_VM_START_LEN + 2] = 'k';
	b[120] = 1; /* reserved */
	assert_int_equal(cluster_proto_vm_start_get(b, sizeof(b), &o, &a, err, sizeof(err)),
			 CP_EINVAL);
	m.vcpus = 0;
	cluster_proto_vm_start_put(b, &m);
	assert_int_equal(cluster_proto_vm_start_get(b, sizeof(b), &o, &a, err, sizeof(err)),
			 CP_EINVAL);
}

static void test_small_requests(void **state)
{
	uint8_t b[128];
	struct cluster_proto_vm_stop st;
	struct cluster_proto_vm_ctl c = {.uuid = {1}}, co;
	struct cluster_proto_vm_console cn;
	struct cluster_proto_vm_console_reply cr;
	struct cluster_proto_query q = {.what = CP_Q_VNODE, .flags = CP_QUERY_JSON}, qo;
	char err[256];

	(void)state;
	cluster_proto_vm_stop_put(
		b, &(struct cluster_proto_vm_stop){.mode = CP_STOP_FORCE, .grace_ms = 100});
	assert_int_equal(cluster_proto_vm_stop_get(b, CP_VM_STOP_LEN, &st, err, sizeof(err)),
			 CP_OK);
	cluster_proto_vm_stop_put(b, &(struct cluster_proto_vm_stop){.mode = 2});
	assert_int_equal(cluster_proto_vm_stop_get(b, CP_VM_STOP_LEN, &st, err, sizeof(err)),
			 CP_EINVAL);
	snprintf(c.cmd, sizeof(c.cmd), "stats");
	assert_int_equal(cluster_proto_vm_ctl_put(b, &c), CP_VM_CTL_LEN);
	assert_int_equal(cluster_proto_vm_ctl_get(b, CP_VM_CTL_LEN, &co, err, sizeof(err)), CP_OK);
	assert_string_equal(co.cmd, "stats");
	snprintf(c.cmd, sizeof(c.cmd), "st  ats");
	cluster_proto_vm_ctl_put(b, &c);
	assert_int_equal(cluster_proto_vm_ctl_get(b, CP_VM_CTL_LEN, &co, err, sizeof(err)),
			 CP_EINVAL);
	cluster_proto_vm_console_put(
		b, &(struct cluster_proto_vm_console){.offset = 5, .max = CP_CONSOLE_MAX});
	assert_int_equal(cluster_proto_vm_console_get(b, CP_VM_CONSOLE_LEN, &cn, err, sizeof(err)),
			 CP_OK);
	cluster_proto_vm_console_put(b,
				     &(struct cluster_proto_vm_console){.max = CP_CONSOLE_MAX + 1});
	assert_int_equal(cluster_proto_vm_console_get(b, CP_VM_CONSOLE_LEN, &cn, err, sizeof(err)),
			 CP_EINVAL);
	cluster_proto_vm_console_reply_put(
		b, &(struct cluster_proto_vm_console_reply){.offset = 3, .state = CP_VM_RUNNING});
	assert_int_equal(cluster_proto_vm_console_reply_get(b, CP_VM_CONSOLE_REPLY_LEN + 4, &cr),
			 CP_OK);
	assert_int_equal(cr.offset, 3);
	/* VM_CONSOLE_IN: 1..4096 bytes, its length exact; the reply's counts. */
	{
		static uint8_t in[CP_VM_CONSOLE_IN_LEN + CP_CONSOLE_IN_MAX + 1],
			any[CP_CONSOLE_IN_MAX + 1];
		struct cluster_proto_vm_console_in ci = {
			.uuid = {9}, .len = 3, .data = (void *)"ls\r"};
		struct cluster_proto_vm_console_in_reply ir;

		cluster_proto_vm_console_in_put(in, &ci);
		assert_int_equal(cluster_proto_vm_console_in_get(in, CP_VM_CONSOLE_IN_LEN + 3, &ci,
								 err, sizeof(err)),
				 CP_OK);
		assert_int_equal(ci.len, 3);
		assert_int_equal(ci.uuid[0], 9);
		assert_memory_equal(ci.data, "ls\r", 3);
		assert_int_equal(cluster_proto_vm_console_in_get(in, CP_VM_CONSOLE_IN_LEN + 4, &ci,
								 err, sizeof(err)),
				 CP_EPROTO);
		assert_int_equal(cluster_proto_vm_console_in_get(in, 20, &ci, err, sizeof(err)),
				 CP_EPROTO);
		ci.len = CP_CONSOLE_IN_MAX + 1;
		ci.data = any;
		cluster_proto_vm_console_in_put(in, &ci);
		assert_int_equal(
			cluster_proto_vm_console_in_get(in, sizeof(in), &ci, err, sizeof(err)),
			CP_EINVAL);
		cluster_proto_vm_console_in_reply_put(
			in,
			&(struct cluster_proto_vm_console_in_reply){.accepted = 2, .queued = 7});
		assert_int_equal(cluster_proto_vm_console_in_reply_get(in, 8, &ir), CP_OK);
		assert_int_equal(ir.accepted, 2);
		assert_int_equal(ir.queued, 7);
		assert_int_equal(cluster_proto_vm_console_in_reply_get(in, 9, &ir), CP_EPROTO);
	}
	q.name[0] = '\0';
	cluster_proto_query_put(b, &q);
	assert_int_equal(cluster_proto_query_get(b, CP_QUERY_LEN, &qo, err, sizeof(err)),
			 CP_EINVAL);
	snprintf(q.name, sizeof(q.name), "vn1");
	cluster_proto_query_put(b, &q);
	assert_int_equal(cluster_proto_query_get(b, CP_QUERY_LEN, &qo, err, sizeof(err)), CP_OK);
	q.flags = 2;
	cluster_proto_query_put(b, &q);
	assert_int_equal(cluster_proto_query_get(b, CP_QUERY_LEN, &qo, err, sizeof(err)),
			 CP_EINVAL);
}

/* VM_CTL's two forms: the short one for what fits 32 bytes, the long one only beyond. */
static void test_vm_ctl_forms(void **state)
{
	uint8_t b[CP_VM_CTL_LONG_LEN + 8];
	struct cluster_proto_vm_ctl c = {.uuid = {7}}, co;
	char host[256];
	char err[256];

	(void)state;
	snprintf(c.cmd, sizeof(c.cmd), "migrate-resolve commit");
	assert_int_equal(cluster_proto_vm_ctl_put(b, &c), CP_VM_CTL_LEN);
	assert_int_equal(cluster_proto_vm_ctl_get(b, CP_VM_CTL_LEN, &co, err, sizeof(err)), CP_OK);
	assert_string_equal(co.cmd, "migrate-resolve commit");
	/* A 253-byte host name and a port: the long form. */
	memset(host, 'h', 253);
	host[253] = '\0';
	snprintf(c.cmd, sizeof(c.cmd), "migrate %s:65535", host);
	assert_int_equal(strlen(c.cmd), 8 + 253 + 6);
	assert_int_equal(cluster_proto_vm_ctl_put(b, &c), CP_VM_CTL_LONG_LEN);
	assert_int_equal(cluster_proto_vm_ctl_get(b, CP_VM_CTL_LONG_LEN, &co, err, sizeof(err)),
			 CP_OK);
	assert_string_equal(co.cmd, c.cmd);
	assert_memory_equal(co.uuid, c.uuid, 16);
	assert_int_equal(cluster_proto_vm_ctl_get(b, CP_VM_CTL_LONG_LEN - 1, &co, err, sizeof(err)),
			 CP_EPROTO);
	assert_int_equal(cluster_proto_vm_ctl_get(b, CP_VM_CTL_LEN + 1, &co, err, sizeof(err)),
			 CP_EPROTO);
	/* A short command in the long form is not canonical: refused. */
	memset(b + 16, 0, CP_CMD_MAX);
	memcpy(b + 16, "stats", 5);
	assert_int_equal(cluster_proto_vm_ctl_get(b, CP_VM_CTL_LONG_LEN, &co, err, sizeof(err)),
			 CP_EINVAL);
	/* The grammar: a word with inner hyphens, one space, one printable argument. */
	assert_true(cluster_proto_vm_cmd_ok("migration"));
	assert_true(cluster_proto_vm_cmd_ok("migrate [::1]:4000"));
	assert_false(cluster_proto_vm_cmd_ok("migrate"
					     " "));
	assert_false(cluster_proto_vm_cmd_ok("migrate a b"));
	assert_false(cluster_proto_vm_cmd_ok("-migrate"));
	assert_false(cluster_proto_vm_cmd_ok("migrate-"));
	assert_false(cluster_proto_vm_cmd_ok("migrate--resolve"));
	assert_false(cluster_proto_vm_cmd_ok("Migrate"));
	assert_false(cluster_proto_vm_cmd_ok(" migrate"));
	assert_false(cluster_proto_vm_cmd_ok("migrate x\ty"));
	assert_false(cluster_proto_vm_cmd_ok(""));
	memset(c.cmd, 'a', CP_CMD_MAX);
	c.cmd[CP_CMD_MAX] = '\0';
	assert_true(cluster_proto_vm_cmd_ok(c.cmd));
}

static void test_migrate_msgs(void **state)
{
	uint8_t b[CP_MIG_PROGRESS_LEN];
	struct cluster_proto_migrate m = {.vnode = "vn1", .host = "host-b"}, mo;
	struct cluster_proto_mig_report r = {.total_us = 900000,
					     .downtime_us = 1200,
					     .bytes = 1 << 20},
					ro;
	struct cluster_proto_mig_progress p = {.phase = CP_MIG_PRECOPY,
					       .elapsed_ms = 40,
					       .bytes_total = 100,
					       .bytes_processed = 60,
					       .bytes_remaining = 40},
					  po;
	char name[CP_NAME_LEN + 1];
	char err[256];

	(void)state;
	cluster_proto_migrate_put(b, &m);
	assert_int_equal(cluster_proto_migrate_get(b, CP_MIGRATE_LEN, &mo, err, sizeof(err)),
			 CP_OK);
	assert_string_equal(mo.vnode, "vn1");
	assert_string_equal(mo.host, "host-b");
	assert_int_equal(cluster_proto_migrate_get(b, CP_MIGRATE_LEN + 1, &mo, err, sizeof(err)),
			 CP_EPROTO);
	b[CP_NAME_LEN] = 0;
	assert_int_equal(cluster_proto_migrate_get(b, CP_MIGRATE_LEN, &mo, err, sizeof(err)),
			 CP_EINVAL);

	snprintf(r.from, sizeof(r.from), "host-a");
	snprintf(r.to, sizeof(r.to), "host-b");
	cluster_proto_mig_report_put(b, &r);
	assert_int_equal(cluster_proto_mig_report_get(b, CP_MIG_REPORT_LEN, &ro, err, sizeof(err)),
			 CP_OK);
	assert_int_equal(ro.downtime_us, 1200);
	assert_string_equal(ro.to, "host-b");
	r.downtime_us = 900001;
	cluster_proto_mig_report_put(b, &r);
	assert_int_equal(cluster_proto_mig_report_get(b, CP_MIG_REPORT_LEN, &ro, err, sizeof(err)),
			 CP_EINVAL);
	r.downtime_us = CP_MIG_UNKNOWN; /* the source ended before it said */
	cluster_proto_mig_report_put(b, &r);
	assert_int_equal(cluster_proto_mig_report_get(b, CP_MIG_REPORT_LEN, &ro, err, sizeof(err)),
			 CP_OK);

	cluster_proto_mig_status_put(b, "vn1");
	assert_int_equal(cluster_proto_mig_status_get(b, CP_MIG_STATUS_LEN, name, err, sizeof(err)),
			 CP_OK);
	assert_string_equal(name, "vn1");
	cluster_proto_mig_status_put(b, "");
	assert_int_equal(cluster_proto_mig_status_get(b, CP_MIG_STATUS_LEN, name, err, sizeof(err)),
			 CP_EINVAL);

	snprintf(p.from, sizeof(p.from), "host-a");
	snprintf(p.to, sizeof(p.to), "host-b");
	cluster_proto_mig_progress_put(b, &p);
	assert_int_equal(
		cluster_proto_mig_progress_get(b, CP_MIG_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_OK);
	assert_int_equal(po.bytes_processed, 60);
	assert_string_equal(cluster_proto_mig_phase_name(po.phase), "precopy");
	b[4] = 1; /* reserved */
	assert_int_equal(
		cluster_proto_mig_progress_get(b, CP_MIG_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_EINVAL);
	p.phase = CP_MIG_PHASE_MAX + 1;
	cluster_proto_mig_progress_put(b, &p);
	assert_int_equal(
		cluster_proto_mig_progress_get(b, CP_MIG_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_EINVAL);
	p.phase = CP_MIG_NONE; /* no migration: nothing else may be set */
	cluster_proto_mig_progress_put(b, &p);
	assert_int_equal(
		cluster_proto_mig_progress_get(b, CP_MIG_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_EINVAL);
	cluster_proto_mig_progress_put(b, &(struct cluster_proto_mig_progress){0});
	assert_int_equal(
		cluster_proto_mig_progress_get(b, CP_MIG_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_OK);
	assert_string_equal(cluster_proto_mig_phase_name(99), "unknown");
}

static void test_pool_job(void **state)
{
	uint8_t b[CP_POOL_JOB_LEN + 1];
	struct cluster_proto_pool_job j = {.what = CP_POOL_DRAIN, .server = "mem-b"}, o;
	char err[256];

	(void)state;
	cluster_proto_pool_job_put(b, &j);
	assert_int_equal(cluster_proto_pool_job_get(b, CP_POOL_JOB_LEN, &o, err, sizeof(err)),
			 CP_OK);
	assert_int_equal(o.what, CP_POOL_DRAIN);
	assert_string_equal(o.server, "mem-b");
	assert_int_equal(cluster_proto_pool_job_get(b, CP_POOL_JOB_LEN + 1, &o, err, sizeof(err)),
			 CP_EPROTO);
	assert_int_equal(cluster_proto_pool_job_get(b, CP_POOL_JOB_LEN - 1, &o, err, sizeof(err)),
			 CP_EPROTO);
	b[4] = 1; /* reserved */
	assert_int_equal(cluster_proto_pool_job_get(b, CP_POOL_JOB_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	assert_string_equal(err, "reserved field of POOL_JOB is not zero");
	/* A drain or undrain needs a server name as operators type them. */
	j.server[0] = '\0';
	cluster_proto_pool_job_put(b, &j);
	assert_int_equal(cluster_proto_pool_job_get(b, CP_POOL_JOB_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	snprintf(j.server, sizeof(j.server), "mem b");
	cluster_proto_pool_job_put(b, &j);
	assert_int_equal(cluster_proto_pool_job_get(b, CP_POOL_JOB_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	j.what = CP_POOL_UNDRAIN;
	snprintf(j.server, sizeof(j.server), "mem-b");
	cluster_proto_pool_job_put(b, &j);
	assert_int_equal(cluster_proto_pool_job_get(b, CP_POOL_JOB_LEN, &o, err, sizeof(err)),
			 CP_OK);
	/* A rebalance names none. */
	j.what = CP_POOL_REBALANCE;
	cluster_proto_pool_job_put(b, &j);
	assert_int_equal(cluster_proto_pool_job_get(b, CP_POOL_JOB_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	j.server[0] = '\0';
	cluster_proto_pool_job_put(b, &j);
	assert_int_equal(cluster_proto_pool_job_get(b, CP_POOL_JOB_LEN, &o, err, sizeof(err)),
			 CP_OK);
	snprintf(j.server, sizeof(j.server), "mem-b");
	for (uint32_t w = CP_POOL_NONE; w < 8; w++) {
		j.what = w;
		cluster_proto_pool_job_put(b, &j);
		assert_int_equal(
			cluster_proto_pool_job_get(b, CP_POOL_JOB_LEN, &o, err, sizeof(err)),
			w == CP_POOL_DRAIN || w == CP_POOL_UNDRAIN ? CP_OK : CP_EINVAL);
	}
	cluster_proto_pool_job_put(
		b, &(struct cluster_proto_pool_job){.what = CP_POOL_DRAIN, .server = "m"});
	b[8 + 3] = 'x'; /* bytes after the name's NUL */
	assert_int_equal(cluster_proto_pool_job_get(b, CP_POOL_JOB_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	assert_int_equal(cluster_proto_pool_status_get(0, err, sizeof(err)), CP_OK);
	assert_int_equal(cluster_proto_pool_status_get(1, err, sizeof(err)), CP_EPROTO);
	assert_string_equal(cluster_proto_pool_what_name(CP_POOL_REBALANCE), "rebalance");
	assert_string_equal(cluster_proto_pool_what_name(9), "unknown");
}

static void test_pool_report(void **state)
{
	uint8_t b[CP_POOL_REPORT_LEN];
	struct cluster_proto_pool_report r = {.what = CP_POOL_DRAIN,
					      .copies = 3,
					      .bytes = 3 << 21,
					      .elapsed_us = 5000,
					      .server = "mem-b"},
					 o;
	char err[256];

	(void)state;
	cluster_proto_pool_report_put(b, &r);
	assert_int_equal(cluster_proto_pool_report_get(b, CP_POOL_REPORT_LEN, &o, err, sizeof(err)),
			 CP_OK);
	assert_int_equal(o.copies, 3);
	assert_int_equal(o.bytes, 3 << 21);
	assert_int_equal(o.elapsed_us, 5000);
	assert_string_equal(o.server, "mem-b");
	assert_int_equal(
		cluster_proto_pool_report_get(b, CP_POOL_REPORT_LEN - 1, &o, err, sizeof(err)),
		CP_EPROTO);
	r.bytes = 0; /* copies moved must have a size */
	cluster_proto_pool_report_put(b, &r);
	assert_int_equal(cluster_proto_pool_report_get(b, CP_POOL_REPORT_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	r.bytes = 1;
	r.spread_before_ppm = 10; /* only a rebalance has a spread */
	cluster_proto_pool_report_put(b, &r);
	assert_int_equal(cluster_proto_pool_report_get(b, CP_POOL_REPORT_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	r = (struct cluster_proto_pool_report){.what = CP_POOL_REBALANCE,
					       .copies = 1,
					       .bytes = 1,
					       .spread_before_ppm = CP_PPM,
					       .spread_after_ppm = 0};
	cluster_proto_pool_report_put(b, &r);
	assert_int_equal(cluster_proto_pool_report_get(b, CP_POOL_REPORT_LEN, &o, err, sizeof(err)),
			 CP_OK);
	r.spread_after_ppm = CP_PPM + 1;
	cluster_proto_pool_report_put(b, &r);
	assert_int_equal(cluster_proto_pool_report_get(b, CP_POOL_REPORT_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	r.spread_after_ppm = 0;
	r.server_used = 4; /* only a drain reports the server's use */
	cluster_proto_pool_report_put(b, &r);
	assert_int_equal(cluster_proto_pool_report_get(b, CP_POOL_REPORT_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	r = (struct cluster_proto_pool_report){.what = CP_POOL_UNDRAIN, .server = "mem-b"};
	cluster_proto_pool_report_put(b, &r);
	assert_int_equal(cluster_proto_pool_report_get(b, CP_POOL_REPORT_LEN, &o, err, sizeof(err)),
			 CP_OK);
	r.elapsed_us = 1; /* an undrain moves nothing */
	cluster_proto_pool_report_put(b, &r);
	assert_int_equal(cluster_proto_pool_report_get(b, CP_POOL_REPORT_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
	r.what = CP_POOL_NONE;
	cluster_proto_pool_report_put(b, &r);
	assert_int_equal(cluster_proto_pool_report_get(b, CP_POOL_REPORT_LEN, &o, err, sizeof(err)),
			 CP_EINVAL);
}

static void test_pool_progress(void **state)
{
	uint8_t b[CP_POOL_PROGRESS_LEN];
	struct cluster_proto_pool_progress p = {.what = CP_POOL_DRAIN,
						.region = 2,
						.elapsed_ms = 700,
						.copies_total = 4,
						.copies_done = 1,
						.bytes_total = 8 << 20,
						.bytes_done = 3 << 20,
						.missing = 2,
						.blocked = 1,
						.server = "mem-b",
						.vnode = "vn1",
						.to = "mem-c"},
					   po;
	char err[256];

	(void)state;
	cluster_proto_pool_progress_put(b, &p);
	assert_int_equal(
		cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_OK);
	assert_int_equal(po.region, 2);
	assert_int_equal(po.bytes_done, 3 << 20);
	assert_string_equal(po.vnode, "vn1");
	assert_string_equal(po.to, "mem-c");
	assert_int_equal(po.blocked, 1);
	assert_int_equal(
		cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN + 1, &po, err, sizeof(err)),
		CP_EPROTO);
	p.bytes_done = p.bytes_total + 1;
	cluster_proto_pool_progress_put(b, &p);
	assert_int_equal(
		cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_EINVAL);
	p.bytes_done = 0;
	p.copies_done = 5;
	cluster_proto_pool_progress_put(b, &p);
	assert_int_equal(
		cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_EINVAL);
	p.copies_done = 0;
	p.blocked = 3; /* more blocked than missing */
	cluster_proto_pool_progress_put(b, &p);
	assert_int_equal(
		cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_EINVAL);
	p.blocked = 0;
	p.to[0] = '\0'; /* a step without its target */
	cluster_proto_pool_progress_put(b, &p);
	assert_int_equal(
		cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_EINVAL);
	p.what = CP_POOL_REBALANCE; /* with a drain's server */
	snprintf(p.to, sizeof(p.to), "mem-c");
	cluster_proto_pool_progress_put(b, &p);
	assert_int_equal(
		cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_EINVAL);
	p.what = CP_POOL_UNDRAIN; /* not a job that runs */
	cluster_proto_pool_progress_put(b, &p);
	assert_int_equal(
		cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_EINVAL);
	/* No job: only the re-replication figures. */
	cluster_proto_pool_progress_put(
		b, &(struct cluster_proto_pool_progress){.missing = 3, .blocked = 3});
	assert_int_equal(
		cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_OK);
	assert_int_equal(po.missing, 3);
	cluster_proto_pool_progress_put(b, &(struct cluster_proto_pool_progress){.elapsed_ms = 1});
	assert_int_equal(
		cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_EINVAL);
	cluster_proto_pool_progress_put(b, &(struct cluster_proto_pool_progress){0});
	b[48] = 'x'; /* a server name without a job */
	assert_int_equal(
		cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_EINVAL);
	b[48] = 0x7f;
	assert_int_equal(
		cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN, &po, err, sizeof(err)),
		CP_EINVAL);
}

/* Random and mutated bytes through the pool decoders: never a crash, and whatever decodes
 * encodes back to the same bytes. */
static void test_pool_random(void **state)
{
	uint8_t b[CP_POOL_PROGRESS_LEN], out[CP_POOL_PROGRESS_LEN];
	struct cluster_proto_pool_progress p = {.what = CP_POOL_REBALANCE,
						.copies_total = 9,
						.bytes_total = 90,
						.vnode = "vn1",
						.to = "mem-a"};
	struct cluster_proto_pool_job j;
	struct cluster_proto_pool_report r;
	struct cluster_proto_pool_progress po;
	uint64_t x = 88172645463325252ULL;
	char err[256];
	int ok = 0;

	(void)state;
	for (int i = 0; i < 30000; i++) {
		size_t len = i % 3 == 0	  ? CP_POOL_JOB_LEN
			     : i % 3 == 1 ? CP_POOL_REPORT_LEN
					  : CP_POOL_PROGRESS_LEN;

		if (i % 2) {
			cluster_proto_pool_progress_put(b,
							&p); /* a valid message, one byte changed */
			cluster_proto_pool_job_put(
				b, &(struct cluster_proto_pool_job){.what = CP_POOL_DRAIN,
								    .server = "mem-b"});
		} else {
			for (size_t k = 0; k < sizeof(b); k++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				b[k] = (uint8_t)(x % 5 ? x % 4 : x >> 8);
			}
		}
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		b[x % len] = (uint8_t)(x >> 16);
		if (cluster_proto_pool_job_get(b, CP_POOL_JOB_LEN, &j, err, sizeof(err)) == CP_OK) {
			cluster_proto_pool_job_put(out, &j);
			assert_memory_equal(out, b, CP_POOL_JOB_LEN);
			ok++;
		}
		if (cluster_proto_pool_report_get(b, CP_POOL_REPORT_LEN, &r, err, sizeof(err)) ==
		    CP_OK) {
			cluster_proto_pool_report_put(out, &r);
			assert_memory_equal(out, b, CP_POOL_REPORT_LEN);
			ok++;
		}
		if (cluster_proto_pool_progress_get(b, CP_POOL_PROGRESS_LEN, &po, err,
						    sizeof(err)) == CP_OK) {
			cluster_proto_pool_progress_put(out, &po);
			assert_memory_equal(out, b, CP_POOL_PROGRESS_LEN);
			ok++;
		}
	}
	assert_true(ok > 100); /* the mutations do not all fail */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),	       cmocka_unit_test(test_register),
		cmocka_unit_test(test_heartbeat),      cmocka_unit_test(test_vm_start),
		cmocka_unit_test(test_small_requests), cmocka_unit_test(test_vm_ctl_forms),
		cmocka_unit_test(test_migrate_msgs),   cmocka_unit_test(test_pool_job),
		cmocka_unit_test(test_pool_report),    cmocka_unit_test(test_pool_progress),
		cmocka_unit_test(test_pool_random),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
