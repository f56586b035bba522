/* libvirt_network.c: the libvirt procedures about networks, read-only (net-list, net-info,
 * net-dumpxml, net-dhcp-leases) and a vNode's interfaces (domifaddr from the DHCP leases,
 * domifstat from its lego-vmm's counters). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controlplane/controld/controld_net.h"
#include "controlplane/controld/controld_netsync.h"
#include "controlplane/controld/controld_registry.h"
#include "controlplane/controld/controld_vnode.h"
#include "domain_xml_util.h"
#include "lib/uuid_str.h"
#include "libvirt_dispatch.h"

#define NETWORK_LIST_MAX    16384 /* REMOTE_NETWORK_LIST_MAX */
#define NET_XMLNS	    "https://lego.dev/xmlns/network/1"
#define IP_ADDR_TYPE_IPV4   0 /* VIR_IP_ADDR_TYPE_IPV4 */
#define IFADDR_SOURCE_LEASE 0 /* VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE */

/* virConnectListAllNetworksFlags. */
enum {
	NETS_INACTIVE = 1,
	NETS_ACTIVE = 2,
	NETS_PERSISTENT = 4,
	NETS_TRANSIENT = 8,
	NETS_AUTOSTART = 16,
	NETS_NO_AUTOSTART = 32,
};

void libvirt_network_put(struct xdr_out *o, const struct controld_net *n)
{
	xdr_put_string(o, n->n.name);
	xdr_put_fixed(o, n->uuid, 16);
}

/* Every network is active, persistent and autostarted: it exists as long as lego-controld
 * keeps it, and each host builds its part when a vNode there needs it. */
static bool list_match(uint32_t f)
{
	if ((f & (NETS_INACTIVE | NETS_ACTIVE)) && !(f & NETS_ACTIVE))
		return false;
	if ((f & (NETS_PERSISTENT | NETS_TRANSIENT)) && !(f & NETS_PERSISTENT))
		return false;
	return !(f & (NETS_AUTOSTART | NETS_NO_AUTOSTART)) || (f & NETS_AUTOSTART);
}

enum libvirt_result libvirt_network_list_all(struct libvirt_call *c)
{
	bool results = c->a->i1 > 0;
	size_t count_at = c->o->len;
	uint32_t n = 0;

	libvirt_dispatch_lock(c);
	xdr_put_u32(c->o, 0);
	for (int i = 0; i < controld_net_count() && n < NETWORK_LIST_MAX; i++) {
		if (!list_match(c->a->flags))
			continue;
		if (results)
			libvirt_network_put(c->o, controld_net_at(i));
		n++;
	}
	xdr_patch_u32(c->o, count_at, results ? n : 0);
	xdr_put_u32(c->o, n);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_network_lookup_by_name(struct libvirt_call *c)
{
	const struct controld_net *n;

	libvirt_dispatch_lock(c);
	n = controld_net_find(c->a->name);
	if (!n)
		return libvirt_dispatch_fail(
			c, RPC_ERR_NO_NETWORK,
			"Network not found: no network with matching name '%s'", c->a->name);
	libvirt_network_put(c->o, n);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_network_lookup_by_uuid(struct libvirt_call *c)
{
	const struct controld_net *n;
	char u[UUID_STR_LEN];

	libvirt_dispatch_lock(c);
	n = controld_net_find_uuid(c->a->uuid);
	if (n) {
		libvirt_network_put(c->o, n);
		return LIBVIRT_REPLY;
	}
	uuid_str_format(c->a->uuid, u);
	return libvirt_dispatch_fail(c, RPC_ERR_NO_NETWORK,
				     "Network not found: no network with matching uuid '%s'", u);
}

/* IS_ACTIVE, IS_PERSISTENT, GET_AUTOSTART: yes. */
enum libvirt_result libvirt_network_yes(struct libvirt_call *c)
{
	xdr_put_i32(c->o, 1);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_network_bridge_name(struct libvirt_call *c)
{
	char br[NET_PROTO_IFNAME_MAX + 1];

	net_proto_bridge_name(c->net->n.vni, br);
	xdr_put_string(c->o, br);
	return LIBVIRT_REPLY;
}

/* The network's XML, with a <host> per interface on it (under the registry lock). */
static char *network_xml(const struct controld_net *n)
{
	char *out = NULL, u[UUID_STR_LEN], br[NET_PROTO_IFNAME_MAX + 1], mac[18], ip[16];
	size_t len = 0;
	uint8_t bmac[6];
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	uuid_str_format(n->uuid, u);
	net_proto_bridge_name(n->n.vni, br);
	net_proto_bridge_mac(n->n.vni, bmac);
	net_proto_mac_format(bmac, mac);
	net_proto_ip_format(net_proto_gateway(&n->n), ip);
	fprintf(f,
		"<network>\n  <name>%s</name>\n  <uuid>%s</uuid>\n"
		"  <bridge name='%s' stp='off' delay='0'/>\n  <mac address='%s'/>\n"
		"  <ip address='%s' prefix='%u'>\n    <dhcp>\n",
		n->n.name, u, br, mac, ip, n->n.prefix);
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		const struct controld_registry_vnode *v = controld_registry_vnode_at(i);

		for (int k = 0; k < v->def.nr_ifaces; k++) {
			if (strcmp(v->def.ifaces[k].network, n->n.name))
				continue;
			net_proto_mac_format(v->def.ifaces[k].mac, mac);
			net_proto_ip_format(v->def.ifaces[k].ip, ip);
			fprintf(f, "      <host mac='%s' name='", mac);
			domain_xml_util_esc(f, v->def.name);
			fprintf(f, "' ip='%s'/>\n", ip);
		}
	}
	fprintf(f,
		"    </dhcp>\n  </ip>\n  <metadata>\n    <lego:network xmlns:lego='%s'>\n"
		"      <lego:vxlan id='%u' port='%d'/>\n    </lego:network>\n  </metadata>\n"
		"</network>\n",
		NET_XMLNS, n->n.vni, NET_PROTO_VXLAN_PORT);
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

enum libvirt_result libvirt_network_xml_desc(struct libvirt_call *c)
{
	char *xml;

	if (c->a->flags & ~1U) /* VIR_NETWORK_XML_INACTIVE: the same */
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG,
					     "unsupported flags (0x%x) in function "
					     "virNetworkGetXMLDesc",
					     c->a->flags & ~1U);
	xml = network_xml(c->net);
	if (!xml)
		return libvirt_dispatch_fail(c, RPC_ERR_INTERNAL, "out of memory");
	xdr_put_string(c->o, xml);
	free(xml);
	return LIBVIRT_REPLY;
}

/* One remote_network_dhcp_lease. */
static void put_lease(struct xdr_out *o, const char *br, const struct net_proto_lease *l,
		      uint32_t prefix)
{
	char mac[18], ip[16];

	net_proto_mac_format(l->mac, mac);
	net_proto_ip_format(l->ip, ip);
	xdr_put_string(o, br);
	xdr_put_i64(o, l->expiry);
	xdr_put_i32(o, IP_ADDR_TYPE_IPV4);
	xdr_put_opt_string(o, mac);
	xdr_put_opt_string(o, NULL); /* iaid: IPv6 only */
	xdr_put_string(o, ip);
	xdr_put_u32(o, prefix);
	xdr_put_opt_string(o, l->hostname[0] ? l->hostname : NULL);
	xdr_put_opt_string(o, NULL); /* client id */
}

enum libvirt_result libvirt_network_dhcp_leases(struct libvirt_call *c)
{
	char name[CP_NAME_LEN + 1], br[NET_PROTO_IFNAME_MAX + 1];
	struct net_proto_lease *l = NULL;
	uint32_t nl = 0, n = 0, prefix = c->net->n.prefix;
	uint8_t want[6];
	bool results = c->a->i1 > 0;

	if (c->a->flags)
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG,
					     "unsupported flags (0x%x) in function "
					     "virNetworkGetDHCPLeases",
					     c->a->flags);
	if (c->a->str && net_proto_mac_parse(c->a->str, want))
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG,
					     "invalid argument: '%s' is not a MAC address",
					     c->a->str);
	snprintf(name, sizeof(name), "%s", c->net->n.name);
	net_proto_bridge_name(c->net->n.vni, br);
	libvirt_dispatch_unlock(c); /* the hosts are asked */
	if (controld_netsync_leases(name, &l, &nl, c->err, sizeof(c->err)))
		return libvirt_dispatch_fail(c, RPC_ERR_OPERATION_FAILED, "operation failed: %s",
					     c->err);
	for (uint32_t i = 0; i < nl; i++)
		if (!c->a->str || !memcmp(l[i].mac, want, 6))
			l[n++] = l[i];
	xdr_put_u32(c->o, results ? n : 0);
	for (uint32_t i = 0; results && i < n; i++)
		put_lease(c->o, br, &l[i], prefix);
	xdr_put_u32(c->o, n);
	free(l);
	return LIBVIRT_REPLY;
}

/* ---- a vNode's interfaces --------------------------------------------------------------- */

enum libvirt_result libvirt_network_if_addresses(struct libvirt_call *c)
{
	struct net_proto_attach ifs[DOM_MAX_IFACES];
	int nr = c->v->run_nr_net, count = 0, id = c->v->id;
	size_t count_at;

	if (c->a->flags)
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG, "unsupported flags (0x%x)",
					     c->a->flags);
	if (c->a->u1 != IFADDR_SOURCE_LEASE)
		return libvirt_dispatch_fail(c, RPC_ERR_ARGUMENT_UNSUPPORTED,
					     "argument unsupported: lego knows a vNode's addresses "
					     "from its DHCP leases only (--source lease)");
	if (c->v->id < 0)
		return libvirt_dispatch_fail(
			c, RPC_ERR_OPERATION_INVALID,
			"Requested operation is not valid: domain is not running");
	memcpy(ifs, c->v->run_net, sizeof(ifs));
	libvirt_dispatch_unlock(c); /* the hosts are asked */
	count_at = c->o->len;
	xdr_put_u32(c->o, 0);
	for (int i = 0; i < nr; i++) {
		struct net_proto_lease *l = NULL;
		uint32_t nl = 0;
		char tap[NET_PROTO_IFNAME_MAX + 1], mac[18], ip[16];

		if (controld_netsync_leases(ifs[i].network, &l, &nl, c->err, sizeof(c->err)))
			return libvirt_dispatch_fail(c, RPC_ERR_OPERATION_FAILED,
						     "operation failed: %s", c->err);
		for (uint32_t k = 0; k < nl; k++) {
			if (memcmp(l[k].mac, ifs[i].mac, 6))
				continue;
			net_proto_tap_name(id, i, tap);
			net_proto_mac_format(ifs[i].mac, mac);
			net_proto_ip_format(l[k].ip, ip);
			xdr_put_string(c->o, tap);
			xdr_put_opt_string(c->o, mac);
			xdr_put_u32(c->o, 1);
			xdr_put_i32(c->o, IP_ADDR_TYPE_IPV4);
			xdr_put_string(c->o, ip);
			xdr_put_u32(c->o, ifs[i].prefix);
			count++;
			break;
		}
		free(l);
	}
	xdr_patch_u32(c->o, count_at, (uint32_t)count);
	return LIBVIRT_REPLY;
}

/* An entry of the "net" array of lego-vmm's stats; -1 where it has no such counter. */
static int64_t counter(const json_t *e, const char *key)
{
	const json_t *v = json_object_get(e, key);
	double d = json_is_number(v) ? json_number_value(v) : -1;

	return d >= 0 && d < 9007199254740992.0 ? (int64_t)d : -1;
}

enum libvirt_result libvirt_network_if_stats(struct libvirt_call *c)
{
	static const char *const keys[8] = {"rx_bytes", "rx_packets", "rx_errs", "rx_drops",
					    "tx_bytes", "tx_packets", "tx_errs", "tx_drops"};
	char tap[NET_PROTO_IFNAME_MAX + 1], mac[18], *js = NULL;
	const json_t *entry = NULL;
	json_t *root;
	int found = -1;

	if (c->v->id < 0)
		return libvirt_dispatch_fail(
			c, RPC_ERR_OPERATION_INVALID,
			"Requested operation is not valid: domain is not running");
	for (int i = 0; i < c->v->run_nr_net && found < 0; i++) {
		net_proto_tap_name(c->v->id, i, tap);
		net_proto_mac_format(c->v->run_net[i].mac, mac);
		if (!strcmp(c->a->str, tap) || !strcasecmp(c->a->str, mac))
			found = i;
	}
	if (found >= 0)
		net_proto_mac_format(c->v->run_net[found].mac, mac);
	else
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG,
					     "invalid argument: invalid path, '%s' is not a known "
					     "interface",
					     c->a->str);
	libvirt_dispatch_unlock(c);
	c->ecode = controld_vnode_control(c->a->uuid, "stats", &js, c->err, sizeof(c->err));
	if (c->ecode)
		return LIBVIRT_FAILED;
	/* Its "vnode" id may pass INT64_MAX, which jansson reads only as a real: so does every
	 * number here (exact to 2^53, 8 PiB of counted bytes). */
	root = json_loads(js, JSON_DECODE_INT_AS_REAL, NULL);
	free(js);
	for (size_t i = 0; root && i < json_array_size(json_object_get(root, "net")); i++) {
		const json_t *e = json_array_get(json_object_get(root, "net"), i);
		const char *m = json_string_value(json_object_get(e, "mac"));

		if (m && !strcasecmp(m, mac))
			entry = e;
	}
	if (!entry) {
		json_decref(root);
		return libvirt_dispatch_fail(c, RPC_ERR_OPERATION_FAILED,
					     "operation failed: the vNode's lego-vmm reports no "
					     "counters for interface %s",
					     mac);
	}
	for (int i = 0; i < 8; i++)
		xdr_put_i64(c->o, counter(entry, keys[i]));
	json_decref(root);
	return LIBVIRT_REPLY;
}
