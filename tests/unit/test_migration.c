/* test_migration.c: the pure parts of live migration in the control plane: libvirt's
 * migration arguments (destination URI, flags, typed parameters), the flat JSON lego-vmm
 * answers with, and its migration status; each refuses what a hostile or broken peer could
 * send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/json_flat.h"
#include "controlplane/controld/libvirt/mig_args.h"
#include "lib/proto/mig_status.h"
#include "controlplane/controld/libvirt/rpc_proto.h"

static int uri(const char *u, char *host)
{
	struct mig_args_request r;
	char err[512];
	int rc = mig_args_uri_parse(u, &r, err, sizeof(err));

	if (!rc)
		strcpy(host, r.host);
	return rc;
}

static void test_uri(void **state)
{
	char h[80];

	(void)state;
	assert_int_equal(uri("lego+tcp://host-b/system", h), 0);
	assert_string_equal(h, "host-b");
	assert_int_equal(uri("lego://h.1_x/system", h), 0);
	assert_string_equal(h, "h.1_x");
	assert_int_equal(uri("lego+tcp://host-b:16509/system", h), 0); /* port ignored */
	assert_string_equal(h, "host-b");
	assert_int_equal(uri("lego+ssh://host-b/system", h), 0);
	assert_int_equal(uri("qemu+tcp://host-b/system", h), RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_int_equal(uri("lego+tcpx://host-b/system", h), RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_int_equal(uri("lego+tcp://host-b/session", h), RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_int_equal(uri("lego+tcp://host-b/system?x=1", h), RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_int_equal(uri("lego+tcp://host-b", h), RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_int_equal(uri("lego+tcp://root@host-b/system", h), RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_int_equal(uri("lego+tcp:///system", h), RPC_ERR_INVALID_ARG);
	assert_int_equal(uri("lego+tcp://host-b:0/system", h), RPC_ERR_INVALID_ARG);
	assert_int_equal(uri("lego+tcp://host-b:65536/system", h), RPC_ERR_INVALID_ARG);
	assert_int_equal(uri("lego+tcp://host-b:/system", h), RPC_ERR_INVALID_ARG);
	assert_int_equal(uri("lego+tcp://[::1]/system", h), RPC_ERR_INVALID_ARG);
	assert_int_equal(uri("lego+tcp://ho st/system", h), RPC_ERR_INVALID_ARG);
	assert_int_equal(uri("lego+tcp://host\n/system", h), RPC_ERR_INVALID_ARG);
	assert_int_equal(uri("host-b", h), RPC_ERR_INVALID_ARG);
	memset(h, 'a', 65);
	strcpy(h + 65, "/system");
	{
		char u[100];

		snprintf(u, sizeof(u), "lego://%s", h);
		assert_int_equal(uri(u, h), RPC_ERR_INVALID_ARG); /* a 65-byte name */
	}
}

static void test_flags(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(mig_args_flags_check(3, false, err, sizeof(err)), 0);
	assert_int_equal(mig_args_flags_check(3 | 256 | 512 | 4096, false, err, sizeof(err)), 0);
	assert_int_equal(mig_args_flags_check(1, false, err, sizeof(err)),
			 RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_non_null(strstr(err, "--live --p2p"));
	assert_int_equal(mig_args_flags_check(2, false, err, sizeof(err)),
			 RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_int_equal(mig_args_flags_check(3 | 8, true, err, sizeof(err)), 0);
	assert_int_equal(mig_args_flags_check(3 | 8, false, err, sizeof(err)),
			 RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_non_null(strstr(err, "transient"));
	assert_int_equal(mig_args_flags_check(3 | 4 | 32 | (1U << 30), false, err, sizeof(err)),
			 RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_non_null(strstr(err, "--tunnelled --suspend 0x40000000"));
}

static struct mig_args_typed_param tp_str(const char *f, const char *s)
{
	struct mig_args_typed_param p = {.type = TP_STRING};

	snprintf(p.field, sizeof(p.field), "%s", f);
	p.v.s = (char *)s;
	return p;
}

static struct mig_args_typed_param tp_ull(const char *f, uint64_t v)
{
	struct mig_args_typed_param p = {.type = TP_ULLONG};

	snprintf(p.field, sizeof(p.field), "%s", f);
	p.v.ul = v;
	return p;
}

static void test_params(void **state)
{
	struct mig_args_request r;
	struct mig_args_typed_param p[3] = {0};
	char err[512];

	(void)state;
	assert_int_equal(mig_args_params_check(p, 0, "vn1", &r, err, sizeof(err)), 0);
	assert_string_equal(r.listen_host, "");
	p[0] = tp_str("destination_name", "vn1");
	p[1] = tp_ull("bandwidth", 0);
	p[2] = tp_str("migrate_uri", "tcp://10.0.0.2:4444");
	assert_int_equal(mig_args_params_check(p, 3, "vn1", &r, err, sizeof(err)), 0);
	assert_string_equal(r.listen_host, "10.0.0.2");
	assert_int_equal(r.listen_port, 4444);
	p[2] = tp_str("migrate_uri", "tcp://[fe80::1]");
	assert_int_equal(mig_args_params_check(p, 3, "vn1", &r, err, sizeof(err)), 0);
	assert_string_equal(r.listen_host, "fe80::1");
	assert_int_equal(r.listen_port, 0);
	p[2] = tp_str("migrate_uri", "rdma://10.0.0.2");
	assert_int_equal(mig_args_params_check(p, 3, "vn1", &r, err, sizeof(err)),
			 RPC_ERR_ARGUMENT_UNSUPPORTED);
	p[2] = tp_str("migrate_uri", "tcp://10.0.0.2:99999");
	assert_int_equal(mig_args_params_check(p, 3, "vn1", &r, err, sizeof(err)),
			 RPC_ERR_INVALID_ARG);
	p[2] = tp_str("migrate_uri", "tcp://::1");
	assert_int_equal(mig_args_params_check(p, 3, "vn1", &r, err, sizeof(err)),
			 RPC_ERR_INVALID_ARG);
	p[0] = tp_str("destination_name", "other");
	assert_int_equal(mig_args_params_check(p, 1, "vn1", &r, err, sizeof(err)),
			 RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_non_null(strstr(err, "rename"));
	p[0] = tp_ull("bandwidth", 100);
	assert_int_equal(mig_args_params_check(p, 1, "vn1", &r, err, sizeof(err)),
			 RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_non_null(strstr(err, "bandwidth"));
	p[0] = tp_str("bandwidth", "100");
	assert_int_equal(mig_args_params_check(p, 1, "vn1", &r, err, sizeof(err)),
			 RPC_ERR_INVALID_ARG);
	assert_string_equal(err, "invalid argument: invalid type 'string' for parameter "
				 "'bandwidth', expected 'ullong'");
	p[0] = tp_str("compression", "xbzrle");
	assert_int_equal(mig_args_params_check(p, 1, "vn1", &r, err, sizeof(err)),
			 RPC_ERR_ARGUMENT_UNSUPPORTED);
	assert_string_equal(err, "argument unsupported: parameter 'compression' not supported");
	p[0] = tp_ull("bandwidth", 0);
	p[1] = tp_ull("bandwidth", 0);
	assert_int_equal(mig_args_params_check(p, 2, "vn1", &r, err, sizeof(err)),
			 RPC_ERR_INVALID_ARG);
	assert_non_null(strstr(err, "multiple"));
	p[0] = tp_str("destination_name", "v\x01");
	assert_int_equal(mig_args_params_check(p, 1, "vn1", &r, err, sizeof(err)),
			 RPC_ERR_INVALID_ARG);
}

/* typed params on the wire: decoded, bounded, and freed on every error. */
static void test_tp_decode(void **state)
{
	struct xdr_out o;
	struct xdr_in x;
	struct mig_args_typed_param *p;
	uint32_t n;
	char field[100];

	(void)state;
	xdr_out_init(&o, 1 << 16);
	xdr_put_u32(&o, 3);
	xdr_put_string(&o, "migrate_uri");
	xdr_put_i32(&o, TP_STRING);
	xdr_put_string(&o, "tcp://h:1");
	xdr_put_string(&o, "bandwidth");
	xdr_put_i32(&o, TP_ULLONG);
	xdr_put_u64(&o, 7);
	xdr_put_string(&o, "x");
	xdr_put_i32(&o, TP_DOUBLE);
	xdr_put_u64(&o, 0x3ff0000000000000ULL);
	xdr_in_init(&x, o.p, o.len);
	mig_args_tp_decode(&x, &p, &n);
	assert_true(xdr_in_done(&x));
	assert_int_equal(n, 3);
	assert_string_equal(p[0].v.s, "tcp://h:1");
	assert_int_equal(p[1].v.ul, 7);
	assert_true(p[2].v.d == 1.0);
	mig_args_tp_free(p, n);
	xdr_out_free(&o);

	/* An unknown type after a string: an error, and the string is freed (ASan). */
	xdr_out_init(&o, 1 << 16);
	xdr_put_u32(&o, 2);
	xdr_put_string(&o, "a");
	xdr_put_i32(&o, TP_STRING);
	xdr_put_string(&o, "text");
	xdr_put_string(&o, "b");
	xdr_put_i32(&o, 8);
	xdr_put_u32(&o, 0);
	xdr_in_init(&x, o.p, o.len);
	mig_args_tp_decode(&x, &p, &n);
	assert_non_null(x.err);
	assert_null(p);
	assert_int_equal(n, 0);
	xdr_out_free(&o);

	/* 65 parameters, and an 80-byte name: refused. */
	xdr_out_init(&o, 1 << 16);
	xdr_put_u32(&o, 65);
	xdr_in_init(&x, o.p, o.len);
	mig_args_tp_decode(&x, &p, &n);
	assert_non_null(x.err);
	xdr_out_free(&o);
	memset(field, 'f', 80);
	field[80] = '\0';
	xdr_out_init(&o, 1 << 16);
	xdr_put_u32(&o, 1);
	xdr_put_string(&o, field);
	xdr_put_i32(&o, TP_INT);
	xdr_put_i32(&o, 1);
	xdr_in_init(&x, o.p, o.len);
	mig_args_tp_decode(&x, &p, &n);
	assert_non_null(x.err);
	xdr_out_free(&o);
}

static void test_json_flat(void **state)
{
	struct json_flat_object *o = malloc(sizeof(*o));
	char err[256];

	(void)state;
	assert_int_equal(
		json_flat_parse(" {\"a\": \"x\\\"y\\u0041\", \"b\":12 ,\"c\": null, \"d\": true, "
				"\"e\": -1.5e3, \"f\": 18446744073709551616}\n",
				o, err, sizeof(err)),
		0);
	assert_string_equal(json_flat_get(o, "a")->str, "x\"yA");
	assert_true(json_flat_get(o, "b")->is_uint);
	assert_int_equal(json_flat_get(o, "b")->num, 12);
	assert_int_equal(json_flat_get(o, "c")->type, JF_NULL);
	assert_true(json_flat_get(o, "d")->boolean);
	assert_false(json_flat_get(o, "e")->is_uint);
	assert_true(json_flat_get(o, "e")->dbl == -1500.0);
	assert_false(json_flat_get(o, "f")->is_uint); /* 2^64 does not fit */
	assert_null(json_flat_get(o, "g"));
	assert_int_equal(json_flat_parse("{}", o, err, sizeof(err)), 0);
	assert_int_equal(o->n, 0);
	assert_int_equal(json_flat_parse("{\"a\": {}}", o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "flat"));
	assert_int_equal(json_flat_parse("{\"a\": 1, \"a\": 2}", o, err, sizeof(err)), -1);
	assert_int_equal(json_flat_parse("{\"a\": 1} x", o, err, sizeof(err)), -1);
	assert_int_equal(json_flat_parse("{\"a\": 1", o, err, sizeof(err)), -1);
	assert_int_equal(json_flat_parse("{\"a\" 1}", o, err, sizeof(err)), -1);
	assert_int_equal(json_flat_parse("{\"a\": \"\x01\"}", o, err, sizeof(err)), -1);
	assert_int_equal(json_flat_parse("{\"a\": \"x\\ny\\u0007\\u00e9\"}", o, err, sizeof(err)),
			 0);
	assert_string_equal(json_flat_get(o, "a")->str, "x y??");
	assert_int_equal(json_flat_parse("{\"a\": \"\\q\"}", o, err, sizeof(err)), -1);
	assert_int_equal(json_flat_parse("{\"a\": \"\\u00g0\"}", o, err, sizeof(err)), -1);
	assert_int_equal(json_flat_parse("{\"a\": 01}", o, err, sizeof(err)), -1);
	assert_int_equal(json_flat_parse("{\"a\": 1.}", o, err, sizeof(err)), -1);
	assert_int_equal(json_flat_parse("{\"a\": nul}", o, err, sizeof(err)), -1);
	assert_int_equal(json_flat_parse("{\"\": 1}", o, err, sizeof(err)), -1);
	assert_int_equal(json_flat_parse("[1]", o, err, sizeof(err)), -1);
	assert_int_equal(json_flat_parse("{\"a\": \"unterminated", o, err, sizeof(err)), -1);
	free(o);
}

static void test_mig_status(void **state)
{
	struct mig_status s;
	char err[600];

	(void)state;
	assert_int_equal(
		mig_status_parse("{\"role\": \"source\", \"phase\": \"precopy\", \"iteration\": 2, "
				 "\"dirty_pages\": 120, \"pages_written\": 65536, "
				 "\"bytes_total\": 268435456, \"bytes_processed\": 200000000, "
				 "\"bytes_remaining\": 68435456, \"elapsed_ms\": 340.125, "
				 "\"downtime_ms\": 0.000, \"error\": null, \"listen\": null, "
				 "\"dest\": \"127.0.0.1:41234\"}",
				 &s, err, sizeof(err)),
		0);
	assert_int_equal(s.role, MIG_STATUS_ROLE_SOURCE);
	assert_int_equal(s.phase, MIG_STATUS_PRECOPY);
	assert_int_equal(s.bytes_total, 268435456);
	assert_int_equal(s.bytes_remaining, 68435456);
	assert_true(s.elapsed_ms == 340.125);
	assert_string_equal(s.error, "");
	assert_int_equal(mig_status_parse("{\"role\": \"incoming\", \"phase\": \"listening\", "
					  "\"listen\": \"10.0.0.2:41234\"}",
					  &s, err, sizeof(err)),
			 0);
	assert_string_equal(s.listen, "10.0.0.2:41234");
	assert_string_equal(mig_status_phase_name(s.phase), "listening");
	/* Listening without a usable address; a phase of the other role; bad figures. */
	assert_int_equal(mig_status_parse("{\"role\": \"incoming\", \"phase\": \"listening\", "
					  "\"listen\": \"10.0.0.2:0\"}",
					  &s, err, sizeof(err)),
			 -1);
	assert_int_equal(mig_status_parse("{\"role\": \"incoming\", \"phase\": \"listening\", "
					  "\"listen\": \"]::1]:41234\"}",
					  &s, err, sizeof(err)),
			 -1);
	assert_int_equal(mig_status_parse("{\"role\": \"incoming\", \"phase\": \"listening\", "
					  "\"listen\": \"[::1]:41234\"}",
					  &s, err, sizeof(err)),
			 0);
	assert_int_equal(mig_status_parse("{\"role\": \"incoming\", \"phase\": \"listening\", "
					  "\"listen\": \"a b:41234\"}",
					  &s, err, sizeof(err)),
			 -1);
	assert_int_equal(mig_status_parse("{\"role\": \"incoming\", \"phase\": \"listening\"}", &s,
					  err, sizeof(err)),
			 -1);
	assert_int_equal(mig_status_parse("{\"role\": \"incoming\", \"phase\": \"precopy\"}", &s,
					  err, sizeof(err)),
			 -1);
	assert_int_equal(mig_status_parse("{\"role\": \"source\", \"phase\": \"running\"}", &s, err,
					  sizeof(err)),
			 -1);
	assert_int_equal(
		mig_status_parse("{\"role\": \"x\", \"phase\": \"none\"}", &s, err, sizeof(err)),
		-1);
	assert_int_equal(mig_status_parse("{\"role\": \"source\", \"phase\": \"precopy\", "
					  "\"bytes_total\": -1}",
					  &s, err, sizeof(err)),
			 -1);
	assert_int_equal(mig_status_parse("{\"role\": \"source\", \"phase\": \"precopy\", "
					  "\"elapsed_ms\": -0.5}",
					  &s, err, sizeof(err)),
			 -1);
	assert_int_equal(mig_status_parse("{\"role\": \"source\", \"phase\": \"failed\", "
					  "\"error\": 5}",
					  &s, err, sizeof(err)),
			 -1);
	assert_int_equal(mig_status_parse("{\"role\": \"source\", \"phase\": \"failed\", "
					  "\"error\": \"stream broken\"}",
					  &s, err, sizeof(err)),
			 0);
	assert_string_equal(s.error, "stream broken");
	assert_int_equal(
		mig_status_parse("{\"role\": \"none\", \"phase\": \"none\"}", &s, err, sizeof(err)),
		0);
	assert_int_equal(mig_status_parse("{\"error\": \"unknown command\"}", &s, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "unknown command");
	assert_int_equal(mig_status_parse("not json", &s, err, sizeof(err)), -1);

	assert_int_equal(mig_status_answer_check("{\"migration\": \"started\"}", "started", err,
						 sizeof(err)),
			 0);
	assert_int_equal(mig_status_answer_check("{\"error\": \"already migrating\"}", "started",
						 err, sizeof(err)),
			 -1);
	assert_string_equal(err, "already migrating");
	assert_int_equal(
		mig_status_answer_check("{\"migration\": \"done\"}", "started", err, sizeof(err)),
		-1);
	assert_int_equal(
		mig_status_answer_check("{\"migration\": \"resolved\"}", NULL, err, sizeof(err)),
		0);
	assert_int_equal(mig_status_answer_check("{\"error\": 3}", NULL, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri),	  cmocka_unit_test(test_flags),
		cmocka_unit_test(test_params),	  cmocka_unit_test(test_tp_decode),
		cmocka_unit_test(test_json_flat), cmocka_unit_test(test_mig_status),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
