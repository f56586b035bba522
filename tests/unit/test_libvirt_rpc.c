/* test_libvirt_rpc.c: the XDR codec's bounds and errors, and libvirt RPC packets (length
 * word, header, the exact "unknown procedure" error reply). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controlplane/controld/libvirt/rpc_proto.h"
#include "controlplane/controld/libvirt/xdr.h"

static void test_round_trip(void **state)
{
	struct xdr_out o;
	struct xdr_in x;
	uint32_t n;
	bool present;
	char *s, *t, *u;
	const uint8_t *q;
	static const uint8_t uuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

	(void)state;
	xdr_out_init(&o, 1 << 20);
	xdr_put_u32(&o, 0xdeadbeef);
	xdr_put_i32(&o, -5);
	xdr_put_u64(&o, 0x0102030405060708ULL);
	xdr_put_i64(&o, -1);
	xdr_put_string(&o, "lego");  /* 4 bytes: no padding */
	xdr_put_string(&o, "vnode"); /* 5 bytes: 3 of padding */
	xdr_put_opt_string(&o, NULL);
	xdr_put_opt_string(&o, "x");
	xdr_put_fixed(&o, uuid, 16);
	xdr_put_opaque(&o, "ab", 2);
	assert_null(o.err);
	assert_int_equal(o.len, 4 + 4 + 8 + 8 + 8 + 12 + 4 + 12 + 16 + 8);

	xdr_in_init(&x, o.p, o.len);
	assert_int_equal(xdr_get_u32(&x), 0xdeadbeef);
	assert_int_equal(xdr_get_i32(&x), -5);
	assert_true(xdr_get_u64(&x) == 0x0102030405060708ULL);
	assert_true(xdr_get_i64(&x) == -1);
	s = xdr_get_string(&x, 64);
	t = xdr_get_string(&x, 64);
	assert_string_equal(s, "lego");
	assert_string_equal(t, "vnode");
	assert_null(xdr_get_opt_string(&x, 64, &present));
	assert_false(present);
	u = xdr_get_opt_string(&x, 64, &present);
	assert_true(present);
	assert_string_equal(u, "x");
	q = xdr_get_fixed(&x, 16);
	assert_memory_equal(q, uuid, 16);
	q = xdr_get_opaque(&x, 2, &n);
	assert_int_equal(n, 2);
	assert_memory_equal(q, "ab", 2);
	assert_true(xdr_in_done(&x));
	free(s);
	free(t);
	free(u);
	xdr_out_free(&o);
}

/* Decode one string from raw bytes: NULL with a reason, or the string. */
static char *decode_string(const uint8_t *p, size_t len, uint32_t max, const char **err)
{
	struct xdr_in x;
	char *s;

	xdr_in_init(&x, p, len);
	s = xdr_get_string(&x, max);
	if (s && !xdr_in_done(&x)) {
		free(s);
		s = NULL;
	}
	*err = x.err;
	return s;
}

static void test_bad_input(void **state)
{
	static const uint8_t truncated[] = {0, 0, 0, 5, 'a', 'b'};
	static const uint8_t bad_pad[] = {0, 0, 0, 1, 'a', 0, 7, 0};
	static const uint8_t has_nul[] = {0, 0, 0, 2, 'a', 0, 0, 0};
	static const uint8_t too_long[] = {0, 0, 0, 8, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
	static const uint8_t huge_len[] = {0xff, 0xff, 0xff, 0xfc};
	static const uint8_t trailing[] = {0, 0, 0, 1, 'a', 0, 0, 0, 0};
	static const uint8_t bad_bool[] = {0, 0, 0, 2};
	const char *err;
	struct xdr_in x;

	(void)state;
	assert_null(decode_string(truncated, sizeof(truncated), 64, &err));
	assert_non_null(err);
	assert_null(decode_string(bad_pad, sizeof(bad_pad), 64, &err));
	assert_string_equal(err, "non-zero XDR padding");
	assert_null(decode_string(has_nul, sizeof(has_nul), 64, &err));
	assert_string_equal(err, "a string with a NUL byte");
	assert_null(decode_string(too_long, sizeof(too_long), 4, &err));
	assert_string_equal(err, "variable-length item longer than its bound");
	assert_null(decode_string(huge_len, sizeof(huge_len), UINT32_MAX, &err));
	assert_non_null(err);
	assert_null(decode_string(trailing, sizeof(trailing), 64, &err));
	assert_string_equal(err, "bytes left over after the last item");
	xdr_in_init(&x, bad_bool, sizeof(bad_bool));
	xdr_get_bool(&x);
	assert_string_equal(x.err, "a boolean that is neither 0 nor 1");
	/* Errors stick: later items read as zero. */
	assert_int_equal(xdr_get_u32(&x), 0);
	assert_false(xdr_in_done(&x));
}

static void test_out_limit(void **state)
{
	struct xdr_out o;

	(void)state;
	xdr_out_init(&o, 8);
	xdr_put_u32(&o, 1);
	xdr_put_string(&o, "toolong");
	assert_non_null(o.err);
	xdr_put_u32(&o, 2); /* ignored after the error: the encoding is to be dropped */
	assert_int_equal(o.len, 8);
	xdr_out_free(&o);
}

static void test_length_word(void **state)
{
	static const uint8_t ok28[] = {0, 0, 0, 28};
	static const uint8_t short27[] = {0, 0, 0, 27};
	static const uint8_t max[] = {0x02, 0, 0, 0x04};  /* 32 MiB + 4 */
	static const uint8_t over[] = {0x02, 0, 0, 0x05}; /* one more */

	(void)state;
	assert_int_equal(rpc_proto_body_len(ok28), 24);
	assert_int_equal(rpc_proto_body_len(short27), -1);
	assert_int_equal(rpc_proto_body_len(max), RPC_MESSAGE_MAX);
	assert_int_equal(rpc_proto_body_len(over), -1);
}

static void test_header(void **state)
{
	struct rpc_proto_hdr h = {.prog = RPC_REMOTE_PROGRAM,
				  .vers = 1,
				  .proc = 66,
				  .type = RPC_CALL,
				  .serial = 7},
			     g;
	struct xdr_out o;
	struct xdr_in x;

	(void)state;
	xdr_out_init(&o, RPC_MESSAGE_MAX + 4);
	rpc_proto_begin(&o, &h);
	rpc_proto_end(&o);
	assert_int_equal(o.len, 28);
	assert_int_equal(rpc_proto_body_len(o.p), 24);
	xdr_in_init(&x, o.p + 4, o.len - 4);
	assert_int_equal(rpc_proto_hdr_get(&x, &g), 0);
	assert_memory_equal(&g, &h, sizeof(h));
	/* An unknown type is refused. */
	o.p[4 + 15] = 9;
	xdr_in_init(&x, o.p + 4, o.len - 4);
	assert_int_equal(rpc_proto_hdr_get(&x, &g), -1);
	assert_string_equal(x.err, "unknown message type");
	/* A truncated header too. */
	xdr_in_init(&x, o.p + 4, 20);
	assert_int_equal(rpc_proto_hdr_get(&x, &g), -1);
	xdr_out_free(&o);
}

/* Byte for byte the reply libvirtd sends for an unknown procedure (LIBVIRT_PROTOCOL.md). */
static void test_unknown_procedure(void **state)
{
	struct rpc_proto_hdr c = {
		.prog = RPC_REMOTE_PROGRAM, .vers = 1, .proc = 7, .type = RPC_CALL, .serial = 3};
	/* clang-format off */
	static const uint8_t want[] = {
		0, 0, 0, 96,                        /* length */
		0x20, 0x00, 0x80, 0x86, 0, 0, 0, 1, /* program, version */
		0, 0, 0, 7, 0, 0, 0, 1,             /* proc 7, type REPLY */
		0, 0, 0, 3, 0, 0, 0, 1,             /* serial 3, status ERROR */
		0, 0, 0, 39, 0, 0, 0, 7,            /* code RPC, domain RPC */
		0, 0, 0, 1, 0, 0, 0, 20,            /* message present, 20 bytes */
		'u', 'n', 'k', 'n', 'o', 'w', 'n', ' ', 'p', 'r',
		'o', 'c', 'e', 'd', 'u', 'r', 'e', ':', ' ', '7',
		0, 0, 0, 2,                         /* level ERROR */
		0, 0, 0, 0,                         /* dom */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* str1..str3 */
		0, 0, 0, 0, 0, 0, 0, 0,             /* int1, int2 */
		0, 0, 0, 0,                         /* net */
	};
	/* clang-format on */
	struct xdr_out o;

	(void)state;
	xdr_out_init(&o, RPC_MESSAGE_MAX + 4);
	rpc_proto_unknown_proc_reply(&o, &c);
	assert_null(o.err);
	assert_int_equal(o.len, sizeof(want));
	assert_memory_equal(o.p, want, sizeof(want));
	xdr_out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip), cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_out_limit),  cmocka_unit_test(test_length_word),
		cmocka_unit_test(test_header),	   cmocka_unit_test(test_unknown_procedure),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
