/* mem_admin.c: one memory-protocol operation on a vNode's region, as a command (tests and
 * benches drive region copies by hand with it, as lego-controld does). Prints "name value"
 * lines. Where the servers require capabilities it signs them with the capability key, as
 * lego-controld does: its own for the vNode, and one for a FILL's source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/client/mem_client.h"
#include "lib/proto/mem_proto.h"
#include "lib/mono_clock.h"
#include "lib/parse.h"
#include "tool_caps.h"

#define TIMEOUT_MS 5000

static uint64_t next_id;
static struct cap_key signer, own; /* with a capability key: it, and this run's holder key */
static bool have_key;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mem_admin [--capability-key FILE] SERVER VNODE COMMAND [ARGS]\n"
		"One memory-protocol request to lego-mmon SERVER (HOST:PORT) as vNode VNODE,\n"
		"with a capability signed with FILE (default $LEGO_CAPABILITY_KEY) where the\n"
		"server requires one:\n"
		"  open INDEX SIZE [join]   OPEN (CREATE; with join: a new copy): handle, epoch\n"
		"  fill INDEX SRC           FILL INDEX here from the live copy on SRC (HOST:PORT)\n"
		"  rstat INDEX              the region's state, pages held, fill progress\n"
		"  wait INDEX [MS]          RSTAT until the copy is live (exit 0) or failed (1)\n"
		"  release INDEX OWNER      RELEASE: INDEX moved to OWNER (NAME@HOST:PORT)\n"
		"  close INDEX              CLOSE: free it\n"
		"  stat                     the pool's figures\n"
		"Exit status: 0 done, 1 refused or failed, 64 bad usage.\n");
}

static int die_usage(void)
{
	usage(stderr);
	return EX_USAGE;
}

/* Sign a capability for vnode: rights on vRegions [first, first + count), held by holder. */
static size_t sign(uint64_t vnode, uint32_t rights, uint32_t first, uint32_t count,
		   const uint8_t holder[CAP_KEY_LEN], uint8_t *out)
{
	return tool_caps_sign_memory(&signer, vnode, rights, first, count, holder, out);
}

static struct fab_conn *connect_as(const char *server, uint64_t vnode,
				   struct mem_proto_hello_reply *hr)
{
	uint8_t cap[CAP_MAX_LEN];
	struct mem_client_cred cred = {.key = &own, .cap = cap};
	struct fab_conn *c;
	char err[512];

	if (have_key)
		cred.cap_len = sign(vnode, CAP_MEM_ALL, 0, UINT32_MAX, own.pub, cap);
	if (mem_client_connect(fabric_default_provider(), server, vnode, "mem_admin",
			       have_key ? &cred : NULL, TIMEOUT_MS, &c, hr, err, sizeof(err))) {
		fprintf(stderr, "mem_admin: %s\n", err);
		return NULL;
	}
	next_id = 2; /* the HELLO's and the AUTH's */
	return c;
}

/* One request; 0 with the reply, or 1 after saying why. */
static int call(struct fab_conn *c, unsigned op, size_t len, struct mem_client_reply *r)
{
	char err[512];
	int rc = mem_client_call(c, ++next_id, op, len, TIMEOUT_MS, r, err, sizeof(err));

	if (rc)
		fprintf(stderr, "mem_admin: %s\n", err);
	if (rc > 0)
		printf("status %s\n", mem_proto_status_name(r->status));
	return rc ? 1 : 0;
}

static uint8_t *body(struct fab_conn *c)
{
	return (uint8_t *)fabric_sbuf(c) + MP_HDR_LEN;
}

/* The handle and epoch of an existing region (OPEN without CREATE). */
static int find(struct fab_conn *c, uint32_t index, struct mem_proto_open_reply *o)
{
	struct mem_proto_rstat m = {.index = index};
	struct mem_proto_rstat_reply rs;
	struct mem_proto_open om;
	struct mem_client_reply r;

	mem_proto_rstat_put(body(c), &m);
	if (call(c, MP_RSTAT, MP_RSTAT_LEN, &r) || mem_proto_rstat_reply_get(r.payload, r.len, &rs))
		return 1;
	om = (struct mem_proto_open){.index = index, .flags = 0, .size = rs.size};
	mem_proto_open_put(body(c), &om);
	if (call(c, MP_OPEN, MP_OPEN_LEN, &r) || mem_proto_open_reply_get(r.payload, r.len, o))
		return 1;
	return 0;
}

static void print_rstat(const struct mem_proto_rstat_reply *rs)
{
	static const char *const names[] = {"?", "live", "joining", "filling", "failed"};

	printf("state %s\nsize %llu\nstored_pages %llu\nfill_done %llu\nfill_total %llu\n",
	       names[rs->state <= MP_RS_MAX ? rs->state : 0], (unsigned long long)rs->size,
	       (unsigned long long)rs->stored_pages, (unsigned long long)rs->fill_done,
	       (unsigned long long)rs->fill_total);
	if (rs->error[0])
		printf("error %s\n", rs->error);
}

static int rstat(struct fab_conn *c, uint32_t index, struct mem_proto_rstat_reply *rs)
{
	struct mem_proto_rstat m = {.index = index};
	struct mem_client_reply r;

	mem_proto_rstat_put(body(c), &m);
	if (call(c, MP_RSTAT, MP_RSTAT_LEN, &r))
		return 1;
	if (mem_proto_rstat_reply_get(r.payload, r.len, rs)) {
		fprintf(stderr, "mem_admin: malformed RSTAT reply\n");
		return 1;
	}
	return 0;
}

/* The subcommands: argv[0] is INDEX (but for stat), argc counts it. */
static int cmd_open(struct fab_conn *c, uint64_t vnode, uint32_t index, int argc, char **argv)
{
	struct mem_proto_open m = {.index = index, .flags = MP_OPEN_CREATE};
	struct mem_proto_open_reply o;
	struct mem_client_reply r;

	(void)vnode;
	if (parse_size(argv[1], &m.size) || (argc == 3 && strcmp(argv[2], "join")))
		return die_usage();
	if (argc == 3)
		m.flags |= MP_OPEN_JOIN;
	mem_proto_open_put(body(c), &m);
	if (call(c, MP_OPEN, MP_OPEN_LEN, &r) || mem_proto_open_reply_get(r.payload, r.len, &o))
		return 1;
	printf("handle %llu\nepoch %llu\n", (unsigned long long)o.handle,
	       (unsigned long long)o.epoch);
	return 0;
}

static struct mem_proto_hello_reply target; /* the server's HELLO reply */

static int cmd_fill(struct fab_conn *c, uint64_t vnode, uint32_t index, int argc, char **argv)
{
	struct mem_proto_fill m = {.index = index};
	struct mem_proto_open_reply o;
	struct fab_conn *src;
	struct mem_client_reply r;
	uint8_t cap[CAP_MAX_LEN];
	int rc;

	(void)argc;
	/* The source's handle and epoch, asked of the source as the same vNode. */
	src = connect_as(argv[1], vnode, NULL);
	if (!src)
		return 1;
	rc = find(src, index, &o);
	fabric_close(src);
	if (rc)
		return 1;
	m.src_handle = o.handle;
	m.src_epoch = o.epoch;
	snprintf(m.src_addr, sizeof(m.src_addr), "%s", argv[1]);
	/* What the filling server shows the source: that one vRegion, read by it. */
	if (have_key)
		m.cap_len =
			sign(vnode, CAP_MEM_READ | CAP_MEM_STATE, index, 1, target.server_key, cap);
	m.cap = cap;
	if (call(c, MP_FILL, mem_proto_fill_put(body(c), &m), &r))
		return 1;
	printf("fill started\n");
	return 0;
}

static int cmd_rstat(struct fab_conn *c, uint64_t vnode, uint32_t index, int argc, char **argv)
{
	struct mem_proto_rstat_reply rs;

	(void)vnode, (void)argc, (void)argv;
	if (rstat(c, index, &rs))
		return 1;
	print_rstat(&rs);
	return 0;
}

static int cmd_wait(struct fab_conn *c, uint64_t vnode, uint32_t index, int argc, char **argv)
{
	int64_t t0 = mono_clock_ms(), limit = 60000;
	struct mem_proto_rstat_reply rs;
	uint64_t v;

	(void)vnode;
	if (argc == 2) {
		if (parse_uint(argv[1], 1, 3600000, &v))
			return die_usage();
		limit = (int64_t)v;
	}
	for (;;) {
		if (rstat(c, index, &rs))
			return 1;
		if (rs.state == MP_RS_LIVE || rs.state == MP_RS_FAILED ||
		    mono_clock_ms() - t0 > limit)
			break;
		usleep(10000);
	}
	print_rstat(&rs);
	printf("waited_ms %lld\n", (long long)(mono_clock_ms() - t0));
	return rs.state != MP_RS_LIVE;
}

static int cmd_release(struct fab_conn *c, uint64_t vnode, uint32_t index, int argc, char **argv)
{
	struct mem_proto_open_reply o;
	struct mem_proto_release m;
	struct mem_client_reply r;

	(void)vnode, (void)argc;
	if (find(c, index, &o))
		return 1;
	m = (struct mem_proto_release){.handle = o.handle, .epoch = o.epoch};
	snprintf(m.new_owner, sizeof(m.new_owner), "%s", argv[1]);
	mem_proto_release_put(body(c), &m);
	if (call(c, MP_RELEASE, MP_RELEASE_LEN, &r))
		return 1;
	printf("released\n");
	return 0;
}

static int cmd_close(struct fab_conn *c, uint64_t vnode, uint32_t index, int argc, char **argv)
{
	struct mem_proto_open_reply o;
	struct mem_proto_close m;
	struct mem_client_reply r;

	(void)vnode, (void)argc, (void)argv;
	if (find(c, index, &o))
		return 1;
	m = (struct mem_proto_close){.handle = o.handle, .epoch = o.epoch};
	mem_proto_close_put(body(c), &m);
	if (call(c, MP_CLOSE, MP_CLOSE_LEN, &r))
		return 1;
	printf("closed\n");
	return 0;
}

static int cmd_stat(struct fab_conn *c, uint64_t vnode, uint32_t index, int argc, char **argv)
{
	struct mem_proto_stat_reply st;
	struct mem_client_reply r;

	(void)vnode, (void)index, (void)argc, (void)argv;
	if (call(c, MP_STAT, 0, &r) || mem_proto_stat_reply_get(r.payload, r.len, &st))
		return 1;
	printf("pool_bytes %llu\nreserved_bytes %llu\nstored_bytes %llu\nregions %llu\n",
	       (unsigned long long)st.pool_bytes, (unsigned long long)st.reserved_bytes,
	       (unsigned long long)st.stored_bytes, (unsigned long long)st.regions);
	return 0;
}

/* A row per subcommand: its name, how many arguments it takes (INDEX among them, first),
 * and what runs it. */
static const struct cmd {
	const char *name;
	int min_args, max_args;
	int (*run)(struct fab_conn *c, uint64_t vnode, uint32_t index, int argc, char **argv);
} cmds[] = {
	{"open", 2, 3, cmd_open}, {"fill", 2, 2, cmd_fill},	  {"rstat", 1, 1, cmd_rstat},
	{"wait", 1, 2, cmd_wait}, {"release", 2, 2, cmd_release}, {"close", 1, 1, cmd_close},
	{"stat", 0, 0, cmd_stat},
};

/* The row of cmd if its arguments fit it (INDEX parsed into *index), else NULL. */
static const struct cmd *find_cmd(const char *cmd, int argc, char **argv, uint32_t *index)
{
	uint64_t v = 0;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const struct cmd *k = &cmds[i];

		if (strcmp(cmd, k->name))
			continue;
		if (argc < k->min_args || argc > k->max_args ||
		    (k->min_args && parse_uint(argv[0], 0, UINT32_MAX, &v)))
			return NULL;
		*index = (uint32_t)v;
		return k;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *key = getenv("LEGO_CAPABILITY_KEY");
	const struct cmd *k;
	struct fab_conn *c;
	uint64_t vnode;
	uint32_t index;
	char err[512];
	int rc;

	log_init("mem_admin");
	log_set_level(LOG_WARN);
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "--capability-key")) {
		key = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 4 || parse_uint(argv[2], 1, UINT64_MAX, &vnode) ||
	    !(k = find_cmd(argv[3], argc - 4, argv + 4, &index)))
		return die_usage();
	if (key && *key) {
		if (cap_key_load(&signer, key, err, sizeof(err)) ||
		    cap_key_generate(&own, err, sizeof(err))) {
			fprintf(stderr, "mem_admin: %s\n", err);
			return 1;
		}
		have_key = true;
	}
	c = connect_as(argv[1], vnode, &target);
	rc = c ? k->run(c, vnode, index, argc - 4, argv + 4) : 1;
	if (c)
		fabric_close(c);
	cap_key_free(&signer);
	cap_key_free(&own);
	return rc;
}
