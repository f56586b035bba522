/* legoctl.h: what legoctl's files share: the options, the command table's row, the exit
 * statuses, and the connection and output helpers of legoctl_common.c. */
#ifndef LEGO_LEGOCTL_H
#define LEGO_LEGOCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/wire.h"
#include "lib/tls/tls_conn.h"

#define LEGOCTL_EXIT_USAGE	    64
#define LEGOCTL_TIMEOUT_MS	    10000
#define LEGOCTL_MIB		    1048576.0
#define LEGOCTL_CAPABILITY_LIFETIME 300 /* seconds the capability of one command lasts */

struct legoctl_opts {
	const char *controld;	    /* HOST:PORT of lego-controld's cluster port */
	const char *pki_dir;	    /* --pki (NULL: $LEGO_PKI or /etc/lego/pki) */
	const char *admin;	    /* whose admin certificate (NULL: the only one) */
	bool insecure;		    /* plain TCP to lego-controld */
	const char *smon;	    /* HOST:PORT of a lego-smon */
	const char *provider;	    /* libfabric provider for lego-smon */
	const char *capability_key; /* signs what lego-smon is shown (NULL: the PKI's) */
	bool json;
};

/* Which server a command asks (the headings of legoctl --help). */
enum legoctl_asks { LEGOCTL_ASKS_CONTROLD, LEGOCTL_ASKS_SMON, LEGOCTL_ASKS_NONE };

/* A row's nargs: the handler checks its operands itself (options among them). */
#define LEGOCTL_ARGS_OWN (-2)

/* One row of the command table (legoctl_main.c). A row without a handler is a group
 * ("volume"): its handler-less row answers when no subcommand matches. */
struct legoctl_cmd {
	const char *words; /* "mmon drain" */
	/* The operands after the words (nargs of them): an exit status. */
	int (*handler)(const struct legoctl_opts *o, int argc, char **argv);
	const char *usage; /* "mmon drain NAME" */
	const char *help;  /* one paragraph, wrapped when printed */
	int nargs;
	/* Said when the operands are not nargs (NULL: "WORDS: wrong number of arguments"); for
	 * a group, what it says when no subcommand matches (a %s gets the word given). */
	const char *bad_args;
	enum legoctl_asks asks;
};

/* "legoctl: WHY\nTry 'legoctl --help'." on stderr: LEGOCTL_EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) int legoctl_common_bad_usage(const char *fmt, ...);

/* Print one JSON object (taken over) on stdout, then a newline; compact: no blanks after
 * ',' and ':'. 0, or 1 when it could not be made. */
int legoctl_common_print_json(json_t *obj, bool compact);
/* v as printf's "%.Nf" shows it, as a JSON number (printed without trailing zeros). */
json_t *legoctl_common_real(double v, int decimals);
/* A string, or null for "". */
json_t *legoctl_common_str_or_null(const char *s);

/* A request answered when its work is over (MIGRATE, POOL_JOB) on one connection, and its
 * progress (MIG_STATUS, POOL_STATUS) asked on another every LEGOCTL_PROGRESS_MS meanwhile
 * and handed to show. */
struct legoctl_long_call {
	uint16_t op, status_op;
	const void *req, *sreq;
	size_t len, slen;
	void (*show)(const uint8_t *p, size_t len, void *ctx);
	void *ctx;
	const char *what; /* "the migration", for "... before the migration's end" */
	const char *see;  /* where to look then: "legoctl vnode vn1" */
};
/* 0 with the reply's header and payload (malloc'ed), or an exit status after saying why on
 * stderr. */
int legoctl_common_long_call(const struct legoctl_opts *o, const struct legoctl_long_call *c,
			     struct wire_hdr *h, uint8_t **p);
/* A connection to lego-controld: mutual TLS with our admin certificate (its own checked to
 * be lego-controld's), or plain with --insecure. NULL with *status the exit status after
 * saying why (1: no usable PKI, 2: unreachable). */
struct tls_conn *legoctl_common_connect(const struct legoctl_opts *o, int *status);
/* A progress bar of 20 characters for pct (0..100). */
void legoctl_common_bar(char bar[21], int pct);

/* The commands, by file. */
int legoctl_cluster_components(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_cluster_vnodes(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_cluster_vnode(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_cluster_pool(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_migrate_vnode(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_pool_rebalance(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_pool_drain(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_pool_undrain(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_volume_create(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_volume_list(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_volume_stat(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_volume_resize(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_volume_delete(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_pki_init(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_pki_issue(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_pki_libvirt_client(const struct legoctl_opts *o, int argc, char **argv);
int legoctl_pki_list(const struct legoctl_opts *o, int argc, char **argv);

#endif
