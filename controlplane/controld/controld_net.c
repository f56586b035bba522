/* controld_net.c: the virtual networks (range, VXLAN id, uuid; networks/NAME.net in the
 * state directory) and the MACs and addresses of the vNodes' interfaces on them. */
#include "controld_net.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "controld_registry.h"
#include "controld_registry_store.h"
#include "controld_state.h"
#include "controlplane/controld/libvirt/rpc_proto.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "lib/uuid_str.h"

#define NET_SUBDIR "networks"

static struct controld_net nets[CONTROLD_NET_MAX];
static int nr_nets;

int controld_net_count(void)
{
	return nr_nets;
}

const struct controld_net *controld_net_at(int i)
{
	return i >= 0 && i < nr_nets ? &nets[i] : NULL;
}

const struct controld_net *controld_net_find(const char *name)
{
	for (int i = 0; i < nr_nets; i++)
		if (!strcmp(nets[i].n.name, name))
			return &nets[i];
	return NULL;
}

const struct controld_net *controld_net_find_uuid(const uint8_t uuid[16])
{
	for (int i = 0; i < nr_nets; i++)
		if (!memcmp(nets[i].uuid, uuid, 16))
			return &nets[i];
	return NULL;
}

/* ---- the networks ------------------------------------------------------------------------ */

static bool overlap(const struct net_proto_net *a, const struct net_proto_net *b)
{
	uint32_t m = net_proto_net_mask(a->prefix < b->prefix ? a->prefix : b->prefix);

	return (a->addr & m) == (b->addr & m);
}

static int save(const struct controld_net *n)
{
	char name[CP_NAME_LEN + 8], u[UUID_STR_LEN], ip[16];
	struct strbuf b;
	int rc = -1;

	uuid_str_format(n->uuid, u);
	net_proto_ip_format(n->n.addr, ip);
	strbuf_init(&b, 0);
	strbuf_printf(&b, "name %s\nuuid %s\ncidr %s/%u\nvni %u\n", n->n.name, u, ip, n->n.prefix,
		      n->n.vni);
	snprintf(name, sizeof(name), "%s.net", n->n.name);
	if (!b.failed)
		rc = controld_registry_store_put(NET_SUBDIR, name, b.p);
	strbuf_free(&b);
	return rc;
}

/* A network that may join the table: a free name, uuid and VNI, a range apart from every
 * other's. NULL, or what is wrong. */
static const char *conflict(const struct controld_net *n)
{
	for (int i = 0; i < nr_nets; i++) {
		if (!strcmp(nets[i].n.name, n->n.name))
			return "its name is taken";
		if (!memcmp(nets[i].uuid, n->uuid, 16))
			return "its uuid is taken";
		if (nets[i].n.vni == n->n.vni)
			return "its VNI is taken";
		if (overlap(&nets[i].n, &n->n))
			return "its range overlaps another network's";
	}
	return nr_nets == CONTROLD_NET_MAX ? "too many networks" : NULL;
}

/* One networks/NAME.net read back. */
static void load_one(const char *path, char *text, size_t len, void *ctx)
{
	struct controld_net n = {0};
	char *save_ptr = NULL, u[64] = "", cidr[64] = "", name[CP_NAME_LEN + 2] = "";
	const char *why = NULL;
	int got = 0;

	(void)ctx;
	(void)len;
	for (char *l = strtok_r(text, "\n", &save_ptr); l; l = strtok_r(NULL, "\n", &save_ptr)) {
		got |= sscanf(l, "name %65s", name) == 1	  ? 1
		       : sscanf(l, "uuid %63s", u) == 1		  ? 2
		       : sscanf(l, "cidr %63s", cidr) == 1	  ? 4
		       : sscanf(l, "vni %" SCNu32, &n.n.vni) == 1 ? 8
								  : 16;
	}
	if (got != 15 || !cluster_proto_name_ok(name) || uuid_str_parse(u, n.uuid) ||
	    net_proto_cidr_parse(cidr, &n.n.addr, &n.n.prefix) || n.n.vni < 1 ||
	    n.n.vni > NET_PROTO_VNI_MAX)
		why = "not a network (name, uuid, cidr, vni)";
	if (!why)
		memcpy(n.n.name, name, strlen(name) + 1);
	if (!why)
		why = conflict(&n);
	if (why) {
		log_error("state: %s: %s: ignored", path, why);
		return;
	}
	nets[nr_nets++] = n;
	log_info("network %s: %s, VNI %u (from the state directory)", name, cidr, n.n.vni);
}

/* --network NAME=CIDR: a new network, or one the state directory has with that range. */
static int add_spec(const char *spec)
{
	const char *eq = strchr(spec, '=');
	struct controld_net n = {0};
	const struct controld_net *have;
	const char *why;
	uint32_t vni = CONTROLD_NET_VNI0;

	if (!eq || (size_t)(eq - spec) > CP_NAME_LEN) {
		log_error("--network '%s' is not NAME=CIDR", spec);
		return -1;
	}
	memcpy(n.n.name, spec, (size_t)(eq - spec));
	if (!cluster_proto_name_ok(n.n.name) ||
	    net_proto_cidr_parse(eq + 1, &n.n.addr, &n.n.prefix)) {
		log_error("--network '%s': NAME is 1-64 of [A-Za-z0-9._-] and CIDR an IPv4 network "
			  "of prefix 8..30 without host bits (10.77.0.0/16)",
			  spec);
		return -1;
	}
	have = controld_net_find(n.n.name);
	if (have) {
		if (have->n.addr == n.n.addr && have->n.prefix == n.n.prefix)
			return 0;
		log_error("--network '%s': network %s already has another range in the state "
			  "directory (its vNodes' addresses are in it)",
			  spec, n.n.name);
		return -1;
	}
	for (int i = 0; i < nr_nets; i++)
		if (nets[i].n.vni >= vni)
			vni = nets[i].n.vni + 1;
	n.n.vni = vni;
	uuid_str_generate(n.uuid);
	why = conflict(&n);
	if (why || vni > NET_PROTO_VNI_MAX) {
		log_error("--network '%s': %s", spec, why ? why : "no VNI left");
		return -1;
	}
	if (save(&n))
		return -1;
	nets[nr_nets++] = n;
	log_info("network %s: %s, VNI %u (new)", n.n.name, eq + 1, vni);
	return 0;
}

int controld_net_init(const char *const *specs, int nspecs)
{
	static bool loaded;

	if (!loaded)
		controld_state_each(NET_SUBDIR, ".net", load_one, NULL);
	loaded = true;
	for (int i = 0; i < nspecs; i++)
		if (add_spec(specs[i]))
			return -1;
	return 0;
}

/* ---- the interfaces ------------------------------------------------------------------------ */

/* What one interface of another vNode holds. */
struct used {
	const char *net, *owner;
	uint8_t mac[6];
	uint32_t ip;
};

struct used_set {
	struct used *u;
	int n, cap;
};

static void use(struct used_set *s, const char *net, const uint8_t mac[6], uint32_t ip,
		const char *owner)
{
	if (s->n == s->cap) {
		int cap = s->cap ? 2 * s->cap : 64;
		struct used *grown = realloc(s->u, (size_t)cap * sizeof(*grown));

		if (!grown)
			return; /* the caller checks s->n < count */
		s->u = grown;
		s->cap = cap;
	}
	s->u[s->n].net = net;
	s->u[s->n].owner = owner;
	memcpy(s->u[s->n].mac, mac, 6);
	s->u[s->n++].ip = ip;
}

/* Every interface but self's: definitions (a running vNode's live one and the one waiting
 * for its next start), and runs (a redefined vNode keeps its run's). */
static int collect(struct used_set *s, const struct controld_registry_vnode *self)
{
	int want = 0;

	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *w = controld_registry_vnode_at(i);
		const struct domain_xml_def *next = controld_registry_next_def(w);

		if (w == self)
			continue;
		for (int k = 0; k < w->def.nr_ifaces; k++, want++)
			use(s, w->def.ifaces[k].network, w->def.ifaces[k].mac, w->def.ifaces[k].ip,
			    w->def.name);
		for (int k = 0; next != &w->def && k < next->nr_ifaces; k++, want++)
			use(s, next->ifaces[k].network, next->ifaces[k].mac, next->ifaces[k].ip,
			    w->def.name);
		for (int k = 0; k < w->run_nr_net; k++, want++)
			use(s, w->run_net[k].network, w->run_net[k].mac, w->run_net[k].ip,
			    w->def.name);
	}
	return s->n == want ? 0 : -1;
}

static const struct used *mac_user(const struct used_set *s, const uint8_t mac[6])
{
	for (int i = 0; i < s->n; i++)
		if (!memcmp(s->u[i].mac, mac, 6))
			return &s->u[i];
	return NULL;
}

static bool ip_taken(const struct used_set *s, const char *net, uint32_t ip,
		     const struct domain_xml_def *d, int upto)
{
	for (int i = 0; i < s->n; i++)
		if (s->u[i].ip == ip && !strcmp(s->u[i].net, net))
			return true;
	for (int i = 0; i < upto; i++)
		if (d->ifaces[i].ip == ip && !strcmp(d->ifaces[i].network, net))
			return true;
	return false;
}

static void random_mac(uint8_t mac[6])
{
	uint8_t r[3] = {0};

	while (getrandom(r, sizeof(r), 0) != sizeof(r))
		;
	mac[0] = CONTROLD_NET_MAC0;
	mac[1] = 0x54;
	mac[2] = 0x00;
	memcpy(mac + 3, r, 3);
}

/* Interface i's MAC: its own, checked, or a new one. */
static int assign_mac(struct domain_xml_def *d, int i, const struct used_set *s, char *err,
		      size_t errlen)
{
	struct domain_xml_iface *k = &d->ifaces[i];
	const struct used *u;
	char m[18];

	for (int tries = 0; !k->has_mac; tries++) {
		random_mac(k->mac);
		k->has_mac = !mac_user(s, k->mac);
		for (int j = 0; j < i && k->has_mac; j++)
			k->has_mac = memcmp(d->ifaces[j].mac, k->mac, 6) != 0;
		if (tries == 1000) {
			snprintf(err, errlen, "operation failed: no free MAC address found");
			return RPC_ERR_OPERATION_FAILED;
		}
	}
	net_proto_mac_format(k->mac, m);
	u = mac_user(s, k->mac);
	if (u) {
		snprintf(
			err, errlen,
			"Requested operation is not valid: MAC address %s is already used by vNode "
			"'%s' (MACs are unique in the cluster)",
			m, u->owner);
		return RPC_ERR_OPERATION_INVALID;
	}
	for (int j = 0; j < i; j++)
		if (!memcmp(d->ifaces[j].mac, k->mac, 6)) {
			snprintf(err, errlen,
				 "Requested operation is not valid: MAC address %s is given to two "
				 "interfaces",
				 m);
			return RPC_ERR_OPERATION_INVALID;
		}
	return 0;
}

/* Interface i's address: its own, checked; the one self had for its MAC; or the lowest free. */
static int assign_ip(struct domain_xml_def *d, int i, const struct controld_net *n,
		     const struct controld_registry_vnode *self, const struct used_set *s,
		     char *err, size_t errlen)
{
	struct domain_xml_iface *k = &d->ifaces[i];
	uint32_t last = n->n.addr | ~net_proto_net_mask(n->n.prefix);
	char ip[16];

	if (k->prefix && k->prefix != n->n.prefix) {
		snprintf(err, errlen, "XML error: <ip prefix='%u'>: network '%s' has prefix %u",
			 k->prefix, n->n.name, n->n.prefix);
		return RPC_ERR_XML;
	}
	k->prefix = n->n.prefix;
	/* The definition d replaces first (the next start's), then a running one's live one. */
	for (int p = 0; !k->ip && self && p < 2; p++) {
		const struct domain_xml_def *old =
			p ? &self->def : controld_registry_next_def(self);

		for (int j = 0; !k->ip && j < old->nr_ifaces; j++) {
			const struct domain_xml_iface *o = &old->ifaces[j];

			if (!memcmp(o->mac, k->mac, 6) && !strcmp(o->network, k->network) &&
			    !ip_taken(s, k->network, o->ip, d, i))
				k->ip = o->ip;
		}
	}
	for (uint32_t a = net_proto_gateway(&n->n) + 1; !k->ip && a < last; a++)
		if (!ip_taken(s, k->network, a, d, i))
			k->ip = a;
	net_proto_ip_format(k->ip, ip);
	if (!k->ip) {
		snprintf(err, errlen, "operation failed: network '%s' has no free address",
			 n->n.name);
		return RPC_ERR_OPERATION_FAILED;
	}
	if (!net_proto_host_ok(&n->n, k->ip)) {
		snprintf(err, errlen,
			 "XML error: <ip address='%s'> is not a vNode's address in network '%s' "
			 "(not its network, broadcast or gateway address)",
			 ip, n->n.name);
		return RPC_ERR_XML;
	}
	if (ip_taken(s, k->network, k->ip, d, i)) {
		snprintf(err, errlen,
			 "Requested operation is not valid: address %s is already used in network "
			 "'%s'",
			 ip, n->n.name);
		return RPC_ERR_OPERATION_INVALID;
	}
	return 0;
}

int controld_net_assign(struct domain_xml_def *d, const struct controld_registry_vnode *self,
			char *err, size_t errlen)
{
	struct used_set s = {0};
	int rc = 0;

	if (!d->nr_ifaces)
		return 0;
	if (collect(&s, self)) {
		free(s.u);
		snprintf(err, errlen, "out of memory");
		return RPC_ERR_INTERNAL;
	}
	for (int i = 0; i < d->nr_ifaces && !rc; i++) {
		const struct controld_net *n = controld_net_find(d->ifaces[i].network);

		if (!n) {
			snprintf(err, errlen,
				 "Network not found: no network with matching name '%s' "
				 "(lego-controld "
				 "--network %s=CIDR)",
				 d->ifaces[i].network, d->ifaces[i].network);
			rc = RPC_ERR_NO_NETWORK;
			break;
		}
		rc = assign_mac(d, i, &s, err, errlen);
		if (!rc)
			rc = assign_ip(d, i, n, self, &s, err, errlen);
	}
	free(s.u);
	return rc;
}

int controld_net_run_from_def(struct controld_registry_vnode *v, char *err, size_t errlen)
{
	v->run_nr_net = 0;
	for (int i = 0; i < v->def.nr_ifaces; i++) {
		const struct domain_xml_iface *k = &v->def.ifaces[i];
		struct net_proto_attach *a = &v->run_net[i];

		if (!controld_net_find(k->network)) {
			snprintf(err, errlen,
				 "Network not found: no network with matching name '%s'",
				 k->network);
			return RPC_ERR_NO_NETWORK;
		}
		memset(a, 0, sizeof(*a));
		memcpy(a->network, k->network, strlen(k->network) + 1);
		memcpy(a->mac, k->mac, 6);
		a->ip = k->ip;
		a->prefix = k->prefix;
	}
	v->run_nr_net = v->def.nr_ifaces;
	return 0;
}

int controld_net_run_from_args(struct controld_registry_vnode *v)
{
	const char *a = v->run_args;
	char why[256];

	v->run_nr_net = 0;
	for (uint32_t i = 0; a && i + 1 < v->run_argc; i++, a += strlen(a) + 1) {
		if (strcmp(a, "--net-attach"))
			continue;
		a += strlen(a) + 1;
		i++;
		if (v->run_nr_net == DOM_MAX_IFACES ||
		    net_proto_attach_parse(a, &v->run_net[v->run_nr_net], why, sizeof(why)))
			return -1;
		v->run_nr_net++;
	}
	return 0;
}

static bool def_has_mac(const struct domain_xml_def *d, const char *net, const uint8_t mac[6])
{
	for (int k = 0; k < d->nr_ifaces; k++)
		if (!memcmp(d->ifaces[k].mac, mac, 6) && !strcmp(d->ifaces[k].network, net))
			return true;
	return false;
}

bool controld_net_mac_known(const char *net, const uint8_t mac[6])
{
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *w = controld_registry_vnode_at(i);

		if (def_has_mac(&w->def, net, mac) ||
		    def_has_mac(controld_registry_next_def(w), net, mac))
			return true;
		for (int k = 0; k < w->run_nr_net; k++)
			if (!memcmp(w->run_net[k].mac, mac, 6) &&
			    !strcmp(w->run_net[k].network, net))
				return true;
	}
	return false;
}
