/* controld_memctl.c: memory-protocol requests of lego-controld to one memory server. */
#include "controld_memctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/fabric/fabric.h"
#include "lib/client/mem_client.h"
#include "lib/parse.h"

static uint8_t *body(struct memctl *m)
{
	return (uint8_t *)fab_sbuf(m->c) + MP_HDR_LEN;
}

/* One request (its body in place) and its reply: 0, the status, or -1; r filled on 0. */
static int call(struct memctl *m, unsigned op, size_t len, const char *what, struct mc_reply *r)
{
	enum mc_result rc = mc_call(m->c, ++m->next_id, op, len, m->timeout_ms, r);
	char text[MP_ERRTEXT_MAX + 1];

	if (rc != MC_OK) {
		snprintf(m->err, sizeof(m->err), "memory server %s: %s: %s", m->addr, what,
			 mc_result_text(rc));
		return -1;
	}
	if (r->status != MP_OK) {
		snprintf(m->err, sizeof(m->err), "memory server %s%s%s%s: %s: %s: %s", m->name,
			 m->name[0] ? " (" : "", m->addr, m->name[0] ? ")" : "", what,
			 mp_status_name(r->status), mc_reply_text(r, text, sizeof(text)));
		return (int)r->status;
	}
	return 0;
}

int memctl_connect(struct memctl *m, const char *provider, const char *addr, uint64_t vnode,
		   int timeout_ms)
{
	char host[256], port[16];
	struct mp_hello h = {.vnode = vnode};
	struct mp_hello_reply hr;
	struct mc_reply r;
	int rc;

	memset(m, 0, sizeof(*m));
	m->timeout_ms = timeout_ms;
	snprintf(m->addr, sizeof(m->addr), "%s", addr);
	if (parse_hostport(addr, 1, host, sizeof(host), port, sizeof(port))) {
		snprintf(m->err, sizeof(m->err), "memory server address '%s' is not HOST:PORT",
			 addr);
		return -1;
	}
	rc = fab_connect(provider, host, port, MP_MAX_MSG, timeout_ms, &m->c);
	if (rc) {
		m->c = NULL;
		snprintf(m->err, sizeof(m->err), "memory server %s: cannot connect: %s", addr,
			 rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		return -1;
	}
	snprintf(h.name, sizeof(h.name), "lego-controld");
	mp_hello_put(body(m), &h);
	rc = call(m, MP_HELLO, MP_HELLO_LEN, "HELLO", &r);
	if (!rc && mp_hello_reply_get(r.payload, r.len, &hr) != MP_OK) {
		snprintf(m->err, sizeof(m->err), "memory server %s: a malformed HELLO reply", addr);
		rc = -1;
	}
	if (rc) {
		memctl_close(m);
		return rc;
	}
	snprintf(m->name, sizeof(m->name), "%s", hr.name);
	return 0;
}

void memctl_close(struct memctl *m)
{
	if (m->c)
		fab_close(m->c);
	m->c = NULL;
}

int memctl_open(struct memctl *m, uint32_t index, uint64_t size, uint64_t *handle, uint64_t *epoch)
{
	struct mp_open o = {.index = index, .size = size, .flags = 0};
	struct mp_open_reply orep;
	struct mc_reply r;
	char what[48];
	int rc;

	snprintf(what, sizeof(what), "OPEN of vRegion %u", index);
	mp_open_put(body(m), &o);
	rc = call(m, MP_OPEN, MP_OPEN_LEN, what, &r);
	if (rc)
		return rc;
	if (mp_open_reply_get(r.payload, r.len, &orep) != MP_OK) {
		snprintf(m->err, sizeof(m->err), "memory server %s: a malformed OPEN reply",
			 m->addr);
		return -1;
	}
	*handle = orep.handle;
	*epoch = orep.epoch;
	return 0;
}

int memctl_fill(struct memctl *m, uint32_t index, uint64_t src_handle, uint64_t src_epoch,
		const char *src_addr)
{
	struct mp_fill f = {.index = index, .src_handle = src_handle, .src_epoch = src_epoch};
	struct mc_reply r;
	char what[48];

	snprintf(f.src_addr, sizeof(f.src_addr), "%s", src_addr);
	snprintf(what, sizeof(what), "FILL of vRegion %u", index);
	mp_fill_put(body(m), &f);
	return call(m, MP_FILL, MP_FILL_LEN, what, &r);
}

int memctl_rstat(struct memctl *m, uint32_t index, struct mp_rstat_reply *out)
{
	struct mp_rstat q = {.index = index};
	struct mc_reply r;
	char what[48];
	int rc;

	snprintf(what, sizeof(what), "RSTAT of vRegion %u", index);
	mp_rstat_put(body(m), &q);
	rc = call(m, MP_RSTAT, MP_RSTAT_LEN, what, &r);
	if (rc)
		return rc;
	if (mp_rstat_reply_get(r.payload, r.len, out) != MP_OK) {
		snprintf(m->err, sizeof(m->err), "memory server %s: a malformed RSTAT reply",
			 m->addr);
		return -1;
	}
	return 0;
}

int memctl_release(struct memctl *m, uint64_t handle, uint64_t epoch, const char *new_owner)
{
	struct mp_release q = {.handle = handle, .epoch = epoch};
	struct mc_reply r;

	snprintf(q.new_owner, sizeof(q.new_owner), "%s", new_owner);
	mp_release_put(body(m), &q);
	return call(m, MP_RELEASE, MP_RELEASE_LEN, "RELEASE", &r);
}

int memctl_free(struct memctl *m, uint32_t index, uint64_t size)
{
	struct mp_close q;
	struct mc_reply r;
	uint64_t handle, epoch;
	int rc = memctl_open(m, index, size, &handle, &epoch);

	if (rc == MP_ENOENT)
		return 0;
	if (rc)
		return rc;
	q = (struct mp_close){.handle = handle, .epoch = epoch};
	mp_close_put(body(m), &q);
	return call(m, MP_CLOSE, MP_CLOSE_LEN, "CLOSE", &r);
}
