/* controld_memctl.h: lego-controld's own requests to a memory server, made as one vNode
 * (HELLO with its id: a server lets a connection act only on that vNode's regions), for
 * what the GMM does to vRegion copies behind a running lego-vmm: find a copy's handle and
 * epoch (OPEN without CREATE), have a new copy filled from a live one server to server
 * (FILL), follow it (RSTAT), free a copy that moved (RELEASE, naming its new home) or any
 * other (CLOSE), and free what a killed lego-vmm left behind.
 *
 * Where servers require capabilities, lego-controld shows one it signs for the connection
 * (controld_caps.h), and a FILL carries one for its source, held by the filling server.
 *
 * Calls return 0, a memory-protocol status (> 0) the server answered with, or -1 when the
 * server could not be reached or broke the protocol; err says which, naming the server. */
#ifndef LEGO_CONTROLD_MEMCTL_H
#define LEGO_CONTROLD_MEMCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cap/cap.h"
#include "lib/proto/mem_proto.h"

struct fab_conn;

struct controld_memctl {
	struct fab_conn *c;
	uint64_t next_id;
	uint64_t vnode;
	int timeout_ms;
	char addr[MP_ADDR_LEN + 1];
	char name[MP_NAME_LEN + 1];	 /* the server's, from HELLO */
	uint8_t server_key[CAP_KEY_LEN]; /* likewise: holder of what its FILLs carry */
	char err[512];
};

/* Connect to the server at addr ("HOST:PORT") as vnode. */
int controld_memctl_connect(struct controld_memctl *m, const char *provider, const char *addr,
			    uint64_t vnode, int timeout_ms);
void controld_memctl_close(struct controld_memctl *m);

/* The existing copy of region index (size bytes): its handle and epoch (MP_ENOENT: none). */
int controld_memctl_open(struct controld_memctl *m, uint32_t index, uint64_t size, uint64_t *handle,
			 uint64_t *epoch);
/* Fill the joining copy of index here from the live copy (handle, epoch) at src_addr. */
int controld_memctl_fill(struct controld_memctl *m, uint32_t index, uint64_t src_handle,
			 uint64_t src_epoch, const char *src_addr);
int controld_memctl_rstat(struct controld_memctl *m, uint32_t index,
			  struct mem_proto_rstat_reply *r);
/* The copy moved to new_owner ("NAME@HOST:PORT"): freed, later requests redirected. */
int controld_memctl_release(struct controld_memctl *m, uint64_t handle, uint64_t epoch,
			    const char *new_owner);
/* Free the copy of index here, if there is one (0 when there was none, or it moved away;
 * *freed, if not NULL, says whether one was freed). */
int controld_memctl_free(struct controld_memctl *m, uint32_t index, uint64_t size, bool *freed);

#endif
