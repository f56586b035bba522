/* mig_args.c: the destination URI, flags and typed parameters of a libvirt migration,
 * decoded and checked against what lego can honour. */
#include "mig_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parse.h"
#include "rpc_proto.h"

void mig_args_tp_decode(struct xdr_in *x, struct mig_args_typed_param **out, uint32_t *n)
{
	uint32_t count = xdr_get_u32(x);
	struct mig_args_typed_param *p;

	*out = NULL;
	*n = 0;
	if (x->err)
		return;
	if (count > MIG_ARGS_PARAMS_MAX) {
		x->err = "more than 64 migration parameters";
		return;
	}
	p = calloc(count ? count : 1, sizeof(*p));
	if (!p) {
		x->err = "out of memory";
		return;
	}
	for (uint32_t i = 0; i < count && !x->err; i++) {
		char *field = xdr_get_string(x, MIG_ARGS_FIELD_MAX);

		if (field)
			snprintf(p[i].field, sizeof(p[i].field), "%s", field);
		free(field);
		p[i].type = xdr_get_i32(x);
		switch (p[i].type) {
		case TP_INT:
			p[i].v.i = xdr_get_i32(x);
			break;
		case TP_UINT:
			p[i].v.ui = xdr_get_u32(x);
			break;
		case TP_BOOLEAN:
			p[i].v.i = xdr_get_i32(x);
			break;
		case TP_LLONG:
			p[i].v.l = xdr_get_i64(x);
			break;
		case TP_ULLONG:
			p[i].v.ul = xdr_get_u64(x);
			break;
		case TP_DOUBLE: {
			uint64_t bits = xdr_get_u64(x);

			memcpy(&p[i].v.d, &bits, sizeof(bits));
			break;
		}
		case TP_STRING:
			p[i].v.s = xdr_get_string(x, RPC_STRING_MAX);
			break;
		default:
			if (!x->err)
				x->err = "a typed parameter of an unknown type";
		}
		*n = i + 1; /* so mig_args_tp_free sees every string decoded so far */
	}
	if (x->err) {
		mig_args_tp_free(p, *n);
		*n = 0;
		return;
	}
	*out = p;
	*n = count;
}

void mig_args_tp_free(struct mig_args_typed_param *p, uint32_t n)
{
	for (uint32_t i = 0; p && i < n; i++)
		if (p[i].type == TP_STRING)
			free(p[i].v.s);
	free(p);
}

/* Printable ASCII only: what is refused is quoted back in errors and log lines. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

#define INVALID(...)                                \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return RPC_ERR_INVALID_ARG;         \
	} while (0)
#define UNSUPPORTED(...)                             \
	do {                                         \
		snprintf(err, errlen, __VA_ARGS__);  \
		return RPC_ERR_ARGUMENT_UNSUPPORTED; \
	} while (0)

int mig_args_uri_parse(const char *uri, struct mig_args_request *r, char *err, size_t errlen)
{
	static const char *const schemes[] = {"lego",	  "lego+tcp",	 "lego+tls",
					      "lego+ssh", "lego+libssh", "lego+libssh2"};
	const char *sep = strstr(uri, "://"), *host, *end, *colon;
	size_t n;
	bool known = false;
	uint64_t port;

	if (!printable(uri))
		INVALID("invalid argument: the destination URI holds a byte that is not printable "
			"ASCII");
	if (!sep)
		INVALID("invalid argument: destination URI '%.200s' is not SCHEME://HOST/system",
			uri);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		known |= strlen(schemes[i]) == (size_t)(sep - uri) &&
			 !strncmp(uri, schemes[i], (size_t)(sep - uri));
	if (!known)
		UNSUPPORTED("argument unsupported: destination URI '%.200s': lego migrates to "
			    "lego://HOST/system (or lego+tcp, +tls, +ssh), HOST naming a processor "
			    "host",
			    uri);
	host = sep + 3;
	end = host + strcspn(host, "/?#");
	if (memchr(host, '@', (size_t)(end - host)))
		UNSUPPORTED("argument unsupported: destination URI '%.200s': a user name has no "
			    "meaning for a lego processor host",
			    uri);
	colon = memchr(host, ':', (size_t)(end - host));
	n = (size_t)((colon ? colon : end) - host);
	if (n == 0)
		INVALID("invalid argument: destination URI '%.200s' names no processor host", uri);
	if (n > MIG_ARGS_HOST_MAX)
		INVALID("invalid argument: destination URI '%.200s': the host name is longer than "
			"%d bytes",
			uri, MIG_ARGS_HOST_MAX);
	for (size_t i = 0; i < n; i++)
		if (!name_char(host[i]))
			INVALID("invalid argument: destination URI '%.200s': '%.*s' is not a "
				"processor host's name (1-64 of [A-Za-z0-9._-])",
				uri, (int)n, host);
	if (colon) {
		char port_text[8];
		size_t pn = (size_t)(end - colon - 1);

		/* The port of a libvirt daemon: the destination is reached through
		 * lego-controld itself, so any valid port is ignored. */
		if (pn == 0 || pn >= sizeof(port_text))
			INVALID("invalid argument: destination URI '%.200s' has a bad port", uri);
		memcpy(port_text, colon + 1, pn);
		port_text[pn] = '\0';
		if (parse_uint(port_text, 1, 65535, &port))
			INVALID("invalid argument: destination URI '%.200s' has a bad port", uri);
	}
	if (strcmp(end, "/system"))
		UNSUPPORTED("argument unsupported: destination URI '%.200s': lego's is "
			    "SCHEME://HOST/system (no other path, no query, no fragment)",
			    uri);
	memcpy(r->host, host, n);
	r->host[n] = '\0';
	return 0;
}

int mig_args_flags_check(uint32_t flags, bool persistent, char *err, size_t errlen)
{
	static const char *const names[32] = {
		"--live",
		"--p2p",
		"--tunnelled",
		"--persistent",
		"--undefinesource",
		"--suspend",
		"--copy-storage-all",
		"--copy-storage-inc",
		"--change-protection",
		"--unsafe",
		"--offline",
		"--compressed",
		"--abort-on-error",
		"--auto-converge",
		"--rdma-pin-all",
		"--postcopy",
		"--tls",
		"--parallel",
		"--copy-storage-synchronous-writes",
		"--postcopy-resume",
		"--zerocopy",
	};
	uint32_t ok = MIG_ARGS_F_LIVE | MIG_ARGS_F_PEER2PEER | MIG_ARGS_F_CHANGE_PROTECTION |
		      MIG_ARGS_F_UNSAFE | MIG_ARGS_F_ABORT_ON_ERROR |
		      (persistent ? MIG_ARGS_F_PERSIST_DEST : 0);
	uint32_t bad = flags & ~ok;
	size_t n = 0;

	if ((flags & (MIG_ARGS_F_LIVE | MIG_ARGS_F_PEER2PEER)) !=
	    (MIG_ARGS_F_LIVE | MIG_ARGS_F_PEER2PEER))
		UNSUPPORTED("argument unsupported: lego migrates vNodes live and peer to peer "
			    "only: give --live --p2p (flags 0x%x)",
			    flags);
	if (!bad)
		return 0;
	if (bad == MIG_ARGS_F_PERSIST_DEST)
		UNSUPPORTED("argument unsupported: --persistent: a transient vNode stays "
			    "transient (definitions are cluster-wide: define it instead)");
	n = (size_t)snprintf(err, errlen,
			     "argument unsupported: lego does not support these migration flags:");
	for (int b = 0; b < 32 && n < errlen; b++) {
		if (!(bad & (1U << b)))
			continue;
		if (names[b])
			n += (size_t)snprintf(err + n, errlen - n, " %s", names[b]);
		else
			n += (size_t)snprintf(err + n, errlen - n, " 0x%x", 1U << b);
	}
	return RPC_ERR_ARGUMENT_UNSUPPORTED;
}

static const char *type_name(int t)
{
	static const char *const names[] = {"?",      "int",	"uint",	   "llong",
					    "ullong", "double", "boolean", "string"};

	return t >= TP_INT && t <= TP_STRING ? names[t] : "?";
}

/* migrate_uri: tcp://HOST[:PORT] or tcp://[V6HOST][:PORT]. */
static int listen_uri(const char *uri, struct mig_args_request *r, char *err, size_t errlen)
{
	const char *h = uri + 6, *hend, *colon = NULL;
	uint64_t port = 0;
	size_t n;

	if (!printable(uri))
		INVALID("invalid argument: the migration URI holds a byte that is not printable "
			"ASCII");
	if (strncmp(uri, "tcp://", 6))
		UNSUPPORTED("argument unsupported: migration URI '%.200s': lego's is "
			    "tcp://HOST[:PORT]",
			    uri);
	if (*h == '[') {
		hend = strchr(h, ']');
		if (!hend)
			INVALID("invalid argument: migration URI '%.200s' is not tcp://HOST[:PORT]",
				uri);
		h++;
		colon = hend[1] == ':' ? hend + 1 : NULL;
		if (hend[1] && !colon)
			INVALID("invalid argument: migration URI '%.200s' is not tcp://HOST[:PORT]",
				uri);
	} else {
		colon = strchr(h, ':');
		hend = colon ? colon : h + strlen(h);
	}
	n = (size_t)(hend - h);
	if (n == 0 || n > MIG_ARGS_LISTEN_HOST_MAX || strcspn(h, "/?#@ ") < n)
		INVALID("invalid argument: migration URI '%.200s' is not tcp://HOST[:PORT]", uri);
	if (colon && parse_uint(colon + 1, 0, 65535, &port))
		INVALID("invalid argument: migration URI '%.200s' has a bad port", uri);
	memcpy(r->listen_host, h, n);
	r->listen_host[n] = '\0';
	r->listen_port = (unsigned)port;
	return 0;
}

int mig_args_params_check(const struct mig_args_typed_param *p, uint32_t n, const char *name,
			  struct mig_args_request *r, char *err, size_t errlen)
{
	static const struct {
		const char *field;
		int type;
	} known[] = {{"destination_name", TP_STRING},
		     {"bandwidth", TP_ULLONG},
		     {"migrate_uri", TP_STRING}};

	r->listen_host[0] = '\0';
	r->listen_port = 0;
	for (uint32_t i = 0; i < n; i++) {
		int k = -1, rc;

		if (!printable(p[i].field) || (p[i].type == TP_STRING && !printable(p[i].v.s)))
			INVALID("invalid argument: a migration parameter's name or text holds a "
				"byte that is not printable ASCII");
		for (int j = 0; j < (int)(sizeof(known) / sizeof(known[0])); j++)
			if (!strcmp(p[i].field, known[j].field))
				k = j;
		if (k < 0)
			UNSUPPORTED("argument unsupported: parameter '%s' not supported",
				    p[i].field);
		if (p[i].type != known[k].type)
			INVALID("invalid argument: invalid type '%s' for parameter '%s', expected "
				"'%s'",
				type_name(p[i].type), p[i].field, type_name(known[k].type));
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(p[j].field, p[i].field))
				INVALID("invalid argument: parameter '%s' occurs multiple times",
					p[i].field);
		if (k == 0 && strcmp(p[i].v.s, name))
			UNSUPPORTED("argument unsupported: lego cannot rename vNode '%s' to "
				    "'%.100s' while migrating it",
				    name, p[i].v.s);
		if (k == 1 && p[i].v.ul)
			UNSUPPORTED("argument unsupported: lego-vmm has no migration bandwidth "
				    "limit (bandwidth %llu MiB/s)",
				    (unsigned long long)p[i].v.ul);
		if (k == 2 && (rc = listen_uri(p[i].v.s, r, err, errlen)))
			return rc;
	}
	return 0;
}
