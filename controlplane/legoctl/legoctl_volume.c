/* legoctl_volume.c: the volumes (vNode disks) of a storage server: create, list, stat,
 * resize, delete, each one request to the lego-smon --smon names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "legoctl.h"
#include "lib/tls/tls_pki.h"
#include "lib/cap/cap_holder.h"
#include "lib/client/smon_client.h"
#include "lib/parse.h"
#include "lib/proto/stor_proto.h"

static const char *backend_name(uint32_t kind)
{
	return kind == SP_BACKEND_FILE ? "file" : kind == SP_BACKEND_RADOS ? "rados" : "unknown";
}

static int failed(struct smon_client *cl, const char *what, const char *vol, int rc)
{
	fprintf(stderr, "legoctl: %s %s%s%s: %s\n", what, vol ? "'" : "", vol ? vol : "",
		vol ? "'" : "", smon_client_error(cl));
	return smon_client_broken(cl) || rc == -EPROTO ? 2 : 1;
}

static int check_name(const char *vol)
{
	if (!stor_proto_vol_name_ok(vol))
		return legoctl_common_bad_usage(
			"'%s' is not a volume name (1-64 of [A-Za-z0-9._-])", vol);
	return 0;
}

static int check_size(const char *text, uint64_t *size)
{
	if (parse_size(text, size) || !*size || *size % SP_SECTOR)
		return legoctl_common_bad_usage("'%s' is not a size in whole 512-byte sectors",
						text);
	return 0;
}

/* What this run shows the storage server: a capability signed here with the capability key
 * for just the one command (rights on vol, or on every volume when vol is NULL). */
static struct cap_holder holder;
static bool have_holder;

static int sign_capability(const struct legoctl_opts *o, uint32_t rights, const char *vol)
{
	struct cap c = {0};
	char err[512], path[4096];

	if (have_holder)
		return 0;
	if (o->capability_key)
		snprintf(path, sizeof(path), "%s", o->capability_key);
	else
		snprintf(path, sizeof(path), "%s/capability-key.pem", tls_pki_dir(o->pki_dir));
	if (access(path, F_OK))
		return 0; /* none: a server that requires one says so */
	if (cap_holder_init_key(&holder, path, LEGOCTL_CAPABILITY_LIFETIME, err, sizeof(err))) {
		fprintf(stderr, "legoctl: %s\n", err);
		return 1;
	}
	have_holder = true;
	cap_storage_grant(&c, vol, rights);
	if (cap_holder_grant(&holder, &c, err, sizeof(err))) {
		fprintf(stderr, "legoctl: %s\n", err);
		return 1;
	}
	return 0;
}

/* The storage server --smon names, shown a capability for rights on vol (NULL: every
 * volume): 0 with *cl, or an exit status after saying why. */
static int connect_smon(const struct legoctl_opts *o, uint32_t rights, const char *vol,
			struct smon_client **cl)
{
	char host[256], port[16], err[1024];
	int rc;

	if (parse_hostport(o->smon, 1, host, sizeof(host), port, sizeof(port)))
		return legoctl_common_bad_usage("--smon must be HOST:PORT, not '%s'", o->smon);
	rc = sign_capability(o, rights, vol);
	if (rc)
		return rc;
	rc = smon_client_connect(o->provider, host, port, "legoctl", have_holder ? &holder : NULL,
				 LEGOCTL_TIMEOUT_MS, cl, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "legoctl: storage server %s: %s%s\n", o->smon, err,
			rc == -EPERM && !have_holder
				? " (give --capability-key FILE: the cluster's capability-key.pem)"
				: "");
		return rc == -EPERM || rc == -EACCES ? 1 : 2;
	}
	return 0;
}

static int list_print(struct smon_client *cl, const struct stor_proto_vol_info *v, size_t n,
		      bool json)
{
	json_t *o, *vols;

	if (!json) {
		for (size_t i = 0; i < n; i++)
			printf("%-40s %llu\n", v[i].name, (unsigned long long)v[i].size);
		return 0;
	}
	o = json_object();
	vols = json_array();
	json_object_set_new(o, "server", json_string(smon_client_server(cl)->name));
	json_object_set_new(o, "backend",
			    json_string(backend_name(smon_client_server(cl)->backend)));
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_object();

		json_object_set_new(e, "name", json_string(v[i].name));
		json_object_set_new(e, "size", json_integer((json_int_t)v[i].size));
		json_array_append_new(vols, e);
	}
	json_object_set_new(o, "volumes", vols);
	return legoctl_common_print_json(o, true);
}

int legoctl_volume_list(const struct legoctl_opts *o, int argc, char **argv)
{
	struct smon_client *cl;
	struct stor_proto_vol_info *v = NULL;
	size_t n = 0;
	int rc;

	(void)argc;
	(void)argv;
	rc = connect_smon(o, CAP_STOR_LIST | CAP_STOR_STAT, NULL, &cl);
	if (rc)
		return rc;
	rc = smon_client_vol_list(cl, &v, &n);
	rc = rc ? failed(cl, "list", NULL, rc) : list_print(cl, v, n, o->json);
	free(v);
	smon_client_disconnect(cl);
	return rc;
}

static int stat_print(struct smon_client *cl, const char *vol,
		      const struct stor_proto_vol_info *info, bool json)
{
	const char *backend = backend_name(smon_client_server(cl)->backend);
	json_t *o;

	if (!json) {
		printf("%s: %llu bytes on %s (%s", vol, (unsigned long long)info->size,
		       smon_client_server(cl)->name, backend);
		if (info->obj_size)
			printf(", objects of %llu bytes", (unsigned long long)info->obj_size);
		printf(")\n");
		return 0;
	}
	o = json_object();
	json_object_set_new(o, "name", json_string(vol));
	json_object_set_new(o, "size", json_integer((json_int_t)info->size));
	json_object_set_new(o, "backend", json_string(backend));
	json_object_set_new(o, "object_size", json_integer((json_int_t)info->obj_size));
	return legoctl_common_print_json(o, true);
}

int legoctl_volume_stat(const struct legoctl_opts *o, int argc, char **argv)
{
	struct smon_client *cl;
	struct stor_proto_vol_info info;
	int rc;

	(void)argc;
	rc = check_name(argv[0]);
	if (!rc)
		rc = connect_smon(o, CAP_STOR_STAT, argv[0], &cl);
	if (rc)
		return rc;
	rc = smon_client_vol_stat(cl, argv[0], &info);
	rc = rc ? failed(cl, "stat", argv[0], rc) : stat_print(cl, argv[0], &info, o->json);
	smon_client_disconnect(cl);
	return rc;
}

/* What create, resize and delete say when done: a line, or {"VERB": NAME[, "size": N]}. */
static int done(const char *verb, const char *key, const char *vol, uint64_t size, bool json)
{
	json_t *o;

	if (!json) {
		if (size)
			printf("%s %s: %llu bytes\n", verb, vol, (unsigned long long)size);
		else
			printf("%s %s\n", verb, vol);
		return 0;
	}
	o = json_object();
	json_object_set_new(o, key, json_string(vol));
	if (size)
		json_object_set_new(o, "size", json_integer((json_int_t)size));
	return legoctl_common_print_json(o, true);
}

/* create and resize: NAME SIZE. */
static int sized(const struct legoctl_opts *o, char **argv, bool create)
{
	const char *cmd = create ? "create" : "resize";
	struct smon_client *cl;
	uint64_t size = 0;
	int rc;

	rc = check_name(argv[0]);
	if (!rc)
		rc = check_size(argv[1], &size);
	if (!rc)
		rc = connect_smon(o, create ? CAP_STOR_CREATE : CAP_STOR_RESIZE, argv[0], &cl);
	if (rc)
		return rc;
	rc = create ? smon_client_vol_create(cl, argv[0], size)
		    : smon_client_vol_resize(cl, argv[0], size);
	rc = rc ? failed(cl, cmd, argv[0], rc)
		: done(create ? "created" : "resized", cmd, argv[0], size, o->json);
	smon_client_disconnect(cl);
	return rc;
}

int legoctl_volume_create(const struct legoctl_opts *o, int argc, char **argv)
{
	(void)argc;
	return sized(o, argv, true);
}

int legoctl_volume_resize(const struct legoctl_opts *o, int argc, char **argv)
{
	(void)argc;
	return sized(o, argv, false);
}

int legoctl_volume_delete(const struct legoctl_opts *o, int argc, char **argv)
{
	struct smon_client *cl;
	int rc;

	(void)argc;
	rc = check_name(argv[0]);
	if (!rc)
		rc = connect_smon(o, CAP_STOR_DELETE, argv[0], &cl);
	if (rc)
		return rc;
	rc = smon_client_vol_delete(cl, argv[0]);
	rc = rc ? failed(cl, "delete", argv[0], rc)
		: done("deleted", "deleted", argv[0], 0, o->json);
	smon_client_disconnect(cl);
	return rc;
}
