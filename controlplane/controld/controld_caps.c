/* controld_caps.c: signing the cluster's capabilities, and renewing the running vNodes'. */
#include "controld_caps.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controld_registry.h"
#include "controld_vnode.h"
#include "lib/cap/cap_verify.h"
#include "lib/log.h"
#include "lib/mono_clock.h"

#define RENEW_MAX_VNODES 1024

static struct {
	bool on;
	uint32_t lifetime;
	struct cap_key signer;	   /* capability-key.pem */
	struct cap_key own;	   /* holder of lego-controld's own memory capabilities */
	struct cap_verify trusted; /* the key's directory's capability-pub*.pem: renewals of
				    * what an earlier key signed (a rotation) */
	struct cap_holder storage;
	pthread_t renewer;
	atomic_bool stop;
} caps;

bool controld_caps_on(void)
{
	return caps.on;
}

/* Sign c (issued now, for the lifetime) into out: its length, or 0 (logged). */
static size_t sign(struct cap *c, uint32_t lifetime, uint8_t *out)
{
	char err[256];
	size_t n;

	c->issued = cap_now();
	c->expires = c->issued + lifetime;
	n = cap_key_issue(&caps.signer, c, out, err, sizeof(err));
	if (!n)
		log_error("capabilities: %s", err);
	return n;
}

/* The volume of a disk URI (smon://HOST:PORT/VOL[,ro]) into vol; whether it is read-only. */
static int uri_volume(const char *uri, char *vol, size_t len, bool *ro)
{
	const char *slash = strrchr(uri, '/');
	size_t n;

	if (strncmp(uri, "smon://", 7) || !slash)
		return -1;
	n = strcspn(slash + 1, ",");
	*ro = !strcmp(slash + 1 + n, ",ro");
	if (!n || n >= len)
		return -1;
	memcpy(vol, slash + 1, n);
	vol[n] = '\0';
	return 0;
}

int controld_caps_bundle(uint64_t uid, uint32_t nr_regions, uint64_t region_size, uint64_t ram,
			 const char *const *disk_uris, int nr_disks, char *out, size_t outlen,
			 char *err, size_t errlen)
{
	struct cap m = {.kind = CAP_KIND_MEMORY,
			.rights = CAP_MEM_OPEN | CAP_MEM_CREATE | CAP_MEM_READ | CAP_MEM_WRITE |
				  CAP_MEM_CLOSE | CAP_MEM_STATE | CAP_MEM_STAT,
			.vnode = uid,
			.region_count = nr_regions,
			.region_max = region_size,
			.quota = (ram + 4095) & ~4095ULL};
	struct cap s = {.kind = CAP_KIND_STORAGE, .vnode = uid};
	uint8_t mb[CAP_MAX_LEN], sb[CAP_MAX_LEN];
	size_t mn = 0, sn = 0;
	struct cap_key holder;
	int rc;

	if (cap_key_generate(&holder, err, errlen))
		return -1;
	memcpy(m.holder, holder.pub, CAP_KEY_LEN);
	memcpy(s.holder, holder.pub, CAP_KEY_LEN);
	for (int i = 0; i < nr_disks && s.nr_volumes < CAP_MAX_VOLUMES; i++) {
		char vol[CAP_VOL_NAME_LEN + 1];
		bool ro;
		uint32_t r, j;

		if (uri_volume(disk_uris[i], vol, sizeof(vol), &ro))
			continue;
		r = CAP_STOR_READ | CAP_STOR_STAT | (ro ? 0 : CAP_STOR_WRITE);
		for (j = 0; j < s.nr_volumes && strcmp(s.volumes[j].name, vol); j++)
			;
		if (j == s.nr_volumes)
			memcpy(s.volumes[s.nr_volumes++].name, vol, strlen(vol) + 1);
		s.volumes[j].rights |= r;
		s.rights |= r;
	}
	if (nr_regions && !(mn = sign(&m, caps.lifetime, mb)))
		rc = -1;
	else if (s.nr_volumes && !(sn = sign(&s, caps.lifetime, sb)))
		rc = -1;
	else
		rc = cap_holder_bundle_put(&holder, mb, mn, sb, sn, out, outlen);
	cap_key_free(&holder);
	if (rc)
		snprintf(err, errlen, "cannot sign the vNode's capabilities");
	return rc;
}

int controld_caps_mem_cred(uint64_t uid, uint32_t rights, struct mem_client_cred *cred,
			   uint8_t *buf)
{
	/* Short-lived: one connection's requests. */
	struct cap c = {.kind = CAP_KIND_MEMORY,
			.rights = rights,
			.vnode = uid,
			.region_count = UINT32_MAX};

	memset(cred, 0, sizeof(*cred));
	if (!caps.on)
		return -1;
	memcpy(c.holder, caps.own.pub, CAP_KEY_LEN);
	cred->cap_len = sign(&c, 900, buf);
	cred->cap = buf;
	cred->key = &caps.own;
	return cred->cap_len ? 0 : -1;
}

size_t controld_caps_fill(uint64_t uid, uint32_t index, const uint8_t server_key[CAP_KEY_LEN],
			  uint8_t *out)
{
	struct cap c = {.kind = CAP_KIND_MEMORY,
			.rights = CAP_MEM_READ | CAP_MEM_STATE,
			.vnode = uid,
			.region_first = index,
			.region_count = 1};

	if (!caps.on)
		return 0;
	memcpy(c.holder, server_key, CAP_KEY_LEN);
	/* A fill of a large vRegion may take long: as long as a vNode's. */
	return sign(&c, caps.lifetime, out);
}

struct cap_holder *controld_caps_storage(void)
{
	return caps.on ? &caps.storage : NULL;
}

/* ---- renewals -------------------------------------------------------------------------- */

/* Renew kind of the vNode (uuid, uid) if its capability (b64, expiring at expires) has less
 * than half its life left. */
static void renew_one(const uint8_t uuid[16], const char *name, uint64_t uid, const char *b64,
		      uint64_t expires)
{
	char text[CAP_HOLDER_RENEWAL_MAX], cmd[CAP_HOLDER_RENEWAL_MAX + 32], err[512];
	char *answer = NULL;
	uint64_t now = cap_now();
	struct cap c;

	if (expires > now + caps.lifetime / 2)
		return;
	if (cap_holder_renewal(&caps.signer, &caps.trusted, b64, uid, now, now + caps.lifetime,
			       text, sizeof(text), &c, err, sizeof(err))) {
		log_warn("vNode %s: its capability is not renewed: %s", name, err);
		return;
	}
	snprintf(cmd, sizeof(cmd), "capability-renew %s", text);
	if (controld_vnode_control(uuid, cmd, &answer, err, sizeof(err)) ||
	    strstr(answer, "\"error\""))
		log_warn("vNode %s: the renewal of its %s capability failed: %s", name,
			 cap_kind_name(c.kind), answer ? answer : err);
	else
		log_info("vNode %s: %s capability %016" PRIx64 " renewed for %u s", name,
			 cap_kind_name(c.kind), c.serial, caps.lifetime);
	free(answer);
}

/* Ask one vNode for its capabilities and renew those near their end. */
static void renew_vnode(const uint8_t uuid[16], const char *name, uint64_t uid)
{
	static const char *const kinds[] = {"memory", "storage"};
	char *answer = NULL, err[512];
	json_t *o;

	if (controld_vnode_control(uuid, "capabilities", &answer, err, sizeof(err))) {
		log_debug("vNode %s: no capabilities to renew: %s", name, err);
		return;
	}
	o = json_loads(answer, 0, NULL);
	for (int k = 0; o && k < 2; k++) {
		char key[32];
		const char *b64 = json_string_value(json_object_get(o, kinds[k]));

		snprintf(key, sizeof(key), "%s_expires", kinds[k]);
		if (b64)
			renew_one(uuid, name, uid, b64,
				  (uint64_t)json_integer_value(json_object_get(o, key)));
	}
	json_decref(o);
	free(answer);
}

static void *renewer(void *arg)
{
	/* A few looks per half life, at least one a minute. */
	uint32_t period = caps.lifetime / 6 < 60 ? caps.lifetime / 6 : 60;
	static uint8_t uuids[RENEW_MAX_VNODES][16];
	static char names[RENEW_MAX_VNODES][CP_NAME_LEN + 1];
	static uint64_t uids[RENEW_MAX_VNODES];

	(void)arg;
	while (!atomic_load(&caps.stop)) {
		int n = 0;

		for (uint32_t s = 0; s < (period ? period : 1) * 10 && !atomic_load(&caps.stop);
		     s++)
			usleep(100000);
		controld_registry_lock();
		for (int i = 0; i < controld_registry_nr_vnodes() && n < RENEW_MAX_VNODES; i++) {
			struct controld_registry_vnode *v = controld_registry_vnode_at(i);

			if (v->id < 0 || v->stopping)
				continue;
			memcpy(uuids[n], v->def.uuid, 16);
			snprintf(names[n], sizeof(names[n]), "%s", v->def.name);
			uids[n++] = v->uid;
		}
		controld_registry_unlock();
		for (int i = 0; i < n && !atomic_load(&caps.stop); i++)
			renew_vnode(uuids[i], names[i], uids[i]);
	}
	return NULL;
}

/* The public keys beside the signing key (capability-pub*.pem), if there are any: what a
 * vNode started before a key rotation holds is renewed too. */
static void trusted_keys(const char *key)
{
	char dir[4096], err[512];
	const char *slash = strrchr(key, '/');

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - key) : 1, slash ? key : ".");
	if (!cap_verify_load_dir(&caps.trusted, dir, err, sizeof(err)))
		log_info("capabilities: renewing what %d key%s of %s signed", caps.trusted.nr_keys,
			 caps.trusted.nr_keys == 1 ? "" : "s", dir);
	else
		cap_verify_free(&caps.trusted);
}

int controld_caps_start(const struct controld_caps_options *o)
{
	struct cap s = {
		.kind = CAP_KIND_STORAGE, .rights = CAP_STOR_STAT, .flags = CAP_ALL_VOLUMES};
	char err[512];

	if (o->insecure) {
		log_warn("WARNING: lego-controld runs with --insecure-no-capabilities: it signs no "
			 "capabilities, so its memory and storage servers must serve anyone "
			 "(--insecure-no-capabilities there too)");
		return 0;
	}
	caps.lifetime = o->lifetime;
	if (cap_key_load(&caps.signer, o->key, err, sizeof(err)) ||
	    cap_key_generate(&caps.own, err, sizeof(err)) ||
	    cap_holder_init_key(&caps.storage, o->key, 900, err, sizeof(err)) ||
	    cap_holder_grant(&caps.storage, &s, err, sizeof(err))) {
		log_error(
			"%s; lego-controld signs every vNode's capabilities with the cluster's "
			"capability key (--capability-key FILE; `legoctl pki init` makes one), or "
			"runs with --insecure-no-capabilities",
			err);
		return -1;
	}
	trusted_keys(o->key);
	caps.on = true;
	if (pthread_create(&caps.renewer, NULL, renewer, NULL)) {
		log_error("cannot start the capability renewals");
		return -1;
	}
	log_info("capabilities: signed with %s, each vNode's for %u s and renewed at half", o->key,
		 caps.lifetime);
	return 0;
}

void controld_caps_stop(void)
{
	if (!caps.on)
		return;
	atomic_store(&caps.stop, true);
	pthread_join(caps.renewer, NULL);
	cap_holder_free(&caps.storage);
	cap_verify_free(&caps.trusted);
	cap_key_free(&caps.own);
	cap_key_free(&caps.signer);
	caps.on = false;
}
