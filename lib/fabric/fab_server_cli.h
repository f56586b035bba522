/* fab_server_cli.h: the command line every lego server on the fabric shares (listen
 * address, name, provider, port file, lego-controld and the PKI directory (the certificate
 * to register with, the capability key to check clients with), connection limits, log
 * level, help, version) and the start it asks for (listen, name, port file, joining the
 * cluster), parsed and described once for lego-mmon and lego-smon. */
#ifndef LEGO_FAB_SERVER_CLI_H
#define LEGO_FAB_SERVER_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fab_server.h"
#include "fabric.h"
#include "lib/cap/cap_verify.h"

struct fab_server_cli {
	/* The program's, set before parsing: */
	const char *prog;	  /* "lego-mmon", for messages */
	const char *name_prefix;  /* the default name is PREFIX-PORT */
	const char *default_port; /* --listen's default is 127.0.0.1:default_port */
	size_t name_max;	  /* --name's longest */
	const char *version;	  /* --version's line */
	void (*usage)(FILE *f);	  /* --help's text, fab_server_cli_usage's lines among it */
	/* The shared options, once parsed: */
	char host[256], port[16];
	const char *name; /* PREFIX-PORT once fab_server_cli_listen ran, unless --name */
	const char *provider;
	const char *port_file;
	const char *controld; /* HOST:PORT, or NULL: not in a cluster */
	const char *pki_dir;  /* --pki DIR (NULL: $LEGO_PKI or /etc/lego/pki) */
	bool insecure;	      /* --insecure: register with lego-controld in plain TCP */
	bool no_caps;	      /* --insecure-no-capabilities */
	struct fab_server_limits limits;
	char default_name[64];
};

/* A program's own options: getopt's letters (no ':' first) and long options (ending with a
 * zero entry; codes below 256, none of l, n, v, q, h, V), and what takes one: -1 when it
 * did, else the exit status after saying what is wrong (fab_server_cli_bad). */
struct fab_server_cli_own {
	const char *shortopts;
	const struct option *longopts;
	int (*option)(int c, const char *arg);
};

/* Parse argv. Returns -1 to go on, or the status to exit with: 0 after --help or
 * --version, EX_USAGE after saying what is wrong. */
int fab_server_cli_parse(struct fab_server_cli *o, int argc, char **argv,
			 const struct fab_server_cli_own *own);
/* "PROG: WHAT 'ARG'" and the hint to --help on stderr; returns EX_USAGE. */
int fab_server_cli_bad(const struct fab_server_cli *o, const char *what, const char *arg);
/* The shared options' lines of --help. */
void fab_server_cli_usage(FILE *f, const struct fab_server_cli *o);

/* The capability keys to trust (the PKI directory's capability-pub.pem, and
 * capability-pub-*.pem during a rotation) into v: 0, or -1 after logging why. With
 * --insecure-no-capabilities, v stays empty and a loud warning is logged: 1. */
int fab_server_cli_capabilities(const struct fab_server_cli *o, struct cap_verify *v);

/* The same keys again into v (SIGHUP: a key rotation), logged; v stays as it was when they
 * cannot be read. */
void fab_server_cli_reload_capabilities(const struct fab_server_cli *o, struct cap_verify *v);

/* Listen where the options say, name the server PREFIX-PORT unless --name did, write the
 * port file: 0, or -1 after logging why (nothing left open). */
int fab_server_cli_listen(struct fab_server_cli *o, struct fab_listener **out);

struct cluster_agent;
/* Join lego-controld's cluster if --controld was given (else *agent stays NULL): as kind
 * (CP_KIND_MMON, CP_KIND_SMON) named o->name, serving at port with capacity bytes, with
 * the certificate KIND-NAME of the PKI (refused without one unless --insecure). 0, or -1
 * after logging why. */
int fab_server_cli_join(struct fab_server_cli *o, int kind, const char *port, uint64_t capacity,
			size_t (*heartbeat)(void *ctx, uint8_t *buf, size_t cap),
			struct cluster_agent **agent);

#endif
