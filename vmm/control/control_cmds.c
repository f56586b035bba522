/* control_cmds.c: the control socket's commands, a row each {name, argument, handler, flags}:
 * the argument decoded and the flags checked before the handler runs. */
#include "control_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_json.h"
#include "lib/cap/cap_holder.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/parse.h"
#include "vmm/devices/legacy/serial.h"
#include "vmm/kvm/vm.h"
#include "vmm/memory/pager.h"
#include "vmm/memory/remote_mem.h"
#include "vmm/migration/migrate.h"
#include "vmm/net/net_nics.h"

enum control_cmds_arg {
	CTL_ARG_NONE,	/* the word alone */
	CTL_ARG_TEXT,	/* "WORD TEXT": any text, the handler checks it */
	CTL_ARG_ADDR,	/* "WORD HOST:PORT" */
	CTL_ARG_REGION, /* "WORD INDEX@HOST:PORT" */
};

#define CTL_REMOTE 1 /* only when guest RAM is on memory servers */
#define CTL_STILL  2 /* refused while a migration is under way */

/* A command line, its argument decoded. */
struct control_cmds_args {
	const char *line; /* the whole of it, for the log */
	const char *text; /* CTL_ARG_TEXT, CTL_ARG_ADDR: the argument */
	const char *addr; /* CTL_ARG_ADDR, CTL_ARG_REGION */
	int idx;	  /* CTL_ARG_REGION */
};

struct control_cmd {
	const char *name;
	enum control_cmds_arg arg;
	const char *usage; /* the argument as `help` shows it */
	char *(*answer)(const struct control_sock_target *t, const struct control_cmds_args *a);
	unsigned flags;
};

static char *control_cmds_stats(const struct control_sock_target *t,
				const struct control_cmds_args *a)
{
	struct pager_stats st;
	json_t *pager = json_null(), *o;
	bool ready;

	(void)a;
	if (t->pg) {
		pager_stats_get(t->pg, &st);
		pager = control_json_pager(&st);
	}
	/* "starting" until the vCPUs are about to run: lego-pmon answers a start only then. */
	pthread_mutex_lock(&t->mig->lock);
	ready = t->mig->ready;
	pthread_mutex_unlock(&t->mig->lock);
	o = json_pack("{s:s,s:i,s:o,s:o,s:o,s:o,s:o}", "state",
		      !ready		    ? "starting"
		      : vm_is_paused(t->vm) ? "paused"
					    : "running",
		      "vcpus", t->vcpus, "mem_bytes", control_json_count(t->mem_bytes),
		      "cpu_time_ns", control_json_count(vm_vcpu_cpu_ns(t->vm)), "console_bytes",
		      control_json_count(__atomic_load_n(&t->serial->bytes_out, __ATOMIC_RELAXED)),
		      "console_in_bytes",
		      control_json_count(__atomic_load_n(&t->serial->bytes_in, __ATOMIC_RELAXED)),
		      "pager", pager);
	/* Only a vNode with NICs has "net": without, the answer stays flat. */
	if (o && t->nics && __atomic_load_n(&t->nics->nr, __ATOMIC_ACQUIRE))
		json_object_set_new(o, "net", control_json_net(t->nics));
	return control_json_line_u64_first("vnode", t->vnode, o);
}

static char *control_cmds_flush(const struct control_sock_target *t,
				const struct control_cmds_args *a)
{
	int64_t pages = t->pg ? pager_evict_flush(t->pg) : 0;

	(void)a;
	if (pages < 0)
		return control_json_error("flush failed: memory server lost");
	return control_json_line(json_pack("{s:I}", "flushed_pages", (json_int_t)pages), false);
}

/* pause and resume; how long the vCPUs took to park matters to whoever pauses (migration). */
static char *control_cmds_pause_resume(const struct control_sock_target *t,
				       const struct control_cmds_args *a, bool pause)
{
	int64_t t0 = mono_clock_ns();
	const char *err;
	char msg[200];

	if (migrate_busy(t->mig))
		err = "a migration is under way";
	else
		err = pause ? vm_pause(t->vm) : vm_resume(t->vm);
	log_info("control: %s%s%s (%.1f ms)", a->line, err ? " refused: " : "", err ? err : "",
		 (double)(mono_clock_ns() - t0) / 1e6);
	if (!err)
		return control_json_line(json_pack("{s:s}", "state", pause ? "paused" : "running"),
					 false);
	snprintf(msg, sizeof(msg), "%s: %s", a->line, err);
	return control_json_error(msg);
}

static char *control_cmds_pause(const struct control_sock_target *t,
				const struct control_cmds_args *a)
{
	return control_cmds_pause_resume(t, a, true);
}

static char *control_cmds_resume(const struct control_sock_target *t,
				 const struct control_cmds_args *a)
{
	return control_cmds_pause_resume(t, a, false);
}

/* The answer of a migration command: {"migration": done}, or why it did nothing. */
static char *control_cmds_migration_done(const struct control_cmds_args *a, const char *err,
					 const char *done)
{
	log_info("control: %.40s%s%s", a->line, err ? " refused: " : "", err ? err : "");
	if (err)
		return control_json_error(err);
	return control_json_line(json_pack("{s:s}", "migration", done), false);
}

static char *control_cmds_migrate(const struct control_sock_target *t,
				  const struct control_cmds_args *a)
{
	return control_cmds_migration_done(a, migrate_start(t->mig, a->text), "started");
}

static char *control_cmds_migration(const struct control_sock_target *t,
				    const struct control_cmds_args *a)
{
	struct migrate_status st;

	(void)a;
	migrate_get_status(t->mig, &st);
	return control_json_line(control_json_migration(&st), false);
}

static char *control_cmds_migrate_cancel(const struct control_sock_target *t,
					 const struct control_cmds_args *a)
{
	return control_cmds_migration_done(a, migrate_cancel(t->mig), "cancelling");
}

static char *control_cmds_migrate_resolve(const struct control_sock_target *t,
					  const struct control_cmds_args *a)
{
	bool commit = !strcmp(a->text, "commit");
	const char *err = "migrate-resolve takes commit or abort";

	if (commit || !strcmp(a->text, "abort"))
		err = migrate_resolve(t->mig, commit);
	return control_cmds_migration_done(a, err, "resolved");
}

static char *control_cmds_regions(const struct control_sock_target *t,
				  const struct control_cmds_args *a)
{
	(void)a;
	return control_json_line(control_json_regions(t->rm), true);
}

/* region-add, region-live, region-drop: a change to vRegion a->idx's copy on a->addr. */
static char *control_cmds_region_change(const struct control_sock_target *t,
					const struct control_cmds_args *a, const char *done,
					int (*change)(struct remote_mem *rm, int idx,
						      const char *addr, char *err, size_t errlen))
{
	char err[400] = "";
	int rc = change(t->rm, a->idx, a->addr, err, sizeof(err));

	log_info("control: %.80s%s%s", a->line, rc ? " refused: " : "", rc ? err : "");
	if (rc)
		return control_json_error(err);
	return control_json_line(json_pack("{s:i,s:o,s:s}", "region", a->idx, "server",
					   control_json_string(a->addr), "done", done),
				 false);
}

static char *control_cmds_region_add(const struct control_sock_target *t,
				     const struct control_cmds_args *a)
{
	return control_cmds_region_change(t, a, "add", remote_mem_copies_add);
}

static char *control_cmds_region_live(const struct control_sock_target *t,
				      const struct control_cmds_args *a)
{
	return control_cmds_region_change(t, a, "live", remote_mem_copies_live);
}

static char *control_cmds_region_drop(const struct control_sock_target *t,
				      const struct control_cmds_args *a)
{
	return control_cmds_region_change(t, a, "drop", remote_mem_copies_drop);
}

static char *control_cmds_server_lost(const struct control_sock_target *t,
				      const struct control_cmds_args *a)
{
	int failed, stay = remote_mem_copies_server_lost(t->rm, a->addr, &failed);

	/* Which copies stayed, the `regions` answer says. */
	log_info("control: %.80s: %d vRegion cop%s failed, %d kept there (no other live copy)",
		 a->line, failed, failed == 1 ? "y" : "ies", stay);
	return control_json_line(json_pack("{s:o,s:i,s:i}", "server", control_json_string(a->addr),
					   "failed_copies", failed, "kept_last_copies", stay),
				 false);
}

/* The capabilities held (what lego-controld renews): each as base64 and its expiry. */
static char *control_cmds_capabilities(const struct control_sock_target *t,
				       const struct control_cmds_args *a)
{
	char b64[2][CAP_MAX_LEN * 2];
	uint64_t exp[2];

	(void)a;
	if (!t->holder)
		return control_json_error("this vNode holds no capabilities");
	if (cap_holder_export(t->holder, CAP_KIND_MEMORY, b64[0], sizeof(b64[0]), &exp[0]) ||
	    cap_holder_export(t->holder, CAP_KIND_STORAGE, b64[1], sizeof(b64[1]), &exp[1]))
		return control_json_error("cannot encode the capabilities");
	return control_json_line(json_pack("{s:o,s:o,s:o,s:o}", "memory",
					   control_json_string_or_null(b64[0]), "memory_expires",
					   control_json_count(exp[0]), "storage",
					   control_json_string_or_null(b64[1]), "storage_expires",
					   control_json_count(exp[1])),
				 false);
}

static char *control_cmds_capability_renew(const struct control_sock_target *t,
					   const struct control_cmds_args *a)
{
	char err[200], b64[CAP_MAX_LEN * 2];
	uint64_t exp = 0;
	unsigned kind = !strncmp(a->text, "memory:", 7) ? CAP_KIND_MEMORY : CAP_KIND_STORAGE;

	if (!t->holder)
		return control_json_error("this vNode holds no capabilities");
	if (cap_holder_renew(t->holder, a->text, err, sizeof(err)))
		return control_json_error(err);
	cap_holder_export(t->holder, kind, b64, sizeof(b64), &exp);
	log_info("control: %s capability renewed until %llu", cap_kind_name(kind),
		 (unsigned long long)exp);
	return control_json_line(json_pack("{s:s,s:o}", "renewed", cap_kind_name(kind), "expires",
					   control_json_count(exp)),
				 false);
}

/* Console input is not logged: it may be a password. */
static char *control_cmds_console_in(const struct control_sock_target *t,
				     const struct control_cmds_args *a)
{
	uint8_t buf[CONTROL_SOCK_CONSOLE_IN_MAX];
	size_t n, took, queued;
	json_t *o;

	if (parse_hex_bytes(a->text, buf, sizeof(buf), &n))
		return control_json_error("console-in takes 1 to 128 bytes as pairs of hex digits");
	took = serial_input(t->serial, buf, n, &queued);
	o = json_pack("{s:o,s:o}", "accepted", control_json_count(took), "queued",
		      control_json_count(queued));
	if (took < n && o && serial_input_held(t->serial))
		json_object_set_new(o, "held",
				    json_string("a migration carries the console's state"));
	return control_json_line(o, false);
}

static char *control_cmds_help(const struct control_sock_target *t,
			       const struct control_cmds_args *a);

/* The commands, in the order `help` lists them. */
static const struct control_cmd control_cmds[] = {
	{"stats", CTL_ARG_NONE, NULL, control_cmds_stats, 0},
	{"flush", CTL_ARG_NONE, NULL, control_cmds_flush, 0},
	{"pause", CTL_ARG_NONE, NULL, control_cmds_pause, 0},
	{"resume", CTL_ARG_NONE, NULL, control_cmds_resume, 0},
	{"migrate", CTL_ARG_TEXT, "HOST:PORT", control_cmds_migrate, 0},
	{"migration", CTL_ARG_NONE, NULL, control_cmds_migration, 0},
	{"migrate-cancel", CTL_ARG_NONE, NULL, control_cmds_migrate_cancel, 0},
	{"migrate-resolve", CTL_ARG_TEXT, "commit|abort", control_cmds_migrate_resolve, 0},
	{"regions", CTL_ARG_NONE, NULL, control_cmds_regions, CTL_REMOTE},
	{"region-add", CTL_ARG_REGION, "INDEX@HOST:PORT", control_cmds_region_add,
	 CTL_REMOTE | CTL_STILL},
	{"region-live", CTL_ARG_REGION, "INDEX@HOST:PORT", control_cmds_region_live,
	 CTL_REMOTE | CTL_STILL},
	{"region-drop", CTL_ARG_REGION, "INDEX@HOST:PORT", control_cmds_region_drop,
	 CTL_REMOTE | CTL_STILL},
	{"server-lost", CTL_ARG_ADDR, "HOST:PORT", control_cmds_server_lost, CTL_REMOTE},
	{"capabilities", CTL_ARG_NONE, NULL, control_cmds_capabilities, 0},
	{"capability-renew", CTL_ARG_TEXT, "KIND:ISSUED:EXPIRES:KEYID:SIGNATURE",
	 control_cmds_capability_renew, 0},
	{"console-in", CTL_ARG_TEXT, "HEX", control_cmds_console_in, 0},
	{"help", CTL_ARG_NONE, NULL, control_cmds_help, 0},
};
#define NR_CMDS (sizeof(control_cmds) / sizeof(control_cmds[0]))

static char *control_cmds_help(const struct control_sock_target *t,
			       const struct control_cmds_args *a)
{
	json_t *list = json_array();

	(void)t, (void)a;
	for (size_t i = 0; i < NR_CMDS; i++) {
		const struct control_cmd *c = &control_cmds[i];

		json_array_append_new(list, c->usage ? json_sprintf("%s %s", c->name, c->usage)
						     : json_string(c->name));
	}
	return control_json_line(json_pack("{s:o}", "commands", list), false);
}

/* "IDX@HOST:PORT" of the region commands. */
static int control_cmds_region_arg(const char *arg, int *idx, const char **addr)
{
	const char *at = strchr(arg, '@');
	char num[16];
	uint64_t v;

	if (!at || at == arg || (size_t)(at - arg) >= sizeof(num))
		return -1;
	memcpy(num, arg, (size_t)(at - arg));
	num[at - arg] = '\0';
	if (parse_uint(num, 0, INT32_MAX, &v) || !mem_proto_addr_ok(at + 1, false))
		return -1;
	*idx = (int)v;
	*addr = at + 1;
	return 0;
}

/* The row line names, its argument in a: NULL if none matches. */
static const struct control_cmd *control_cmds_find(const char *line, struct control_cmds_args *a)
{
	for (size_t i = 0; i < NR_CMDS; i++) {
		const struct control_cmd *c = &control_cmds[i];
		size_t len = strlen(c->name);

		if (strncmp(line, c->name, len))
			continue;
		if (c->arg == CTL_ARG_NONE && !line[len])
			return c;
		if (c->arg != CTL_ARG_NONE && line[len] == ' ') {
			a->text = line + len + 1;
			return c;
		}
	}
	return NULL;
}

/* The argument as the row wants it: 0, or -1 if it is not that. */
static int control_cmds_decode(const struct control_cmd *c, struct control_cmds_args *a)
{
	switch (c->arg) {
	case CTL_ARG_ADDR:
		a->addr = a->text;
		return mem_proto_addr_ok(a->text, false) ? 0 : -1;
	case CTL_ARG_REGION:
		return control_cmds_region_arg(a->text, &a->idx, &a->addr);
	default:
		return 0;
	}
}

char *control_cmds_answer(const struct control_sock_target *t, const char *line)
{
	struct control_cmds_args a = {.line = line};
	const struct control_cmd *c = control_cmds_find(line, &a);
	char err[100];

	if (!c)
		return control_json_error("unknown command; try stats, flush, pause, resume, "
					  "migrate, migration, regions or help");
	if ((c->flags & CTL_REMOTE) && !t->rm)
		return control_json_error("this vNode's RAM is not on memory servers");
	if (control_cmds_decode(c, &a)) {
		snprintf(err, sizeof(err), "%s takes %s", c->name, c->usage);
		return control_json_error(err);
	}
	if ((c->flags & CTL_STILL) && migrate_busy(t->mig))
		return control_json_error("a migration is under way");
	return c->answer(t, &a);
}
