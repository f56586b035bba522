/* test_pool_stuck.c: when the memory pool's re-replication is stuck, and why: a vRegion's
 * failed steps left alone longer after each failure in a row and forgotten on success, a
 * vNode stuck after STUCK_TRIES failures (the last one's reason, e.g. the VMM's refusal) or a
 * lack of room, said once at error level (a lack of room only once it lasted), not at each
 * retry, and once when it goes on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "controlplane/controld/mempool/controld_pool_stuck.h"
#include "lib/log.h"

static const uint8_t U1[16] = {1}, U2[16] = {2};

/* The log lines at error level and the "no longer stuck" ones, counted from stderr. */
static char logfile[] = "/tmp/lego-test-stuck.XXXXXX";
static int count_lines(const char *what)
{
	char line[1024];
	FILE *f;
	int n = 0;

	fflush(stderr);
	f = fopen(logfile, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

static void pass(const uint8_t *uuid, int id, const char *vnode, int region, const char *why,
		 enum controld_pool_stuck_cause cause, int64_t now)
{
	controld_pool_stuck_pass_begin();
	if (uuid)
		controld_pool_stuck_note(uuid, id, vnode, region, why, cause, now);
	controld_pool_stuck_pass_end(now);
}

static void test_failures_back_off(void **state)
{
	char why[STUCK_REASON_MAX];
	int64_t t = 1000000;

	(void)state;
	assert_false(controld_pool_stuck_backing_off(U1, 7, 3, t));
	assert_int_equal(controld_pool_stuck_failed(U1, 7, 3, "refused", t), 1);
	assert_true(controld_pool_stuck_backing_off(U1, 7, 3, t + 1999));
	assert_false(controld_pool_stuck_backing_off(U1, 7, 3, t + 2000));
	assert_false(controld_pool_stuck_backing_off(U1, 7, 4, t)); /* another region */
	assert_false(controld_pool_stuck_backing_off(U1, 8, 3, t)); /* another run */
	assert_false(controld_pool_stuck_region_why(U1, 7, 3, why, sizeof(why)));
	/* Each failure in a row waits twice as long, up to a bound. */
	assert_int_equal(controld_pool_stuck_failed(U1, 7, 3, "refused again", t), 2);
	assert_true(controld_pool_stuck_backing_off(U1, 7, 3, t + 3999));
	assert_false(controld_pool_stuck_backing_off(U1, 7, 3, t + 4000));
	assert_int_equal(controld_pool_stuck_failed(U1, 7, 3, "lego-vmm refused it: no", t), 3);
	assert_true(controld_pool_stuck_region_why(U1, 7, 3, why, sizeof(why)));
	assert_string_equal(why, "lego-vmm refused it: no");
	for (int i = 0; i < 10; i++)
		controld_pool_stuck_failed(U1, 7, 3, "again", t);
	assert_true(controld_pool_stuck_backing_off(U1, 7, 3, t + 15999));
	assert_false(controld_pool_stuck_backing_off(U1, 7, 3, t + 16000));
	/* A success forgets them. */
	controld_pool_stuck_succeeded(U1, 7, 3);
	assert_false(controld_pool_stuck_backing_off(U1, 7, 3, t));
	assert_false(controld_pool_stuck_region_why(U1, 7, 3, why, sizeof(why)));
	assert_int_equal(controld_pool_stuck_failed(U1, 7, 3, "x", t), 1);
	controld_pool_stuck_succeeded(U1, 7, 3);
	/* Many regions failing: the table keeps working (the oldest go). */
	for (int r = 0; r < 500; r++)
		assert_int_equal(controld_pool_stuck_failed(U2, 1, r, "x", t + r), 1);
	assert_int_equal(controld_pool_stuck_failed(U2, 1, 499, "x", t), 2);
}

static void test_stuck_said_once(void **state)
{
	struct controld_pool_stuck_view v[4];
	int64_t t = 5000000;

	(void)state;
	assert_int_equal(count_lines("re-replication is stuck"), 0);
	/* A VMM's refusal: stuck at once, said once however often the pass notes it. */
	for (int i = 0; i < 20; i++)
		pass(U1, 7, "vn1", 12, "lego-vmm refused 'region-add 12@h:1': too many",
		     POOL_STUCK_STEPS_FAIL, t + i * 200);
	assert_int_equal(count_lines("error: vNode vn1: re-replication is stuck: vRegion 12: "
				     "lego-vmm refused 'region-add 12@h:1': too many"),
			 1);
	assert_int_equal(controld_pool_stuck_list(v, 4, t + 4000), 1);
	assert_string_equal(v[0].vnode, "vn1");
	assert_int_equal(v[0].region, 12);
	assert_int_equal(v[0].cause, POOL_STUCK_STEPS_FAIL);
	assert_int_equal(v[0].since_ms, 4000);
	assert_true(controld_pool_stuck_of(U1, 7, &v[1], t));
	assert_false(controld_pool_stuck_of(U1, 8, &v[1], t));
	/* Going again: one line. */
	pass(U1, 7, "vn1", -1, NULL, POOL_STUCK_STEPS_FAIL, t + 5000);
	assert_int_equal(count_lines("vNode vn1: re-replication is no longer stuck"), 1);
	assert_int_equal(controld_pool_stuck_list(v, 4, t), 0);
	/* No room: shown at once, said only once it lasted. */
	pass(U2, 3, "vn2", 0, "no memory server has room", POOL_STUCK_NO_ROOM, t);
	assert_int_equal(controld_pool_stuck_list(v, 4, t), 1);
	assert_int_equal(v[0].cause, POOL_STUCK_NO_ROOM);
	pass(U2, 3, "vn2", 0, "no memory server has room", POOL_STUCK_NO_ROOM, t + 4999);
	assert_int_equal(count_lines("vNode vn2: re-replication is stuck"), 0);
	pass(U2, 3, "vn2", 0, "no memory server has room", POOL_STUCK_NO_ROOM, t + 5000);
	pass(U2, 3, "vn2", 0, "no memory server has room", POOL_STUCK_NO_ROOM, t + 5200);
	assert_int_equal(count_lines("vNode vn2: re-replication is stuck"), 1);
	/* A vNode no pass notes any more (every vRegion has its copies, or it stopped). */
	pass(NULL, 0, NULL, 0, NULL, POOL_STUCK_STEPS_FAIL, t + 6000);
	assert_int_equal(count_lines("vNode vn2: re-replication is no longer stuck"), 1);
	assert_int_equal(controld_pool_stuck_list(v, 4, t), 0);
	/* A lack of room that ends before it lasted is never said. */
	pass(U2, 4, "vn3", 0, "no room", POOL_STUCK_NO_ROOM, t);
	pass(NULL, 0, NULL, 0, NULL, POOL_STUCK_STEPS_FAIL, t + 1000);
	assert_int_equal(count_lines("vn3"), 0);
	/* The only copy's server down (a restarted lego-controld waiting for registrations):
	 * shown at once, said only once it lasted, never if the server is back before. */
	pass(U2, 5, "vn4", 1, "its only copy is on memory server m, which is down",
	     POOL_STUCK_SERVER_DOWN, t);
	assert_int_equal(controld_pool_stuck_list(v, 4, t), 1);
	assert_int_equal(v[0].cause, POOL_STUCK_SERVER_DOWN);
	pass(U2, 5, "vn4", 1, "its only copy is on memory server m, which is down",
	     POOL_STUCK_SERVER_DOWN, t + 1400);
	pass(NULL, 0, NULL, 0, NULL, POOL_STUCK_STEPS_FAIL, t + 1600);
	assert_int_equal(count_lines("vn4"), 0);
	pass(U2, 6, "vn5", 1, "its only copy is on memory server m, which is down",
	     POOL_STUCK_SERVER_DOWN, t);
	pass(U2, 6, "vn5", 1, "its only copy is on memory server m, which is down",
	     POOL_STUCK_SERVER_DOWN, t + 5000);
	assert_int_equal(
		count_lines("error: vNode vn5: re-replication is stuck: vRegion 1: its only "
			    "copy is on memory server m, which is down"),
		1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failures_back_off),
		cmocka_unit_test(test_stuck_said_once),
	};
	int fd = mkstemp(logfile), rc;

	if (fd < 0 || dup2(fd, 2) < 0)
		return 1;
	close(fd);
	log_set_level(LOG_INFO);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (rc) { /* what was logged, to see why */
		char line[1024];
		FILE *f = fopen(logfile, "r");

		while (f && fgets(line, sizeof(line), f))
			printf("# %s", line);
		if (f)
			fclose(f);
	}
	unlink(logfile);
	return rc;
}
