/* test_controld_net.c: lego-controld's networks (--network specs, the state directory) and
 * the interfaces of definitions: MACs generated and unique, addresses the lowest free ones of
 * their network, kept by a redefinition, freed by an undefine, refused when taken, outside,
 * or on no network; a run's --net-attach options read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "controlplane/controld/controld_net.h"
#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_state.h"
#include "controlplane/controld/libvirt/rpc_proto.h"
#include "lib/uuid_str.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static char dir[] = "/tmp/lego-test-controld-net.XXXXXX";

/* A definition named name with an interface on each of nets (NULL-terminated). */
static struct domain_xml_def def(const char *name, const char *const *nets)
{
	struct domain_xml_def d = {.memory_kib = 16384, .current_kib = 16384, .vcpus = 1};

	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.kernel, sizeof(d.kernel), "/k");
	uuid_str_generate(d.uuid);
	d.has_uuid = true;
	for (; *nets; nets++)
		snprintf(d.ifaces[d.nr_ifaces++].network, sizeof(d.ifaces[0].network), "%s", *nets);
	return d;
}

/* controld_registry_define under the lock: 0 or the libvirt error, err kept. */
static int define(struct domain_xml_def *d, char *err, size_t errlen)
{
	struct controld_registry_vnode *v;
	int rc;

	controld_registry_lock();
	rc = controld_registry_define(d, &v, err, errlen);
	if (!rc)
		*d = v->def;
	controld_registry_unlock();
	return rc;
}

static int setup(void **state)
{
	static const char *const specs[] = {"default=10.77.0.0/16", "small=192.168.5.0/29"};

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(controld_state_open(&(struct controld_state_options){.spec = dir}), 0);
	assert_int_equal(controld_registry_store_init(), 0);
	return controld_net_init(specs, 2);
}

static void test_networks(void **state)
{
	static const char *const overlap[] = {"wide=10.0.0.0/8"};
	static const char *const moved[] = {"default=10.99.0.0/16"};
	static const char *const again[] = {"default=10.77.0.0/16", "third=172.16.0.0/12"};
	static const char *const bad[] = {"nocidr", "x=10.0.0.1/8", "a b=10.5.0.0/16"};
	const struct controld_net *n;
	char path[256], text[256] = "";
	FILE *f;

	(void)state;
	assert_int_equal(controld_net_count(), 2);
	n = controld_net_find("default");
	assert_non_null(n);
	assert_true(n->n.addr == IP(10, 77, 0, 0) && n->n.prefix == 16 && n->n.vni == 1001);
	assert_int_equal(controld_net_find("small")->n.vni, 1002);
	assert_ptr_equal(controld_net_find_uuid(n->uuid), n);
	snprintf(path, sizeof(path), "%s/networks/default.net", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
	fclose(f);
	assert_non_null(strstr(text, "cidr 10.77.0.0/16\nvni 1001\n"));
	assert_int_equal(controld_net_init(overlap, 1), -1);
	assert_int_equal(controld_net_init(moved, 1), -1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(controld_net_init(&bad[i], 1), -1);
	assert_int_equal(controld_net_init(again, 2), 0);
	assert_int_equal(controld_net_count(), 3);
	assert_int_equal(controld_net_find("third")->n.vni, 1003);
}

static void test_assign(void **state)
{
	static const char *const both[] = {"default", "small", NULL};
	static const char *const one[] = {"small", NULL};
	static const char *const none[] = {"nonet", NULL};
	struct domain_xml_def a = def("a", both), b, c;
	char err[512];

	(void)state;
	assert_int_equal(define(&a, err, sizeof(err)), 0);
	assert_true(a.ifaces[0].has_mac && a.ifaces[1].has_mac);
	assert_true(a.ifaces[0].mac[0] == 0x52 && a.ifaces[0].mac[1] == 0x54 &&
		    !a.ifaces[0].mac[2]);
	assert_memory_not_equal(a.ifaces[0].mac, a.ifaces[1].mac, 6);
	assert_true(a.ifaces[0].ip == IP(10, 77, 0, 2) && a.ifaces[0].prefix == 16);
	assert_true(a.ifaces[1].ip == IP(192, 168, 5, 2) && a.ifaces[1].prefix == 29);
	/* small has 192.168.5.2..6 for vNodes: four more, then none. */
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "s%d", i);
		b = def(name, one);
		assert_int_equal(define(&b, err, sizeof(err)), 0);
		assert_true(b.ifaces[0].ip == IP(192, 168, 5, 3 + i));
	}
	b = def("full", one);
	assert_int_equal(define(&b, err, sizeof(err)), RPC_ERR_OPERATION_FAILED);
	assert_non_null(strstr(err, "network 'small' has no free address"));
	b = def("dup", one);
	memcpy(b.ifaces[0].mac, a.ifaces[1].mac, 6);
	b.ifaces[0].has_mac = true;
	assert_int_equal(define(&b, err, sizeof(err)), RPC_ERR_OPERATION_INVALID);
	assert_non_null(strstr(err, "is already used by vNode 'a'"));
	b = def("ipdup", both);
	b.ifaces[0].ip = IP(10, 77, 0, 2);
	assert_int_equal(define(&b, err, sizeof(err)), RPC_ERR_OPERATION_INVALID);
	assert_non_null(strstr(err, "address 10.77.0.2 is already used in network 'default'"));
	b.ifaces[0].ip = IP(10, 78, 0, 2);
	assert_int_equal(define(&b, err, sizeof(err)), RPC_ERR_XML);
	assert_non_null(strstr(err, "is not a vNode's address in network 'default'"));
	b.ifaces[0].ip = IP(10, 77, 0, 1);
	assert_int_equal(define(&b, err, sizeof(err)), RPC_ERR_XML);
	b.ifaces[0].ip = IP(10, 77, 9, 9);
	b.ifaces[0].prefix = 24;
	assert_int_equal(define(&b, err, sizeof(err)), RPC_ERR_XML);
	assert_non_null(strstr(err, "network 'default' has prefix 16"));
	b = def("twice", both);
	snprintf(b.ifaces[1].network, sizeof(b.ifaces[1].network), "default");
	b.ifaces[0].has_mac = b.ifaces[1].has_mac = true;
	memset(b.ifaces[0].mac, 0x02, 6);
	memset(b.ifaces[1].mac, 0x02, 6);
	assert_int_equal(define(&b, err, sizeof(err)), RPC_ERR_OPERATION_INVALID);
	assert_non_null(strstr(err, "given to two interfaces"));
	b = def("nonet", none);
	assert_int_equal(define(&b, err, sizeof(err)), RPC_ERR_NO_NETWORK);
	/* A redefinition keeps the address of a MAC it keeps; its own addresses are free to it. */
	c = a;
	c.ifaces[0].ip = 0;
	c.ifaces[1].ip = 0;
	assert_int_equal(define(&c, err, sizeof(err)), 0);
	assert_true(c.ifaces[0].ip == IP(10, 77, 0, 2) && c.ifaces[1].ip == IP(192, 168, 5, 2));
	/* An undefine frees them: the next definition on small gets 192.168.5.2. */
	controld_registry_lock();
	assert_int_equal(
		controld_registry_undefine(controld_registry_find_name("a"), err, sizeof(err)), 0);
	controld_registry_unlock();
	b = def("after", one);
	assert_int_equal(define(&b, err, sizeof(err)), 0);
	assert_true(b.ifaces[0].ip == IP(192, 168, 5, 2));
}

static void test_run_args(void **state)
{
	static const char args[] = "--kernel\0/k\0--net-attach\0network=default,mac=52:54:00:00:00:"
				   "09,ip=10.77.0.9/16\0--mem\0"
				   "16M\0--net-attach\0network=small,mac=52:54:00:00:00:0a,ip=192."
				   "168.5.6/29";
	static const char bad[] =
		"--net-attach\0network=default,mac=52:54:00:00:00:09,ip=10.77.0.1/16";
	static const char *const none[] = {NULL};
	struct domain_xml_def d = def("run", none);
	struct controld_registry_vnode *v;
	char err[256];

	(void)state;
	assert_int_equal(define(&d, err, sizeof(err)), 0);
	controld_registry_lock();
	v = controld_registry_find_name("run");
	assert_int_equal(controld_registry_set_run_args(v, args, 8, sizeof(args), 1, 0), 0);
	assert_int_equal(controld_net_run_from_args(v), 0);
	assert_int_equal(v->run_nr_net, 2);
	assert_true(v->run_net[0].ip == IP(10, 77, 0, 9) && v->run_net[1].prefix == 29);
	assert_string_equal(v->run_net[1].network, "small");
	/* What a run holds is taken until it ends, even if no definition names it. */
	assert_true(controld_net_mac_known("default", v->run_net[0].mac));
	assert_false(controld_net_mac_known("small", v->run_net[0].mac));
	assert_int_equal(controld_registry_set_run_args(v, bad, 2, sizeof(bad), 1, 0), 0);
	assert_int_equal(controld_net_run_from_args(v), -1);
	controld_registry_unlock();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_assign),
		cmocka_unit_test(test_run_args),
	};
	int rc;

	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests(tests, setup, NULL);
	if (dir[strlen(dir) - 1] != 'X') {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			rc = 1;
	}
	return rc;
}
