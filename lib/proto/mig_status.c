/* mig_status.c: lego-vmm's migration answers, decoded and checked. */
#include "mig_status.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json_flat.h"
#include "lib/parse.h"

static const struct {
	const char *name;
	enum mig_status_role role;
	enum mig_status_phase phase;
} phases[] = {
	{"none", MIG_STATUS_ROLE_NONE, MIG_STATUS_NONE},
	{"connecting", MIG_STATUS_ROLE_SOURCE, MIG_STATUS_CONNECTING},
	{"precopy", MIG_STATUS_ROLE_SOURCE, MIG_STATUS_PRECOPY},
	{"stopping", MIG_STATUS_ROLE_SOURCE, MIG_STATUS_STOPPING},
	{"sending", MIG_STATUS_ROLE_SOURCE, MIG_STATUS_SENDING},
	{"committing", MIG_STATUS_ROLE_SOURCE, MIG_STATUS_COMMITTING},
	{"completed", MIG_STATUS_ROLE_SOURCE, MIG_STATUS_COMPLETED},
	{"failed", MIG_STATUS_ROLE_SOURCE, MIG_STATUS_FAILED},
	{"uncertain", MIG_STATUS_ROLE_SOURCE, MIG_STATUS_UNCERTAIN},
	{"listening", MIG_STATUS_ROLE_INCOMING, MIG_STATUS_LISTENING},
	{"receiving", MIG_STATUS_ROLE_INCOMING, MIG_STATUS_RECEIVING},
	{"ready", MIG_STATUS_ROLE_INCOMING, MIG_STATUS_READY},
	{"running", MIG_STATUS_ROLE_INCOMING, MIG_STATUS_RUNNING},
	{"failed", MIG_STATUS_ROLE_INCOMING, MIG_STATUS_FAILED},
};

#define NR_PHASES (sizeof(phases) / sizeof(phases[0]))

const char *mig_status_phase_name(enum mig_status_phase p)
{
	for (size_t i = 0; i < NR_PHASES; i++)
		if (phases[i].phase == p)
			return phases[i].name;
	return "?";
}

/* An {"error": "..."} answer: its text in err. */
static bool error_answer(const struct json_flat_object *o, char *err, size_t errlen)
{
	const struct json_flat_member *e = json_flat_get(o, "error");

	if (!e || e->type != JF_STRING)
		return false;
	snprintf(err, errlen, "%s", e->str);
	return true;
}

static int get_u64(const struct json_flat_object *o, const char *key, uint64_t *v, char *err,
		   size_t errlen)
{
	const struct json_flat_member *m = json_flat_get(o, key);

	*v = 0;
	if (!m)
		return 0; /* optional: a VMM that has not begun has no figures */
	if (m->type != JF_NUMBER || !m->is_uint) {
		snprintf(err, errlen, "\"%s\" is not a non-negative integer", key);
		return -1;
	}
	*v = m->num;
	return 0;
}

/* A duration in milliseconds: a non-negative number, fractions allowed. */
static int get_ms(const struct json_flat_object *o, const char *key, double *v, char *err,
		  size_t errlen)
{
	const struct json_flat_member *m = json_flat_get(o, key);

	*v = 0;
	if (!m)
		return 0;
	if (m->type != JF_NUMBER || !(m->dbl >= 0 && m->dbl < 1e15)) {
		snprintf(err, errlen, "\"%s\" is not a duration in milliseconds", key);
		return -1;
	}
	*v = m->dbl;
	return 0;
}

/* A string or null member into out ("" for null or absent). */
static int get_text(const struct json_flat_object *o, const char *key, char *out, size_t len,
		    char *err, size_t errlen)
{
	const struct json_flat_member *m = json_flat_get(o, key);

	out[0] = '\0';
	if (!m || m->type == JF_NULL)
		return 0;
	if (m->type != JF_STRING) {
		snprintf(err, errlen, "\"%s\" is neither a string nor null", key);
		return -1;
	}
	if (strlen(m->str) >= len) {
		snprintf(err, errlen, "\"%s\" is longer than %zu bytes", key, len - 1);
		return -1;
	}
	snprintf(out, len, "%s", m->str);
	return 0;
}

/* HOST:PORT with a host name or IPv4 address, or [IPv6]:PORT, and a port above 0. */
static bool listen_ok(const char *a)
{
	char host[256], port[16];
	bool v6 = a[0] == '[';

	if (parse_hostport(a, 1, host, sizeof(host), port, sizeof(port)))
		return false;
	for (const char *c = host; *c; c++) {
		bool alnum = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
			     (*c >= 'A' && *c <= 'Z');

		if (!(alnum || *c == '.' || (v6 ? *c == ':' : *c == '-' || *c == '_')))
			return false;
	}
	return strchr(host, ':') ? v6 : !v6;
}

int mig_status_parse(const char *json, struct mig_status *s, char *err, size_t errlen)
{
	struct json_flat_object *o = malloc(sizeof(*o));
	const struct json_flat_member *role, *phase;
	char why[256];
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (json_flat_parse(json, o, why, sizeof(why))) {
		snprintf(err, errlen, "lego-vmm's migration answer is not valid JSON: %s", why);
		goto out;
	}
	role = json_flat_get(o, "role");
	phase = json_flat_get(o, "phase");
	if (!role && !phase && error_answer(o, err, errlen))
		goto out;
	if (!role || role->type != JF_STRING || !phase || phase->type != JF_STRING) {
		snprintf(err, errlen, "lego-vmm's migration answer has no \"role\" or \"phase\"");
		goto out;
	}
	if (!strcmp(role->str, "none"))
		s->role = MIG_STATUS_ROLE_NONE;
	else if (!strcmp(role->str, "source"))
		s->role = MIG_STATUS_ROLE_SOURCE;
	else if (!strcmp(role->str, "incoming"))
		s->role = MIG_STATUS_ROLE_INCOMING;
	else {
		snprintf(err, errlen, "lego-vmm's migration answer has the unknown role \"%s\"",
			 role->str);
		goto out;
	}
	for (size_t i = 0; i < NR_PHASES; i++) {
		if (phases[i].role == s->role && !strcmp(phases[i].name, phase->str)) {
			s->phase = phases[i].phase;
			rc = 0;
		}
	}
	if (rc) {
		snprintf(err, errlen,
			 "lego-vmm's migration answer has the phase \"%s\" for role \"%s\"",
			 phase->str, role->str);
		goto out;
	}
	rc = -1;
	if (get_u64(o, "bytes_total", &s->bytes_total, why, sizeof(why)) ||
	    get_u64(o, "bytes_processed", &s->bytes_processed, why, sizeof(why)) ||
	    get_u64(o, "bytes_remaining", &s->bytes_remaining, why, sizeof(why)) ||
	    get_ms(o, "elapsed_ms", &s->elapsed_ms, why, sizeof(why)) ||
	    get_ms(o, "downtime_ms", &s->downtime_ms, why, sizeof(why)) ||
	    get_text(o, "error", s->error, sizeof(s->error), why, sizeof(why)) ||
	    get_text(o, "listen", s->listen, sizeof(s->listen), why, sizeof(why))) {
		snprintf(err, errlen, "lego-vmm's migration answer: %s", why);
		goto out;
	}
	if (s->role == MIG_STATUS_ROLE_INCOMING && s->phase == MIG_STATUS_LISTENING &&
	    !listen_ok(s->listen)) {
		snprintf(err, errlen,
			 "lego-vmm listens for the migration but its \"listen\" ('%s') is not "
			 "HOST:PORT",
			 s->listen);
		goto out;
	}
	if (s->phase == MIG_STATUS_FAILED && !s->error[0])
		snprintf(s->error, sizeof(s->error), "no reason given");
	rc = 0;
out:
	free(o);
	return rc;
}

int mig_status_answer_check(const char *json, const char *want, char *err, size_t errlen)
{
	struct json_flat_object *o = malloc(sizeof(*o));
	const struct json_flat_member *m;
	char why[256];
	int rc = -1;

	if (!o) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (json_flat_parse(json, o, why, sizeof(why))) {
		snprintf(err, errlen, "lego-vmm's answer is not valid JSON: %s", why);
	} else if ((m = json_flat_get(o, "error")) && m->type != JF_NULL) {
		if (!error_answer(o, err, errlen))
			snprintf(err, errlen, "lego-vmm answered with an error that is not a text");
	} else if (want && (!(m = json_flat_get(o, "migration")) || m->type != JF_STRING ||
			    strcmp(m->str, want))) {
		char quoted[201];
		size_t n = 0;

		/* Quoted into one log line: blanks between tokens may be any whitespace. */
		for (; json[n] && n < sizeof(quoted) - 1; n++)
			quoted[n] = json[n] >= 0x20 && json[n] <= 0x7e ? json[n] : ' ';
		quoted[n] = '\0';
		snprintf(err, errlen, "lego-vmm answered %s, not {\"migration\": \"%s\"}", quoted,
			 want);
	} else {
		rc = 0;
	}
	free(o);
	return rc;
}
