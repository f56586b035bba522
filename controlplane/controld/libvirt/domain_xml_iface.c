/* domain_xml_iface.c: <interface type='network'> in domain XML: source network, MAC,
 * virtio model and lego's <ip>, parsed strictly and written back in libvirt's order. */
#include "domain_xml_iface.h"

#include <stdlib.h>
#include <string.h>

#include "lib/proto/net_proto.h"
#include "rpc_proto.h"

#define FAIL(...) domain_xml_util_fail(c, __VA_ARGS__)
#define IS(n, x)  domain_xml_util_is(n, x)

/* <ip address='A.B.C.D' prefix='N' [family='ipv4']/> */
static int parse_ip(struct domain_xml_util_ctx *c, const xmlNode *e, struct domain_xml_iface *k)
{
	static const char *const attrs[] = {"address", "prefix", "family", NULL};
	char addr[32], prefix[8], family[8], *end;
	unsigned long p;

	if (k->ip)
		return FAIL(RPC_ERR_CONFIG_UNSUPPORTED,
			    "an <interface> takes one <ip> (one IPv4 address per interface)");
	if (domain_xml_util_attrs_only(c, e, attrs) ||
	    domain_xml_util_attr(c, e, "address", addr, sizeof(addr)) ||
	    domain_xml_util_attr(c, e, "prefix", prefix, sizeof(prefix)) ||
	    domain_xml_util_attr(c, e, "family", family, sizeof(family)))
		return -1;
	if (family[0] && strcmp(family, "ipv4"))
		return FAIL(RPC_ERR_CONFIG_UNSUPPORTED,
			    "<interface>/<ip family='%s'>: lego's networks are IPv4", family);
	if (net_proto_ip_parse(addr, &k->ip) || !k->ip)
		return FAIL(RPC_ERR_XML, "<interface>/<ip address='%s'> is not an IPv4 address",
			    addr);
	if (prefix[0]) {
		p = strtoul(prefix, &end, 10);
		if (*end || p < 8 || p > 30 || prefix[0] < '1' || prefix[0] > '9')
			return FAIL(RPC_ERR_XML, "<interface>/<ip prefix='%s'> must be 8..30",
				    prefix);
		k->prefix = (uint32_t)p;
	}
	return 0;
}

/* One child of <interface>; seen counts the ones that may appear once. */
static int parse_child(struct domain_xml_util_ctx *c, const xmlNode *e, struct domain_xml_iface *k,
		       unsigned *seen)
{
	static const char *const names[] = {"source", "mac", "model", "target", NULL};
	static const char *const one[][2] = {
		{"network", NULL}, {"address", NULL}, {"type", NULL}, {"dev", NULL}};
	char v[64];
	int i;

	if (IS(e, "ip"))
		return parse_ip(c, e, k);
	for (i = 0; names[i] && !IS(e, names[i]); i++)
		;
	if (!names[i])
		return FAIL(RPC_ERR_CONFIG_UNSUPPORTED, "unsupported element <interface>/<%s>",
			    domain_xml_util_name(e));
	if (*seen & 1U << i)
		return FAIL(RPC_ERR_XML, "<interface>/<%s> given twice", names[i]);
	*seen |= 1U << i;
	if (domain_xml_util_attrs_only(c, e, one[i]) ||
	    domain_xml_util_attr(c, e, one[i][0], v, sizeof(v)))
		return -1;
	if (e->children)
		return FAIL(RPC_ERR_CONFIG_UNSUPPORTED, "<interface>/<%s> takes no content",
			    names[i]);
	switch (i) {
	case 0:
		if (!wire_name_ok(v, DOM_NAME_MAX, false))
			return FAIL(RPC_ERR_XML,
				    "<source network='%s'> must name a network: 1-64 of "
				    "[A-Za-z0-9._-]",
				    v);
		snprintf(k->network, sizeof(k->network), "%s", v);
		break;
	case 1:
		if (net_proto_mac_parse(v, k->mac))
			return FAIL(RPC_ERR_XML, "<mac address='%s'> is not a MAC address", v);
		if (!net_proto_mac_ok(k->mac))
			return FAIL(RPC_ERR_XML,
				    "<mac address='%s'>: a NIC's MAC must be unicast and not zero",
				    v);
		k->has_mac = true;
		break;
	case 2:
		if (strcmp(v, "virtio"))
			return FAIL(RPC_ERR_CONFIG_UNSUPPORTED,
				    "interface model '%s' is not supported (virtio)", v);
		break;
	default:
		break; /* <target dev>: the tap of a run, named by its host */
	}
	return 0;
}

int domain_xml_iface_parse(struct domain_xml_util_ctx *c, const xmlNode *n,
			   struct domain_xml_def *d)
{
	static const char *const attrs[] = {"type", NULL};
	struct domain_xml_iface *k;
	unsigned seen = 0;
	char type[32];

	if (d->nr_ifaces == DOM_MAX_IFACES)
		return FAIL(RPC_ERR_CONFIG_UNSUPPORTED, "more than %d interfaces", DOM_MAX_IFACES);
	k = &d->ifaces[d->nr_ifaces];
	memset(k, 0, sizeof(*k));
	if (domain_xml_util_attrs_only(c, n, attrs) ||
	    domain_xml_util_attr(c, n, "type", type, sizeof(type)))
		return -1;
	if (strcmp(type, "network"))
		return FAIL(
			RPC_ERR_CONFIG_UNSUPPORTED,
			"interface type '%s' is not supported: interfaces are on lego-controld's "
			"networks (type='network')",
			type);
	for (const xmlNode *e = n->children; e; e = e->next)
		if (e->type == XML_ELEMENT_NODE && parse_child(c, e, k, &seen))
			return -1;
	if (!k->network[0])
		return FAIL(RPC_ERR_XML, "<interface> needs <source network='NAME'/>");
	if (k->prefix && !k->ip)
		return FAIL(RPC_ERR_XML, "<interface>/<ip> needs an address");
	d->nr_ifaces++;
	return 0;
}

void domain_xml_iface_format(FILE *f, const struct domain_xml_def *d, int id)
{
	for (int i = 0; i < d->nr_ifaces; i++) {
		const struct domain_xml_iface *k = &d->ifaces[i];
		char mac[18], ip[16], tap[NET_PROTO_IFNAME_MAX + 1];

		fprintf(f, "    <interface type='network'>\n");
		if (k->has_mac) {
			net_proto_mac_format(k->mac, mac);
			fprintf(f, "      <mac address='%s'/>\n", mac);
		}
		fprintf(f, "      <source network='");
		domain_xml_util_esc(f, k->network);
		fprintf(f, "'/>\n");
		if (id >= 0) {
			net_proto_tap_name(id, i, tap);
			fprintf(f, "      <target dev='%s'/>\n", tap);
		}
		fprintf(f, "      <model type='virtio'/>\n");
		if (k->ip) {
			net_proto_ip_format(k->ip, ip);
			fprintf(f, "      <ip address='%s'", ip);
			if (k->prefix)
				fprintf(f, " prefix='%u'", k->prefix);
			fprintf(f, "/>\n");
		}
		fprintf(f, "    </interface>\n");
	}
}
