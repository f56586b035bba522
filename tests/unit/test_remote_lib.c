/* test_remote_lib.c: latency-histogram quantiles, memory-server address parsing, the
 * `regions` answer as lego-controld's reader (lib/proto/vmm_regions.c) reads it, and the
 * reuse of server entries over a vNode's life (many more servers than the table holds), and
 * server-lost keeping a vRegion's last live copy. */
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
#include "vmm/memory/remote_mem_internal.h"

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

static struct remote_mem *entries_rm(int nr_regions)
{
	struct remote_mem *rm = calloc(1, sizeof(*rm));

	assert_non_null(rm);
	pthread_mutex_init(&rm->servers_lock, NULL);
	pthread_mutex_init(&rm->error_lock, NULL);
	rm->nr_regions = nr_regions;
	rm->regions = calloc((size_t)nr_regions, sizeof(*rm->regions));
	assert_non_null(rm->regions);
	for (int i = 0; i < nr_regions; i++)
		pthread_rwlock_init(&rm->regions[i].lock, NULL);
	return rm;
}

static void entries_free(struct remote_mem *rm)
{
	for (int i = 0; i < rm->nr_regions; i++)
		pthread_rwlock_destroy(&rm->regions[i].lock);
	free(rm->regions);
	free(rm);
}

/* A copy of region r on the server at addr, as region-add makes it (the entry held by the
 * lookup until the copy names it): its entry, new to the vNode if is_new. */
static int entries_add(struct remote_mem *rm, int r, const char *addr, bool is_new)
{
	struct mem_proto_open_reply o = {.handle = 1, .epoch = 1};
	struct remote_mem_region *g = &rm->regions[r];
	char err[200] = "";
	bool created;
	int s = remote_mem_server_by_addr(rm, addr, &created, err, sizeof(err));

	if (s < 0)
		fail_msg("%s: %s", addr, err);
	assert_int_equal(created, is_new);
	remote_mem_set_copy(rm, &g->copies[g->nr_copies++], true, s, RM_COPY_LIVE, &o);
	remote_mem_server_put(rm, s);
	return s;
}

/* 200 servers over a vNode's life, each lost in turn once the next holds the copies (as
 * re-replication then server-lost and region-drop do): the table never grows past the
 * servers in use at once, every lost entry is reused, the view names the new server. */
static void test_server_entries_reused(void **state)
{
	struct remote_mem *rm = entries_rm(2);
	struct remote_mem_server_view sv[RM_MAX_SERVERS];
	struct remote_mem_copy_view cv[RM_MAX_COPIES];
	char addr[64], err[200];
	int prev = -1, n;

	(void)state;
	for (int i = 0; i < 200; i++) {
		int s;

		snprintf(addr, sizeof(addr), "10.0.%d.%d:7400", i / 200, i % 200);
		s = entries_add(rm, 0, addr, true);
		assert_int_equal(entries_add(rm, 1, addr, false), s); /* the same server */
		assert_int_equal(remote_mem_find_copy(&rm->regions[1], s), 1 - (prev < 0));
		if (prev >= 0) {
			/* The old server is lost, its copies dropped: its entry is free. */
			atomic_store(&rm->servers[prev].dead, true);
			assert_int_equal(atomic_load(&rm->servers[prev].refs), 2);
			remote_mem_remove_copy(rm, &rm->regions[0], 0);
			remote_mem_remove_copy(rm, &rm->regions[1], 0);
			assert_int_equal(atomic_load(&rm->servers[prev].refs), 0);
		}
		assert_int_equal(atomic_load(&rm->servers[s].refs), 2);
		assert_true(atomic_load(&rm->nr_servers) <= 2);
		prev = s;
	}
	/* The view names every entry's current server; a copy view holds its entry. */
	assert_int_equal(remote_mem_copies_region(rm, 0, cv), 1);
	assert_int_equal(cv[0].server, prev);
	assert_int_equal(atomic_load(&rm->servers[prev].refs), 3);
	n = remote_mem_copies_servers(rm, sv);
	assert_int_equal(n, 2);
	assert_string_equal(sv[prev].addr, addr);
	assert_false(sv[prev].lost);
	assert_true(sv[1 - prev].lost);
	remote_mem_copies_region_done(rm, cv, 1);
	assert_int_equal(atomic_load(&rm->servers[prev].refs), 2);
	/* A lost server's entry that a copy still names is not reused, nor is a held one. */
	atomic_store(&rm->servers[prev].dead, true);
	remote_mem_server_hold(rm, 1 - prev);
	assert_int_equal(remote_mem_server_by_addr(rm, "10.9.9.9:1", NULL, err, sizeof(err)), 2);
	remote_mem_server_put(rm, 1 - prev);
	remote_mem_server_put(rm, 2);
	/* The address of a live entry finds it, not a new one. */
	atomic_store(&rm->servers[prev].dead, false);
	assert_int_equal(remote_mem_server_find(rm, addr), prev);
	remote_mem_server_put(rm, prev);
	assert_int_equal(remote_mem_server_find(rm, "10.8.8.8:1"), -1);
	entries_free(rm);
}

/* Every entry in use at once: the next server is refused, saying why; a lost entry whose
 * copies are dropped makes room again. */
static void test_server_entries_full(void **state)
{
	struct remote_mem *rm = entries_rm(RM_MAX_SERVERS);
	char addr[64], err[200];

	(void)state;
	for (int i = 0; i < RM_MAX_SERVERS; i++) {
		snprintf(addr, sizeof(addr), "m%d:1", i);
		assert_int_equal(entries_add(rm, i, addr, true), i);
	}
	assert_int_equal(remote_mem_server_by_addr(rm, "late:1", NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at once"));
	/* A live server whose copies all went elsewhere: its entry is reused too. */
	remote_mem_remove_copy(rm, &rm->regions[7], 0);
	assert_int_equal(remote_mem_server_by_addr(rm, "late:1", NULL, err, sizeof(err)), 7);
	assert_string_equal(rm->servers[7].addr, "late:1");
	remote_mem_server_put(rm, 7);
	assert_int_equal(remote_mem_server_by_addr(rm, "bad", NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not HOST:PORT"));
	entries_free(rm);
}

/* The control plane's server-lost: a server's copies fail, but a vRegion's last live copy
 * stays (the VMM may still reach the server: its own requests decide); the server is marked
 * lost only when no copy stays there. */
static void test_server_lost_keeps_last_copies(void **state)
{
	struct remote_mem *rm = entries_rm(3);
	struct remote_mem_copy_view cv[RM_MAX_COPIES];
	int a, b, failed;

	(void)state;
	a = entries_add(rm, 0, "10.0.0.1:1", true);
	b = entries_add(rm, 0, "10.0.0.2:1", true);
	entries_add(rm, 1, "10.0.0.2:1", false); /* vRegion 1: only on b */
	entries_add(rm, 2, "10.0.0.1:1", false); /* vRegion 2: live on a, joining on b */
	entries_add(rm, 2, "10.0.0.2:1", false);
	rm->regions[2].copies[1].state = RM_COPY_JOINING;
	assert_int_equal(remote_mem_copies_server_lost(rm, "10.0.0.2:1", &failed), 1);
	assert_int_equal(failed, 2); /* vRegion 0's and 2's copies there */
	assert_false(atomic_load(&rm->servers[b].dead));
	assert_int_equal(remote_mem_copies_region(rm, 1, cv), 1);
	assert_false(cv[0].failed); /* vRegion 1 keeps its only copy */
	remote_mem_copies_region_done(rm, cv, 1);
	assert_int_equal(remote_mem_copies_region(rm, 0, cv), 2);
	assert_false(cv[0].failed);
	assert_true(cv[1].failed);
	remote_mem_copies_region_done(rm, cv, 2);
	/* Now a holds vRegions 0's and 2's last live copies: both stay. */
	assert_int_equal(remote_mem_copies_server_lost(rm, "10.0.0.1:1", &failed), 2);
	assert_int_equal(failed, 0);
	assert_false(atomic_load(&rm->servers[a].dead));
	/* A server all of whose copies have another: marked lost. */
	rm->regions[1].copies[0].state = RM_COPY_JOINING;
	assert_int_equal(remote_mem_copies_server_lost(rm, "10.0.0.2:1", &failed), 0);
	assert_int_equal(failed, 1);
	assert_true(atomic_load(&rm->servers[b].dead));
	assert_int_equal(remote_mem_copies_server_lost(rm, "10.0.0.9:1", &failed), 0);
	assert_int_equal(failed, 0);
	entries_free(rm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lat_hist_quantiles),
		cmocka_unit_test(test_parse_server),
		cmocka_unit_test(test_regions_answer),
		cmocka_unit_test(test_server_entries_reused),
		cmocka_unit_test(test_server_entries_full),
		cmocka_unit_test(test_server_lost_keeps_last_copies),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
