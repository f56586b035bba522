/* pmon_nl.c: bridges, VXLAN devices, their replication entries, taps and addresses through
 * rtnetlink (libmnl) and /dev/net/tun. */
#include "pmon_nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 32768
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* linux/if.h's: the link has a carrier */
#endif

struct pmon_nl {
	struct mnl_socket *sock;
	unsigned portid, seq;
	char buf[BUF_SIZE];
};

int pmon_nl_open(struct pmon_nl **out, char *err, size_t errlen)
{
	struct pmon_nl *nl = calloc(1, sizeof(*nl));

	*out = NULL;
	if (!nl) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "cannot open an rtnetlink socket: %s", strerror(errno));
		if (nl->sock)
			mnl_socket_close(nl->sock);
		free(nl);
		return -1;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned)time(NULL);
	*out = nl;
	return 0;
}

void pmon_nl_close(struct pmon_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

int pmon_nl_index(const char *name)
{
	return (int)if_nametoindex(name);
}

static struct nlmsghdr *begin(struct pmon_nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf);

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++nl->seq;
	return h;
}

/* Send h and read the answers (cb for each message of a dump): 0, or -1 with errno. */
static int talk(struct pmon_nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
	unsigned seq = h->nlmsg_seq;
	int rc;

	if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0)
		return -1;
	do {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));

		if (n < 0)
			return -1;
		rc = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid, cb, data);
	} while (rc > 0);
	return rc < 0 ? -1 : 0;
}

static int failed(char *err, size_t errlen, const char *what, const char *name)
{
	snprintf(err, errlen, "%s %s: %s", what, name, strerror(errno));
	return -1;
}

/* ---- links -------------------------------------------------------------------------------- */

struct dump {
	struct pmon_nl_link *l;
	int n, cap;
};

static void link_info(const struct nlattr *info, struct pmon_nl_link *l)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, info)
	{
		if (mnl_attr_get_type(a) == IFLA_INFO_KIND)
			snprintf(l->kind, sizeof(l->kind), "%.*s", (int)mnl_attr_get_payload_len(a),
				 mnl_attr_get_str(a));
	}
}

static int link_cb(const struct nlmsghdr *h, void *data)
{
	struct dump *d = data;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(h);
	struct pmon_nl_link *l;
	const struct nlattr *a;

	if (d->n == d->cap) {
		int cap = d->cap ? 2 * d->cap : 32;
		struct pmon_nl_link *grown = realloc(d->l, (size_t)cap * sizeof(*grown));

		if (!grown) {
			errno = ENOMEM;
			return MNL_CB_ERROR;
		}
		d->l = grown;
		d->cap = cap;
	}
	l = &d->l[d->n++];
	memset(l, 0, sizeof(*l));
	l->index = ifm->ifi_index;
	l->up = ifm->ifi_flags & IFF_UP;
	l->carrier = ifm->ifi_flags & IFF_LOWER_UP;
	mnl_attr_for_each(a, h, sizeof(*ifm))
	{
		int len = (int)mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			snprintf(l->name, sizeof(l->name), "%.*s", len, mnl_attr_get_str(a));
			break;
		case IFLA_IFALIAS:
			snprintf(l->alias, sizeof(l->alias), "%.*s", len, mnl_attr_get_str(a));
			break;
		case IFLA_MTU:
			l->mtu = mnl_attr_get_u32(a);
			break;
		case IFLA_MASTER:
			l->master = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_LINKINFO:
			link_info(a, l);
			break;
		}
	}
	return MNL_CB_OK;
}

int pmon_nl_links(struct pmon_nl *nl, struct pmon_nl_link **out, int *n, char *err, size_t errlen)
{
	struct nlmsghdr *h = begin(nl, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
	struct dump d = {0};

	ifm->ifi_family = AF_UNSPEC;
	if (talk(nl, h, link_cb, &d)) {
		free(d.l);
		return failed(err, errlen, "cannot list", "the links");
	}
	*out = d.l;
	*n = d.n;
	return 0;
}

int pmon_nl_bridge_add(struct pmon_nl *nl, const char *name, const uint8_t mac[6], char *err,
		       size_t errlen)
{
	struct nlmsghdr *h = begin(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
	struct nlattr *info, *data;

	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
	info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
	data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	/* No spanning tree and no forwarding delay: a tap forwards as soon as it is attached;
	 * no multicast snooping: the overlay floods multicast like broadcast. */
	mnl_attr_put_u32(h, IFLA_BR_STP_STATE, 0);
	mnl_attr_put_u32(h, IFLA_BR_FORWARD_DELAY, 0);
	mnl_attr_put_u8(h, IFLA_BR_MCAST_SNOOPING, 0);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	return talk(nl, h, NULL, NULL) ? failed(err, errlen, "cannot create bridge", name) : 0;
}

int pmon_nl_vxlan_add(struct pmon_nl *nl, const char *name, uint32_t vni, uint32_t local, int dev,
		      uint16_t port, unsigned mtu, char *err, size_t errlen)
{
	struct nlmsghdr *h = begin(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
	struct nlattr *info, *data;
	uint32_t local_be = htonl(local);

	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(h, IFLA_MTU, mtu);
	info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "vxlan");
	data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	mnl_attr_put_u32(h, IFLA_VXLAN_ID, vni);
	mnl_attr_put(h, IFLA_VXLAN_LOCAL, 4, &local_be);
	if (dev)
		mnl_attr_put_u32(h, IFLA_VXLAN_LINK, (uint32_t)dev);
	mnl_attr_put_u16(h, IFLA_VXLAN_PORT, htons(port));
	mnl_attr_put_u8(h, IFLA_VXLAN_LEARNING, 1);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	return talk(nl, h, NULL, NULL) ? failed(err, errlen, "cannot create VXLAN device", name)
				       : 0;
}

int pmon_nl_tap_add(const char *name, char *err, size_t errlen)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), rc = -1;

	if (fd < 0)
		return failed(err, errlen, "cannot open /dev/net/tun for tap", name);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETPERSIST, 1))
		failed(err, errlen, "cannot create tap", name);
	else
		rc = 0;
	close(fd);
	return rc;
}

int pmon_nl_link_set(struct pmon_nl *nl, int index, const char *alias, int master, unsigned mtu,
		     bool up, char *err, size_t errlen)
{
	struct nlmsghdr *h = begin(nl, RTM_NEWLINK, NLM_F_ACK);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
	char name[IF_NAMESIZE] = "?";

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = index;
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = up ? IFF_UP : 0;
	if (alias)
		mnl_attr_put_strz(h, IFLA_IFALIAS, alias);
	if (master >= 0)
		mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
	if (mtu)
		mnl_attr_put_u32(h, IFLA_MTU, mtu);
	if (!talk(nl, h, NULL, NULL))
		return 0;
	if_indextoname((unsigned)index, name);
	return failed(err, errlen, "cannot configure link", name);
}

int pmon_nl_link_del(struct pmon_nl *nl, int index, char *err, size_t errlen)
{
	struct nlmsghdr *h = begin(nl, RTM_DELLINK, NLM_F_ACK);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
	char name[IF_NAMESIZE] = "?";

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = index;
	if_indextoname((unsigned)index, name);
	return talk(nl, h, NULL, NULL) ? failed(err, errlen, "cannot remove link", name) : 0;
}

/* ---- addresses --------------------------------------------------------------------------------
 */

int pmon_nl_addr_add(struct pmon_nl *nl, int index, uint32_t ip, unsigned prefix, char *err,
		     size_t errlen)
{
	struct nlmsghdr *h = begin(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	uint32_t be = htonl(ip);
	char name[IF_NAMESIZE] = "?";

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)index;
	mnl_attr_put(h, IFA_LOCAL, 4, &be);
	mnl_attr_put(h, IFA_ADDRESS, 4, &be);
	if (!talk(nl, h, NULL, NULL) || errno == EEXIST)
		return 0;
	if_indextoname((unsigned)index, name);
	return failed(err, errlen, "cannot give an address to", name);
}

struct addr_find {
	uint32_t be;
	int index;
};

static int addr_cb(const struct nlmsghdr *h, void *data)
{
	struct addr_find *f = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
	const struct nlattr *a;

	mnl_attr_for_each(a, h, sizeof(*ifa))
	{
		if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_get_payload_len(a) == 4 &&
		    !memcmp(mnl_attr_get_payload(a), &f->be, 4))
			f->index = (int)ifa->ifa_index;
	}
	return MNL_CB_OK;
}

int pmon_nl_addr_link(struct pmon_nl *nl, uint32_t ip, int *index, unsigned *mtu, char *err,
		      size_t errlen)
{
	struct nlmsghdr *h = begin(nl, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	struct addr_find f = {.be = htonl(ip)};
	struct pmon_nl_link *l = NULL;
	int n = 0;

	ifa->ifa_family = AF_INET;
	*index = 0;
	*mtu = 0;
	if (talk(nl, h, addr_cb, &f))
		return failed(err, errlen, "cannot list", "the addresses");
	if (!f.index)
		return 0;
	if (pmon_nl_links(nl, &l, &n, err, errlen))
		return -1;
	for (int i = 0; i < n; i++)
		if (l[i].index == f.index)
			*mtu = l[i].mtu;
	free(l);
	*index = f.index;
	return 0;
}

/* ---- head-end replication ------------------------------------------------------------------- */

int pmon_nl_fdb_peer(struct pmon_nl *nl, int vxlan, uint32_t peer, bool add, char *err,
		     size_t errlen)
{
	static const uint8_t zero[6];
	struct nlmsghdr *h = begin(nl, add ? RTM_NEWNEIGH : RTM_DELNEIGH,
				   NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_APPEND : 0));
	struct ndmsg *nd = mnl_nlmsg_put_extra_header(h, sizeof(*nd));
	uint32_t be = htonl(peer);
	char name[IF_NAMESIZE] = "?", ip[INET_ADDRSTRLEN] = "?";

	nd->ndm_family = AF_BRIDGE;
	nd->ndm_ifindex = vxlan;
	nd->ndm_state = NUD_NOARP | NUD_PERMANENT;
	nd->ndm_flags = NTF_SELF;
	mnl_attr_put(h, NDA_LLADDR, 6, zero);
	mnl_attr_put(h, NDA_DST, 4, &be);
	if (!talk(nl, h, NULL, NULL) || (add && errno == EEXIST) || (!add && errno == ENOENT))
		return 0;
	if_indextoname((unsigned)vxlan, name);
	inet_ntop(AF_INET, &be, ip, sizeof(ip));
	snprintf(err, errlen, "cannot %s replication to %s on %s: %s", add ? "add" : "remove", ip,
		 name, strerror(errno));
	return -1;
}

struct fdb_find {
	int vxlan, max, n;
	uint32_t *peers;
};

static int fdb_cb(const struct nlmsghdr *h, void *data)
{
	static const uint8_t zero[6];
	struct fdb_find *f = data;
	const struct ndmsg *nd = mnl_nlmsg_get_payload(h);
	const struct nlattr *a;
	bool mac_zero = false;
	uint32_t dst = 0;

	if (nd->ndm_ifindex != f->vxlan)
		return MNL_CB_OK;
	mnl_attr_for_each(a, h, sizeof(*nd))
	{
		if (mnl_attr_get_type(a) == NDA_LLADDR && mnl_attr_get_payload_len(a) == 6)
			mac_zero = !memcmp(mnl_attr_get_payload(a), zero, 6);
		if (mnl_attr_get_type(a) == NDA_DST && mnl_attr_get_payload_len(a) == 4) {
			memcpy(&dst, mnl_attr_get_payload(a), 4);
			dst = ntohl(dst);
		}
	}
	if (mac_zero && dst && f->n < f->max)
		f->peers[f->n++] = dst;
	return MNL_CB_OK;
}

int pmon_nl_fdb_peers(struct pmon_nl *nl, int vxlan, uint32_t *peers, int max, int *n, char *err,
		      size_t errlen)
{
	struct nlmsghdr *h = begin(nl, RTM_GETNEIGH, NLM_F_DUMP);
	struct ndmsg *nd = mnl_nlmsg_put_extra_header(h, sizeof(*nd));
	struct fdb_find f = {.vxlan = vxlan, .max = max, .peers = peers};

	nd->ndm_family = AF_BRIDGE;
	*n = 0;
	if (talk(nl, h, fdb_cb, &f))
		return failed(err, errlen, "cannot list", "the forwarding entries");
	*n = f.n;
	return 0;
}

void pmon_nl_no_ipv6(const char *name)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* no IPv6 in this kernel: nothing to disable */
	if (write(fd, "1", 1) != 1)
		(void)0;
	close(fd);
}
