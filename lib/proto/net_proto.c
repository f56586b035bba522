/* net_proto.c: the cluster protocol's network messages, --net-attach's grammar and the host
 * interfaces' names, encoded and strictly checked. */
#include "net_proto.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum cluster_proto_status fail(char *err, size_t errlen, enum cluster_proto_status st,
				      const char *why)
{
	snprintf(err, errlen, "%s", why);
	return st;
}

uint32_t net_proto_net_mask(uint32_t prefix)
{
	return prefix ? ~0U << (32 - prefix) : 0;
}

uint32_t net_proto_gateway(const struct net_proto_net *n)
{
	return n->addr + 1;
}

bool net_proto_host_ok(const struct net_proto_net *n, uint32_t ip)
{
	uint32_t mask = net_proto_net_mask(n->prefix);

	return (ip & mask) == n->addr && ip != n->addr && ip != (n->addr | ~mask) &&
	       ip != net_proto_gateway(n);
}

int net_proto_ip_parse(const char *text, uint32_t *ip)
{
	struct in_addr a;

	/* inet_pton takes exactly the dotted quad, no leading zeros beyond what it allows. */
	if (strlen(text) > 15 || inet_pton(AF_INET, text, &a) != 1)
		return -1;
	*ip = ntohl(a.s_addr);
	return 0;
}

void net_proto_ip_format(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

int net_proto_cidr_parse(const char *text, uint32_t *addr, uint32_t *prefix)
{
	char ip[16], *end;
	const char *slash = strchr(text, '/');
	unsigned long p;

	if (!slash || (size_t)(slash - text) >= sizeof(ip) || !isdigit((unsigned char)slash[1]))
		return -1;
	memcpy(ip, text, (size_t)(slash - text));
	ip[slash - text] = '\0';
	p = strtoul(slash + 1, &end, 10);
	if (*end || p < 8 || p > 30 || (slash[1] == '0' && slash[2]) ||
	    net_proto_ip_parse(ip, addr))
		return -1;
	*prefix = (uint32_t)p;
	return (*addr & ~net_proto_net_mask(*prefix)) ? -1 : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int net_proto_mac_parse(const char *text, uint8_t mac[6])
{
	if (strlen(text) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(text[3 * i]), lo = hexval(text[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void net_proto_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

bool net_proto_mac_ok(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !(mac[0] & 1) && memcmp(mac, zero, 6);
}

/* One "key=value" of a comma-separated list: its value into out (outlen bytes). */
static int take_kv(const char **s, const char *key, char *out, size_t outlen)
{
	size_t k = strlen(key), n;
	const char *v = *s + k + 1, *end;

	if (strncmp(*s, key, k) || (*s)[k] != '=')
		return -1;
	end = strchr(v, ',');
	n = end ? (size_t)(end - v) : strlen(v);
	if (!n || n >= outlen)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	*s = end ? end + 1 : v + n;
	return end && !end[1] ? -1 : 0; /* a trailing comma is not a value */
}

int net_proto_attach_parse(const char *text, struct net_proto_attach *a, char *err, size_t errlen)
{
	char mac[24], ip[40], cidr_ip[16];
	const char *s = text, *slash;
	struct net_proto_net n = {0};
	char *end;
	unsigned long p;

	memset(a, 0, sizeof(*a));
	if (strlen(text) >= NET_PROTO_ATTACH_MAX ||
	    take_kv(&s, "network", a->network, sizeof(a->network)) ||
	    take_kv(&s, "mac", mac, sizeof(mac)) || take_kv(&s, "ip", ip, sizeof(ip)) || *s) {
		snprintf(err, errlen,
			 "'%.64s' is not network=NAME,mac=XX:XX:XX:XX:XX:XX,ip=A.B.C.D/PREFIX",
			 text);
		return -1;
	}
	if (!cluster_proto_name_ok(a->network)) {
		snprintf(err, errlen, "network name '%.64s' is not 1-64 of [A-Za-z0-9._-]",
			 a->network);
		return -1;
	}
	if (net_proto_mac_parse(mac, a->mac) || !net_proto_mac_ok(a->mac)) {
		snprintf(err, errlen, "'%s' is not a unicast MAC address", mac);
		return -1;
	}
	slash = strchr(ip, '/');
	if (slash && (size_t)(slash - ip) < sizeof(cidr_ip)) {
		memcpy(cidr_ip, ip, (size_t)(slash - ip));
		cidr_ip[slash - ip] = '\0';
		p = strtoul(slash + 1, &end, 10);
		if (isdigit((unsigned char)slash[1]) && !*end && p >= 8 && p <= 30 &&
		    !(slash[1] == '0' && slash[2]) && !net_proto_ip_parse(cidr_ip, &a->ip)) {
			a->prefix = (uint32_t)p;
			n.prefix = a->prefix;
			n.addr = a->ip & net_proto_net_mask(a->prefix);
			if (net_proto_host_ok(&n, a->ip))
				return 0;
		}
	}
	snprintf(err, errlen, "'%s' is not a vNode's address A.B.C.D/PREFIX (8..30) of its network",
		 ip);
	return -1;
}

void net_proto_attach_format(const struct net_proto_attach *a, char out[NET_PROTO_ATTACH_MAX])
{
	char mac[18], ip[16];

	net_proto_mac_format(a->mac, mac);
	net_proto_ip_format(a->ip, ip);
	snprintf(out, NET_PROTO_ATTACH_MAX, "network=%s,mac=%s,ip=%s/%u", a->network, mac, ip,
		 a->prefix);
}

void net_proto_tap_name(int32_t domid, int i, char out[NET_PROTO_IFNAME_MAX + 1])
{
	snprintf(out, NET_PROTO_IFNAME_MAX + 1, "lt%dn%d", domid > 0 ? domid : 0, i % 10);
}

void net_proto_bridge_name(uint32_t vni, char out[NET_PROTO_IFNAME_MAX + 1])
{
	snprintf(out, NET_PROTO_IFNAME_MAX + 1, "lgbr%u", vni & NET_PROTO_VNI_MAX);
}

void net_proto_vxlan_name(uint32_t vni, char out[NET_PROTO_IFNAME_MAX + 1])
{
	snprintf(out, NET_PROTO_IFNAME_MAX + 1, "lgvx%u", vni & NET_PROTO_VNI_MAX);
}

void net_proto_bridge_mac(uint32_t vni, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x4c;
	mac[2] = 0x47;
	mac[3] = (uint8_t)(vni >> 16);
	mac[4] = (uint8_t)(vni >> 8);
	mac[5] = (uint8_t)vni;
}

/* ---- NET_SET ---------------------------------------------------------------------------- */

size_t net_proto_set_len(const struct net_proto_set *m)
{
	return NET_PROTO_SET_LEN + (size_t)m->nr_nets * NET_PROTO_NET_LEN +
	       (size_t)m->nr_peers * NET_PROTO_PEER_LEN;
}

static void put_be32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

void net_proto_set_put(void *p, const struct net_proto_set *m)
{
	uint8_t *b = p;

	memset(b, 0, net_proto_set_len(m));
	wire_put_le32(b, m->nr_nets);
	wire_put_le32(b + 4, m->nr_peers);
	b += NET_PROTO_SET_LEN;
	for (uint32_t i = 0; i < m->nr_nets; i++, b += NET_PROTO_NET_LEN) {
		wire_name_put(b, CP_NAME_LEN, m->nets[i].name);
		wire_put_le32(b + 64, m->nets[i].vni);
		put_be32(b + 68, m->nets[i].addr);
		wire_put_le32(b + 72, m->nets[i].prefix);
	}
	for (uint32_t i = 0; i < m->nr_peers; i++, b += NET_PROTO_PEER_LEN)
		put_be32(b, m->peers[i]);
}

static bool zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static enum cluster_proto_status net_get(const uint8_t *b, struct net_proto_net *n, char *err,
					 size_t errlen)
{
	if (wire_name_get(b, CP_NAME_LEN, n->name) || !cluster_proto_name_ok(n->name))
		return fail(err, errlen, CP_EINVAL,
			    "a network's name is not 1-64 of [A-Za-z0-9._-]");
	n->vni = wire_get_le32(b + 64);
	n->addr = get_be32(b + 68);
	n->prefix = wire_get_le32(b + 72);
	if (!zero(b + 76, 4))
		return fail(err, errlen, CP_EINVAL, "reserved bytes of a network are not zero");
	if (n->vni < 1 || n->vni > NET_PROTO_VNI_MAX)
		return fail(err, errlen, CP_EINVAL, "a network's VNI is not 1..16777215");
	if (n->prefix < 8 || n->prefix > 30 || (n->addr & ~net_proto_net_mask(n->prefix)))
		return fail(err, errlen, CP_EINVAL,
			    "a network's range is not an IPv4 network of prefix 8..30");
	return CP_OK;
}

/* A VXLAN peer: a unicast IPv4 address (not 0/8, loopback, multicast or broadcast). */
static bool peer_ok(uint32_t ip)
{
	return ip >> 24 && ip >> 24 != 127 && ip >> 28 != 14 && ip != 0xffffffffU;
}

enum cluster_proto_status net_proto_set_get(const void *p, size_t len, struct net_proto_set *m,
					    char *err, size_t errlen)
{
	const uint8_t *b = p;

	if (len < NET_PROTO_SET_LEN)
		return fail(err, errlen, CP_EPROTO, "NET_SET shorter than its fixed part");
	m->nr_nets = wire_get_le32(b);
	m->nr_peers = wire_get_le32(b + 4);
	if (!zero(b + 8, 8))
		return fail(err, errlen, CP_EINVAL, "reserved bytes of NET_SET are not zero");
	if (m->nr_nets > NET_PROTO_MAX_NETS || m->nr_peers > NET_PROTO_MAX_PEERS)
		return fail(err, errlen, CP_EINVAL, "NET_SET names too many networks or hosts");
	if (len != net_proto_set_len(m))
		return fail(err, errlen, CP_EPROTO, "payload length is wrong for this op");
	b += NET_PROTO_SET_LEN;
	for (uint32_t i = 0; i < m->nr_nets; i++, b += NET_PROTO_NET_LEN) {
		enum cluster_proto_status st = net_get(b, &m->nets[i], err, errlen);

		if (st)
			return st;
		for (uint32_t k = 0; k < i; k++)
			if (!strcmp(m->nets[k].name, m->nets[i].name) ||
			    m->nets[k].vni == m->nets[i].vni)
				return fail(err, errlen, CP_EINVAL,
					    "two networks share a name or a VNI");
	}
	for (uint32_t i = 0; i < m->nr_peers; i++, b += NET_PROTO_PEER_LEN) {
		m->peers[i] = get_be32(b);
		if (!zero(b + 4, 4) || !peer_ok(m->peers[i]))
			return fail(err, errlen, CP_EINVAL,
				    "a host's VXLAN address is not a unicast IPv4 address");
		for (uint32_t k = 0; k < i; k++)
			if (m->peers[k] == m->peers[i])
				return fail(err, errlen, CP_EINVAL,
					    "a host's VXLAN address is listed twice");
	}
	return CP_OK;
}

void net_proto_set_reply_put(void *p, uint32_t vtep)
{
	memset(p, 0, NET_PROTO_SET_REPLY_LEN);
	put_be32(p, vtep);
}

enum cluster_proto_status net_proto_set_reply_get(const void *p, size_t len, uint32_t *vtep,
						  char *err, size_t errlen)
{
	if (len != NET_PROTO_SET_REPLY_LEN)
		return fail(err, errlen, CP_EPROTO, "payload length is wrong for this op");
	*vtep = get_be32(p);
	if (!zero((const uint8_t *)p + 4, 4) || (*vtep && !peer_ok(*vtep)))
		return fail(err, errlen, CP_EINVAL,
			    "the host's VXLAN address is not a unicast IPv4 address");
	return CP_OK;
}

/* ---- NET_LEASES ------------------------------------------------------------------------- */

void net_proto_leases_put(void *p, const char *name)
{
	wire_name_put(p, CP_NAME_LEN, name);
}

enum cluster_proto_status net_proto_leases_get(const void *p, size_t len,
					       char name[CP_NAME_LEN + 1], char *err, size_t errlen)
{
	if (len != NET_PROTO_LEASES_LEN)
		return fail(err, errlen, CP_EPROTO, "payload length is wrong for this op");
	if (wire_name_get(p, CP_NAME_LEN, name) || !cluster_proto_name_ok(name))
		return fail(err, errlen, CP_EINVAL,
			    "a network's name is not 1-64 of [A-Za-z0-9._-]");
	return CP_OK;
}

size_t net_proto_leases_reply_len(uint32_t nr)
{
	return NET_PROTO_LEASES_REPLY_LEN + (size_t)nr * NET_PROTO_LEASE_LEN;
}

void net_proto_leases_reply_put(void *p, const struct net_proto_lease *l, uint32_t nr)
{
	uint8_t *b = p;

	memset(b, 0, net_proto_leases_reply_len(nr));
	wire_put_le32(b, nr);
	b += NET_PROTO_LEASES_REPLY_LEN;
	for (uint32_t i = 0; i < nr; i++, b += NET_PROTO_LEASE_LEN) {
		wire_put_le64(b, (uint64_t)l[i].expiry);
		memcpy(b + 8, l[i].mac, 6);
		put_be32(b + 16, l[i].ip);
		wire_name_put(b + 24, NET_PROTO_HOSTNAME_LEN + 1, l[i].hostname);
	}
}

/* A host name as DHCP clients send it: letters, digits, '-' and '.' only. */
static bool hostname_ok(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
			return false;
	return true;
}

enum cluster_proto_status net_proto_leases_reply_get(const void *p, size_t len,
						     struct net_proto_lease **l, uint32_t *nr,
						     char *err, size_t errlen)
{
	const uint8_t *b = p;
	struct net_proto_lease *out;

	*l = NULL;
	*nr = 0;
	if (len < NET_PROTO_LEASES_REPLY_LEN)
		return fail(err, errlen, CP_EPROTO, "NET_LEASES reply shorter than its fixed part");
	if (wire_get_le32(b) > NET_PROTO_MAX_LEASES || !zero(b + 4, 4))
		return fail(err, errlen, CP_EINVAL, "NET_LEASES reply: too many leases");
	if (len != net_proto_leases_reply_len(wire_get_le32(b)))
		return fail(err, errlen, CP_EPROTO, "payload length is wrong for this op");
	if (!wire_get_le32(b))
		return CP_OK;
	out = calloc(wire_get_le32(b), sizeof(*out));
	if (!out)
		return fail(err, errlen, CP_EIO, "out of memory");
	for (uint32_t i = 0; i < wire_get_le32(p); i++) {
		const uint8_t *r = b + NET_PROTO_LEASES_REPLY_LEN + (size_t)i * NET_PROTO_LEASE_LEN;

		out[i].expiry = (int64_t)wire_get_le64(r);
		memcpy(out[i].mac, r + 8, 6);
		out[i].ip = get_be32(r + 16);
		if (out[i].expiry < 0 || !zero(r + 14, 2) || !zero(r + 20, 4) ||
		    !net_proto_mac_ok(out[i].mac) ||
		    wire_name_get(r + 24, NET_PROTO_HOSTNAME_LEN + 1, out[i].hostname) ||
		    !hostname_ok(out[i].hostname)) {
			free(out);
			return fail(err, errlen, CP_EINVAL, "NET_LEASES reply: a malformed lease");
		}
	}
	*l = out;
	*nr = wire_get_le32(b);
	return CP_OK;
}
