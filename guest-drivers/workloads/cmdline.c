/* cmdline.c: strict parsing of the guest command line into workload options. */
#include "cmdline.h"

#include <stdbool.h>
#include <stddef.h>

#include "guest-drivers/runtime/fmt.h"
#include "guest-drivers/runtime/kparse.h"

static const char *const names[] = {
	[CMDLINE_RUN_MEMTEST] = "memtest", [CMDLINE_RUN_BLKTEST] = "blktest",
	[CMDLINE_RUN_EVIL] = "evil",	   [CMDLINE_RUN_FILL] = "fill",
	[CMDLINE_RUN_ECHO] = "echo",
};

const char *cmdline_workload_name(enum cmdline_workload w)
{
	return (unsigned)w < sizeof(names) / sizeof(names[0]) ? names[w] : "?";
}

static bool span_eq(const char *s, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!word[i] || word[i] != s[i])
			return false;
	}
	return !word[i];
}

static int parse_run(const char *v, size_t len, struct cmdline_opts *o, char *err, size_t errlen)
{
	size_t pos = 0;

	o->nr_run = 0;
	for (;;) {
		size_t n = 0;
		int w = -1;

		while (pos + n < len && v[pos + n] != ',')
			n++;
		for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (span_eq(v + pos, n, names[i]))
				w = (int)i;
		}
		if (!n) {
			fmt_snprintf(err, errlen, "empty workload name in run=%.*s", (int)len, v);
			return -1;
		}
		if (w < 0) {
			fmt_snprintf(
				err, errlen,
				"unknown workload '%.*s' in run=%.*s (known: memtest, blktest, "
				"evil, fill, echo)",
				(int)n, v + pos, (int)len, v);
			return -1;
		}
		if (o->nr_run == CMDLINE_MAX_RUN) {
			fmt_snprintf(err, errlen,
				     "more than %d workloads in run=", CMDLINE_MAX_RUN);
			return -1;
		}
		o->run[o->nr_run++] = (enum cmdline_workload)w;
		pos += n;
		if (pos == len)
			return 0;
		pos++; /* the comma */
		if (pos == len) {
			fmt_snprintf(err, errlen, "empty workload name in run=%.*s", (int)len, v);
			return -1;
		}
	}
}

static const char *const mode_names[] = {
	[CMDLINE_MEMTEST_PATTERNS] = "patterns",
	[CMDLINE_MEMTEST_ZIPF] = "zipf",
	[CMDLINE_MEMTEST_KV] = "kv",
	[CMDLINE_MEMTEST_ALL] = "all",
};

static int parse_mode(const char *v, size_t len, struct cmdline_opts *o, char *err, size_t errlen)
{
	for (unsigned i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (span_eq(v, len, mode_names[i])) {
			o->memtest_mode = (enum cmdline_memtest_mode)i;
			return 0;
		}
	}
	fmt_snprintf(err, errlen, "unknown memtest.mode '%.*s' (known: patterns, zipf, kv, all)",
		     (int)len, v);
	return -1;
}

static int parse_order(const char *v, size_t len, struct cmdline_opts *o, char *err, size_t errlen)
{
	if (span_eq(v, len, "seq")) {
		o->blktest_order = CMDLINE_BLKTEST_SEQ;
		return 0;
	}
	if (span_eq(v, len, "rand")) {
		o->blktest_order = CMDLINE_BLKTEST_RAND;
		return 0;
	}
	fmt_snprintf(err, errlen, "unknown blktest.order '%.*s' (known: seq, rand)", (int)len, v);
	return -1;
}

static int parse_theta(const char *v, size_t len, struct cmdline_opts *o, char *err, size_t errlen)
{
	uint64_t val;

	if (kparse_milli(v, len, &val)) {
		fmt_snprintf(err, errlen,
			     "memtest.theta='%.*s' is not a decimal with at most 3 fraction digits "
			     "(e.g. 0.99)",
			     (int)len, v);
		return -1;
	}
	if (val > MEMTEST_MAX_THETA) {
		fmt_snprintf(err, errlen, "memtest.theta=%.*s is out of range (0..%d)", (int)len, v,
			     MEMTEST_MAX_THETA / 1000);
		return -1;
	}
	o->memtest_theta = val;
	return 0;
}

/* A dotted IPv4 address, host byte order. */
static int parse_ipv4(const char *key, const char *v, size_t len, uint32_t *out, char *err,
		      size_t errlen)
{
	uint32_t a = 0;
	size_t pos = 0;

	for (int part = 0; part < 4; part++) {
		size_t n = 0;
		uint64_t b;

		while (pos + n < len && v[pos + n] != '.')
			n++;
		if (kparse_u64(v + pos, n, &b) || b > 255 || (part < 3) != (pos + n < len))
			goto bad;
		a = a << 8 | (uint32_t)b;
		pos += n + 1;
	}
	if (pos != len + 1)
		goto bad;
	*out = a;
	return 0;
bad:
	fmt_snprintf(err, errlen, "%s='%.*s' is not an IPv4 address", key, (int)len, v);
	return -1;
}

struct opt {
	const char *key;
	size_t field; /* offsetof the uint64_t in struct cmdline_opts */
	bool is_size;
	uint64_t min, max, align;
};

#define FIELD(name) offsetof(struct cmdline_opts, name)

static const struct opt opts[] = {
	{"memtest.size", FIELD(memtest_size), true, 4096, UINT64_MAX, 4096},
	{"memtest.passes", FIELD(memtest_passes), false, 1, MEMTEST_MAX_PASSES, 1},
	{"memtest.seconds", FIELD(memtest_seconds), false, 0, CMDLINE_MAX_IDLE_S, 1},
	{"memtest.ops", FIELD(memtest_ops), false, 0, MEMTEST_MAX_OPS, 1},
	{"memtest.seed", FIELD(memtest_seed), false, 0, UINT64_MAX, 1},
	{"blktest.size", FIELD(blktest_size), true, 512, UINT64_MAX, 512},
	{"blktest.seed", FIELD(blktest_seed), false, 0, UINT64_MAX, 1},
	{"blktest.qd", FIELD(blktest_qd), false, 1, CMDLINE_MAX_QD, 1},
	{"blktest.bs", FIELD(blktest_bs), true, 512, BLKTEST_MAX_BS, 512},
	{"idle", FIELD(idle_s), false, 0, CMDLINE_MAX_IDLE_S, 1},
	{"fill.size", FIELD(fill_size), true, 4096, UINT64_MAX, 4096},
	{"fill.verify", FIELD(fill_verify), false, 0, 1, 1},
	{"echo.lines", FIELD(echo_lines), false, 0, UINT64_MAX, 1},
	{"echo.seconds", FIELD(echo_seconds), false, 1, CMDLINE_MAX_IDLE_S, 1},
};

static int parse_token(const char *t, size_t len, struct cmdline_opts *o, char *err, size_t errlen)
{
	size_t klen = 0;
	const char *v;
	size_t vlen;

	while (klen < len && t[klen] != '=')
		klen++;
	if (klen == len) {
		fmt_snprintf(err, errlen, "unknown option '%.*s' (options are key=value)", (int)len,
			     t);
		return -1;
	}
	v = t + klen + 1;
	vlen = len - klen - 1;
	if (span_eq(t, klen, "run"))
		return parse_run(v, vlen, o, err, errlen);
	if (span_eq(t, klen, "memtest.mode"))
		return parse_mode(v, vlen, o, err, errlen);
	if (span_eq(t, klen, "blktest.order"))
		return parse_order(v, vlen, o, err, errlen);
	if (span_eq(t, klen, "memtest.theta"))
		return parse_theta(v, vlen, o, err, errlen);
	if (span_eq(t, klen, "evil.peer"))
		return parse_ipv4("evil.peer", v, vlen, &o->evil_peer, err, errlen);
	if (span_eq(t, klen, "evil.ip"))
		return parse_ipv4("evil.ip", v, vlen, &o->evil_ip, err, errlen);
	for (unsigned i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct opt *p = &opts[i];
		uint64_t val;
		int r;

		if (!span_eq(t, klen, p->key))
			continue;
		r = p->is_size ? kparse_size(v, vlen, &val) : kparse_u64(v, vlen, &val);
		if (r) {
			fmt_snprintf(err, errlen, "%s='%.*s' is not %s", p->key, (int)vlen, v,
				     p->is_size ? "a size (e.g. 4096, 64K, 32M)" : "a number");
			return -1;
		}
		if (val < p->min || val > p->max || val % p->align) {
			fmt_snprintf(err, errlen,
				     "%s=%.*s is out of range (%lu..%lu, multiple of %lu)", p->key,
				     (int)vlen, v, p->min, p->max, p->align);
			return -1;
		}
		*(uint64_t *)((char *)o + p->field) = val;
		return 0;
	}
	fmt_snprintf(err, errlen, "unknown option '%.*s'", (int)klen, t);
	return -1;
}

int cmdline_parse(const char *cmdline, struct cmdline_opts *o, char *err, size_t errlen)
{
	const char *p = cmdline;

	*o = (struct cmdline_opts){
		.nr_run = 1,
		.run = {CMDLINE_RUN_MEMTEST},
		.memtest_size = MEMTEST_DEFAULT_SIZE,
		.memtest_passes = 1,
		.memtest_mode = CMDLINE_MEMTEST_PATTERNS,
		.memtest_ops = MEMTEST_DEFAULT_OPS,
		.memtest_theta = MEMTEST_DEFAULT_THETA,
		.blktest_size = 0,
		.blktest_seed = 0,
		.blktest_qd = BLKTEST_DEFAULT_QD,
		.blktest_bs = BLKTEST_DEFAULT_BS,
		.fill_size = MEMTEST_DEFAULT_SIZE,
		.fill_verify = 1,
		.echo_seconds = ECHO_DEFAULT_SECONDS,
	};
	for (;;) {
		size_t len = 0;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			return 0;
		while (p[len] && p[len] != ' ' && p[len] != '\t' && p[len] != '\n')
			len++;
		if (parse_token(p, len, o, err, errlen))
			return -1;
		p += len;
	}
}
