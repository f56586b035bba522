/* pmon_args.h: the check of the lego-vmm options a VM_START carries. */
#ifndef LEGO_PMON_ARGS_H
#define LEGO_PMON_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/net_proto.h"

/* What a VM_START's options come to. */
struct pmon_args {
	const char **argv; /* lego-vmm's options (room for the request's argc and
			    * 2 * NET_PROTO_MAX_IFACES more: the --net options of its taps) */
	uint32_t argc;
	int nr_net; /* its interfaces, from the pmon-only --net-attach options, in order */
	struct net_proto_attach net[NET_PROTO_MAX_IFACES];
	bool remote;   /* guest RAM on memory servers: --mmon given */
	bool incoming; /* --incoming given */
	int secret;    /* the index in argv of the value of an option lego-pmon hands over in a
			* private file (--capability), or -1 */
};

/* args: argc NUL-terminated strings (as cluster_proto_vm_start_get checked them). Every option must
 * be one of lego-vmm's, spelled in full, with its value; none of those lego-pmon sets itself
 * (--control, --console, --stats, --vnode-id, --net: it makes the taps and names them from
 * --net-attach NETWORK-SPEC, net_proto.h, at most NET_PROTO_MAX_IFACES); no positional
 * arguments; --kernel given; a --cpus equal to vcpus; --incoming (lego-controld migrating a
 * vNode here), if given, is HOST:PORT and needs --mmon. Fills out (argv with pointers into
 * args, without the --net-attach options; secret). 0, or -1 with err naming the offending
 * argument. */
int pmon_args_check(const char *args, uint32_t argc, uint32_t vcpus, struct pmon_args *out,
		    char *err, size_t errlen);

#endif
