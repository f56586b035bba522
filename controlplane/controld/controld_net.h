/* controld_net.h: lego-controld's virtual networks (`--network NAME=CIDR`): each an IPv4
 * range and a VXLAN id, kept in the state directory (networks/NAME.net), spanning every
 * processor host; and the vNodes' interfaces on them: a MAC unique in the cluster and an
 * address unique in its network, given when a definition is accepted and held as long as
 * the definition (or a run that uses them) exists.
 *
 * The tables are guarded by the registry lock (controld_registry_lock), except
 * controld_net_init, which runs before any thread. */
#ifndef LEGO_CONTROLD_NET_H
#define LEGO_CONTROLD_NET_H

#include <stddef.h>
#include <stdint.h>

#include "controlplane/controld/libvirt/domain_xml.h"
#include "lib/proto/net_proto.h"

#define CONTROLD_NET_MAX  NET_PROTO_MAX_NETS
#define CONTROLD_NET_VNI0 1001 /* the first VXLAN id given */
#define CONTROLD_NET_MAC0 0x52 /* generated MACs: 52:54:00:xx:xx:xx, as libvirt's */

struct controld_net {
	struct net_proto_net n; /* name, VNI, range */
	uint8_t uuid[16];
};

/* The state directory's networks, then specs ("NAME=CIDR", each once) added or checked:
 * 0, or -1 after printing why (a range that changed, overlaps another, a bad spec). */
int controld_net_init(const char *const *specs, int nspecs);
int controld_net_count(void);
const struct controld_net *controld_net_at(int i);
const struct controld_net *controld_net_find(const char *name);
const struct controld_net *controld_net_find_uuid(const uint8_t uuid[16]);

struct controld_registry_vnode;
/* d's interfaces completed and checked against every other vNode's (self, the definition d
 * replaces, or NULL): each network must exist, a MAC absent is generated, an address absent
 * is the one self's old definition had for that MAC, or the lowest free one. 0, or a libvirt
 * error code with err. */
int controld_net_assign(struct domain_xml_def *d, const struct controld_registry_vnode *self,
			char *err, size_t errlen);
/* v's run_net from its definition, for a start: 0, or a libvirt error code with err. */
int controld_net_run_from_def(struct controld_registry_vnode *v, char *err, size_t errlen);
/* v's run_net from the --net-attach options of its run_args (a run file read back). */
int controld_net_run_from_args(struct controld_registry_vnode *v);
/* Whether mac is one of the interfaces net's vNodes have (defined or running). */
bool controld_net_mac_known(const char *net, const uint8_t mac[6]);

#endif
