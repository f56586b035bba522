/* vmm_caps.c: the capability options' handlers, and what a standalone vNode signs itself. */
#include "vmm_caps.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/parse.h"
#include "vmm/control/vmm_options.h"

void vmm_caps_init(struct vmm_options *c)
{
	memset(&c->caps, 0, sizeof(c->caps));
	c->caps.lifetime = CAP_HOLDER_DEFAULT_LIFETIME;
}

int vmm_caps_capability(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->caps.file = arg;
	return VMM_OPTIONS_OK;
}

int vmm_caps_key(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->caps.key = arg;
	return VMM_OPTIONS_OK;
}

int vmm_caps_lifetime(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_uint(arg, 60, CAP_MAX_LIFETIME, &v)) {
		snprintf(err, errlen, "--capability-lifetime '%s' must be 60..%d seconds", arg,
			 CAP_MAX_LIFETIME);
		return VMM_OPTIONS_BAD;
	}
	c->caps.lifetime = (uint32_t)v;
	return VMM_OPTIONS_OK;
}

/* A standalone vNode's own grants: its vRegions (any may be created, within its RAM) and
 * its storage-server disks (read, and write unless read-only). */
static int self_grant(struct vmm_options *c, char *err, size_t errlen)
{
	struct cap_holder *h = &c->caps.holder;
	const struct blk_config *b = &c->blk;
	struct cap m = {.kind = CAP_KIND_MEMORY,
			.rights = CAP_MEM_OPEN | CAP_MEM_CREATE | CAP_MEM_READ | CAP_MEM_WRITE |
				  CAP_MEM_CLOSE | CAP_MEM_STATE | CAP_MEM_STAT,
			.vnode = c->mem.rm.vnode};
	struct cap s = {.kind = CAP_KIND_STORAGE, .vnode = c->mem.rm.vnode};
	uint64_t rsize = c->mem.rm.region_size;

	if (c->mem.rm.nr_servers) {
		m.region_count = (uint32_t)((c->boot.mem + rsize - 1) / rsize);
		m.region_max = rsize;
		m.quota = (c->boot.mem + 4095) & ~4095ULL;
		if (cap_holder_grant(h, &m, err, errlen))
			return -1;
	}
	for (int i = 0; i < b->nr_disks; i++) {
		const struct blk_config_disk_spec *d = &b->disks[i];
		uint32_t r = CAP_STOR_READ | CAP_STOR_STAT | (d->read_only ? 0 : CAP_STOR_WRITE);
		uint32_t j;

		if (!d->smon)
			continue;
		for (j = 0; j < s.nr_volumes && strcmp(s.volumes[j].name, d->vol); j++)
			;
		if (j == s.nr_volumes)
			snprintf(s.volumes[s.nr_volumes++].name, CAP_VOL_NAME_LEN + 1, "%s",
				 d->vol);
		s.volumes[j].rights |= r;
		s.rights |= r;
	}
	return s.nr_volumes ? cap_holder_grant(h, &s, err, errlen) : 0;
}

int vmm_caps_finish(struct vmm_options *c, char *err, size_t errlen)
{
	struct vmm_caps *k = &c->caps;
	struct cap m;

	if (k->file && k->key) {
		snprintf(err, errlen, "--capability and --capability-key exclude each other");
		return VMM_OPTIONS_BAD;
	}
	if (k->key) {
		if (cap_holder_init_key(&k->holder, k->key, k->lifetime, err, errlen))
			return VMM_OPTIONS_REFUSED;
		k->ready = true;
		if (self_grant(c, err, errlen))
			return VMM_OPTIONS_REFUSED;
		log_info("capabilities: signed here with %s, each for %u s", k->key, k->lifetime);
	} else if (k->file) {
		if (cap_holder_init_bundle_file(&k->holder, k->file, err, errlen))
			return VMM_OPTIONS_REFUSED;
		k->ready = true;
		if (cap_holder_get(&k->holder, CAP_KIND_MEMORY, &m) && c->mem.rm.nr_servers &&
		    m.vnode != c->mem.rm.vnode) {
			snprintf(err, errlen,
				 "--capability %s is for vNode %" PRIu64 ", not this one (%" PRIu64
				 ")",
				 k->file, m.vnode, c->mem.rm.vnode);
			return VMM_OPTIONS_REFUSED;
		}
	}
	/* What the memory and disk subsystems present. */
	c->mem.rm.holder = vmm_caps_holder(c);
	c->blk.holder = vmm_caps_holder(c);
	return VMM_OPTIONS_OK;
}

void vmm_caps_free(struct vmm_caps *k)
{
	if (k->ready)
		cap_holder_free(&k->holder);
	k->ready = false;
}

struct cap_holder *vmm_caps_holder(struct vmm_options *c)
{
	return c->caps.ready ? &c->caps.holder : NULL;
}
