/* net_config.c: --net's handler (tap=IFNAME[,mac=MAC][,ip=ADDR]) and the NICs' check. */
#include "net_config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vmm/control/vmm_options.h"

void net_config_init(struct vmm_options *c)
{
	c->net = (struct net_config){0};
}

/* An interface name the kernel would take: 1..IFNAMSIZ-1 bytes, no '/', ':' or blank. */
static bool ifname_ok(const char *s, size_t n)
{
	if (!n || n >= IFNAMSIZ || (n == 1 && s[0] == '.') || (n == 2 && !memcmp(s, "..", 2)))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == '/' || s[i] == ':' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static int parse_item(const char *key, size_t klen, const char *val, size_t vlen,
		      struct net_config_nic *nic, char *err, size_t errlen)
{
	char text[64];

	if (vlen >= sizeof(text)) {
		snprintf(err, errlen, "'%.*s' is too long", (int)klen, key);
		return -1;
	}
	memcpy(text, val, vlen);
	text[vlen] = '\0';
	if (klen == 3 && !memcmp(key, "tap", 3)) {
		if (nic->tap[0] || !ifname_ok(val, vlen)) {
			snprintf(err, errlen, "tap= must name one interface (1-%d characters)",
				 IFNAMSIZ - 1);
			return -1;
		}
		memcpy(nic->tap, text, vlen + 1);
	} else if (klen == 3 && !memcmp(key, "mac", 3)) {
		if (nic->has_mac || mac_addr_parse(text, nic->mac) ||
		    !mac_addr_is_unicast(nic->mac)) {
			snprintf(err, errlen,
				 "mac= must be one unicast address xx:xx:xx:xx:xx:xx, not '%s'",
				 text);
			return -1;
		}
		nic->has_mac = true;
	} else if (klen == 2 && !memcmp(key, "ip", 2)) {
		struct in_addr a;

		if (nic->ip || inet_pton(AF_INET, text, &a) != 1 || !a.s_addr ||
		    a.s_addr == INADDR_BROADCAST) {
			snprintf(err, errlen, "ip= must be one IPv4 address, not '%s'", text);
			return -1;
		}
		nic->ip = a.s_addr;
	} else {
		snprintf(err, errlen, "unknown item '%.*s' (tap=, mac=, ip=)", (int)klen, key);
		return -1;
	}
	return 0;
}

int net_config_parse(const char *arg, struct net_config_nic *nic, char *err, size_t errlen)
{
	memset(nic, 0, sizeof(*nic));
	for (const char *p = arg;;) {
		size_t n = strcspn(p, ","), k = strcspn(p, "=");

		if (k >= n) {
			snprintf(err, errlen, "'%.*s' is not KEY=VALUE", (int)n, p);
			return -1;
		}
		if (parse_item(p, k, p + k + 1, n - k - 1, nic, err, errlen))
			return -1;
		if (!p[n])
			break;
		p += n + 1;
	}
	if (!nic->tap[0]) {
		snprintf(err, errlen, "tap=IFNAME is missing");
		return -1;
	}
	return 0;
}

int net_config_net(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	struct net_config *n = &c->net;
	char why[160];

	if (n->nr_nics == NET_CONFIG_MAX_NICS) {
		snprintf(err, errlen, "too many --net options (at most %d): '%s'",
			 NET_CONFIG_MAX_NICS, arg);
		return VMM_OPTIONS_BAD;
	}
	if (net_config_parse(arg, &n->nics[n->nr_nics], why, sizeof(why))) {
		snprintf(err, errlen, "--net '%s': %s", arg, why);
		return VMM_OPTIONS_BAD;
	}
	n->nr_nics++;
	return VMM_OPTIONS_OK;
}

int net_config_finish(struct vmm_options *c, char *err, size_t errlen)
{
	struct net_config *n = &c->net;
	uint64_t vnode = c->mem.rm.vnode;

	/* Without a vNode id (local RAM), a random one: such a vNode never migrates. */
	if (!vnode && getrandom(&vnode, sizeof(vnode), 0) != sizeof(vnode))
		vnode = (uint64_t)(uintptr_t)&vnode;
	for (int i = 0; i < n->nr_nics; i++) {
		struct net_config_nic *a = &n->nics[i];

		if (!a->has_mac)
			mac_addr_local(vnode, (unsigned)i, a->mac);
		for (int j = 0; j < i; j++) {
			const struct net_config_nic *b = &n->nics[j];
			char mac[MAC_ADDR_TEXT_LEN];

			if (!strcmp(a->tap, b->tap)) {
				snprintf(err, errlen, "--net: tap %s is named twice", a->tap);
				return VMM_OPTIONS_BAD;
			}
			if (!memcmp(a->mac, b->mac, MAC_ADDR_LEN)) {
				mac_addr_format(a->mac, mac);
				snprintf(err, errlen, "--net: NICs %d and %d both have MAC %s", j,
					 i, mac);
				return VMM_OPTIONS_BAD;
			}
		}
	}
	return VMM_OPTIONS_OK;
}
