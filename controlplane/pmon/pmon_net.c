/* pmon_net.c: the networks' data path on one processor host: bridges, VXLAN devices with
 * head-end replication, taps, dnsmasq and nftables, built and removed as vNodes come and go,
 * what a previous lego-pmon left removed but for the taps of the vNodes adopted, which go back
 * on their bridges. */
#include "pmon_net.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/uuid_str.h"
#include "pmon_dhcp.h"
#include "pmon_nft.h"
#include "pmon_nl.h"
#include "pmon_vms.h"

#define MAX_ATT	       (PMON_VMS_MAX * NET_PROTO_MAX_IFACES)
#define VXLAN_OVERHEAD 50   /* outer Ethernet, IPv4, UDP and VXLAN headers */
#define MTU_DEFAULT    1500 /* no underlay: the bridge's own */
#define MAX_STOPPED    64
#define ERR_MAX	       512

struct att {
	bool used;
	uint8_t uuid[16];
	uint64_t gen;
	char tap[NET_PROTO_IFNAME_MAX + 1];
	char vnode[CP_NAME_LEN + 1];
	struct net_proto_attach a;
	/* A migration brought the vNode here with its lease, which this host's dnsmasq has no
	 * record of until the guest renews it: reported as a lease until then (0: none). */
	int64_t carried_expiry;
	int idx;      /* the vNode's interface number */
	bool pending; /* adopted after a restart: kept, not on a bridge of ours yet (NET_SET) */
};

struct live {
	bool used;
	struct net_proto_net n;
	char br[NET_PROTO_IFNAME_MAX + 1], vx[NET_PROTO_IFNAME_MAX + 1];
	int users;
	struct pmon_dhcp dhcp;
};

static struct {
	pthread_mutex_t lock;
	struct pmon_net_config cfg;
	struct pmon_nl *nl;
	int vtep_dev;
	unsigned mtu; /* of every bridge, VXLAN device and tap */
	struct net_proto_set set;
	struct live live[NET_PROTO_MAX_NETS];
	struct att *att;
	uint64_t gen;
	pid_t stopped[MAX_STOPPED]; /* DHCP servers told to stop: their exits are expected */
	int nr_stopped;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void alias(char *out, size_t len, const char *kind, const char *what)
{
	snprintf(out, len, "lego-pmon:%s:%s:%s", S.cfg.name, kind, what);
}

static void tap_alias(char *out, size_t len, const uint8_t uuid[16], int i)
{
	char id[UUID_STR_LEN], what[64];

	uuid_str_format(uuid, id);
	snprintf(what, sizeof(what), "%s:%d", id, i);
	alias(out, len, "tap", what);
}

static void replug(void);

/* ---- rules and DHCP entries -------------------------------------------------------------- */

/* The rules for what is built now: 0, or -1 (logged). */
static int apply_rules(void)
{
	struct pmon_nft_port *ports = calloc(MAX_ATT, sizeof(*ports));
	uint32_t vnis[NET_PROTO_MAX_NETS];
	struct pmon_nft_state s = {.vnis = vnis,
				   .ports = ports,
				   .peers = S.set.peers,
				   .nr_peers = S.cfg.vtep ? (int)S.set.nr_peers : 0,
				   .vxlan_port = S.cfg.vxlan_port};
	char err[ERR_MAX];
	int rc;

	if (!ports) {
		log_error("networks: out of memory: the nftables rules are not updated");
		return -1;
	}
	for (int i = 0; i < NET_PROTO_MAX_NETS; i++)
		if (S.live[i].used)
			vnis[s.nr_vnis++] = S.live[i].n.vni;
	for (int i = 0; i < MAX_ATT; i++) {
		if (!S.att[i].used)
			continue;
		snprintf(ports[s.nr_ports].tap, sizeof(ports[0].tap), "%s", S.att[i].tap);
		memcpy(ports[s.nr_ports].mac, S.att[i].a.mac, 6);
		ports[s.nr_ports++].ip = S.att[i].a.ip;
	}
	rc = pmon_nft_apply(&s, err, sizeof(err));
	free(ports);
	if (rc)
		log_error("networks: %s", err);
	return rc;
}

static void refresh_dhcp(struct live *l)
{
	struct pmon_dhcp_host *h = calloc(MAX_ATT, sizeof(*h));
	char err[ERR_MAX];
	int n = 0;

	if (!h || !l->dhcp.pid) {
		free(h);
		return;
	}
	for (int i = 0; i < MAX_ATT; i++) {
		if (!S.att[i].used || strcmp(S.att[i].a.network, l->n.name))
			continue;
		memcpy(h[n].mac, S.att[i].a.mac, 6);
		h[n].ip = S.att[i].a.ip;
		h[n++].name = S.att[i].vnode;
	}
	if (pmon_dhcp_hosts(&l->dhcp, h, n, err, sizeof(err)))
		log_error("network %s: %s", l->n.name, err);
	free(h);
}

/* ---- a network on this host ------------------------------------------------------------ */

static void del_link(const char *name)
{
	char err[ERR_MAX];
	int index = pmon_nl_index(name);

	if (index && pmon_nl_link_del(S.nl, index, err, sizeof(err)))
		log_warn("networks: %s", err);
}

static void teardown(struct live *l)
{
	if (l->dhcp.pid && S.nr_stopped < MAX_STOPPED)
		S.stopped[S.nr_stopped++] = l->dhcp.pid;
	pmon_dhcp_stop(&l->dhcp);
	del_link(l->vx);
	del_link(l->br);
	log_info("network %s (VNI %u): removed from this host", l->n.name, l->n.vni);
	memset(l, 0, sizeof(*l));
}

/* The replication entries of l's VXLAN device made what NET_SET lists. */
static int sync_peers(struct live *l, char *err, size_t errlen)
{
	uint32_t have[NET_PROTO_MAX_PEERS];
	int vx = pmon_nl_index(l->vx), n = 0;

	if (!S.cfg.vtep || !vx)
		return 0;
	if (pmon_nl_fdb_peers(S.nl, vx, have, NET_PROTO_MAX_PEERS, &n, err, errlen))
		return -1;
	for (int i = 0; i < n; i++) {
		bool want = false;

		for (uint32_t k = 0; k < S.set.nr_peers; k++)
			want |= S.set.peers[k] == have[i];
		if (!want && pmon_nl_fdb_peer(S.nl, vx, have[i], false, err, errlen))
			return -1;
	}
	for (uint32_t k = 0; k < S.set.nr_peers; k++) {
		bool there = false;

		for (int i = 0; i < n; i++)
			there |= S.set.peers[k] == have[i];
		if (!there && pmon_nl_fdb_peer(S.nl, vx, S.set.peers[k], true, err, errlen))
			return -1;
	}
	return 0;
}

static int build(struct live *l, char *err, size_t errlen)
{
	char tag[PMON_NL_ALIAS];
	uint8_t mac[6];
	int br, vx;

	del_link(l->vx); /* leftovers of that name go */
	del_link(l->br);
	net_proto_bridge_mac(l->n.vni, mac);
	alias(tag, sizeof(tag), "bridge", l->n.name);
	if (pmon_nl_bridge_add(S.nl, l->br, mac, err, errlen))
		return -1;
	br = pmon_nl_index(l->br);
	pmon_nl_no_ipv6(l->br);
	if (!br || pmon_nl_link_set(S.nl, br, tag, -1, S.mtu, false, err, errlen))
		return -1;
	if (S.cfg.vtep) {
		alias(tag, sizeof(tag), "vxlan", l->n.name);
		if (pmon_nl_vxlan_add(S.nl, l->vx, l->n.vni, S.cfg.vtep, S.vtep_dev,
				      S.cfg.vxlan_port, S.mtu, err, errlen))
			return -1;
		vx = pmon_nl_index(l->vx);
		pmon_nl_no_ipv6(l->vx);
		if (!vx || pmon_nl_link_set(S.nl, vx, tag, br, 0, true, err, errlen) ||
		    sync_peers(l, err, errlen))
			return -1;
	}
	if (pmon_nl_addr_add(S.nl, br, net_proto_gateway(&l->n), l->n.prefix, err, errlen) ||
	    pmon_nl_link_set(S.nl, br, NULL, -1, 0, true, err, errlen))
		return -1;
	return pmon_dhcp_dir(S.cfg.dhcp_dir, err, errlen) ||
	       pmon_dhcp_start(&l->dhcp, S.cfg.dnsmasq, S.cfg.dhcp_dir, &l->n, l->br, S.mtu, NULL,
			       0, err, errlen);
}

/* Network n built on this host (or the one already there). */
static struct live *realize(const struct net_proto_net *n, char *err, size_t errlen)
{
	struct live *l = NULL;

	if (!n) {
		snprintf(err, errlen, "no such network");
		return NULL;
	}
	for (int i = 0; i < NET_PROTO_MAX_NETS; i++) {
		if (S.live[i].used && !strcmp(S.live[i].n.name, n->name)) {
			if (S.live[i].n.vni == n->vni && S.live[i].n.addr == n->addr &&
			    S.live[i].n.prefix == n->prefix)
				return &S.live[i];
			snprintf(err, errlen,
				 "network %s changed while vNodes here use it: stop them first",
				 n->name);
			return NULL;
		}
		if (!S.live[i].used && !l)
			l = &S.live[i];
	}
	if (!l) {
		snprintf(err, errlen, "too many networks on this host");
		return NULL;
	}
	memset(l, 0, sizeof(*l));
	l->used = true;
	l->n = *n;
	net_proto_bridge_name(n->vni, l->br);
	net_proto_vxlan_name(n->vni, l->vx);
	if (build(l, err, errlen)) {
		teardown(l);
		return NULL;
	}
	log_info("network %s (VNI %u): built on this host (bridge %s%s%s, MTU %u, %u other "
		 "host(s))",
		 n->name, n->vni, l->br, S.cfg.vtep ? ", VXLAN " : "", S.cfg.vtep ? l->vx : "",
		 S.mtu, S.cfg.vtep ? S.set.nr_peers : 0);
	return l;
}

static struct live *live_of(const char *name)
{
	for (int i = 0; i < NET_PROTO_MAX_NETS; i++)
		if (S.live[i].used && !strcmp(S.live[i].n.name, name))
			return &S.live[i];
	return NULL;
}

static const struct net_proto_net *wanted(const char *name)
{
	for (uint32_t i = 0; i < S.set.nr_nets; i++)
		if (!strcmp(S.set.nets[i].name, name))
			return &S.set.nets[i];
	return NULL;
}

/* ---- attachments ------------------------------------------------------------------------ */

/* Remove uuid's attachments (gen 0: all); then the networks left unused. */
static void detach_locked(const uint8_t uuid[16], uint64_t gen)
{
	bool any = false;

	for (int i = 0; i < MAX_ATT; i++) {
		struct att *t = &S.att[i];
		struct live *l;

		if (!t->used || memcmp(t->uuid, uuid, 16) || (gen && t->gen != gen))
			continue;
		del_link(t->tap);
		l = live_of(t->a.network);
		if (l && !t->pending)
			l->users--;
		log_info("vNode %s: tap %s removed from network %s", t->vnode, t->tap,
			 t->a.network);
		memset(t, 0, sizeof(*t));
		any = true;
	}
	if (!any)
		return;
	for (int i = 0; i < NET_PROTO_MAX_NETS; i++) {
		if (S.live[i].used && S.live[i].users <= 0)
			teardown(&S.live[i]);
		else if (S.live[i].used)
			refresh_dhcp(&S.live[i]);
	}
	(void)apply_rules(); /* a failure is logged: nothing more to do about it here */
}

/* The checks of one interface against the networks and this host's other vNodes. */
static int check(const uint8_t uuid[16], const struct net_proto_attach *a, char *err, size_t errlen)
{
	const struct net_proto_net *n = wanted(a->network);
	char mac[18], ip[16];

	net_proto_mac_format(a->mac, mac);
	net_proto_ip_format(a->ip, ip);
	if (!n) {
		snprintf(err, errlen,
			 "network %s is unknown on this host (lego-controld has not "
			 "listed it)",
			 a->network);
		return CP_EINVAL;
	}
	if (a->prefix != n->prefix || !net_proto_host_ok(n, a->ip)) {
		snprintf(err, errlen, "address %s/%u is not a vNode's address in network %s", ip,
			 a->prefix, n->name);
		return CP_EINVAL;
	}
	for (int i = 0; i < MAX_ATT; i++) {
		const struct att *t = &S.att[i];

		if (!t->used || !memcmp(t->uuid, uuid, 16))
			continue;
		if (!memcmp(t->a.mac, a->mac, 6) ||
		    (t->a.ip == a->ip && !strcmp(t->a.network, a->network))) {
			snprintf(err, errlen,
				 "MAC %s or address %s is already on this host (vNode %s, tap %s)",
				 mac, ip, t->vnode, t->tap);
			return CP_EEXIST;
		}
	}
	return CP_OK;
}

/* Interface i's tap: made, tagged, on its bridge, up; recorded. */
static int plug(const uint8_t uuid[16], int32_t domid, const char *vnode, int i,
		const struct net_proto_attach *a, uint64_t gen, bool incoming, char *tap, char *err,
		size_t errlen)
{
	char tag[PMON_NL_ALIAS];
	struct live *l = realize(wanted(a->network), err, errlen);
	struct att *t = NULL;
	int index;

	if (!l)
		return -1;
	for (int k = 0; k < MAX_ATT && !t; k++)
		if (!S.att[k].used)
			t = &S.att[k];
	if (!t) {
		snprintf(err, errlen, "too many interfaces on this host");
		return -1;
	}
	net_proto_tap_name(domid, i, tap);
	for (int k = 0; k < MAX_ATT; k++)
		if (S.att[k].used && !strcmp(S.att[k].tap, tap)) {
			snprintf(err, errlen, "tap %s is vNode %s's", tap, S.att[k].vnode);
			return -1;
		}
	del_link(tap); /* a leftover of that name goes */
	tap_alias(tag, sizeof(tag), uuid, i);
	if (pmon_nl_tap_add(tap, err, errlen))
		return -1;
	*t = (struct att){.used = true,
			  .gen = gen,
			  .a = *a,
			  .carried_expiry = incoming ? time(NULL) + PMON_DHCP_LEASE_SECONDS : 0,
			  .idx = i};
	memcpy(t->uuid, uuid, 16);
	snprintf(t->tap, sizeof(t->tap), "%s", tap);
	snprintf(t->vnode, sizeof(t->vnode), "%s", vnode);
	l->users++;
	index = pmon_nl_index(tap);
	pmon_nl_no_ipv6(tap);
	if (!index ||
	    pmon_nl_link_set(S.nl, index, tag, pmon_nl_index(l->br), S.mtu, true, err, errlen))
		return -1;
	log_info("vNode %s: tap %s on network %s (bridge %s)", vnode, tap, a->network, l->br);
	return 0;
}

int pmon_net_attach(const uint8_t uuid[16], int32_t domid, const char *vnode,
		    const struct net_proto_attach *a, int n, bool incoming, uint64_t *gen,
		    char (*taps)[NET_PROTO_IFNAME_MAX + 1], char *err, size_t errlen)
{
	int rc = CP_OK;

	pthread_mutex_lock(&S.lock);
	for (int i = 0; i < n && rc == CP_OK; i++)
		rc = check(uuid, &a[i], err, errlen);
	for (int i = 0; i < n && rc == CP_OK; i++)
		for (int k = 0; k < i && rc == CP_OK; k++)
			if (!memcmp(a[i].mac, a[k].mac, 6)) {
				snprintf(err, errlen, "two interfaces share a MAC");
				rc = CP_EINVAL;
			}
	if (rc == CP_OK) {
		detach_locked(uuid, 0); /* a previous run of this vNode not cleaned yet */
		*gen = ++S.gen;
		for (int i = 0; i < n && rc == CP_OK; i++)
			if (plug(uuid, domid, vnode, i, &a[i], *gen, incoming, taps[i], err,
				 errlen))
				rc = CP_EIO;
		/* Without its rules a vNode could send as another: it does not start. */
		if (rc == CP_OK && apply_rules()) {
			snprintf(err, errlen, "the nftables rules could not be set (see the log)");
			rc = CP_EIO;
		}
		if (rc != CP_OK) {
			detach_locked(uuid, *gen);
		} else {
			for (int i = 0; i < NET_PROTO_MAX_NETS; i++)
				if (S.live[i].used)
					refresh_dhcp(&S.live[i]);
		}
	}
	pthread_mutex_unlock(&S.lock);
	return rc;
}

void pmon_net_detach(const uint8_t uuid[16], uint64_t gen)
{
	pthread_mutex_lock(&S.lock);
	detach_locked(uuid, gen);
	pthread_mutex_unlock(&S.lock);
}

/* ---- lego-controld's view, leases, children ----------------------------------------------- */

int pmon_net_set(const struct net_proto_set *m, uint32_t *vtep, char *err, size_t errlen)
{
	int rc = CP_OK, nlive = 0;

	pthread_mutex_lock(&S.lock);
	S.set = *m;
	/* Replicating to itself would loop every broadcast back into its own bridge. */
	for (uint32_t i = 0; i < S.set.nr_peers; i++)
		if (S.set.peers[i] == S.cfg.vtep) {
			log_warn("networks: lego-controld lists this host's own VXLAN address as "
				 "another host's: left out");
			S.set.peers[i--] = S.set.peers[--S.set.nr_peers];
		}
	replug();
	for (int i = 0; i < NET_PROTO_MAX_NETS; i++) {
		if (!S.live[i].used)
			continue;
		nlive++;
		if (!wanted(S.live[i].n.name))
			log_warn("network %s is no longer listed by lego-controld: it stays while "
				 "vNodes here use it",
				 S.live[i].n.name);
		if (sync_peers(&S.live[i], err, errlen))
			rc = CP_EIO;
	}
	if (nlive)
		(void)apply_rules();
	*vtep = S.cfg.vtep;
	pthread_mutex_unlock(&S.lock);
	return rc;
}

/* A migrated-in interface's lease, unless dnsmasq has one for its MAC (the guest renewed). */
static int add_carried(struct att *t, struct net_proto_lease **out, uint32_t *n, char *err,
		       size_t errlen)
{
	struct net_proto_lease *grown;

	for (uint32_t i = 0; i < *n; i++)
		if (!memcmp((*out)[i].mac, t->a.mac, 6)) {
			t->carried_expiry = 0;
			return 0;
		}
	grown = realloc(*out, (*n + 1) * sizeof(**out));
	if (!grown) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*out = grown;
	grown[*n] = (struct net_proto_lease){.expiry = t->carried_expiry, .ip = t->a.ip};
	memcpy(grown[*n].mac, t->a.mac, 6);
	(*n)++;
	return 0;
}

int pmon_net_leases(const char *net, struct net_proto_lease **out, uint32_t *n, char *err,
		    size_t errlen)
{
	struct live *l;
	int rc = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&S.lock);
	l = live_of(net);
	if (l)
		rc = pmon_dhcp_leases(&l->dhcp, out, n, err, errlen);
	for (int k = 0; l && !rc && k < MAX_ATT; k++)
		if (S.att[k].used && S.att[k].carried_expiry && !strcmp(S.att[k].a.network, net))
			rc = add_carried(&S.att[k], out, n, err, errlen);
	pthread_mutex_unlock(&S.lock);
	return rc;
}

bool pmon_net_reaped(pid_t pid, int status)
{
	bool found = false;
	char err[ERR_MAX];

	pthread_mutex_lock(&S.lock);
	for (int i = 0; i < S.nr_stopped && !found; i++)
		if (S.stopped[i] == pid) {
			S.stopped[i] = S.stopped[--S.nr_stopped];
			found = true;
		}
	for (int i = 0; i < NET_PROTO_MAX_NETS && !found; i++) {
		struct live *l = &S.live[i];
		bool again;

		if (!l->used || l->dhcp.pid != pid)
			continue;
		found = true;
		/* A server that dies at once would die again: only a long-lived one restarts. */
		again = mono_clock_ms() - l->dhcp.started_ms > 1000;
		log_error("network %s: its DHCP server (dnsmasq pid %d) exited with status %d%s",
			  l->n.name, (int)pid, status, again ? ": restarting it" : "");
		l->dhcp.pid = 0;
		if (again && pmon_dhcp_start(&l->dhcp, S.cfg.dnsmasq, S.cfg.dhcp_dir, &l->n, l->br,
					     S.mtu, NULL, 0, err, sizeof(err)))
			log_error("network %s: %s", l->n.name, err);
		else if (again)
			refresh_dhcp(l);
	}
	pthread_mutex_unlock(&S.lock);
	return found;
}

/* Every link whose alias says this lego-pmon made it goes, but the adopted vNodes' taps. */
static int remove_leftovers(void)
{
	struct pmon_nl_link *l = NULL;
	char prefix[PMON_NL_ALIAS], err[ERR_MAX];
	int n = 0, removed = 0;

	alias(prefix, sizeof(prefix), "", "");
	prefix[strlen(prefix) - 1] = '\0'; /* "lego-pmon:NAME:" */
	if (pmon_nl_links(S.nl, &l, &n, err, sizeof(err))) {
		log_warn("networks: %s", err);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		bool kept = false;

		for (int k = 0; k < MAX_ATT && !kept; k++)
			kept = S.att[k].used && !strcmp(S.att[k].tap, l[i].name);
		if (kept || strncmp(l[i].alias, prefix, strlen(prefix)))
			continue;
		if (pmon_nl_link_del(S.nl, l[i].index, err, sizeof(err))) {
			log_warn("networks: %s", err);
			continue;
		}
		log_info("removed %s (%s), left by a previous lego-pmon", l[i].name, l[i].alias);
		removed++;
	}
	free(l);
	return removed;
}

int pmon_net_init(const struct pmon_net_config *cfg, char *err, size_t errlen)
{
	char ip[16];

	S.cfg = *cfg;
	S.att = calloc(MAX_ATT, sizeof(*S.att));
	if (!S.att) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pmon_nl_open(&S.nl, err, errlen))
		return -1;
	S.mtu = MTU_DEFAULT;
	if (cfg->vtep) {
		unsigned mtu;

		net_proto_ip_format(cfg->vtep, ip);
		if (pmon_nl_addr_link(S.nl, cfg->vtep, &S.vtep_dev, &mtu, err, errlen))
			return -1;
		if (!S.vtep_dev || mtu < 576 + VXLAN_OVERHEAD) {
			snprintf(err, errlen,
				 "VXLAN address %s is not an address of this host's (or its link's "
				 "MTU is too small)",
				 ip);
			return -1;
		}
		S.mtu = mtu - VXLAN_OVERHEAD;
	}
	return 0;
}

/* ---- a restart: the adopted vNodes' taps ------------------------------------------------ */

int pmon_net_adopt(const uint8_t uuid[16], const char *vnode, const struct pmon_net_iface *ifs,
		   int n, uint64_t *gen)
{
	struct pmon_nl_link *links = NULL;
	char err[ERR_MAX], want[PMON_NL_ALIAS];
	int nl = 0, kept = 0;

	*gen = 0;
	if (pmon_nl_links(S.nl, &links, &nl, err, sizeof(err))) {
		log_warn("networks: %s", err);
		return 0;
	}
	pthread_mutex_lock(&S.lock);
	for (int i = 0; i < n; i++) {
		struct att *t = NULL;
		bool there = false, taken = false;

		tap_alias(want, sizeof(want), uuid, ifs[i].idx);
		for (int k = 0; k < nl && !there; k++)
			there = !strcmp(links[k].name, ifs[i].tap) && !strcmp(links[k].alias, want);
		for (int k = 0; k < MAX_ATT; k++) {
			taken |= S.att[k].used && !strcmp(S.att[k].tap, ifs[i].tap);
			if (!S.att[k].used && !t)
				t = &S.att[k];
		}
		if (!there || taken || !t) {
			log_warn("vNode %s: its tap %s (network %s) is %s: that interface stays "
				 "without its network",
				 vnode, ifs[i].tap, ifs[i].a.network,
				 !there ? "gone or not ours" : "another vNode's");
			continue;
		}
		if (!*gen)
			*gen = ++S.gen;
		/* dnsmasq's lease file goes with the old DHCP server: the guest's lease is
		 * reported until it renews it with the new one. */
		*t = (struct att){.used = true,
				  .pending = true,
				  .gen = *gen,
				  .a = ifs[i].a,
				  .carried_expiry = time(NULL) + PMON_DHCP_LEASE_SECONDS,
				  .idx = ifs[i].idx};
		memcpy(t->uuid, uuid, 16);
		snprintf(t->tap, sizeof(t->tap), "%s", ifs[i].tap);
		snprintf(t->vnode, sizeof(t->vnode), "%s", vnode);
		kept++;
		log_info("vNode %s: tap %s kept (network %s), back on its bridge once "
			 "lego-controld lists the network",
			 vnode, t->tap, t->a.network);
	}
	pthread_mutex_unlock(&S.lock);
	free(links);
	return kept;
}

void pmon_net_cleanup(void)
{
	bool kept = false;
	int left;

	pthread_mutex_lock(&S.lock);
	left = remove_leftovers() + pmon_dhcp_cleanup(S.cfg.dhcp_dir);
	for (int i = 0; i < MAX_ATT; i++)
		kept |= S.att[i].used;
	/* No network yet: the rules left go but the kept taps' own (they send as before). */
	if (left || kept)
		(void)apply_rules();
	pthread_mutex_unlock(&S.lock);
}

/* The kept taps back on their networks' bridges (built if need be), once NET_SET lists the
 * networks. */
static void replug(void)
{
	char err[ERR_MAX];
	bool any = false;

	for (int i = 0; i < MAX_ATT; i++) {
		struct att *t = &S.att[i];
		struct live *l;
		int index;

		if (!t->used || !t->pending || !wanted(t->a.network))
			continue;
		index = pmon_nl_index(t->tap);
		if (!index) {
			log_warn("vNode %s: its kept tap %s is gone", t->vnode, t->tap);
			memset(t, 0, sizeof(*t));
			continue;
		}
		l = realize(wanted(t->a.network), err, sizeof(err));
		if (!l || pmon_nl_link_set(S.nl, index, NULL, pmon_nl_index(l->br), S.mtu, true,
					   err, sizeof(err))) {
			log_error("vNode %s: tap %s cannot go back on network %s: %s", t->vnode,
				  t->tap, t->a.network, err);
			continue;
		}
		t->pending = false;
		l->users++;
		any = true;
		log_info("vNode %s: tap %s back on network %s (bridge %s)", t->vnode, t->tap,
			 t->a.network, l->br);
	}
	for (int i = 0; any && i < NET_PROTO_MAX_NETS; i++)
		if (S.live[i].used)
			refresh_dhcp(&S.live[i]);
}

int pmon_net_ifaces(const uint8_t uuid[16], struct pmon_net_iface *out, int max)
{
	int n = 0;

	pthread_mutex_lock(&S.lock);
	for (int i = 0; i < NET_PROTO_MAX_IFACES && n < max; i++) {
		const struct att *t = NULL;

		for (int k = 0; k < MAX_ATT && !t; k++)
			if (S.att[k].used && S.att[k].idx == i && !memcmp(S.att[k].uuid, uuid, 16))
				t = &S.att[k];
		if (!t)
			continue;
		snprintf(out[n].tap, sizeof(out[n].tap), "%s", t->tap);
		out[n].idx = i;
		out[n++].a = t->a;
	}
	pthread_mutex_unlock(&S.lock);
	return n;
}

void pmon_net_shutdown(void)
{
	pthread_mutex_lock(&S.lock);
	for (int i = 0; S.att && i < MAX_ATT; i++)
		if (S.att[i].used)
			detach_locked(S.att[i].uuid, 0);
	pthread_mutex_unlock(&S.lock);
	pmon_nl_close(S.nl);
	S.nl = NULL;
	free(S.att);
	S.att = NULL;
}
