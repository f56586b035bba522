/* test_net_proto.c: the cluster protocol's network messages (NET_SET, NET_LEASES) round trip
 * and refuse every malformed field; --net-attach's grammar; ranges, MACs and the host
 * interfaces' names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/proto/net_proto.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static void test_ranges_and_names(void **state)
{
	struct net_proto_net n = {.addr = IP(10, 77, 0, 0), .prefix = 16};
	uint32_t a, p;
	uint8_t mac[6];
	char text[32], name[NET_PROTO_IFNAME_MAX + 1];

	(void)state;
	assert_int_equal(net_proto_cidr_parse("10.77.0.0/16", &a, &p), 0);
	assert_true(a == IP(10, 77, 0, 0) && p == 16);
	assert_int_equal(net_proto_cidr_parse("192.168.1.0/30", &a, &p), 0);
	static const char *const bad[] = {"10.77.0.1/16",  "10.77.0.0",	   "10.77.0.0/",
					  "10.77.0.0/7",   "10.77.0.0/31", "10.77.0.0/016",
					  "10.77.0.0/16x", "10.77.0/16",   "10.77.0.0/ 16",
					  "/16",	   "10.777.0.0/16"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!net_proto_cidr_parse(bad[i], &a, &p))
			fail_msg("'%s' was taken as a range", bad[i]);
	assert_true(net_proto_gateway(&n) == IP(10, 77, 0, 1));
	assert_true(net_proto_host_ok(&n, IP(10, 77, 0, 2)));
	assert_true(net_proto_host_ok(&n, IP(10, 77, 255, 254)));
	assert_false(net_proto_host_ok(&n, IP(10, 77, 0, 0)));
	assert_false(net_proto_host_ok(&n, IP(10, 77, 0, 1)));
	assert_false(net_proto_host_ok(&n, IP(10, 77, 255, 255)));
	assert_false(net_proto_host_ok(&n, IP(10, 78, 0, 2)));
	net_proto_ip_format(IP(10, 77, 3, 200), text);
	assert_string_equal(text, "10.77.3.200");
	assert_int_equal(net_proto_mac_parse("52:54:00:Ab:cD:ef", mac), 0);
	net_proto_mac_format(mac, text);
	assert_string_equal(text, "52:54:00:ab:cd:ef");
	assert_true(net_proto_mac_ok(mac));
	assert_int_not_equal(net_proto_mac_parse("52:54:00:ab:cd:e", mac), 0);
	assert_int_not_equal(net_proto_mac_parse("52:54:00:ab:cd:eg", mac), 0);
	assert_int_not_equal(net_proto_mac_parse("52-54-00-ab-cd-ef", mac), 0);
	assert_int_not_equal(net_proto_mac_parse("52:54:00:ab:cd:ef:", mac), 0);
	assert_false(net_proto_mac_ok((uint8_t[]){1, 0, 0x5e, 0, 0, 1}));
	assert_false(net_proto_mac_ok((uint8_t[]){0, 0, 0, 0, 0, 0}));
	net_proto_tap_name(2147483647, 7, name);
	assert_string_equal(name, "lt2147483647n7");
	net_proto_tap_name(12, 0, name);
	assert_string_equal(name, "lt12n0");
	net_proto_bridge_name(16777215, name);
	assert_string_equal(name, "lgbr16777215");
	net_proto_vxlan_name(1001, name);
	assert_string_equal(name, "lgvx1001");
	net_proto_bridge_mac(0x0103e9, mac);
	net_proto_mac_format(mac, text);
	assert_string_equal(text, "02:4c:47:01:03:e9");
}

static void test_attach(void **state)
{
	struct net_proto_attach a;
	char err[256], text[NET_PROTO_ATTACH_MAX];

	(void)state;
	assert_int_equal(
		net_proto_attach_parse("network=default,mac=52:54:00:00:00:07,ip=10.77.0.7/16", &a,
				       err, sizeof(err)),
		0);
	assert_string_equal(a.network, "default");
	assert_true(a.ip == IP(10, 77, 0, 7) && a.prefix == 16 && a.mac[5] == 7);
	net_proto_attach_format(&a, text);
	assert_string_equal(text, "network=default,mac=52:54:00:00:00:07,ip=10.77.0.7/16");
	static const char *const bad[][2] = {
		{"network=default,mac=52:54:00:00:00:07", "is not network=NAME"},
		{"mac=52:54:00:00:00:07,network=default,ip=10.77.0.7/16", "is not network=NAME"},
		{"network=default,mac=52:54:00:00:00:07,ip=10.77.0.7/16,", "is not network=NAME"},
		{"network=default,mac=52:54:00:00:00:07,ip=10.77.0.7/16,x=1",
		 "is not network=NAME"},
		{"network=,mac=52:54:00:00:00:07,ip=10.77.0.7/16", "is not network=NAME"},
		{"network=a/b,mac=52:54:00:00:00:07,ip=10.77.0.7/16", "network name 'a/b'"},
		{"network=n,mac=53:54:00:00:00:07,ip=10.77.0.7/16", "not a unicast MAC"},
		{"network=n,mac=52:54:00:00:00:07,ip=10.77.0.7", "is not a vNode's address"},
		{"network=n,mac=52:54:00:00:00:07,ip=10.77.0.1/16", "is not a vNode's address"},
		{"network=n,mac=52:54:00:00:00:07,ip=10.77.255.255/16", "is not a vNode's address"},
		{"network=n,mac=52:54:00:00:00:07,ip=10.77.0.7/31", "is not a vNode's address"},
		{"network=n,mac=52:54:00:00:00:07,ip=10.77.0.7/016", "is not a vNode's address"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!net_proto_attach_parse(bad[i][0], &a, err, sizeof(err)) ||
		    !strstr(err, bad[i][1]))
			fail_msg("'%s': '%s', expected '%s'", bad[i][0], err, bad[i][1]);
}

static void test_set_round_trip(void **state)
{
	struct net_proto_set *m = calloc(2, sizeof(*m)), *g = m + 1;
	uint8_t buf[NET_PROTO_SET_LEN + 2 * NET_PROTO_NET_LEN + 2 * NET_PROTO_PEER_LEN];
	char err[256];
	uint32_t vtep;

	(void)state;
	m->nr_nets = 2;
	m->nets[0] = (struct net_proto_net){"default", 1001, IP(10, 77, 0, 0), 16};
	m->nets[1] = (struct net_proto_net){"other", 1002, IP(10, 78, 0, 0), 24};
	m->nr_peers = 2;
	m->peers[0] = IP(192, 168, 77, 2);
	m->peers[1] = IP(192, 168, 77, 3);
	assert_int_equal(net_proto_set_len(m), sizeof(buf));
	net_proto_set_put(buf, m);
	assert_int_equal(buf[NET_PROTO_SET_LEN + 68], 10); /* addresses in network order */
	assert_int_equal(net_proto_set_get(buf, sizeof(buf), g, err, sizeof(err)), CP_OK);
	assert_memory_equal(m->nets, g->nets, 2 * sizeof(m->nets[0]));
	assert_memory_equal(m->peers, g->peers, 2 * sizeof(m->peers[0]));
	assert_int_equal(net_proto_set_get(buf, sizeof(buf) - 1, g, err, sizeof(err)), CP_EPROTO);
	assert_int_equal(net_proto_set_get(buf, 8, g, err, sizeof(err)), CP_EPROTO);
	/* Each field refused: a byte changed, the reason checked. */
	static const struct {
		size_t off;
		uint8_t val;
		const char *why;
	} bad[] = {
		{8, 1, "reserved bytes of NET_SET"},
		{0, 65, "too many networks"},
		{4, 0, "payload length is wrong"},
		{NET_PROTO_SET_LEN, '/', "a network's name"},
		{NET_PROTO_SET_LEN, 0, "a network's name"},
		{NET_PROTO_SET_LEN + 67, 1, "VNI"},
		{NET_PROTO_SET_LEN + 71, 1, "not an IPv4 network"},
		{NET_PROTO_SET_LEN + 72, 31, "prefix 8..30"},
		{NET_PROTO_SET_LEN + 76, 1, "reserved bytes of a network"},
		{NET_PROTO_SET_LEN + NET_PROTO_NET_LEN + 64, 0xe9, "share a name or a VNI"},
		{NET_PROTO_SET_LEN + 2 * NET_PROTO_NET_LEN, 127, "not a unicast IPv4"},
		{NET_PROTO_SET_LEN + 2 * NET_PROTO_NET_LEN, 239, "not a unicast IPv4"},
		{NET_PROTO_SET_LEN + 2 * NET_PROTO_NET_LEN + 4, 1, "not a unicast IPv4"},
		{NET_PROTO_SET_LEN + 2 * NET_PROTO_NET_LEN + 3, 3, "listed twice"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[sizeof(buf)];

		memcpy(b, buf, sizeof(b));
		b[bad[i].off] = bad[i].val;
		err[0] = '\0';
		if (net_proto_set_get(b, sizeof(b), g, err, sizeof(err)) == CP_OK ||
		    !strstr(err, bad[i].why))
			fail_msg("byte %zu = %u: '%s', expected '%s'", bad[i].off, bad[i].val, err,
				 bad[i].why);
	}
	net_proto_set_reply_put(buf, IP(192, 168, 77, 1));
	assert_int_equal(
		net_proto_set_reply_get(buf, NET_PROTO_SET_REPLY_LEN, &vtep, err, sizeof(err)),
		CP_OK);
	assert_true(vtep == IP(192, 168, 77, 1));
	net_proto_set_reply_put(buf, IP(127, 0, 0, 1));
	assert_int_equal(
		net_proto_set_reply_get(buf, NET_PROTO_SET_REPLY_LEN, &vtep, err, sizeof(err)),
		CP_EINVAL);
	free(m);
}

static void test_leases(void **state)
{
	struct net_proto_lease l[2] = {
		{.expiry = 1700000000,
		 .mac = {0x52, 0x54, 0, 1, 2, 3},
		 .ip = IP(10, 77, 0, 2),
		 .hostname = "vna"},
		{.expiry = 0, .mac = {0x52, 0x54, 0, 1, 2, 4}, .ip = IP(10, 77, 0, 3)}};
	uint8_t buf[NET_PROTO_LEASES_REPLY_LEN + 2 * NET_PROTO_LEASE_LEN];
	struct net_proto_lease *got;
	char err[256], name[CP_NAME_LEN + 1];
	uint32_t n;

	(void)state;
	assert_int_equal(net_proto_leases_reply_len(2), sizeof(buf));
	net_proto_leases_reply_put(buf, l, 2);
	assert_int_equal(net_proto_leases_reply_get(buf, sizeof(buf), &got, &n, err, sizeof(err)),
			 CP_OK);
	assert_int_equal(n, 2);
	assert_memory_equal(got, l, sizeof(l));
	free(got);
	assert_int_equal(net_proto_leases_reply_get(buf, 8, &got, &n, err, sizeof(err)), CP_EPROTO);
	buf[NET_PROTO_LEASES_REPLY_LEN + 8] = 1; /* a multicast MAC */
	assert_int_equal(net_proto_leases_reply_get(buf, sizeof(buf), &got, &n, err, sizeof(err)),
			 CP_EINVAL);
	assert_null(got);
	buf[NET_PROTO_LEASES_REPLY_LEN + 8] = 0x52;
	buf[NET_PROTO_LEASES_REPLY_LEN + 24] = '/'; /* not a host name */
	assert_int_equal(net_proto_leases_reply_get(buf, sizeof(buf), &got, &n, err, sizeof(err)),
			 CP_EINVAL);
	buf[0] = 0xff; /* too many */
	buf[1] = 0xff;
	assert_int_equal(net_proto_leases_reply_get(buf, sizeof(buf), &got, &n, err, sizeof(err)),
			 CP_EINVAL);
	net_proto_leases_put(buf, "default");
	assert_int_equal(net_proto_leases_get(buf, NET_PROTO_LEASES_LEN, name, err, sizeof(err)),
			 CP_OK);
	assert_string_equal(name, "default");
	buf[0] = '.';
	buf[1] = '.';
	buf[2] = '/';
	assert_int_equal(net_proto_leases_get(buf, NET_PROTO_LEASES_LEN, name, err, sizeof(err)),
			 CP_EINVAL);
	assert_int_equal(net_proto_leases_get(buf, 3, name, err, sizeof(err)), CP_EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges_and_names),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_set_round_trip),
		cmocka_unit_test(test_leases),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
