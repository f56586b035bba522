/* controld_state.h: where lego-controld keeps its state: a directory (the default) or one
 * object of a Ceph RADOS pool shared by several lego-controld, of which one leads
 * (controld_lease.h). Entries are named like relative paths ("domains/NAME.xml",
 * "run/UUID.run", "next-id", "networks/NAME.net"); each change replaces or removes one
 * entry atomically and durably. */
#ifndef LEGO_CONTROLD_STATE_H
#define LEGO_CONTROLD_STATE_H

#include <stdbool.h>
#include <stddef.h>

#define CONTROLD_STATE_MAX (1 << 20) /* largest entry read back */

/* What --state names: "DIR" (or "dir:DIR"), or "rados:POOL" with the Ceph options. */
struct controld_state_options {
	const char *spec;
	const char *ceph_conf;	  /* NULL: /etc/ceph/ceph.conf */
	const char *ceph_keyring; /* NULL: the configuration's */
	const char *ceph_client;  /* "client.NAME"; NULL: client.admin */
	int lease_s;		  /* RADOS: the leader's lease */
};

/* The operations of one kind of store; each returns 0, or -1 after logging why. */
struct controld_state_ops {
	int (*put)(const char *key, const void *data, size_t len);
	int (*remove)(const char *key);
	/* The entry (malloc'ed, NUL-terminated, *len set), or NULL when missing or too large. */
	char *(*get)(const char *key, size_t *len);
	/* fn for every entry under SUB/ whose name ends in suffix, in no particular order. */
	void (*each)(const char *sub, const char *suffix,
		     void (*fn)(const char *key, char *text, size_t len, void *ctx), void *ctx);
};

/* Parse the spec; "rados:" specs need controld_state_rados_open (then controld_lease),
 * a directory is opened (created, locked) here. 0, or -1 after logging why. */
int controld_state_open(const struct controld_state_options *o);
bool controld_state_is_rados(void);
/* "directory DIR" or "RADOS pool POOL", for logs. */
const char *controld_state_where(void);
/* Set by a store's open. */
void controld_state_set_ops(const struct controld_state_ops *ops, const char *where);

int controld_state_put(const char *key, const void *data, size_t len);
int controld_state_remove(const char *key);
char *controld_state_get(const char *key, size_t *len);
void controld_state_each(const char *sub, const char *suffix,
			 void (*fn)(const char *key, char *text, size_t len, void *ctx), void *ctx);

/* The directory store (controld_state_dir.c): 0, or -1 after logging why. */
int controld_state_dir_open(const char *dir);

#endif
