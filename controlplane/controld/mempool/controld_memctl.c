/* controld_memctl.c: memory-protocol requests of lego-controld to one memory server. */
#include "controld_memctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controlplane/controld/controld_caps.h"
#include "lib/client/mem_client.h"
#include "lib/fabric/fabric.h"
#include "lib/parse.h"

/* What lego-controld's own connections may do: find, free, fill, follow and release
 * copies; never read or write a vNode's pages. */
#define MEMCTL_RIGHTS \
	(CAP_MEM_OPEN | CAP_MEM_CLOSE | CAP_MEM_FILL | CAP_MEM_RELEASE | CAP_MEM_STATE)

static uint8_t *body(struct controld_memctl *m)
{
	return (uint8_t *)fabric_sbuf(m->c) + MP_HDR_LEN;
}

/* One request (its body in place) and its reply: 0, the status, or -1; r filled on 0. */
static int call(struct controld_memctl *m, unsigned op, size_t len, const char *what,
		struct mem_client_reply *r)
{
	enum mem_client_result rc =
		mem_client_exchange(m->c, ++m->next_id, op, len, m->timeout_ms, r);
	char text[MP_ERRTEXT_MAX + 1];

	if (rc != MC_OK) {
		snprintf(m->err, sizeof(m->err), "memory server %s: %s: %s", m->addr, what,
			 mem_client_result_text(rc));
		return -1;
	}
	if (r->status != MP_OK) {
		snprintf(m->err, sizeof(m->err), "memory server %s%s%s%s: %s: %s: %s", m->name,
			 m->name[0] ? " (" : "", m->addr, m->name[0] ? ")" : "", what,
			 mem_proto_status_name(r->status),
			 mem_client_reply_text(r, text, sizeof(text)));
		return (int)r->status;
	}
	return 0;
}

int controld_memctl_connect(struct controld_memctl *m, const char *provider, const char *addr,
			    uint64_t vnode, int timeout_ms)
{
	char host[256], port[16];
	struct mem_proto_hello h = {.vnode = vnode};
	struct mem_proto_hello_reply hr;
	struct mem_client_reply r;
	struct mem_client_cred cred;
	uint8_t cap[CAP_MAX_LEN];
	char why[400];
	int rc;

	memset(m, 0, sizeof(*m));
	m->timeout_ms = timeout_ms;
	m->vnode = vnode;
	snprintf(m->addr, sizeof(m->addr), "%s", addr);
	if (parse_hostport(addr, 1, host, sizeof(host), port, sizeof(port))) {
		snprintf(m->err, sizeof(m->err), "memory server address '%s' is not HOST:PORT",
			 addr);
		return -1;
	}
	rc = fabric_connect(provider, host, port, MP_MAX_MSG, timeout_ms, &m->c);
	if (rc) {
		m->c = NULL;
		snprintf(m->err, sizeof(m->err), "memory server %s: cannot connect: %s", addr,
			 rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		return -1;
	}
	snprintf(h.name, sizeof(h.name), "lego-controld");
	mem_proto_hello_put(body(m), &h);
	rc = call(m, MP_HELLO, MP_HELLO_LEN, "HELLO", &r);
	if (!rc && mem_proto_hello_reply_get(r.payload, r.len, &hr) != MP_OK) {
		snprintf(m->err, sizeof(m->err), "memory server %s: a malformed HELLO reply", addr);
		rc = -1;
	}
	if (!rc) {
		controld_caps_mem_cred(vnode, MEMCTL_RIGHTS, &cred, cap);
		rc = mem_client_auth(m->c, ++m->next_id, controld_caps_on() ? &cred : NULL, &hr,
				     timeout_ms, NULL, why, sizeof(why));
		if (rc)
			snprintf(m->err, sizeof(m->err), "memory server %s: %s", addr, why);
	}
	if (rc) {
		controld_memctl_close(m);
		return rc;
	}
	snprintf(m->name, sizeof(m->name), "%s", hr.name);
	memcpy(m->server_key, hr.server_key, sizeof(m->server_key));
	return 0;
}

void controld_memctl_close(struct controld_memctl *m)
{
	if (m->c)
		fabric_close(m->c);
	m->c = NULL;
}

int controld_memctl_open(struct controld_memctl *m, uint32_t index, uint64_t size, uint64_t *handle,
			 uint64_t *epoch)
{
	struct mem_proto_open o = {.index = index, .size = size, .flags = 0};
	struct mem_proto_open_reply orep;
	struct mem_client_reply r;
	char what[48];
	int rc;

	snprintf(what, sizeof(what), "OPEN of vRegion %u", index);
	mem_proto_open_put(body(m), &o);
	rc = call(m, MP_OPEN, MP_OPEN_LEN, what, &r);
	if (rc)
		return rc;
	if (mem_proto_open_reply_get(r.payload, r.len, &orep) != MP_OK) {
		snprintf(m->err, sizeof(m->err), "memory server %s: a malformed OPEN reply",
			 m->addr);
		return -1;
	}
	*handle = orep.handle;
	*epoch = orep.epoch;
	return 0;
}

int controld_memctl_fill(struct controld_memctl *m, uint32_t index, uint64_t src_handle,
			 uint64_t src_epoch, const char *src_addr)
{
	struct mem_proto_fill f = {
		.index = index, .src_handle = src_handle, .src_epoch = src_epoch};
	struct mem_client_reply r;
	uint8_t cap[CAP_MAX_LEN];
	char what[48];

	snprintf(f.src_addr, sizeof(f.src_addr), "%s", src_addr);
	snprintf(what, sizeof(what), "FILL of vRegion %u", index);
	/* The source lets the filling server read that one vRegion, and nothing else. */
	f.cap_len = controld_caps_fill(m->vnode, index, m->server_key, cap);
	f.cap = cap;
	return call(m, MP_FILL, mem_proto_fill_put(body(m), &f), what, &r);
}

int controld_memctl_rstat(struct controld_memctl *m, uint32_t index,
			  struct mem_proto_rstat_reply *out)
{
	struct mem_proto_rstat q = {.index = index};
	struct mem_client_reply r;
	char what[48];
	int rc;

	snprintf(what, sizeof(what), "RSTAT of vRegion %u", index);
	mem_proto_rstat_put(body(m), &q);
	rc = call(m, MP_RSTAT, MP_RSTAT_LEN, what, &r);
	if (rc)
		return rc;
	if (mem_proto_rstat_reply_get(r.payload, r.len, out) != MP_OK) {
		snprintf(m->err, sizeof(m->err), "memory server %s: a malformed RSTAT reply",
			 m->addr);
		return -1;
	}
	return 0;
}

int controld_memctl_release(struct controld_memctl *m, uint64_t handle, uint64_t epoch,
			    const char *new_owner)
{
	struct mem_proto_release q = {.handle = handle, .epoch = epoch};
	struct mem_client_reply r;

	snprintf(q.new_owner, sizeof(q.new_owner), "%s", new_owner);
	mem_proto_release_put(body(m), &q);
	return call(m, MP_RELEASE, MP_RELEASE_LEN, "RELEASE", &r);
}

int controld_memctl_free(struct controld_memctl *m, uint32_t index, uint64_t size, bool *freed)
{
	struct mem_proto_close q;
	struct mem_client_reply r;
	uint64_t handle, epoch;
	int rc = controld_memctl_open(m, index, size, &handle, &epoch);

	if (freed)
		*freed = false;
	/* None here: never created, freed already, or moved away (a record of where to). */
	if (rc == MP_ENOENT || rc == MP_EREDIRECT)
		return 0;
	if (rc)
		return rc;
	q = (struct mem_proto_close){.handle = handle, .epoch = epoch};
	mem_proto_close_put(body(m), &q);
	rc = call(m, MP_CLOSE, MP_CLOSE_LEN, "CLOSE", &r);
	if (freed)
		*freed = !rc;
	return rc == MP_ENOENT ? 0 : rc;
}
