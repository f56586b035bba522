/* mig_args.h: the arguments of libvirt's DOMAIN_MIGRATE_PERFORM3_PARAMS (what `virsh migrate
 * --live --p2p DOM DESTURI` sends) and what lego makes of them:
 *
 *   DESTURI   lego[+tcp|+tls|+ssh|+libssh|+libssh2]://HOST[:PORT]/system, where HOST is the
 *             destination processor host's component name (lego-pmon --name). There is no
 *             libvirt daemon per processor host: lego-controld reaches the destination
 *             itself, so a PORT (some libvirt daemon's) is accepted and ignored. No user,
 *             query or fragment; nothing but /system as the path.
 *   flags     LIVE and PEER2PEER are required; CHANGE_PROTECTION (lego-controld refuses to
 *             redefine, stop or pause a migrating vNode), ABORT_ON_ERROR (any error aborts),
 *             UNSAFE (a vNode's RAM and disks are on servers both hosts reach: nothing is
 *             unsafe) and PERSIST_DEST for a persistent vNode (definitions are cluster-wide)
 *             are honoured as they are; every other flag is refused by its virsh name.
 *   params    destination_name equal to the vNode's own name; bandwidth 0 (unlimited);
 *             migrate_uri tcp://HOST[:PORT] (where the destination lego-vmm listens for
 *             the migration stream, default: the destination host's address, any port).
 *             Every other parameter is refused by name (lego-vmm has no bandwidth limit,
 *             compression, parallel connections or TLS, and a vNode keeps its definition).
 *   cookie    must be empty (lego exchanges no cookies).
 *
 * Each check returns 0 or a libvirt error code (virErrorNumber) with err in libvirt's words. */
#ifndef LEGO_MIG_ARGS_H
#define LEGO_MIG_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdr.h"

#define MIG_ARGS_PARAMS_MAX	 64 /* REMOTE_DOMAIN_MIGRATE_PARAM_LIST_MAX */
#define MIG_ARGS_FIELD_MAX	 79 /* VIR_TYPED_PARAM_FIELD_LENGTH less its NUL */
#define MIG_ARGS_HOST_MAX	 64 /* a component name */
#define MIG_ARGS_LISTEN_HOST_MAX 255

/* virDomainMigrateFlags that matter here. */
enum {
	MIG_ARGS_F_LIVE = 1,
	MIG_ARGS_F_PEER2PEER = 2,
	MIG_ARGS_F_PERSIST_DEST = 8,
	MIG_ARGS_F_CHANGE_PROTECTION = 256,
	MIG_ARGS_F_UNSAFE = 512,
	MIG_ARGS_F_ABORT_ON_ERROR = 4096,
};

/* virTypedParameterType. */
enum mig_args_tp_type {
	TP_INT = 1,
	TP_UINT = 2,
	TP_LLONG = 3,
	TP_ULLONG = 4,
	TP_DOUBLE = 5,
	TP_BOOLEAN = 6,
	TP_STRING = 7,
};

struct mig_args_typed_param {
	char field[MIG_ARGS_FIELD_MAX + 1];
	int type;
	union {
		int32_t i;
		uint32_t ui;
		int64_t l;
		uint64_t ul;
		double d;
		char *s; /* TP_STRING: malloc'ed */
	} v;
};

/* What lego takes from a migration request. */
struct mig_args_request {
	char host[MIG_ARGS_HOST_MAX + 1];		/* the destination processor host */
	char listen_host[MIG_ARGS_LISTEN_HOST_MAX + 1]; /* migrate_uri's host ("": not given) */
	unsigned listen_port;				/* migrate_uri's port (0: any) */
};

/* remote_typed_param params<64> from x (a malloc'ed array in *out, *n of them); on a
 * decoding error x->err is set and *out is NULL. */
void mig_args_tp_decode(struct xdr_in *x, struct mig_args_typed_param **out, uint32_t *n);
void mig_args_tp_free(struct mig_args_typed_param *p, uint32_t n);

int mig_args_uri_parse(const char *uri, struct mig_args_request *r, char *err, size_t errlen);
int mig_args_flags_check(uint32_t flags, bool persistent, char *err, size_t errlen);
/* name: the vNode's (for destination_name). */
int mig_args_params_check(const struct mig_args_typed_param *p, uint32_t n, const char *name,
			  struct mig_args_request *r, char *err, size_t errlen);

#endif
