/* mem_config.c: the remote-memory options' handlers and checks (--region-owners read against
 * --mem and the --mmon list), and the start of remote memory they describe. */
#include "mem_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "vmm/control/vmm_options.h"

void mem_config_init(struct vmm_options *c)
{
	struct mem_config *m = &c->mem;

	memset(m, 0, sizeof(*m));
	m->rm.region_size = MEM_DEFAULT_REGION;
	m->rm.timeout_ms = MEM_DEFAULT_TIMEOUT_MS;
	m->rm.use_rma = true;
	m->rm.provider = fabric_default_provider();
	m->pager_threads = MEM_DEFAULT_PAGER_THREADS;
}

int mem_config_mmon(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	struct remote_mem_config *rm = &c->mem.rm;
	char host[256], port[16];

	if (rm->nr_servers == RM_MAX_SERVERS) {
		snprintf(err, errlen, "too many --mmon options (at most %d)", RM_MAX_SERVERS);
		return VMM_OPTIONS_BAD;
	}
	if (remote_mem_parse_server(arg, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "--mmon '%s' is not HOST:PORT", arg);
		return VMM_OPTIONS_BAD;
	}
	rm->servers[rm->nr_servers++] = arg;
	return VMM_OPTIONS_OK;
}

int mem_config_region_size(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_size(arg, &v) || v == 0 || v % (2ULL << 20) || v > MP_REGION_MAX) {
		snprintf(err, errlen, "--region-size '%s' must be a multiple of 2 MiB up to 1T",
			 arg);
		return VMM_OPTIONS_BAD;
	}
	c->mem.rm.region_size = v;
	return VMM_OPTIONS_OK;
}

int mem_config_region_owners(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->mem.region_owners = arg;
	return VMM_OPTIONS_OK;
}

int mem_config_replicas(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_uint(arg, 1, RM_MAX_COPIES, &v)) {
		snprintf(err, errlen, "--replicas '%s' must be a number from 1 to %d", arg,
			 RM_MAX_COPIES);
		return VMM_OPTIONS_BAD;
	}
	c->mem.replicas = (int)v;
	return VMM_OPTIONS_OK;
}

int mem_config_cache(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_size(arg, &v) || v < MEM_MIN_CACHE) {
		snprintf(err, errlen, "--cache '%s' is not a size of at least 1M", arg);
		return VMM_OPTIONS_BAD;
	}
	c->mem.cache = v & ~4095ULL;
	return VMM_OPTIONS_OK;
}

int mem_config_pager_threads(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_uint(arg, 1, PAGER_MAX_THREADS, &v)) {
		snprintf(err, errlen, "--pager-threads '%s' must be 1..%d", arg, PAGER_MAX_THREADS);
		return VMM_OPTIONS_BAD;
	}
	c->mem.pager_threads = (int)v;
	return VMM_OPTIONS_OK;
}

int mem_config_no_prefetch(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)arg, (void)err, (void)errlen;
	c->mem.no_prefetch = true;
	return VMM_OPTIONS_OK;
}

int mem_config_pager_mode(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	static const enum pager_mode modes[] = {PAGER_MODE_AUTO, PAGER_MODE_COPY,
						PAGER_MODE_ZEROCOPY};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(arg, pager_mode_name(modes[i]))) {
			c->mem.pager_mode = modes[i];
			return VMM_OPTIONS_OK;
		}
	snprintf(err, errlen, "--pager-mode '%s' must be auto, copy or zerocopy", arg);
	return VMM_OPTIONS_BAD;
}

int mem_config_mem_trace(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->mem.trace_path = arg;
	return VMM_OPTIONS_OK;
}

int mem_config_no_rma(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)arg, (void)err, (void)errlen;
	c->mem.rm.use_rma = false;
	return VMM_OPTIONS_OK;
}

int mem_config_provider(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->mem.rm.provider = arg;
	return VMM_OPTIONS_OK;
}

int mem_config_mmon_timeout(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_uint(arg, 100, 3600000, &v)) {
		snprintf(err, errlen, "--mmon-timeout '%s' must be 100..3600000 ms", arg);
		return VMM_OPTIONS_BAD;
	}
	c->mem.rm.timeout_ms = (int)v;
	return VMM_OPTIONS_OK;
}

int mem_config_vnode_id(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_uint(arg, 1, UINT64_MAX, &v)) {
		snprintf(err, errlen, "--vnode-id '%s' must be a number from 1", arg);
		return VMM_OPTIONS_BAD;
	}
	c->mem.rm.vnode = v;
	return VMM_OPTIONS_OK;
}

int mem_config_keep_regions(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)arg, (void)err, (void)errlen;
	c->mem.keep_regions = true;
	return VMM_OPTIONS_OK;
}

int mem_config_attach_regions(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)arg, (void)err, (void)errlen;
	c->mem.attach_regions = true;
	return VMM_OPTIONS_OK;
}

/* One item of --region-owners ("1+0+2": a vRegion's servers, primary first) into row (when
 * region n exists: a longer list is only counted). */
static int mem_config_owner_item(struct mem_config *m, const char *text, char *item, uint64_t n,
				 uint64_t regions, char *err, size_t errlen)
{
	char *q = item;
	uint64_t v;
	int k = 0;

	for (;;) {
		char *plus = strchr(q, '+');

		if (plus)
			*plus = '\0';
		if (parse_uint(q, 0, UINT32_MAX, &v)) {
			snprintf(err, errlen,
				 "--region-owners '%s': '%s' is not a memory-server index", text,
				 q);
			return VMM_OPTIONS_BAD;
		}
		if (v >= (uint64_t)m->rm.nr_servers) {
			snprintf(err, errlen,
				 "--region-owners '%s': server index %llu is out of range: %d "
				 "--mmon "
				 "server(s) are indexed 0..%d",
				 text, (unsigned long long)v, m->rm.nr_servers,
				 m->rm.nr_servers - 1);
			return VMM_OPTIONS_BAD;
		}
		if (k == RM_MAX_COPIES) {
			snprintf(err, errlen,
				 "--region-owners '%s': more than %d copies of a vRegion", text,
				 RM_MAX_COPIES);
			return VMM_OPTIONS_BAD;
		}
		if (n < regions) {
			for (int j = 0; j < k; j++)
				if (m->owners[n][j] == (int)v) {
					snprintf(err, errlen,
						 "--region-owners '%s': two copies of vRegion %llu "
						 "on "
						 "server %llu",
						 text, (unsigned long long)n,
						 (unsigned long long)v);
					return VMM_OPTIONS_BAD;
				}
			m->owners[n][k] = (int)v;
		}
		k++;
		if (!plus)
			break;
		q = plus + 1;
	}
	if (n < regions)
		for (int j = k; j < RM_MAX_COPIES; j++)
			m->owners[n][j] = -1;
	return VMM_OPTIONS_OK;
}

/* --region-owners: the servers of each vRegion's copies ("0+1,1+2": primary first), checked
 * against --mem, --region-size and the --mmon count. */
static int mem_config_owners(struct mem_config *m, uint64_t mem, char *err, size_t errlen)
{
	const char *text = m->region_owners, *p = text;
	uint64_t regions = (mem + m->rm.region_size - 1) / m->rm.region_size, n = 0;

	if (!m->rm.nr_servers) {
		snprintf(err, errlen, "--region-owners needs --mmon");
		return VMM_OPTIONS_BAD;
	}
	if (m->replicas) {
		snprintf(err, errlen,
			 "--replicas and --region-owners exclude each other: the owners name every "
			 "copy");
		return VMM_OPTIONS_BAD;
	}
	m->owners = calloc(regions, sizeof(*m->owners));
	if (!m->owners) {
		snprintf(err, errlen, "out of memory");
		return VMM_OPTIONS_BAD;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		char item[64];

		if (!len || len >= sizeof(item)) {
			snprintf(err, errlen,
				 "--region-owners '%s' must be comma-separated memory-server "
				 "indexes, "
				 "each with its copies' servers after '+', e.g. 0,1+0,1",
				 text);
			return VMM_OPTIONS_BAD;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (mem_config_owner_item(m, text, item, n, regions, err, errlen))
			return VMM_OPTIONS_BAD;
		n++;
		if (!p[len])
			break;
		p += len + 1;
	}
	if (n != regions) {
		snprintf(err, errlen,
			 "--region-owners '%s' names %llu vRegion(s), but --mem %llu MiB in "
			 "vRegions "
			 "of %llu MiB makes %llu",
			 text, (unsigned long long)n, (unsigned long long)(mem >> 20),
			 (unsigned long long)(m->rm.region_size >> 20),
			 (unsigned long long)regions);
		return VMM_OPTIONS_BAD;
	}
	m->rm.owners = (const int(*)[RM_MAX_COPIES])m->owners;
	return VMM_OPTIONS_OK;
}

int mem_config_finish(struct vmm_options *c, char *err, size_t errlen)
{
	struct mem_config *m = &c->mem;
	int rc;

	if (!m->rm.nr_servers &&
	    (m->cache || m->keep_regions || m->rm.vnode || m->attach_regions || m->trace_path)) {
		snprintf(err, errlen,
			 "--cache, --keep-regions, --attach-regions, --vnode-id and --mem-trace "
			 "need "
			 "--mmon");
		return VMM_OPTIONS_BAD;
	}
	if (m->replicas && !m->rm.nr_servers) {
		snprintf(err, errlen, "--replicas needs --mmon");
		return VMM_OPTIONS_BAD;
	}
	if (m->replicas > m->rm.nr_servers) {
		snprintf(err, errlen, "--replicas %d needs as many --mmon servers (%d given)",
			 m->replicas, m->rm.nr_servers);
		return VMM_OPTIONS_BAD;
	}
	if (m->pager_mode != PAGER_MODE_AUTO && !m->rm.nr_servers) {
		snprintf(err, errlen, "--pager-mode needs --mmon");
		return VMM_OPTIONS_BAD;
	}
	/* vhost-net has been shown to work on anonymous guest RAM served by userfaultfd only
	 * (vhost_uffd_probe), not on a memfd in minor-fault mode. */
	if (m->pager_mode == PAGER_MODE_ZEROCOPY && c->net.nr_nics) {
		snprintf(err, errlen,
			 "--pager-mode zerocopy cannot serve a vNode with --net "
			 "(vhost-net shares guest RAM): use copy or auto");
		return VMM_OPTIONS_BAD;
	}
	m->rm.replicas = m->replicas;
	if (m->region_owners && (rc = mem_config_owners(m, c->boot.mem, err, errlen)))
		return rc;
	if (!m->cache || m->cache > c->boot.mem)
		m->cache = c->boot.mem;
	while (!m->rm.vnode)
		if (getrandom(&m->rm.vnode, sizeof(m->rm.vnode), 0) != sizeof(m->rm.vnode))
			m->rm.vnode = (uint64_t)getpid() << 16 | (uint64_t)time(NULL);
	snprintf(m->client_name, sizeof(m->client_name), "lego-vmm-%d", (int)getpid());
	m->rm.client_name = m->client_name;
	return VMM_OPTIONS_OK;
}

void mem_config_free(struct mem_config *m)
{
	free(m->owners);
	m->owners = NULL;
}

int mem_config_start(const struct mem_config *m, uint64_t mem, bool vhost, struct vm *vm,
		     struct remote_mem *rm, struct pager **pg)
{
	struct pager_config pc = {.cache_bytes = m->cache,
				  .threads = m->pager_threads,
				  .prefetch = !m->no_prefetch,
				  .attached = m->attach_regions,
				  .mode = m->pager_mode,
				  .vhost = vhost,
				  .trace_path = m->trace_path};

	if (remote_mem_open(rm, &m->rm, mem, m->pager_threads + 1)) {
		log_error("remote memory: %s", rm->error);
		return -1;
	}
	log_info("remote memory: vNode %llu, %d vRegion(s) of up to %llu MiB on %d server(s)",
		 (unsigned long long)rm->vnode, rm->nr_regions,
		 (unsigned long long)(rm->region_size >> 20), rm->nr_servers);
	if (m->region_owners)
		log_info("remote memory: vRegion owners (--region-owners): %.200s%s",
			 m->region_owners, strlen(m->region_owners) > 200 ? "..." : "");
	return pager_start(pg, vm, rm, &pc);
}
