/* controld_autostart.c: the autostart marks and the start of the marked vNodes once
 * lego-controld has started (as libvirtd does at its own start), each retried until the
 * cluster has room for it. */
#include "controld_autostart.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controld_registry.h"
#include "controld_vnode.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/uuid_str.h"

#define FILE_NAME "autostart"

static int retry_ms = 1000;

/* The marks as the file keeps them (under the registry lock). */
static int save(void)
{
	struct strbuf b;
	int rc = -1;

	strbuf_init(&b, 0);
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);
		char u[UUID_STR_LEN];

		if (!v->autostart)
			continue;
		uuid_str_format(v->def.uuid, u);
		strbuf_printf(&b, "%s\n", u);
	}
	if (!b.failed)
		rc = controld_registry_store_put_file(FILE_NAME, b.p ? b.p : "", b.len);
	strbuf_free(&b);
	return rc;
}

int controld_autostart_set(struct controld_registry_vnode *v, bool on)
{
	bool was = v->autostart;

	v->autostart = on;
	if (save()) {
		v->autostart = was;
		return -1;
	}
	return 0;
}

static void load(void)
{
	size_t len;
	char *text = controld_registry_store_get_file(FILE_NAME, &len), *save_ptr = NULL;

	controld_registry_lock();
	for (char *line = text ? strtok_r(text, "\n", &save_ptr) : NULL; line;
	     line = strtok_r(NULL, "\n", &save_ptr)) {
		uint8_t uuid[16];
		struct controld_registry_vnode *v =
			uuid_str_parse(line, uuid) ? NULL : controld_registry_find_uuid(uuid);

		if (v && v->persistent)
			v->autostart = true;
		else
			log_warn("state: autostart names '%.40s', which is no defined vNode: "
				 "ignored",
				 line);
	}
	controld_registry_unlock();
	free(text);
}

/* The marked vNodes still to start (their uuids), *n of them; NULL when none. */
static uint8_t (*pending(int *n))[16]
{
	uint8_t(*u)[16] = NULL;

	*n = 0;
	controld_registry_lock();
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);
		uint8_t(*grown)[16];

		if (!v->autostart || v->id >= 0)
			continue;
		grown = realloc(u, (size_t)(*n + 1) * sizeof(*u));
		if (!grown)
			break;
		u = grown;
		memcpy(u[(*n)++], v->def.uuid, 16);
	}
	controld_registry_unlock();
	return u;
}

/* Is it still marked and inactive (someone else may have started or undefined it)? */
static bool still_pending(const uint8_t uuid[16], char *name, size_t len)
{
	struct controld_registry_vnode *v;
	bool yes;

	controld_registry_lock();
	v = controld_registry_find_uuid(uuid);
	yes = v && v->autostart && v->id < 0;
	if (v)
		snprintf(name, len, "%s", v->def.name);
	controld_registry_unlock();
	return yes;
}

static void *autostart_main(void *arg)
{
	int n;
	uint8_t(*u)[16] = pending(&n);
	char(*said)[160] = calloc((size_t)n + 1, sizeof(*said)); /* the last reason logged */
	bool *done = calloc((size_t)n + 1, 1);

	(void)arg;
	if (n)
		log_info("autostart: %d vNode(s) to start", n);
	for (int left = n; left > 0 && said && done;) {
		left = 0;
		for (int i = 0; i < n; i++) {
			char name[DOM_NAME_MAX + 1] = "", err[1024];

			if (done[i])
				continue;
			if (!still_pending(u[i], name, sizeof(name))) {
				done[i] = true; /* started by a client, undefined or unmarked */
				continue;
			}
			if (!controld_vnode_start(u[i], err, sizeof(err))) {
				log_info("autostart: started vNode %s", name);
				done[i] = true;
				continue;
			}
			if (strncmp(said[i], err, 150)) /* a new reason */
				log_info("autostart: vNode %s waits for room: %s", name, err);
			snprintf(said[i], sizeof(said[i]), "%.150s", err);
			left++;
		}
		if (left)
			usleep((useconds_t)retry_ms * 1000);
	}
	free(done);
	free(said);
	free(u);
	return NULL;
}

struct restart {
	uint8_t uuid[16];
	char why[64];
};

/* Inactive and defined (not started by someone else, not undefined)? */
static bool restartable(const uint8_t uuid[16], char *name, size_t len)
{
	struct controld_registry_vnode *v;
	bool yes;

	controld_registry_lock();
	v = controld_registry_find_uuid(uuid);
	yes = v && v->id < 0;
	if (v)
		snprintf(name, len, "%s", v->def.name);
	controld_registry_unlock();
	return yes;
}

static void *restart_main(void *arg)
{
	struct restart *r = arg;
	char name[DOM_NAME_MAX + 1] = "", err[1024], said[160] = "";

	while (restartable(r->uuid, name, sizeof(name))) {
		if (!controld_vnode_start(r->uuid, err, sizeof(err))) {
			log_info("vNode %s started again (%s)", name, r->why);
			break;
		}
		if (strncmp(said, err, 150))
			log_info("vNode %s: restart (%s) waits: %s", name, r->why, err);
		snprintf(said, sizeof(said), "%.150s", err);
		usleep((useconds_t)retry_ms * 1000);
	}
	free(r);
	return NULL;
}

void controld_autostart_restart(const uint8_t uuid[16], const char *why)
{
	struct restart *r = calloc(1, sizeof(*r));
	pthread_t t;

	if (!r) {
		log_error("cannot restart a vNode: out of memory");
		return;
	}
	memcpy(r->uuid, uuid, 16);
	snprintf(r->why, sizeof(r->why), "%s", why);
	if (pthread_create(&t, NULL, restart_main, r)) {
		log_error("cannot restart a vNode: out of threads");
		free(r);
		return;
	}
	pthread_detach(t);
}

int controld_autostart_begin(int retry)
{
	pthread_t t;

	retry_ms = retry > 0 ? retry : 1000;
	load();
	if (pthread_create(&t, NULL, autostart_main, NULL)) {
		log_error("autostart: cannot start its thread");
		return -1;
	}
	pthread_detach(t);
	return 0;
}
