/* test_remote_lib.c: latency-histogram quantiles, memory-server address parsing, and the
 * `regions` answer as lego-controld's reader (lib/proto/vmm_regions.c) reads it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/lat_hist.h"
#include "lib/proto/vmm_regions.h"
#include "vmm/control/control_json.h"
#include "vmm/memory/remote_mem.h"

/* Within the histogram's resolution (1/16 of the power of two). */
static void assert_near(uint64_t got, uint64_t want)
{
	uint64_t tol = want / 16 + 1;

	if (got + tol < want || got > want + tol)
		fail_msg("quantile %llu, expected %llu +- %llu", (unsigned long long)got,
			 (unsigned long long)want, (unsigned long long)tol);
}

static void test_lat_hist_quantiles(void **state)
{
	struct lat_hist *h = calloc(1, sizeof(*h));

	(void)state;
	assert_non_null(h);
	assert_int_equal(lat_hist_quantile(h, 0.5), 0);
	/* 1..100000 ns uniformly: p50 ~ 50 us, p99 ~ 99 us, p999 ~ 99.9 us. */
	for (uint64_t v = 1; v <= 100000; v++)
		lat_hist_add(h, v);
	assert_int_equal(lat_hist_count(h), 100000);
	assert_near(lat_hist_quantile(h, 0.5), 50000);
	assert_near(lat_hist_quantile(h, 0.99), 99000);
	assert_near(lat_hist_quantile(h, 0.999), 99900);
	/* Never above the largest value seen. */
	assert_true(lat_hist_quantile(h, 1.0) <= 100000);
	/* Small values are exact. */
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 10; i++)
		lat_hist_add(h, 7);
	assert_int_equal(lat_hist_quantile(h, 0.5), 7);
	/* Huge values land in the last bucket without overflow. */
	lat_hist_add(h, UINT64_MAX);
	assert_true(lat_hist_quantile(h, 1.0) > 0);
	free(h);
}

static void test_parse_server(void **state)
{
	char host[64], port[16];

	(void)state;
	assert_int_equal(
		remote_mem_parse_server("127.0.0.1:7410", host, sizeof(host), port, sizeof(port)),
		0);
	assert_string_equal(host, "127.0.0.1");
	assert_string_equal(port, "7410");
	assert_int_equal(
		remote_mem_parse_server("[::1]:99", host, sizeof(host), port, sizeof(port)), 0);
	assert_string_equal(host, "::1");
	assert_string_equal(port, "99");
	assert_int_equal(remote_mem_parse_server("mm-a.example:65535", host, sizeof(host), port,
						 sizeof(port)),
			 0);
	assert_int_equal(remote_mem_parse_server("nohost", host, sizeof(host), port, sizeof(port)),
			 -1);
	assert_int_equal(remote_mem_parse_server(":7410", host, sizeof(host), port, sizeof(port)),
			 -1);
	assert_int_equal(remote_mem_parse_server("h:0", host, sizeof(host), port, sizeof(port)),
			 -1);
	assert_int_equal(remote_mem_parse_server("h:65536", host, sizeof(host), port, sizeof(port)),
			 -1);
	assert_int_equal(remote_mem_parse_server("h:12x", host, sizeof(host), port, sizeof(port)),
			 -1);
	assert_int_equal(remote_mem_parse_server("h:", host, sizeof(host), port, sizeof(port)), -1);
	/* A host longer than the buffer is refused, not cut. */
	assert_int_equal(
		remote_mem_parse_server("averyveryverylonghostname:1", host, 8, port, sizeof(port)),
		-1);
}

static void region_copy(struct remote_mem_region *g, int server, int state, bool failed)
{
	struct remote_mem_copy *cp = &g->copies[g->nr_copies++];

	atomic_store(&cp->server, server);
	cp->state = state;
	atomic_store(&cp->failed, failed);
}

/* Two servers (a name with a quote, an address that is not UTF-8, one lost), two vRegions:
 * what lego-vmm writes, lego-controld's strict reader reads back. */
static void test_regions_answer(void **state)
{
	struct remote_mem *rm = calloc(1, sizeof(*rm));
	struct vmm_regions_answer *a = calloc(1, sizeof(*a));
	char err[300], *line;

	(void)state;
	assert_non_null(rm);
	assert_non_null(a);
	atomic_store(&rm->nr_servers, 2);
	strcpy(rm->servers[0].addr, "127.0.0.1:7001");
	strcpy(rm->servers[0].name, "m\"a\\");
	strcpy(rm->servers[1].addr, "b\xff:7002");
	strcpy(rm->servers[1].name, "mb");
	atomic_store(&rm->servers[1].dead, true);
	rm->nr_regions = 2;
	rm->regions = calloc(2, sizeof(*rm->regions));
	assert_non_null(rm->regions);
	for (int i = 0; i < 2; i++)
		pthread_rwlock_init(&rm->regions[i].lock, NULL);
	region_copy(&rm->regions[0], 0, RM_COPY_LIVE, false);
	region_copy(&rm->regions[0], 1, RM_COPY_JOINING, false);
	region_copy(&rm->regions[1], 0, RM_COPY_LIVE, true);
	atomic_store(&rm->copies_lost, 3);
	atomic_store(&rm->redirects, 1);

	line = control_json_line(control_json_regions(rm), true);
	assert_non_null(line);
	assert_null(strstr(line, ": ")); /* compact */
	assert_int_equal(line[strlen(line) - 1], '\n');
	assert_int_equal(vmm_regions_parse(line, a, err, sizeof(err)), 0);
	assert_int_equal(a->nr_servers, 2);
	assert_string_equal(a->servers[0].name, "m\"a\\");
	assert_string_equal(a->servers[1].addr, "b?:7002");
	assert_false(a->servers[0].lost);
	assert_true(a->servers[1].lost);
	assert_int_equal(a->nr_regions, 2);
	assert_int_equal(a->regions[0].nr, 2);
	assert_true(a->regions[0].c[0].live);
	assert_false(a->regions[0].c[1].live);
	assert_true(a->regions[0].c[1].failed); /* its server is lost */
	assert_int_equal(a->regions[1].c[0].server, 0);
	assert_true(a->regions[1].c[0].failed);
	assert_int_equal(a->copies_lost, 3);
	assert_int_equal(a->redirects, 1);
	free(line);
	for (int i = 0; i < 2; i++)
		pthread_rwlock_destroy(&rm->regions[i].lock);
	free(rm->regions);
	free(rm);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lat_hist_quantiles),
		cmocka_unit_test(test_parse_server),
		cmocka_unit_test(test_regions_answer),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
