/* net_tap.c: a tap attached (never created), its counters read over rtnetlink, frames sent. */
#include "net_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define TUN_DEV "/dev/net/tun"

int net_tap_open(const char *name, int hdr_bytes, int *ifindex, char *err, size_t errlen)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int fd, s;

	if (strlen(name) >= IFNAMSIZ) {
		snprintf(err, errlen, "tap name '%s' is too long", name);
		return -1;
	}
	if (!if_nametoindex(name)) {
		snprintf(err, errlen,
			 "there is no interface %s (lego-vmm attaches to taps that exist: "
			 "ip tuntap add dev %s mode tap vnet_hdr)",
			 name, name);
		return -1;
	}
	fd = open(TUN_DEV, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", TUN_DEV, strerror(errno));
		return -1;
	}
	strcpy(ifr.ifr_name, name);
	/* Attaching to a name that does not exist would create a tap: should it have gone since
	 * the check above, refuse what we made (closing it removes it). */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "cannot attach to tap %s: %s%s", name, strerror(errno),
			 errno == EBUSY ? " (another process has it)" : "");
		goto fail;
	}
	if (ioctl(fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_PERSIST) ||
	    !(ifr.ifr_flags & IFF_TAP)) {
		snprintf(err, errlen, "%s is not a persistent tap device", name);
		goto fail;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_bytes) < 0) {
		snprintf(err, errlen, "tap %s: TUNSETVNETHDRSZ %d: %s", name, hdr_bytes,
			 strerror(errno));
		goto fail;
	}
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	strcpy(ifr.ifr_name, name);
	if (s < 0 || ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
		snprintf(err, errlen, "tap %s: its interface index: %s", name, strerror(errno));
		if (s >= 0)
			close(s);
		goto fail;
	}
	close(s);
	*ifindex = ifr.ifr_ifindex;
	return fd;
fail:
	close(fd);
	return -1;
}

/* IFLA_STATS64 out of an RTM_NEWLINK message's attributes. */
static int find_stats(const struct nlmsghdr *h, struct rtnl_link_stats64 *out)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));

	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_STATS64 && RTA_PAYLOAD(a) >= sizeof(*out)) {
			memcpy(out, RTA_DATA(a), sizeof(*out));
			return 0;
		}
	}
	return -1;
}

int net_tap_stats(int ifindex, struct net_tap_stats *st, char *err, size_t errlen)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = {.h = {.nlmsg_len = sizeof(req),
		       .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST,
		       .nlmsg_seq = 1},
		 .i = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex}};
	static __thread char buf[16384] __attribute__((aligned(8)));
	struct rtnl_link_stats64 s;
	struct timeval tv = {.tv_sec = 1};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), rc = -1;
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errlen, "netlink socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, &req, sizeof(req), 0) != sizeof(req)) {
		snprintf(err, errlen, "RTM_GETLINK: %s", strerror(errno));
		goto out;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; n > 0 && NLMSG_OK(h, (size_t)n);
	     h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			snprintf(err, errlen, "interface %d: %s", ifindex, strerror(-e->error));
			goto out;
		}
		if (h->nlmsg_type == RTM_NEWLINK && !find_stats(h, &s)) {
			*st = (struct net_tap_stats){.rx_bytes = s.rx_bytes,
						     .rx_packets = s.rx_packets,
						     .rx_dropped = s.rx_dropped,
						     .tx_bytes = s.tx_bytes,
						     .tx_packets = s.tx_packets,
						     .tx_dropped = s.tx_dropped};
			rc = 0;
			goto out;
		}
	}
	snprintf(err, errlen, "interface %d: no statistics in the answer%s", ifindex,
		 n < 0 ? " (none came)" : "");
out:
	close(fd);
	return rc;
}

int net_tap_send(int fd, int hdr_bytes, const void *frame, size_t len)
{
	static const char zero[32];
	struct iovec iov[2] = {{(void *)zero, (size_t)hdr_bytes}, {(void *)frame, len}};

	if (hdr_bytes < 0 || (size_t)hdr_bytes > sizeof(zero)) {
		errno = EINVAL;
		return -1;
	}
	return writev(fd, iov, 2) == (ssize_t)((size_t)hdr_bytes + len) ? 0 : -1;
}
