/* controld_vnode.c: start, stop, pause and inspect vNodes through the processor hosts. */
#include "controld_vnode.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cluster/cluster_io.h"
#include "controlplane/controld/mempool/controld_owed.h"
#include "controlplane/controld/mempool/controld_memctl.h"
#include "controld_caps.h"
#include "controld_net.h"
#include "controld_netsync.h"
#include "controld_placed.h"
#include "controld_registry.h"
#include "controld_volumes.h"
#include "controlplane/controld/libvirt/libvirt_events.h"
#include "controlplane/controld/libvirt/rpc_proto.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/parse.h"
#include "placement.h"
#include "lib/client/smon_client.h"

#define CALL_TIMEOUT_MS 10000
/* VM_START is answered once lego-vmm runs the vNode: lego-pmon may first start a network's
 * DHCP server on that host (up to 30 s: pmon_dhcp.c), then waits for lego-vmm (it gives up
 * after 45 s: PMON_READY_WAIT_MS). */
#define START_TIMEOUT_MS 90000
#define MIB		 (1024ULL * 1024)

static struct controld_vnode_options opt = {
	.region_size = 64 * MIB, .provider = NULL, .stop_grace_ms = 5000, .replication = 1};

void controld_vnode_configure(const struct controld_vnode_options *o)
{
	opt = *o;
}

const char *controld_vnode_provider(void)
{
	return opt.provider;
}

static int pmon_call_within(const char *host, uint16_t op, const void *req, size_t len,
			    uint8_t **reply, size_t *rlen, int timeout_ms, char *err,
			    size_t errlen);

int controld_vnode_pmon_call(const char *host, uint16_t op, const void *req, size_t len,
			     uint8_t **reply, size_t *rlen, char *err, size_t errlen)
{
	return pmon_call_within(host, op, req, len, reply, rlen, CALL_TIMEOUT_MS, err, errlen);
}

/* A connection to host's lego-pmon (its certificate must name it), or NULL with err. */
static struct tls_conn *pmon_dial(const char *host, char *err, size_t errlen)
{
	char addr[CP_ADDR_LEN + 1], why[CP_ERRTEXT_MAX + 64];
	struct controld_registry_component *c;
	/* Only the lego-pmon registered under that name: its certificate says so. */
	const struct tls_conn_expect want = {.kinds = TLS_KIND_BIT(TLS_KIND_PMON), .name = host};
	struct tls_conn *conn;

	controld_registry_lock();
	c = controld_registry_find_component(CP_KIND_PMON, host);
	if (c && c->alive)
		snprintf(addr, sizeof(addr), "%s", c->addr);
	controld_registry_unlock();
	if (!c || !c->alive) {
		snprintf(err, errlen, "processor host '%s' is down", host);
		return NULL;
	}
	conn = tls_conn_dial(addr, opt.pki, &want, CALL_TIMEOUT_MS, why, sizeof(why));
	if (!conn)
		snprintf(err, errlen, "processor host '%s': %s", host, why);
	return conn;
}

static int pmon_call_within(const char *host, uint16_t op, const void *req, size_t len,
			    uint8_t **reply, size_t *rlen, int timeout_ms, char *err, size_t errlen)
{
	char why[CP_ERRTEXT_MAX + 64];
	struct tls_conn *conn = pmon_dial(host, err, errlen);
	int rc;

	if (!conn)
		return -1;
	rc = cluster_io_call(conn, op, req, len, reply, rlen, timeout_ms, why, sizeof(why));
	tls_conn_close(conn);
	if (rc != CP_OK)
		snprintf(err, errlen, "processor host '%s': %s", host, why);
	return rc;
}

int controld_vnode_pmon_query(struct controld_vnode_pmon_conn *pc, const char *host, uint16_t op,
			      const void *req, size_t len, uint8_t **reply, size_t *rlen, char *err,
			      size_t errlen)
{
	char why[CP_ERRTEXT_MAX + 64];

	if (pc->c && strcmp(pc->host, host))
		controld_vnode_pmon_release(pc);
	for (bool fresh = !pc->c;; fresh = true) {
		int rc;

		if (!pc->c && !(pc->c = pmon_dial(host, err, errlen)))
			return -1;
		snprintf(pc->host, sizeof(pc->host), "%s", host);
		rc = cluster_io_call(pc->c, op, req, len, reply, rlen, CALL_TIMEOUT_MS, why,
				     sizeof(why));
		if (rc != CP_OK)
			snprintf(err, errlen, "processor host '%s': %s", host, why);
		if (rc >= 0)
			return rc;
		controld_vnode_pmon_release(pc);
		if (fresh)
			return -1; /* else a kept one the host closed meanwhile: a new one */
	}
}

void controld_vnode_pmon_release(struct controld_vnode_pmon_conn *pc)
{
	tls_conn_close(pc->c);
	pc->c = NULL;
}

void controld_vnode_wire_name(char *out, size_t len, const char *name)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < len; i++)
		out[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '_';
	out[i] = '\0';
}

uint64_t controld_vnode_json_u64(const char *json, const char *key)
{
	char pat[80];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = json ? strstr(json, pat) : NULL;
	return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

void controld_vnode_placed_use(const char *name, int kind, uint32_t *cores, uint64_t *bytes)
{
	*cores = 0;
	*bytes = 0;
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		struct controld_registry_vnode *v = controld_registry_vnode_at(i);

		if (v->id < 0)
			continue;
		/* A migration's destination holds the vNode's cores and ExCache too. */
		if (kind == CP_KIND_PMON &&
		    (!strcmp(v->host, name) || (v->mig.active && !strcmp(v->mig.dest, name)))) {
			*cores += v->run_args ? v->run_vcpus : v->def.vcpus;
			*bytes += v->run_args ? v->run_excache
					      : (v->def.excache_kib ? v->def.excache_kib
								    : v->def.memory_kib) *
							1024;
		}
		if (kind == CP_KIND_MMON) {
			uint64_t ram = v->def.memory_kib * 1024;
			int s = vnode_map_find(&v->map, name);

			for (int r = 0; s >= 0 && r < v->map.nr_regions; r++)
				if (vnode_map_has_copy(&v->map, r, s))
					*bytes += vnode_map_region_bytes(r, v->map.nr_regions, ram,
									 v->region_size);
			/* A copy being added there is reserved already. */
			if (!strcmp(v->step_to, name))
				*bytes += v->step_bytes;
		}
	}
}

void controld_vnode_mem_snapshot(struct placement_mem *mems,
				 const struct controld_registry_component **mc, int *nm)
{
	struct controld_placed *use = calloc(REG_MAX_COMPONENTS, sizeof(*use));

	*nm = 0;
	if (use)
		controld_placed_all(use);
	for (int i = 0; i < controld_registry_nr_components() && *nm < PL_MAX; i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);
		uint64_t bytes = use ? use[i].bytes : 0;

		if (c->kind != CP_KIND_MMON)
			continue;
		if (!use) /* out of memory: the slow way */
			controld_vnode_placed_use(c->name, c->kind, &(uint32_t){0}, &bytes);
		mc[*nm] = c;
		mems[(*nm)++] = (struct placement_mem){
			.name = c->name,
			.alive = c->alive,
			.draining = c->draining,
			.capacity = c->capacity,
			.used = bytes > c->used_bytes ? bytes : c->used_bytes,
			.placed = bytes};
	}
	free(use);
}

int controld_vnode_replication(const struct domain_xml_def *d)
{
	return d->replication ? (int)d->replication : opt.replication;
}

/* GPM + GMM over a snapshot of the registry (under its lock). */
static int place(struct controld_registry_vnode *v, char *err, size_t errlen)
{
	struct placement_host hosts[PL_MAX];
	struct placement_mem mems[PL_MAX];
	const struct controld_registry_component *hc[PL_MAX], *mc[PL_MAX];
	int nh = 0, nm = 0, h, nr, copies = controld_vnode_replication(&v->def);
	int(*owner)[PL_MAX_COPIES] = malloc(REG_MAX_REGIONS * sizeof(*owner));
	struct controld_placed *use = calloc(REG_MAX_COMPONENTS, sizeof(*use));
	uint64_t ram = v->def.memory_kib * 1024,
		 excache = (v->def.excache_kib ? v->def.excache_kib : v->def.memory_kib) * 1024;
	uint64_t rsize = opt.region_size, min = (ram + REG_MAX_REGIONS - 1) / REG_MAX_REGIONS;

	if (!owner || !use) {
		free(owner);
		free(use);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	controld_placed_all(use);
	for (int i = 0; i < controld_registry_nr_components(); i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);
		uint32_t cores = use[i].cores;
		uint64_t bytes = use[i].bytes;

		if (c->kind != CP_KIND_PMON || nh == PL_MAX)
			continue;
		hc[nh] = c;
		hosts[nh++] = (struct placement_host){
			.name = c->name,
			.alive = c->alive,
			.cores = c->cores,
			.used_cores = cores > c->used_cores ? cores : c->used_cores,
			.mem = c->capacity,
			.used_mem = bytes > c->used_bytes ? bytes : c->used_bytes};
	}
	free(use);
	controld_vnode_mem_snapshot(mems, mc, &nm);
	h = placement_pick_processor(hosts, nh, v->def.place_processor, v->def.vcpus, excache, err,
				     errlen);
	if (rsize < min)
		rsize = (min + 2 * MIB - 1) / (2 * MIB) * (2 * MIB);
	nr = h < 0 ? -1
		   : placement_place_regions(mems, nm, v->def.place_memory, ram, rsize, copies,
					     owner, REG_MAX_REGIONS, err, errlen);
	if (nr < 0) {
		free(owner);
		return -1;
	}
	/* The servers this vNode uses, in first-use order, and copies as indexes into them. */
	controld_registry_copy_sparse(&v->map, NULL, sizeof(v->map)); /* pages never used stay so */
	v->map.nr_regions = nr;
	for (int r = 0; r < nr; r++)
		for (int k = 0; k < copies; k++) {
			const struct controld_registry_component *c = mc[owner[r][k]];
			int s = vnode_map_server(&v->map, c->name, c->addr);

			if (s < 0) {
				snprintf(err, errlen, "a vNode spans at most %d memory servers",
					 REG_MAX_MMONS);
				free(owner);
				return -1;
			}
			vnode_map_add_copy(&v->map, r, s);
		}
	free(owner);
	v->replication = copies;
	v->map_version = 1;
	v->mem_lost = false;
	v->region_size = rsize;
	snprintf(v->host, sizeof(v->host), "%s", hc[h]->name);
	return 0;
}

struct smon_ref {
	char name[CP_NAME_LEN + 1], addr[CP_ADDR_LEN + 1];
};

/* Does the storage server at addr hold vol? 1 yes, 0 no, -1 unreachable. */
static int smon_has(const char *addr, const char *vol, char *err, size_t errlen)
{
	char host[256], port[16];
	struct smon_client *cl;
	struct stor_proto_vol_info info;
	int rc;

	if (parse_hostport(addr, 1, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "bad address '%s'", addr);
		return -1;
	}
	if (smon_client_connect(opt.provider, host, port, "lego-controld", controld_caps_storage(),
				5000, &cl, err, errlen))
		return -1;
	rc = smon_client_vol_stat(cl, vol, &info);
	if (rc && rc != -ENOENT)
		snprintf(err, errlen, "%s", smon_client_error(cl));
	smon_client_disconnect(cl);
	return rc == 0 ? 1 : rc == -ENOENT ? 0 : -1;
}

/* GSM: the storage server of every disk (explicit host, placement hint, or the server
 * holding the volume). Called without the registry lock: it talks to the servers. */
static int place_disks(const struct domain_xml_def *d, const struct smon_ref *smons, int ns,
		       char (*uri)[CP_ADDR_LEN + DOM_VOLUME_MAX + 16], char *err, size_t errlen)
{
	for (int i = 0; i < d->nr_disks; i++) {
		const struct domain_xml_disk *k = &d->disks[i];
		const char *ro = k->readonly ? ",ro" : "";
		char why[512] = "";
		int found = -1, reachable = 0;

		if (k->host[0]) {
			bool v6 = strchr(k->host, ':') != NULL;

			snprintf(uri[i], sizeof(uri[i]), "smon://%s%s%s:%u/%s%s", v6 ? "[" : "",
				 k->host, v6 ? "]" : "", k->port, k->volume, ro);
			continue;
		}
		for (int s = 0; s < ns && found < 0; s++) {
			int has;

			if (d->place_storage[0] && strcmp(d->place_storage, smons[s].name))
				continue;
			has = smon_has(smons[s].addr, k->volume, why, sizeof(why));
			reachable += has >= 0;
			if (has == 1)
				found = s;
		}
		if (found < 0) {
			if (d->place_storage[0] && !reachable)
				snprintf(err, errlen,
					 "storage server '%s' named by the placement hint is not "
					 "registered or unreachable",
					 d->place_storage);
			else
				snprintf(err, errlen,
					 "volume '%s' (disk %s) is on no registered storage "
					 "server%s%s; "
					 "create it with 'legoctl volume create'",
					 k->volume, k->target, why[0] ? ": " : "", why);
			return -1;
		}
		snprintf(uri[i], sizeof(uri[i]), "smon://%s/%s%s", smons[found].addr, k->volume,
			 ro);
	}
	return 0;
}

/* lego-vmm's options for v's placement, as VM_START strings. */
static size_t vmm_args(const struct controld_registry_vnode *v, char *buf, size_t cap,
		       uint32_t *argc)
{
	size_t n = 0;
	char tmp[REG_MAX_REGIONS * VMAP_MAX_COPIES * 3 + 8];

#define ARG(...)                                                  \
	do {                                                      \
		int w_ = snprintf(buf + n, cap - n, __VA_ARGS__); \
		if (w_ < 0 || (size_t)w_ + 1 > cap - n)           \
			return 0;                                 \
		n += (size_t)w_ + 1;                              \
		(*argc)++;                                        \
	} while (0)
	*argc = 0;
	ARG("--kernel");
	ARG("%s", v->def.kernel);
	if (v->def.initrd[0]) {
		ARG("--initrd");
		ARG("%s", v->def.initrd);
	}
	ARG("--mem");
	ARG("%" PRIu64 "K", v->def.memory_kib);
	ARG("--cpus");
	ARG("%u", v->def.vcpus);
	if (v->def.cmdline[0]) {
		ARG("--append");
		ARG("%s", v->def.cmdline);
	}
	for (int i = 0; i < v->map.nr_mmons; i++) {
		ARG("--mmon");
		ARG("%s", v->map.mmon_addr[i]);
	}
	ARG("--region-size");
	ARG("%" PRIu64 "K", v->region_size / 1024);
	if (vnode_map_format_owners(&v->map, tmp, sizeof(tmp)) < 0)
		return 0;
	ARG("--region-owners");
	ARG("%s", tmp);
	/* The cluster's one fabric: lego-vmm reaches the servers as lego-controld does. */
	if (opt.provider) {
		ARG("--provider");
		ARG("%s", opt.provider);
	}
	ARG("--cache");
	ARG("%" PRIu64 "K", v->def.excache_kib ? v->def.excache_kib : v->def.memory_kib);
	for (int i = 0; i < v->def.nr_disks; i++) {
		ARG("--disk");
		ARG("%s", v->disk_uri[i]);
	}
	for (int i = 0; i < v->run_nr_net; i++) {
		net_proto_attach_format(&v->run_net[i], tmp);
		ARG("--net-attach");
		ARG("%s", tmp);
	}
#undef ARG
	return n;
}

int controld_vnode_append_capability(const struct controld_registry_vnode *v, uint8_t *args,
				     uint32_t *argc, uint32_t *args_len, char *err, size_t errlen)
{
	const char *uris[DOM_MAX_DISKS];
	char *bundle;
	int w;

	if (!controld_caps_on())
		return 0;
	bundle = malloc(CAP_HOLDER_BUNDLE_MAX);
	if (!bundle) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < v->def.nr_disks; i++)
		uris[i] = v->disk_uri[i];
	if (controld_caps_bundle(v->uid, (uint32_t)v->map.nr_regions, v->region_size,
				 v->def.memory_kib * 1024, uris, v->def.nr_disks, bundle,
				 CAP_HOLDER_BUNDLE_MAX, err, errlen)) {
		free(bundle);
		return -1;
	}
	/* Not recorded with the run's options: a new run (a migration's destination) gets
	 * capabilities of its own. lego-pmon hands the value over in a file. */
	w = snprintf((char *)args + *args_len, CP_ARGS_MAX - *args_len, "--capability%c%s", 0,
		     bundle);
	free(bundle);
	if (w < 0 || (size_t)w + 1 > CP_ARGS_MAX - *args_len) {
		snprintf(err, errlen, "the vNode's options are too long");
		return -1;
	}
	*args_len += (uint32_t)w + 1;
	*argc += 2;
	return 0;
}

static int check_startable(const struct domain_xml_def *d, char *err, size_t errlen)
{
	uint64_t mem = d->memory_kib * 1024;

	if (mem % (2 * MIB) || mem < 4 * MIB || mem > 64ULL * 1024 * MIB) {
		snprintf(err, errlen,
			 "unsupported configuration: memory must be a multiple of 2 MiB between "
			 "4 MiB and 64 GiB (is %" PRIu64 " KiB)",
			 d->memory_kib);
		return RPC_ERR_CONFIG_UNSUPPORTED;
	}
	if (d->excache_kib && d->excache_kib < 1024) {
		snprintf(err, errlen,
			 "unsupported configuration: the ExCache needs at least 1 MiB");
		return RPC_ERR_CONFIG_UNSUPPORTED;
	}
	if (!d->kernel[0]) {
		snprintf(err, errlen, "unsupported configuration: no <kernel> image in <os>");
		return RPC_ERR_CONFIG_UNSUPPORTED;
	}
	return 0;
}

int controld_vnode_start(const uint8_t uuid[16], char *err, size_t errlen)
{
	struct smon_ref smons[PL_MAX];
	char(*uri)[CP_ADDR_LEN + DOM_VOLUME_MAX + 16] = NULL;
	struct domain_xml_def *def = malloc(sizeof(*def));
	uint8_t *req = malloc(CP_VM_START_LEN + CP_ARGS_MAX), *reply = NULL;
	struct cluster_proto_vm_start vs = {0};
	struct controld_registry_vnode *v;
	size_t rlen;
	int ns = 0, rc = RPC_ERR_OPERATION_FAILED;
	int64_t started;

	uri = calloc(DOM_MAX_DISKS, sizeof(*uri));
	if (!def || !req || !uri) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	controld_registry_ops_lock();
	controld_registry_lock();
	v = controld_registry_find_uuid(uuid);
	if (!v) {
		controld_registry_unlock();
		snprintf(err, errlen, "Domain not found");
		rc = RPC_ERR_NO_DOMAIN;
		goto out_ops;
	}
	if (v->id >= 0) {
		controld_registry_unlock();
		snprintf(err, errlen,
			 "Requested operation is not valid: domain is already running");
		rc = RPC_ERR_OPERATION_INVALID;
		goto out_ops;
	}
	rc = check_startable(&v->def, err, errlen);
	if (!rc) /* the lifecycle mutex keeps another start from taking a volume meanwhile */
		rc = controld_volumes_check(v, err, errlen);
	*def = v->def;
	for (int i = 0; i < controld_registry_nr_components() && !rc; i++) {
		const struct controld_registry_component *c = controld_registry_component_at(i);

		if (c->kind == CP_KIND_SMON && c->alive && ns < PL_MAX) {
			snprintf(smons[ns].name, sizeof(smons[ns].name), "%s", c->name);
			snprintf(smons[ns].addr, sizeof(smons[ns].addr), "%s", c->addr);
			ns++;
		}
	}
	controld_registry_unlock();
	if (rc)
		goto out_ops;
	rc = RPC_ERR_OPERATION_FAILED;
	if (place_disks(def, smons, ns, uri, err, errlen))
		goto out_ops;

	controld_registry_lock();
	v = controld_registry_find_uuid(uuid); /* the ops lock keeps it defined */
	rc = controld_net_run_from_def(v, err, errlen);
	if (rc || place(v, err, errlen)) {
		v->run_nr_net = 0;
		controld_registry_unlock();
		rc = rc ? rc : RPC_ERR_OPERATION_FAILED;
		goto out_ops;
	}
	rc = RPC_ERR_OPERATION_FAILED;
	memcpy(v->disk_uri, uri, DOM_MAX_DISKS * sizeof(*uri));
	controld_registry_assign_id(v);
	v->state = VN_RUNNING;
	v->reason = VN_RUNNING_BOOTED;
	v->confirmed = false;
	v->stopping = false;
	v->starting = true;
	v->reconciled = true; /* a new run: no step of it was cut short */
	v->started_ms = started = mono_clock_ms();
	memcpy(vs.uuid, uuid, 16);
	vs.vnode_uid = v->uid;
	vs.domid = v->id;
	vs.vcpus = v->def.vcpus;
	vs.excache_bytes = (v->def.excache_kib ? v->def.excache_kib : v->def.memory_kib) * 1024;
	controld_vnode_wire_name(vs.name, sizeof(vs.name), v->def.name);
	vs.args_len = (uint32_t)vmm_args(v, (char *)req + CP_VM_START_LEN, CP_ARGS_MAX, &vs.argc);
	char host[CP_NAME_LEN + 1];

	snprintf(host, sizeof(host), "%s", v->host);
	if (!vs.args_len ||
	    controld_registry_set_run_args(v, (char *)req + CP_VM_START_LEN, vs.argc, vs.args_len,
					   vs.vcpus, vs.excache_bytes) ||
	    controld_registry_store_save_run(v) || controld_registry_store_save_live(v)) {
		snprintf(err, errlen, "cannot record the vNode's placement");
		controld_registry_mark_stopped(v, VN_SHUTOFF_FAILED, -1);
		controld_registry_unlock();
		goto out_ops;
	}
	if (controld_vnode_append_capability(v, req + CP_VM_START_LEN, &vs.argc, &vs.args_len, err,
					     errlen)) {
		controld_registry_mark_stopped(v, VN_SHUTOFF_FAILED, -1);
		controld_registry_unlock();
		goto out_ops;
	}
	log_info("starting vNode %s (id %d) on %s: %d vRegion(s) of %" PRIu64
		 " MiB, %d cop%s each, on %d memory server(s), %d disk(s)",
		 v->def.name, v->id, v->host, v->map.nr_regions, (uint64_t)(v->region_size / MIB),
		 v->replication, v->replication == 1 ? "y" : "ies", v->map.nr_mmons,
		 v->def.nr_disks);
	controld_registry_unlock();

	cluster_proto_vm_start_put(req, &vs);
	/* The host learns the networks before it is asked to attach to one. */
	rc = controld_netsync_host(host, err, errlen);
	if (!rc)
		rc = pmon_call_within(host, CP_VM_START, req, CP_VM_START_LEN + vs.args_len, &reply,
				      &rlen, START_TIMEOUT_MS, err, errlen);
	free(reply);
	controld_registry_lock();
	v = controld_registry_find_uuid(uuid);
	if (rc != CP_OK) {
		/* Its exit may have come in a heartbeat already: either way it failed. */
		if (v && v->id == vs.domid)
			controld_registry_mark_stopped(v, VN_SHUTOFF_FAILED, -1);
		if (v && v->id < 0 && v->started_ms == started) {
			v->reason = VN_SHUTOFF_FAILED;
			snprintf(v->last_exit, sizeof(v->last_exit), "failed to start: %s", err);
		}
		log_error("vNode start failed: %s", err);
		rc = RPC_ERR_OPERATION_FAILED;
	} else {
		if (v && v->id == vs.domid) {
			v->starting = false;
			libvirt_events_lifecycle(v->def.name, v->def.uuid, v->id,
						 LIBVIRT_EVENT_STARTED, 0 /* BOOTED */);
		}
		rc = 0;
	}
	controld_registry_unlock();
out_ops:
	controld_registry_ops_unlock();
out:
	free(uri);
	free(def);
	free(req);
	return rc;
}

/* Lifecycle changes wait for a migration to end (libvirt's change protection). */
static int not_migrating(const struct controld_registry_vnode *v, char *err, size_t errlen)
{
	if (!v->mig.active)
		return 0;
	snprintf(err, errlen,
		 "Requested operation is not valid: vNode '%s' is migrating from %s to %s: wait "
		 "for it, or abort it (virsh domjobabort)",
		 v->def.name, v->host, v->mig.dest);
	return RPC_ERR_OPERATION_INVALID;
}

/* Look up an active vNode's host (under the lock); error code if it is not running. */
static int active_host(const uint8_t uuid[16], char *host, int *id, char *err, size_t errlen)
{
	struct controld_registry_vnode *v = controld_registry_find_uuid(uuid);

	if (!v) {
		snprintf(err, errlen, "Domain not found");
		return RPC_ERR_NO_DOMAIN;
	}
	if (v->id < 0) {
		snprintf(err, errlen, "Requested operation is not valid: domain is not running");
		return RPC_ERR_OPERATION_INVALID;
	}
	snprintf(host, CP_NAME_LEN + 1, "%s", v->host);
	*id = v->id;
	return 0;
}

int controld_vnode_stop(const uint8_t uuid[16], bool force, char *err, size_t errlen)
{
	char host[CP_NAME_LEN + 1];
	uint8_t req[CP_VM_STOP_LEN];
	int id, rc;
	int64_t deadline;

	controld_registry_ops_lock();
	controld_registry_lock();
	rc = active_host(uuid, host, &id, err, errlen);
	if (!rc)
		rc = not_migrating(controld_registry_find_uuid(uuid), err, errlen);
	if (!rc) {
		struct controld_registry_vnode *v = controld_registry_find_uuid(uuid);

		v->stopping = true;
		v->stop_reason = force ? VN_SHUTOFF_DESTROYED : VN_SHUTOFF_SHUTDOWN;
	}
	controld_registry_unlock();
	if (rc)
		goto out;
	cluster_proto_vm_stop_put(req, &(struct cluster_proto_vm_stop){
					       .mode = force ? CP_STOP_FORCE : CP_STOP_GRACEFUL,
					       .grace_ms = (uint32_t)opt.stop_grace_ms});
	memcpy(req, uuid, 16);
	rc = controld_vnode_pmon_call(host, CP_VM_STOP, req, sizeof(req), NULL, NULL, err, errlen);
	if (rc == CP_ENOENT) {
		/* The host no longer has it: it is off. */
		controld_registry_lock();
		struct controld_registry_vnode *v = controld_registry_find_uuid(uuid);

		if (v && v->id == id) {
			controld_owed_run_ended(v);
			controld_registry_mark_stopped(
				v, force ? VN_SHUTOFF_DESTROYED : VN_SHUTOFF_SHUTDOWN, -1);
		}
		controld_registry_unlock();
		rc = 0;
		goto out;
	}
	if (rc != CP_OK) {
		rc = RPC_ERR_OPERATION_FAILED;
		goto out;
	}
	rc = 0;
	if (!force)
		goto out; /* shutdown only asks, as libvirt's does */
	/* destroy returns once the vNode is off: the host reports the exit at once. */
	deadline = mono_clock_ms() + opt.stop_grace_ms + 5000;
	for (;;) {
		struct controld_registry_vnode *v;
		bool off;

		controld_registry_lock();
		v = controld_registry_find_uuid(uuid);
		off = !v || v->id != id;
		controld_registry_unlock();
		if (off)
			break;
		if (mono_clock_ms() > deadline) {
			snprintf(err, errlen,
				 "operation failed: vNode did not stop within %d ms on %s",
				 opt.stop_grace_ms + 5000, host);
			rc = RPC_ERR_OPERATION_FAILED;
			break;
		}
		usleep(10000);
	}
out:
	controld_registry_ops_unlock();
	return rc;
}

int controld_vnode_control(const uint8_t uuid[16], const char *cmd, char **json, char *err,
			   size_t errlen)
{
	char host[CP_NAME_LEN + 1];
	uint8_t req[CP_VM_CTL_LONG_LEN], *reply = NULL;
	struct cluster_proto_vm_ctl c = {0};
	size_t rlen, len;
	int id, rc;

	controld_registry_lock();
	rc = active_host(uuid, host, &id, err, errlen);
	controld_registry_unlock();
	if (rc)
		return rc;
	memcpy(c.uuid, uuid, 16);
	snprintf(c.cmd, sizeof(c.cmd), "%s", cmd);
	len = cluster_proto_vm_ctl_put(req, &c);
	rc = controld_vnode_pmon_call(host, CP_VM_CTL, req, len, &reply, &rlen, err, errlen);
	if (rc != CP_OK) {
		free(reply);
		return RPC_ERR_OPERATION_FAILED;
	}
	*json = (char *)reply; /* cio payloads are NUL-terminated */
	return 0;
}

int controld_vnode_pause(const uint8_t uuid[16], bool pause, char *err, size_t errlen)
{
	char *json = NULL;
	struct controld_registry_vnode *v;
	int rc;

	controld_registry_ops_lock();
	controld_registry_lock();
	v = controld_registry_find_uuid(uuid);
	rc = v ? not_migrating(v, err, errlen) : 0;
	if (rc) {
		controld_registry_unlock();
		controld_registry_ops_unlock();
		return rc;
	}
	rc = v && v->id >= 0 && v->state == (pause ? VN_PAUSED : VN_RUNNING);
	controld_registry_unlock();
	if (rc) {
		snprintf(err, errlen, "Requested operation is not valid: domain is %s",
			 pause ? "already paused" : "not paused");
		controld_registry_ops_unlock();
		return RPC_ERR_OPERATION_INVALID;
	}
	rc = controld_vnode_control(uuid, pause ? "pause" : "resume", &json, err, errlen);
	if (!rc && strstr(json, "\"error\"")) {
		snprintf(err, errlen, "operation failed: the VMM answered %s", json);
		rc = RPC_ERR_OPERATION_FAILED;
	}
	if (!rc) {
		controld_registry_lock();
		v = controld_registry_find_uuid(uuid);
		if (v && v->id >= 0) {
			v->state = pause ? VN_PAUSED : VN_RUNNING;
			v->reason = pause ? VN_PAUSED_USER : VN_RUNNING_UNPAUSED;
			/* SUSPENDED_PAUSED and RESUMED_UNPAUSED: detail 0 both */
			libvirt_events_lifecycle(
				v->def.name, v->def.uuid, v->id,
				pause ? LIBVIRT_EVENT_SUSPENDED : LIBVIRT_EVENT_RESUMED, 0);
		}
		controld_registry_unlock();
	}
	free(json);
	controld_registry_ops_unlock();
	return rc;
}
