/* pmon_args.c: the lego-vmm options a VM_START carries, checked against lego-vmm's own rows
 * (vmm/options.h), so that a request cannot smuggle in an option pmon owns or one lego-vmm
 * would refuse only after it was started. */
#include "pmon_args.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/parse.h"
#include "vmm/options.h"

enum opt_kind {
	OPT_FLAG,  /* no value */
	OPT_VALUE, /* a value: "--opt VALUE" or "--opt=VALUE" */
	OPT_OURS,  /* set by lego-pmon */
	OPT_NORUN, /* prints something and exits: runs no vNode */
};

struct vmm_opt {
	const char *name;
	char short_name;
	const char *arg; /* NULL: no value */
	int flags;	 /* OPTIONS_PMON, OPTIONS_NORUN */
};

#define PMON_ARGS_ROW(take, name, short_name, arg, flags, ...) {name, short_name, arg, flags},
static const struct vmm_opt vmm_opts[] = {OPTIONS_ALL(PMON_ARGS_ROW)};

#define NR_OPTS (sizeof(vmm_opts) / sizeof(vmm_opts[0]))

static enum opt_kind kind_of(const struct vmm_opt *o)
{
	if (o->flags & OPTIONS_PMON)
		return OPT_OURS;
	if (o->flags & OPTIONS_NORUN)
		return OPT_NORUN;
	return o->arg ? OPT_VALUE : OPT_FLAG;
}

static const struct vmm_opt *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < NR_OPTS; i++)
		if (strlen(vmm_opts[i].name) == len && !strncmp(vmm_opts[i].name, name, len))
			return &vmm_opts[i];
	return NULL;
}

static const struct vmm_opt *find_short(char c)
{
	for (size_t i = 0; i < NR_OPTS; i++)
		if (vmm_opts[i].short_name == c)
			return &vmm_opts[i];
	return NULL;
}

struct check {
	const char *const *argv;
	uint32_t argc, i;
	bool kernel, mmon, incoming;
	int secret;
	uint32_t vcpus;
	struct pmon_args *out;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* One option o, spelled as arg, with the value inline (NULL: it is the next argument). */
static int take(struct check *c, const struct vmm_opt *o, const char *arg, const char *inline_val)
{
	const char *val = inline_val;
	uint64_t n;

	if (kind_of(o) == OPT_OURS || !strcmp(o->name, "net"))
		return fail(c, "lego-vmm option '%.64s' is set by lego-pmon itself", arg);
	if (kind_of(o) == OPT_NORUN)
		return fail(c, "lego-vmm option '%.64s' runs no vNode", arg);
	if (kind_of(o) == OPT_FLAG) {
		if (inline_val)
			return fail(c, "lego-vmm option '%.64s' takes no value", arg);
		return 0;
	}
	if ((o->flags & VMM_CAPS_OPTIONS_SECRET) && (inline_val || c->secret >= 0))
		return fail(c, "lego-vmm option '%.64s' comes once, its value the next string",
			    arg);
	if (!val) {
		if (c->i + 1 >= c->argc)
			return fail(c, "lego-vmm option '%.64s' needs a value", arg);
		val = c->argv[++c->i];
	}
	if (o->flags & VMM_CAPS_OPTIONS_SECRET)
		c->secret = (int)c->i;
	c->kernel |= !strcmp(o->name, "kernel");
	c->mmon |= !strcmp(o->name, "mmon");
	if (!strcmp(o->name, "incoming")) {
		char host[256], port[16];

		if (c->incoming)
			return fail(c, "lego-vmm option --incoming given twice");
		if (parse_hostport(val, 0, host, sizeof(host), port, sizeof(port)))
			return fail(c, "lego-vmm option --incoming '%.64s' is not HOST:PORT", val);
		c->incoming = true;
	}
	if (!strcmp(o->name, "cpus") && (parse_uint(val, 1, 64, &n) || n != c->vcpus)) {
		return fail(c,
			    "lego-vmm option --cpus '%.32s' differs from the %u vCPUs the vNode "
			    "asks for",
			    val, c->vcpus);
	}
	return 0;
}

/* --net-attach VALUE: an interface lego-pmon makes the tap of (not lego-vmm's). */
static int net_attach(struct check *c, const char *inline_val)
{
	const char *val = inline_val;
	char why[256];

	if (!val) {
		if (c->i + 1 >= c->argc)
			return fail(c, "option '--net-attach' needs a value");
		val = c->argv[++c->i];
	}
	if (c->out->nr_net == NET_PROTO_MAX_IFACES)
		return fail(c, "more than %d --net-attach options", NET_PROTO_MAX_IFACES);
	if (net_proto_attach_parse(val, &c->out->net[c->out->nr_net], why, sizeof(why)))
		return fail(c, "--net-attach: %s", why);
	c->out->nr_net++;
	return 1;
}

static int long_opt(struct check *c, const char *arg)
{
	const char *name = arg + 2, *eq = strchr(name, '=');
	const struct vmm_opt *o = find_long(name, eq ? (size_t)(eq - name) : strlen(name));

	if (!strncmp(name, "net-attach", 10) && (!name[10] || name[10] == '='))
		return net_attach(c, eq ? eq + 1 : NULL);

	if (!*name)
		return fail(c, "'%s' (end of options) is not allowed: lego-vmm takes options only",
			    arg);
	if (!o)
		return fail(c, "'%.64s' is not a lego-vmm option (options are spelled in full)",
			    arg);
	return take(c, o, arg, eq ? eq + 1 : NULL);
}

/* "-vq", "-m256M", "-k" "IMAGE": getopt's clusters of short options. */
static int short_opts(struct check *c, const char *arg)
{
	for (const char *p = arg + 1; *p; p++) {
		const struct vmm_opt *o = find_short(*p);
		char one[3] = {'-', *p, 0};

		if (!o)
			return fail(c, "'%.64s' is not a lego-vmm option", arg);
		if (kind_of(o) == OPT_VALUE)
			return take(c, o, one, p[1] ? p + 1 : NULL);
		if (take(c, o, one, NULL))
			return -1;
	}
	return 0;
}

int pmon_args_check(const char *args, uint32_t argc, uint32_t vcpus, struct pmon_args *out,
		    char *err, size_t errlen)
{
	const char **argv = out->argv;
	struct check c = {.argv = argv,
			  .argc = argc,
			  .vcpus = vcpus,
			  .secret = -1,
			  .out = out,
			  .err = err,
			  .errlen = errlen};

	out->argc = 0;
	out->nr_net = 0;
	out->secret = -1;
	for (uint32_t i = 0; i < argc; i++) {
		argv[i] = args;
		args += strlen(args) + 1;
	}
	for (c.i = 0; c.i < argc; c.i++) {
		const char *a = argv[c.i];
		uint32_t first = c.i;
		int rc;

		if (a[0] == '-' && a[1] == '-')
			rc = long_opt(&c, a);
		else if (a[0] == '-' && a[1])
			rc = short_opts(&c, a);
		else
			rc = fail(&c, "unexpected argument '%.64s': lego-vmm takes options only",
				  a);
		if (rc < 0)
			return -1;
		/* lego-vmm's options stay, compacted over the --net-attach ones. */
		for (uint32_t k = first; rc == 0 && k <= c.i; k++) {
			if ((int)k == c.secret)
				out->secret = (int)out->argc;
			argv[out->argc++] = argv[k];
		}
	}
	if (!c.kernel) {
		snprintf(err, errlen, "lego-vmm needs --kernel IMAGE");
		return -1;
	}
	if (c.incoming && !c.mmon) {
		/* Only a vNode whose RAM is on memory servers can move without it. */
		snprintf(err, errlen,
			 "lego-vmm option --incoming needs the vNode's --mmon servers");
		return -1;
	}
	out->remote = c.mmon;
	out->incoming = c.incoming;
	return 0;
}
