/* test_vnode_map.c: a vNode's vRegion map (copies added and dropped, promotion, servers
 * renumbered, --region-owners' text both ways, lego-vmm's options rewritten) and the strict
 * reader of lego-vmm's `regions` answer: what it accepts, every refusal, and random or
 * mutated answers that must never crash it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/proto/vmm_regions.h"
#include "controlplane/controld/vnode_map.h"

static void three_servers(struct vnode_map *m)
{
	memset(m, 0, sizeof(*m));
	assert_int_equal(vnode_map_server(m, "mm1", "127.0.0.1:1"), 0);
	assert_int_equal(vnode_map_server(m, "mm2", "127.0.0.1:2"), 1);
	assert_int_equal(vnode_map_server(m, "mm3", "127.0.0.1:3"), 2);
}

static void test_owners_text(void **state)
{
	struct vnode_map m;
	char buf[64];

	(void)state;
	three_servers(&m);
	assert_int_equal(vnode_map_parse_owners(&m, "0+1,1+2,2"), 0);
	assert_int_equal(m.nr_regions, 3);
	assert_int_equal(m.nr_copies[0], 2);
	assert_int_equal(m.copy[1][1], 2);
	assert_int_equal(m.nr_copies[2], 1);
	assert_int_equal(vnode_map_format_owners(&m, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "0+1,1+2,2");
	assert_int_equal(vnode_map_format_owners(&m, buf, 9), -1); /* no room for the NUL */
	/* Older run files: one owner per region. */
	assert_int_equal(vnode_map_parse_owners(&m, "0,1,1,0"), 0);
	assert_int_equal(m.nr_regions, 4);
	assert_int_equal(m.nr_copies[3], 1);
	assert_int_equal(vnode_map_parse_owners(&m, ""), 0);
	assert_int_equal(m.nr_regions, 0);
	static const char *const bad[] = {"0+",	     "0,", ",0",  "0++1", "0+0",  "3",	 "01",
					  "0+1+2+0", "a",  "0 1", "-1",	  "0,,1", "100", "0+1,"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!vnode_map_parse_owners(&m, bad[i]))
			fail_msg("'%s' was accepted", bad[i]);
	m.nr_mmons = 5;
	snprintf(m.mmon[3], sizeof(m.mmon[3]), "mm4");
	snprintf(m.mmon[4], sizeof(m.mmon[4]), "mm5");
	assert_int_equal(vnode_map_parse_owners(&m, "0+1+2+3"), 0);
	assert_int_not_equal(vnode_map_parse_owners(&m, "0+1+2+3+4"), 0); /* five copies */
}

static void test_changes(void **state)
{
	struct vnode_map m;
	char buf[64];

	(void)state;
	three_servers(&m);
	assert_int_equal(vnode_map_parse_owners(&m, "0+1,1+0,0"), 0);
	/* A move of region 0's copy from 0 to 2: add, then drop; 1 becomes its primary. */
	assert_int_equal(vnode_map_add_copy(&m, 0, 2), 0);
	assert_int_equal(vnode_map_add_copy(&m, 0, 2), -1);
	assert_int_equal(vnode_map_drop_copy(&m, 0, 0), 0);
	assert_int_equal(vnode_map_drop_copy(&m, 0, 0), -1);
	vnode_map_format_owners(&m, buf, sizeof(buf));
	assert_string_equal(buf, "1+2,1+0,0");
	assert_true(vnode_map_has_copy(&m, 0, 2));
	assert_false(vnode_map_has_copy(&m, 0, 0));
	assert_int_equal(vnode_map_copies_on(&m, 0), 2);
	/* Server 0 lost: its copies go, but region 2's last copy stays (a region always has
	 * one: the vNode stops when it is lost). */
	assert_int_equal(vnode_map_drop_copy(&m, 1, 0), 0);
	assert_int_equal(vnode_map_drop_copy(&m, 2, 0), -1);
	assert_int_equal(vnode_map_copies_on(&m, 0), 1);
	assert_int_equal(vnode_map_drop_copy(&m, 2, 2), -1); /* not there */
	assert_int_equal(vnode_map_add_copy(&m, 2, 2), 0);
	assert_int_equal(vnode_map_drop_copy(&m, 2, 0), 0);
	vnode_map_compact(&m);
	assert_int_equal(m.nr_mmons, 2);
	assert_string_equal(m.mmon[0], "mm2");
	assert_string_equal(m.mmon_addr[1], "127.0.0.1:3");
	vnode_map_format_owners(&m, buf, sizeof(buf));
	assert_string_equal(buf, "0+1,0,1");
	assert_int_equal(vnode_map_find(&m, "mm3"), 1);
	assert_int_equal(vnode_map_find(&m, "mm1"), -1);
	/* An address update keeps the index. */
	assert_int_equal(vnode_map_server(&m, "mm3", "10.0.0.3:9"), 1);
	assert_string_equal(m.mmon_addr[1], "10.0.0.3:9");
	assert_int_equal(vnode_map_add_copy(&m, 5, 0), -1);
	assert_int_equal(vnode_map_add_copy(&m, 0, 7), -1);
	for (int i = m.nr_mmons; i < VMAP_MAX_SERVERS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "x%d", i);
		assert_int_equal(vnode_map_server(&m, name, "h:1"), i);
	}
	assert_int_equal(vnode_map_server(&m, "one-too-many", "h:1"), -1);
	assert_true(vnode_map_region_bytes(2, 3, 5 << 20, 2 << 20) == 1 << 20);
	assert_true(vnode_map_region_bytes(0, 3, 5 << 20, 2 << 20) == 2 << 20);
}

/* Count and return the strings of args. */
static uint32_t strings(const char *args, uint32_t len, const char **out, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t off = 0; off < len && n < max; off += (uint32_t)strlen(args + off) + 1)
		out[n++] = args + off;
	return n;
}

static void test_rewrite_args(void **state)
{
	/* Adjacent literals: "\0" followed by a digit would be another octal escape. */
	static const char args[] = "--kernel\0"
				   "/k\0"
				   "--mmon\0"
				   "127.0.0.1:1\0"
				   "--mmon\0"
				   "127.0.0.1:2\0"
				   "--region-size\0"
				   "2048K\0"
				   "--region-owners\0"
				   "0,1\0"
				   "--cache\0"
				   "1M";
	struct vnode_map m;
	const char *s[32];
	char *out;
	uint32_t argc, len, n;

	(void)state;
	three_servers(&m);
	assert_int_equal(vnode_map_parse_owners(&m, "2+1,1+2"), 0);
	assert_int_equal(vnode_map_rewrite_args(&m, args, 12, sizeof(args), &out, &argc, &len), 0);
	n = strings(out, len, s, 32);
	assert_int_equal(n, argc);
	assert_int_equal(argc, 2 + 6 + 2 + 2 + 2);
	assert_string_equal(s[2], "--mmon");
	assert_string_equal(s[3], "127.0.0.1:1");
	assert_string_equal(s[7], "127.0.0.1:3");
	assert_string_equal(s[8], "--region-owners");
	assert_string_equal(s[9], "2+1,1+2");
	assert_string_equal(s[10], "--region-size");
	assert_string_equal(s[13], "1M");
	free(out);
	/* The = forms go too, and with no map option at all the map goes at the end. */
	static const char eq[] = "--mmon=h:1\0"
				 "--kernel\0"
				 "/k\0"
				 "--region-owners=0";
	assert_int_equal(vnode_map_rewrite_args(&m, eq, 3, sizeof(eq), &out, &argc, &len), 0);
	n = strings(out, len, s, 32);
	assert_int_equal(n, 2 + 6 + 2);
	assert_string_equal(s[0], "--mmon");
	assert_string_equal(s[8], "--kernel");
	free(out);
	static const char none[] = "--kernel\0"
				   "/k";
	assert_int_equal(vnode_map_rewrite_args(&m, none, 2, sizeof(none), &out, &argc, &len), 0);
	n = strings(out, len, s, 32);
	assert_string_equal(s[0], "--kernel");
	assert_string_equal(s[n - 1], "2+1,1+2");
	free(out);
}

static const char answer[] =
	"{\"servers\":[{\"addr\":\"127.0.0.1:7410\",\"name\":\"mm1\",\"lost\":false},"
	"{\"addr\":\"127.0.0.1:7411\",\"name\":\"mm2\",\"lost\":true},"
	"{\"addr\":\"[::1]:7412\",\"name\":\"\",\"lost\":false}],"
	"\"regions\":[[{\"server\":0,\"state\":\"live\",\"failed\":false},"
	"{\"server\":1,\"state\":\"live\",\"failed\":true}],"
	"[{\"server\":2,\"state\":\"joining\",\"failed\":false}],[]],"
	"\"copies_lost\":3,\"redirects\":0}";

static void test_regions_answer(void **state)
{
	struct vmm_regions_answer *a = malloc(sizeof(*a));
	char err[256];

	(void)state;
	assert_int_equal(vmm_regions_parse(answer, a, err, sizeof(err)), 0);
	assert_int_equal(a->nr_servers, 3);
	assert_string_equal(a->servers[2].addr, "[::1]:7412");
	assert_true(a->servers[1].lost);
	assert_int_equal(a->nr_regions, 3);
	assert_int_equal(a->regions[0].nr, 2);
	assert_true(a->regions[0].c[1].failed);
	assert_false(a->regions[1].c[0].live);
	assert_int_equal(a->regions[2].nr, 0);
	assert_int_equal(a->copies_lost, 3);
	/* Blanks between tokens and escaped characters are fine. */
	assert_int_equal(
		vmm_regions_parse(" { \"servers\" : [ {\"addr\":\"h\\u003a1\",\"name\":\"a\\/b\","
				  "\"lost\":false} ] , \"regions\":[[ ]],\"copies_lost\":0,"
				  "\"redirects\":12}\n",
				  a, err, sizeof(err)),
		0);
	assert_string_equal(a->servers[0].addr, "h:1");
	assert_int_equal(a->redirects, 12);
	assert_int_equal(
		vmm_regions_parse("{\"error\": \"this vNode's RAM is not on memory servers\"}", a,
				  err, sizeof(err)),
		-1);
	assert_string_equal(err, "lego-vmm answered: this vNode's RAM is not on memory servers");
	free(a);
}

/* answer[] with from replaced by to must be refused with want in the message. */
static void refused(const char *from, const char *to, const char *want)
{
	static struct vmm_regions_answer answer_read, *a = &answer_read;
	char text[2048], err[256];
	const char *at = strstr(answer, from);

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - answer), answer, to, at + strlen(from));
	if (!vmm_regions_parse(text, a, err, sizeof(err)) || !strstr(err, want))
		fail_msg("'%s' -> '%s': '%s' (expected '%s')", from, to, err, want);
}

static void test_regions_refusals(void **state)
{
	(void)state;
	refused("\"server\":2", "\"server\":3", "vRegion 1 names server 3 of 3");
	refused("\"server\":2", "\"server\":32", "out of range");
	refused("\"server\":1", "\"server\":0", "two copies of a vRegion on server 0");
	refused("\"joining\"", "\"filling\"", "neither live nor joining");
	refused("\"lost\":true", "\"lost\":1", "true or false expected");
	refused(",\"lost\":true", "", "a server without its addr, name and lost");
	refused("\"name\":\"mm1\"", "\"name\":\"mm1\",\"name\":\"x\"", "given twice");
	refused("\"copies_lost\":3", "\"copies_lost\":3,\"colour\":1", "unknown member");
	refused(",\"redirects\":0", "", "required");
	refused("\"copies_lost\":3", "\"copies_lost\":-3", "non-negative integer expected");
	refused("\"copies_lost\":3", "\"copies_lost\":3.5", "an integer expected");
	refused("\"copies_lost\":3", "\"copies_lost\":03", "leading zero");
	refused("\"copies_lost\":3", "\"copies_lost\":99999999999999999999", "too large");
	refused("\"mm1\"", "\"m\\u0001\"", "not printable ASCII");
	refused("\"mm1\"", "\"m\\n\"", "unknown escape");
	refused("\"mm1\"", "\"m\tx\"", "not printable ASCII");
	refused("\"mm1\"", "\"mm1mm1mm1mm1mm1mm1mm1mm1mm1mm1mm1\"", "longer than 32");
	refused("127.0.0.1:7410", "nocolon", "HOST:PORT");
	refused("\"redirects\":0}", "\"redirects\":0} x", "bytes after the answer");
	refused("\"redirects\":0}", "\"redirects\":0", "',' expected at byte 340");
	refused(",[]]", ",[]", "'[' expected at byte 310");
}

/* Random bytes, and the answer with bytes changed, cut or repeated: refused or read. */
static void test_regions_random(void **state)
{
	struct vmm_regions_answer *a = malloc(sizeof(*a));
	char text[sizeof(answer) + 64], err[256];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t n = strlen(answer);
	int ok = 0;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t len = n;

		memcpy(text, answer, n + 1);
		for (int k = 0; k < 1 + i % 3; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			text[x % n] =
				i % 4 == 0 ? (char)(x >> 24) : "{}[],:\"0 a\\"[(x >> 24) % 11];
		}
		if (i % 5 == 0) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			len = x % n;
		}
		text[len] = '\0';
		if (!vmm_regions_parse(text, a, err, sizeof(err))) {
			ok++;
			for (int r = 0; r < a->nr_regions; r++)
				for (int c = 0; c < a->regions[r].nr; c++)
					assert_true(a->regions[r].c[c].server < a->nr_servers);
		}
	}
	assert_true(ok > 0);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owners_text),	 cmocka_unit_test(test_changes),
		cmocka_unit_test(test_rewrite_args),	 cmocka_unit_test(test_regions_answer),
		cmocka_unit_test(test_regions_refusals), cmocka_unit_test(test_regions_random),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
