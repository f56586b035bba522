/* legoctl_common.c: what legoctl's commands share: usage errors, JSON output (jansson),
 * and a long call to lego-controld with its progress asked on a second connection. */
#include "legoctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cluster/cluster_io.h"
#include "lib/proto/cluster_proto.h"

#define PROGRESS_MS 250

int legoctl_common_bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "legoctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'legoctl --help'.\n");
	return LEGOCTL_EXIT_USAGE;
}

int legoctl_common_print_json(json_t *obj, bool compact)
{
	/* 15 digits: a number made by legoctl_common_real prints as printf showed it. */
	size_t flags = JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15) | (compact ? JSON_COMPACT : 0);
	char *text = obj ? json_dumps(obj, flags) : NULL;

	json_decref(obj);
	if (!text) {
		fprintf(stderr, "legoctl: out of memory\n");
		return 1;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

json_t *legoctl_common_real(double v, int decimals)
{
	char text[64];

	snprintf(text, sizeof(text), "%.*f", decimals, v);
	return json_real(strtod(text, NULL));
}

json_t *legoctl_common_str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

void legoctl_common_bar(char bar[21], int pct)
{
	for (int i = 0; i < 20; i++)
		bar[i] = i < pct / 5 ? '#' : ' ';
	bar[20] = '\0';
}

/* Until the answer is there: the progress every PROGRESS_MS (a nicety: a status that
 * cannot be had is skipped). */
static void follow(struct tls_conn *fd, struct tls_conn *sfd, const struct legoctl_long_call *c)
{
	char err[CP_ERRTEXT_MAX + 64];

	for (;;) {
		uint8_t *sp = NULL;
		size_t slen;

		if (tls_conn_wait(fd, PROGRESS_MS) != 0)
			return;
		if (cluster_io_call(sfd, c->status_op, c->sreq, c->slen, &sp, &slen,
				    LEGOCTL_TIMEOUT_MS, err, sizeof(err)) == CP_OK)
			c->show(sp, slen, c->ctx);
		free(sp);
	}
}

/* The answer to the long call on fd: 0, or an exit status after saying why. */
static int answer(struct tls_conn *fd, const char *controld, const struct legoctl_long_call *c,
		  struct wire_hdr *h, uint8_t **p)
{
	char why[256];

	switch (cluster_io_recv(fd, LEGOCTL_TIMEOUT_MS, LEGOCTL_TIMEOUT_MS, h, p, why,
				sizeof(why))) {
	case CIO_MSG:
		break;
	case CIO_EOF:
		snprintf(why, sizeof(why), "the connection closed");
		/* fall through */
	default:
		fprintf(stderr,
			"legoctl: lego-controld %s: %s before %s's end (it goes on without "
			"legoctl: see '%s')\n",
			controld, why, c->what, c->see);
		return 2;
	}
	if (h->op != (c->op | CP_REPLY) || h->id != 1) {
		fprintf(stderr, "legoctl: lego-controld %s: a reply that does not match\n",
			controld);
		return 2;
	}
	if (h->status != CP_OK) {
		fprintf(stderr, "legoctl: %s\n",
			h->len ? (char *)*p : cluster_proto_status_name(h->status));
		return 1;
	}
	return 0;
}

/* Whether the lego-controld at the other end of c leads: a standby refuses every request
 * with CP_ESTANDBY (naming the leader); a query for a vNode with no name is refused cheaply
 * by the leader. */
static bool leads(struct tls_conn *c, const char *addr)
{
	uint8_t req[CP_QUERY_LEN], *reply = NULL;
	size_t rlen;
	char err[CP_ERRTEXT_MAX + 64];
	int rc;

	cluster_proto_query_put(req, &(struct cluster_proto_query){.what = CP_Q_VNODE});
	rc = cluster_io_call(c, CP_QUERY, req, sizeof(req), &reply, &rlen, LEGOCTL_TIMEOUT_MS, err,
			     sizeof(err));
	free(reply);
	if (rc == CP_ESTANDBY && getenv("LEGOCTL_DEBUG"))
		fprintf(stderr, "legoctl: lego-controld %s: %s\n", addr, err);
	return rc >= 0 && rc != CP_ESTANDBY;
}

/* One address of the list (HOST:PORT[,HOST:PORT...]): a connection, or NULL with err. */
static struct tls_conn *dial(const char *addr, const struct tls_pki *pki, bool many, char *err,
			     size_t errlen)
{
	const struct tls_conn_expect want = {.kinds = TLS_KIND_BIT(TLS_KIND_CONTROLD)};
	struct tls_conn *c = tls_conn_dial(addr, pki, &want, LEGOCTL_TIMEOUT_MS, err, errlen);

	if (c && many && !leads(c, addr)) {
		snprintf(err, errlen, "%s stands by or did not answer", addr);
		tls_conn_close(c);
		return NULL;
	}
	return c;
}

struct tls_conn *legoctl_common_connect(const struct legoctl_opts *o, int *status)
{
	static struct tls_pki *pki;
	static bool warned;
	char err[1024], addr[CP_ADDR_LEN + 1];
	struct tls_conn *c = NULL;
	bool many = strchr(o->controld, ',') != NULL;

	if (o->insecure && !warned) {
		fprintf(stderr,
			"legoctl: WARNING: --insecure: plain TCP to lego-controld %s, "
			"unauthenticated and unencrypted\n",
			o->controld);
		warned = true;
	} else if (!o->insecure && !pki) {
		pki = tls_pki_load(tls_pki_dir(o->pki_dir), TLS_KIND_ADMIN, o->admin, err,
				   sizeof(err));
		if (!pki) {
			fprintf(stderr, "legoctl: %s\n", err);
			*status = 1;
			return NULL;
		}
	}
	/* Every lego-controld given, in turn, until the leader answers. */
	for (const char *p = o->controld; p && !c;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		snprintf(addr, sizeof(addr), "%.*s", (int)(len < sizeof(addr) ? len : 0), p);
		c = dial(addr, o->insecure ? NULL : pki, many, err, sizeof(err));
		p = comma ? comma + 1 : NULL;
	}
	if (!c) {
		fprintf(stderr, "legoctl: lego-controld %s: %s\n", o->controld, err);
		*status = 2;
	}
	return c;
}

int legoctl_common_long_call(const struct legoctl_opts *o, const struct legoctl_long_call *c,
			     struct wire_hdr *h, uint8_t **p)
{
	struct tls_conn *fd, *sfd = NULL;
	int rc = 2;

	*p = NULL;
	fd = legoctl_common_connect(o, &rc);
	sfd = fd ? legoctl_common_connect(o, &rc) : NULL;
	if (!fd || !sfd) {
		tls_conn_close(fd);
		return rc;
	}
	rc = 2;
	if (cluster_io_send(fd, c->op, 1, 0, c->req, c->len)) {
		fprintf(stderr, "legoctl: lego-controld %s: cannot send: %s\n", o->controld,
			tls_conn_strerror(fd, errno));
	} else {
		follow(fd, sfd, c);
		rc = answer(fd, o->controld, c, h, p);
	}
	if (rc) {
		free(*p);
		*p = NULL;
	}
	tls_conn_close(fd);
	tls_conn_close(sfd);
	return rc;
}
