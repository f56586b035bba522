/* vmm_options.c: lego-vmm's command line: the rows of vmm/options.h as getopt's table, each
 * option to its subsystem's handler, the subsystems' checks, --help generated from the rows. */
#include "vmm_options.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/proto/lego_guest_abi.h"
#include "lib/proto/mig_status.h"
#include "vmm/block/blk_backend.h"
#include "vmm/boot/linux_guest.h"
#include "vmm/kvm/vm.h"

#define HELP_COLUMN 25 /* where --help's descriptions start */
#define HELP_WIDTH  80

struct vmm_options_row {
	const char *name;
	char short_name;
	const char *arg; /* NULL: no value */
	vmm_options_take *take;
};

#define VMM_OPTIONS_ROW(take, name, short_name, arg, flags, ...) {name, short_name, arg, take},
static const struct vmm_options_row vmm_options_rows[] = {OPTIONS_ALL(VMM_OPTIONS_ROW)};
#define NR_ROWS (sizeof(vmm_options_rows) / sizeof(vmm_options_rows[0]))

/* Each subsystem's defaults (before the options) and checks of what depends on other
 * options (after them, in this order: the first problem found is the one reported). */
static const struct {
	void (*init)(struct vmm_options *c);
	int (*finish)(struct vmm_options *c, char *err, size_t errlen);
} vmm_options_subsystems[] = {
	{boot_config_init, boot_config_finish},
	{blk_config_init, NULL},
	{console_config_init, NULL},
	{migrate_config_init, migrate_config_finish},
	{mem_config_init, mem_config_finish},
	{vmm_caps_init, vmm_caps_finish},
	{net_config_init, net_config_finish},
	{control_config_init, NULL},
};
#define NR_SUBSYSTEMS (sizeof(vmm_options_subsystems) / sizeof(vmm_options_subsystems[0]))

/* ---- --help ------------------------------------------------------------------------------ */

/* text from column col on, words wrapped at HELP_WIDTH onto lines indented to HELP_COLUMN; a
 * '\n' in text breaks the line there. */
static void vmm_options_wrap(FILE *f, const char *text, int col)
{
	for (const char *p = text; *p;) {
		size_t word = strcspn(p, " \n");

		if (col > HELP_COLUMN && col + 1 + (int)word > HELP_WIDTH) {
			fprintf(f, "\n%*s", HELP_COLUMN, "");
			col = HELP_COLUMN;
		} else if (col > HELP_COLUMN) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, word, f);
		col += (int)word;
		p += word;
		if (*p == '\n') {
			fprintf(f, "\n%*s", HELP_COLUMN, "");
			col = HELP_COLUMN;
		}
		while (*p == ' ' || *p == '\n')
			p++;
	}
	fputc('\n', f);
}

__attribute__((format(printf, 5, 6))) static void vmm_options_usage_row(FILE *f, const char *name,
									char short_name,
									const char *arg,
									const char *fmt, ...)
{
	char left[80], help[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(help, sizeof(help), fmt, ap);
	va_end(ap);
	if (short_name)
		n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", short_name, name,
			     arg ? " " : "", arg ? arg : "");
	else
		n = snprintf(left, sizeof(left), "      --%s%s%s", name, arg ? " " : "",
			     arg ? arg : "");
	if (n < HELP_COLUMN)
		fprintf(f, "%-*s", HELP_COLUMN, left);
	else
		fprintf(f, "%s\n%*s", left, HELP_COLUMN, "");
	vmm_options_wrap(f, help, HELP_COLUMN);
}

static void vmm_options_usage_heading(FILE *f, const char *heading)
{
	if (heading)
		fprintf(f, "\n%s%s", heading, heading[0] ? "\n" : "");
}

void vmm_options_usage(FILE *f)
{
	fprintf(f,
		"Usage: lego-vmm --kernel IMAGE [options]\n"
		"Run one vNode: a KVM virtual machine booting a freestanding 64-bit ELF guest, or\n"
		"an unmodified Linux kernel (on hosts with VT-x/AMD-V).\n\n");
#define VMM_OPTIONS_USAGE_ROW(take, name, short_name, arg, flags, ...) \
	vmm_options_usage_row(f, name, short_name, arg, __VA_ARGS__);
#define VMM_OPTIONS_USAGE_GROUP(X, ROWS, heading) \
	vmm_options_usage_heading(f, heading);    \
	ROWS(X)
	OPTIONS_GROUPS(VMM_OPTIONS_USAGE_GROUP, VMM_OPTIONS_USAGE_ROW)
	fprintf(f,
		"\nExit status: the value the guest writes to port 0x%x (0..255); 0 when a Linux\n"
		"guest resets the machine (reboot, or power-off and panics, which reboot); %d for\n"
		"a bad command line; %d when the VMM cannot run the guest or the guest crashes;\n"
		"%d when the vNode migrated away; %d when an --incoming vNode never ran here.\n",
		LEGO_PORT_DEBUG_EXIT, VMM_EXIT_USAGE, VMM_EXIT_FAILURE, MIG_STATUS_EXIT_MIGRATED,
		MIG_STATUS_EXIT_INCOMING_ABORTED);
}

/* ---- the general options --------------------------------------------------------------- */

int vmm_options_verbose(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)c, (void)arg, (void)err, (void)errlen;
	log_set_level(LOG_DEBUG);
	return VMM_OPTIONS_OK;
}

int vmm_options_quiet(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)c, (void)arg, (void)err, (void)errlen;
	log_set_level(LOG_WARN);
	return VMM_OPTIONS_OK;
}

int vmm_options_help(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)c, (void)arg, (void)err, (void)errlen;
	vmm_options_usage(stdout);
	return VMM_OPTIONS_EXIT;
}

int vmm_options_version(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)c, (void)arg, (void)err, (void)errlen;
	printf("lego-vmm (lego) guest ABI %d\n", LEGO_GUEST_ABI_VERSION);
	return VMM_OPTIONS_EXIT;
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* A handler's or check's result as lego-vmm's answer: -1 to go on, or the exit status. */
static int vmm_options_answer(int rc, const char *err)
{
	if (rc == VMM_OPTIONS_OK)
		return -1;
	if (rc == VMM_OPTIONS_EXIT)
		return 0;
	fprintf(stderr, "lego-vmm: %s\n%s", err,
		rc == VMM_OPTIONS_BAD ? "Try 'lego-vmm --help'.\n" : "");
	return VMM_EXIT_USAGE;
}

/* getopt's long options (each answering NR_ROWS + its row) and short ones, from the rows. */
static void vmm_options_getopt_table(struct option *longopts, char *shorts)
{
	*shorts++ = ':'; /* a missing value is ':', not '?' */
	for (size_t i = 0; i < NR_ROWS; i++) {
		const struct vmm_options_row *r = &vmm_options_rows[i];

		longopts[i] = (struct option){r->name, r->arg ? required_argument : no_argument,
					      NULL, (int)(256 + i)};
		if (r->short_name) {
			*shorts++ = r->short_name;
			if (r->arg)
				*shorts++ = ':';
		}
	}
	longopts[NR_ROWS] = (struct option){0};
	*shorts = '\0';
}

/* The row getopt's answer ch names, or NULL (':' or '?': a problem). */
static const struct vmm_options_row *vmm_options_row_of(int ch)
{
	if (ch >= 256 && ch < 256 + (int)NR_ROWS)
		return &vmm_options_rows[ch - 256];
	for (size_t i = 0; i < NR_ROWS && ch != ':' && ch != '?'; i++)
		if (vmm_options_rows[i].short_name == ch)
			return &vmm_options_rows[i];
	return NULL;
}

static int vmm_options_loop(int argc, char **argv, struct vmm_options *c, char *err, size_t errlen)
{
	struct option longopts[NR_ROWS + 1];
	char shorts[2 * NR_ROWS + 2];
	int ch, rc;

	vmm_options_getopt_table(longopts, shorts);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
		const struct vmm_options_row *r = vmm_options_row_of(ch);

		if (!r) {
			snprintf(err, errlen,
				 ch == ':' ? "option '%s' needs a value" : "unknown option '%s'",
				 argv[optind - 1]);
			return VMM_OPTIONS_BAD;
		}
		rc = r->take(c, r->arg ? optarg : NULL, err, errlen);
		if (rc != VMM_OPTIONS_OK)
			return rc;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return VMM_OPTIONS_BAD;
	}
	for (size_t i = 0; i < NR_SUBSYSTEMS; i++) {
		rc = vmm_options_subsystems[i].finish
			     ? vmm_options_subsystems[i].finish(c, err, errlen)
			     : VMM_OPTIONS_OK;
		if (rc != VMM_OPTIONS_OK)
			return rc;
	}
	return VMM_OPTIONS_OK;
}

int vmm_options_parse(int argc, char **argv, struct vmm_options *c)
{
	size_t errlen = 1024;
	char *err;
	int rc;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NR_SUBSYSTEMS; i++)
		vmm_options_subsystems[i].init(c);
	/* A message may quote an argument in full (a long --region-owners) twice. */
	for (int i = 0; i < argc; i++)
		errlen += 2 * strlen(argv[i]);
	err = malloc(errlen);
	if (!err) {
		fprintf(stderr, "lego-vmm: out of memory\n");
		return VMM_EXIT_FAILURE;
	}
	err[0] = '\0';
	rc = vmm_options_answer(vmm_options_loop(argc, argv, c, err, errlen), err);
	free(err);
	return rc;
}

void vmm_options_free(struct vmm_options *c)
{
	mem_config_free(&c->mem);
	migrate_config_free(&c->migrate);
	vmm_caps_free(&c->caps);
}
