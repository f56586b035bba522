/* test_controld_registry.c: lego-controld's table of components over a long life: servers and
 * hosts come and go, and the table (REG_MAX_COMPONENTS) makes room by forgetting the one down
 * the longest that no running vNode names, never one that is up or named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_registry_store.h"
#include "lib/log.h"

static int reg(int kind, const char *name, uint64_t conn)
{
	struct cluster_proto_register r = {.kind = (uint32_t)kind, .capacity_bytes = 1 << 20};
	char err[256] = "";
	int rc;

	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.addr, sizeof(r.addr), "127.0.0.1:%llu", (unsigned long long)conn);
	rc = controld_registry_register(&r, conn, err, sizeof(err));
	if (rc != CP_OK)
		print_message("# %s: %s\n", name, err);
	return rc;
}

static void test_components_come_and_go(void **state)
{
	struct domain_xml_def d = {.memory_kib = 2048};
	struct controld_registry_vnode *v;
	char name[32];

	(void)state;
	controld_registry_lock();
	for (int i = 0; i < REG_MAX_COMPONENTS; i++) {
		snprintf(name, sizeof(name), "mem-%d", i);
		assert_int_equal(reg(CP_KIND_MMON, name, (uint64_t)i + 1), CP_OK);
	}
	/* Every one up: no room. */
	assert_int_equal(reg(CP_KIND_MMON, "late", 1000), CP_ENOSPC);
	/* mem-3 goes down first, then mem-7; a running vNode has a copy on mem-3. */
	snprintf(d.name, sizeof(d.name), "vn");
	d.has_uuid = true;
	d.uuid[0] = 1;
	v = controld_registry_new_vnode(&d);
	assert_non_null(v);
	v->id = 5;
	assert_int_equal(vnode_map_server(&v->map, "mem-3", "127.0.0.1:4"), 0);
	v->map.nr_regions = 1;
	assert_int_equal(vnode_map_add_copy(&v->map, 0, 0), 0);
	controld_registry_connection_lost(4); /* mem-3 */
	usleep(2000);
	controld_registry_connection_lost(8); /* mem-7 */
	/* The one down the longest that no vNode names makes room: mem-7, not mem-3. */
	assert_int_equal(reg(CP_KIND_MMON, "late", 1000), CP_OK);
	assert_null(controld_registry_find_component(CP_KIND_MMON, "mem-7"));
	assert_non_null(controld_registry_find_component(CP_KIND_MMON, "mem-3"));
	assert_true(controld_registry_find_component(CP_KIND_MMON, "late")->alive);
	assert_int_equal(controld_registry_nr_components(), REG_MAX_COMPONENTS);
	/* Full again, the only one down is named: no room. */
	assert_int_equal(reg(CP_KIND_PMON, "host-z", 1001), CP_ENOSPC);
	/* Once the run ended, mem-3 can go too; and a name that comes back is itself again. */
	v->id = -1;
	assert_int_equal(reg(CP_KIND_PMON, "host-z", 1001), CP_OK);
	assert_null(controld_registry_find_component(CP_KIND_MMON, "mem-3"));
	controld_registry_connection_lost(1001);
	assert_int_equal(reg(CP_KIND_PMON, "host-z", 1002), CP_OK);
	assert_int_equal(controld_registry_find_component(CP_KIND_PMON, "host-z")->registrations,
			 2);
	controld_registry_unlock();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_components_come_and_go),
	};

	log_set_level(LOG_ERROR);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
