/* controld_caps.h: the capabilities lego-controld signs with the cluster's capability key
 * (capability-key.pem): each vNode's (a holder key of its own per run, its vRegions, its
 * volumes; handed to lego-vmm in VM_START and renewed through lego-pmon's VM_CTL before they
 * lapse), its own for the requests it makes of memory servers, those FILLs carry for their
 * source, and what storage servers are shown when the GSM looks for a volume. */
#ifndef LEGO_CONTROLD_CAPS_H
#define LEGO_CONTROLD_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cap/cap_holder.h"
#include "lib/client/mem_client.h"

struct controld_caps_options {
	const char *key;   /* the signing key */
	uint32_t lifetime; /* seconds a vNode's capabilities last (renewed at half) */
	bool insecure;	   /* sign nothing: the servers run --insecure-no-capabilities */
};

/* Load the key and start the renewals: 0, or -1 (logged). */
int controld_caps_start(const struct controld_caps_options *o);
void controld_caps_stop(void);
bool controld_caps_on(void);

/* A run's VM_START option value (--capability's): a new holder key, a memory capability
 * for vRegions [0, nr_regions) of vNode uid (up to region_size each, ram bytes in all) and
 * a storage capability for the volumes of its disk URIs (smon://HOST:PORT/VOL[,ro]). */
int controld_caps_bundle(uint64_t uid, uint32_t nr_regions, uint64_t region_size, uint64_t ram,
			 const char *const *disk_uris, int nr_disks, char *out, size_t outlen,
			 char *err, size_t errlen);
/* lego-controld's own credentials as vNode uid (rights on every vRegion) into *cred, the
 * capability in buf (CAP_MAX_LEN bytes). 0, or -1 when capabilities are off (cred empty). */
int controld_caps_mem_cred(uint64_t uid, uint32_t rights, struct mem_client_cred *cred,
			   uint8_t *buf);
/* The capability a FILL carries: vRegion index of vNode uid, read (with its bitmap) by the
 * memory server whose key is server_key. Its length in out (CAP_MAX_LEN), 0 when off. */
size_t controld_caps_fill(uint64_t uid, uint32_t index, const uint8_t server_key[CAP_KEY_LEN],
			  uint8_t *out);
/* What storage servers are shown for a STAT of any volume (NULL when off). */
struct cap_holder *controld_caps_storage(void);

#endif
