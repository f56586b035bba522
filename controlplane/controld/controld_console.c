/* controld_console.c: a vNode's console through its processor host: output read from the
 * copy lego-pmon keeps (VM_CONSOLE), input passed to its UART (VM_CONSOLE_IN). */
#include "controld_console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controld_registry.h"
#include "controld_vnode.h"
#include "controlplane/controld/libvirt/rpc_proto.h"
#include "lib/proto/cluster_proto.h"

int controld_console_read(const uint8_t uuid[16], uint64_t *offset, void *buf, size_t max,
			  size_t *n, bool *ended, char *err, size_t errlen)
{
	char host[CP_NAME_LEN + 1];
	uint8_t req[CP_VM_CONSOLE_LEN], *reply = NULL;
	struct cluster_proto_vm_console_reply r;
	struct controld_registry_vnode *v;
	size_t rlen;
	bool migrating = false;
	int rc;

	*n = 0;
	*ended = false;
	controld_registry_lock();
	v = controld_registry_find_uuid(uuid);
	if (v) {
		snprintf(host, sizeof(host), "%s", v->id >= 0 ? v->host : v->last_host);
		/* Its source's lego-vmm ends before the vNode's host is the destination: the
		 * console goes on there. */
		migrating = v->mig.active;
	}
	controld_registry_unlock();
	if (!v) {
		snprintf(err, errlen, "Domain not found");
		return RPC_ERR_NO_DOMAIN;
	}
	if (!host[0]) {
		*ended = true;
		return 0;
	}
	cluster_proto_vm_console_put(
		req, &(struct cluster_proto_vm_console){
			     .offset = *offset,
			     .max = (uint32_t)(max < CP_CONSOLE_MAX ? max : CP_CONSOLE_MAX)});
	memcpy(req, uuid, 16);
	rc = controld_vnode_pmon_call(host, CP_VM_CONSOLE, req, sizeof(req), &reply, &rlen, err,
				      errlen);
	if (rc == CP_ENOENT) {
		free(reply);
		*ended = !migrating;
		return 0;
	}
	if (rc != CP_OK || cluster_proto_vm_console_reply_get(reply, rlen, &r) != CP_OK ||
	    rlen - CP_VM_CONSOLE_REPLY_LEN > max) {
		if (rc == CP_OK)
			snprintf(err, errlen, "processor host '%s' sent a bad console reply", host);
		free(reply);
		return RPC_ERR_OPERATION_FAILED;
	}
	*n = rlen - CP_VM_CONSOLE_REPLY_LEN;
	memcpy(buf, reply + CP_VM_CONSOLE_REPLY_LEN, *n);
	/* A host whose copy is shorter (a migration's destination still filling in the
	 * history) answers from its end: what was read stays read. */
	if (*n)
		*offset = r.offset + *n;
	*ended = r.state == CP_VM_EXITED && *n == 0 && !migrating;
	free(reply);
	return 0;
}

/* The host running the vNode, and whether a migration is moving it; GONE if none runs. */
static enum controld_console_input_result running_on(const uint8_t uuid[16], char *host,
						     size_t hostlen, bool *migrating)
{
	struct controld_registry_vnode *v;
	bool running;

	controld_registry_lock();
	v = controld_registry_find_uuid(uuid);
	running = v && v->id >= 0 && v->host[0];
	if (running) {
		snprintf(host, hostlen, "%s", v->host);
		*migrating = v->mig.active;
	}
	controld_registry_unlock();
	return running ? CONTROLD_CONSOLE_IN_OK : CONTROLD_CONSOLE_IN_GONE;
}

enum controld_console_input_result controld_console_input(const uint8_t uuid[16], const void *data,
							  size_t len, size_t *accepted, char *err,
							  size_t errlen)
{
	char host[CP_NAME_LEN + 1];
	uint8_t req[CP_VM_CONSOLE_IN_LEN + CP_CONSOLE_IN_MAX], *reply = NULL;
	struct cluster_proto_vm_console_in_reply r;
	bool migrating = false;
	size_t rlen;
	int rc;

	*accepted = 0;
	if (running_on(uuid, host, sizeof(host), &migrating) == CONTROLD_CONSOLE_IN_GONE)
		return CONTROLD_CONSOLE_IN_GONE;
	if (len > CP_CONSOLE_IN_MAX)
		len = CP_CONSOLE_IN_MAX;
	cluster_proto_vm_console_in_put(
		req, &(struct cluster_proto_vm_console_in){.len = (uint32_t)len, .data = data});
	memcpy(req, uuid, 16);
	rc = controld_vnode_pmon_call(host, CP_VM_CONSOLE_IN, req, CP_VM_CONSOLE_IN_LEN + len,
				      &reply, &rlen, err, errlen);
	if (rc == CP_OK &&
	    (cluster_proto_vm_console_in_reply_get(reply, rlen, &r) != CP_OK || r.accepted > len)) {
		snprintf(err, errlen, "processor host '%s' sent a bad console input reply", host);
		rc = CP_EPROTO;
	}
	free(reply);
	if (rc == CP_OK) {
		*accepted = r.accepted;
		return CONTROLD_CONSOLE_IN_OK;
	}
	/* No such vNode there: it ended, unless a migration is moving it (its source's
	 * lego-vmm ends before the registry names the destination). */
	if (rc == CP_ENOENT && !migrating)
		return CONTROLD_CONSOLE_IN_GONE;
	return CONTROLD_CONSOLE_IN_LATER;
}
