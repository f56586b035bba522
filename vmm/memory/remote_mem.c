/* remote_mem.c: a vNode's memory servers and the copies of its vRegions: connections (HELLO),
 * one request to one copy (OPEN, stale epochs, redirects followed), open and close. */
#include "remote_mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/client/mem_client.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "remote_mem_internal.h"

int remote_mem_parse_server(const char *text, char *host, size_t hlen, char *port, size_t plen)
{
	return parse_hostport(text, 1, host, hlen, port, plen);
}

const char *remote_mem_server_label(const struct remote_mem *rm, int server, char *buf, size_t len)
{
	const struct remote_mem_server *s = &rm->servers[server];

	if (s->name[0])
		snprintf(buf, len, "memory server %s (%s:%s)", s->name, s->host, s->port);
	else
		snprintf(buf, len, "memory server %s:%s", s->host, s->port);
	return buf;
}

/* The reason I/O failed, once (the first one is what the vNode stops with). */
static void set_error_v(struct remote_mem *rm, const char *label, const char *fmt, va_list ap)
{
	char what[256];

	vsnprintf(what, sizeof(what), fmt, ap);
	pthread_mutex_lock(&rm->error_lock);
	if (!rm->error[0])
		snprintf(rm->error, sizeof(rm->error), "%s%s%s", label, label[0] ? ": " : "", what);
	pthread_mutex_unlock(&rm->error_lock);
}

__attribute__((format(printf, 3, 4))) void remote_mem_set_error(struct remote_mem *rm, int server,
								const char *fmt, ...)
{
	char label[400];
	va_list ap;

	remote_mem_server_label(rm, server, label, sizeof(label));
	va_start(ap, fmt);
	set_error_v(rm, label, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) void
remote_mem_set_error_at(struct remote_mem *rm, const char *label, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error_v(rm, label, fmt, ap);
	va_end(ap);
}

void remote_mem_note_failure(const struct remote_mem *rm, int server,
			     const struct remote_mem_failure *f,
			     struct remote_mem_last_failure *last)
{
	last->f = *f;
	remote_mem_server_label(rm, server, last->server, sizeof(last->server));
}

int remote_mem_ctl_channel(const struct remote_mem *rm)
{
	return rm->nr_channels;
}

void remote_mem_lose_server(struct remote_mem *rm, int server, const char *why)
{
	char label[400];

	if (!atomic_exchange(&rm->servers[server].dead, true))
		log_warn("%s lost: %s", remote_mem_server_label(rm, server, label, sizeof(label)),
			 why);
}

/* Show the vNode's capability on channel ch's connection to server (after its HELLO). */
static int show_capability(struct remote_mem *rm, int server, int ch, struct remote_mem_failure *f)
{
	struct remote_mem_server *s = &rm->servers[server];
	struct remote_mem_auth *a = &s->auth[ch];
	struct mem_proto_hello_reply hr = {.flags = MP_HELLO_AUTH};
	char why[256];
	int rc;

	memcpy(hr.challenge, a->challenge, sizeof(hr.challenge));
	snprintf(hr.name, sizeof(hr.name), "%s", s->name[0] ? s->name : s->addr);
	rc = mem_client_auth(s->conn[ch], ++rm->next_id[ch],
			     &(struct mem_client_cred){.holder = rm->holder}, &hr, rm->timeout_ms,
			     &a->gen, why, sizeof(why));
	if (rc) {
		f->lost = rc < 0 && fabric_broken(s->conn[ch]);
		snprintf(f->what, sizeof(f->what), "capability refused: %.150s%s", why,
			 rm->holder ? ""
				    : " (give --capability-key FILE, or start the vNode through "
				      "lego-controld)");
		return -1;
	}
	a->shown = true;
	return 0;
}

static int hello(struct remote_mem *rm, int server, int ch, struct remote_mem_failure *f)
{
	struct remote_mem_server *s = &rm->servers[server];
	struct mem_proto_hello m = {.vnode = rm->vnode};
	struct mem_proto_hello_reply hr;
	struct mem_client_reply r;
	enum mem_client_result rc;
	char text[MP_ERRTEXT_MAX + 1];

	snprintf(m.name, sizeof(m.name), "%s", rm->client_name);
	mem_proto_hello_put((uint8_t *)fabric_sbuf(s->conn[ch]) + MP_HDR_LEN, &m);
	rc = mem_client_exchange(s->conn[ch], ++rm->next_id[ch], MP_HELLO, MP_HELLO_LEN,
				 rm->timeout_ms, &r);
	if (rc) {
		f->lost = rc != MC_MALFORMED;
		snprintf(f->what, sizeof(f->what), "HELLO failed: %s", mem_client_result_text(rc));
		return -1;
	}
	if (r.status != MP_OK) {
		snprintf(f->what, sizeof(f->what), "HELLO refused: %s: %s",
			 mem_proto_status_name(r.status),
			 mem_client_reply_text(&r, text, sizeof(text)));
		return -1;
	}
	if (mem_proto_hello_reply_get(r.payload, r.len, &hr) != MP_OK) {
		snprintf(f->what, sizeof(f->what), "malformed HELLO reply");
		return -1;
	}
	/* Set by the first HELLO, before the server is in use; read-only from then on. */
	if (!s->name[0]) {
		s->rma = rm->use_rma && (hr.flags & MP_HELLO_RMA) && fabric_has_rma(s->conn[ch]);
		snprintf(s->name, sizeof(s->name), "%s", hr.name);
	}
	s->auth[ch] = (struct remote_mem_auth){.required = hr.flags & MP_HELLO_AUTH};
	memcpy(s->auth[ch].challenge, hr.challenge, sizeof(hr.challenge));
	return s->auth[ch].required ? show_capability(rm, server, ch, f) : 0;
}

int remote_mem_reauth(struct remote_mem *rm, int server, int ch, struct remote_mem_failure *f)
{
	struct remote_mem_auth *a = &rm->servers[server].auth[ch];

	if (!a->required || !rm->holder || !rm->servers[server].conn[ch])
		return -1;
	return show_capability(rm, server, ch, f);
}

/* Channel ch's connection to server, made on first use by the channel's own thread. */
struct fab_conn *remote_mem_conn(struct remote_mem *rm, int server, int ch,
				 struct remote_mem_failure *f)
{
	struct remote_mem_server *s = &rm->servers[server];
	int rc;

	if (atomic_load(&s->dead)) {
		f->lost = true;
		snprintf(f->what, sizeof(f->what), "lost earlier");
		return NULL;
	}
	/* A renewed capability (or a self-signed one past half its life) is shown before
	 * the connection's next request. */
	if (s->conn[ch] && s->auth[ch].shown &&
	    cap_holder_stale(rm->holder, CAP_KIND_MEMORY, s->auth[ch].gen) &&
	    show_capability(rm, server, ch, f))
		return NULL;
	if (s->conn[ch])
		return s->conn[ch];
	rc = fabric_connect(rm->provider, s->host, s->port, MP_MAX_MSG, rm->timeout_ms,
			    &s->conn[ch]);
	if (rc) {
		s->conn[ch] = NULL;
		f->lost = true;
		snprintf(f->what, sizeof(f->what), "cannot connect: %s",
			 rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		return NULL;
	}
	if (hello(rm, server, ch, f)) {
		fabric_close(s->conn[ch]);
		s->conn[ch] = NULL;
		return NULL;
	}
	return s->conn[ch];
}

/* Reusing an entry while pager threads run. A thread touches a server's entry (its
 * connections, name, flags) only
 *   (a) under the lock of a region one of whose copies names the entry, or
 *   (b) while it holds the entry (remote_mem_server_by_addr, _find, _hold).
 * refs counts both: one per copy naming the entry (changed under that region's write lock,
 * which waits for every thread in I/O on the region to leave) and one per hold. A new
 * reference is taken either from an existing one (a copy or a hold: refs > 0 meanwhile) or
 * under servers_lock. So an entry found with refs == 0 under servers_lock has no thread in
 * I/O on it, in a connect to it or about to use it, and none can start while the lock is
 * held: its connections can be closed and the entry cleared for another server. */
void remote_mem_server_hold(struct remote_mem *rm, int server)
{
	atomic_fetch_add(&rm->servers[server].refs, 1);
}

void remote_mem_server_put(struct remote_mem *rm, int server)
{
	atomic_fetch_sub(&rm->servers[server].refs, 1);
}

/* Under servers_lock, refs == 0: the entry's connections closed, the entry cleared. */
static void server_clear(struct remote_mem *rm, int server)
{
	struct remote_mem_server *s = &rm->servers[server];

	for (int c = 0; c <= rm->nr_channels; c++)
		if (s->conn[c])
			fabric_close(s->conn[c]);
	memset(s, 0, sizeof(*s));
}

/* Under servers_lock: the live entry for addr, or -1. */
static int live_entry(struct remote_mem *rm, const char *addr)
{
	int n = atomic_load(&rm->nr_servers);

	for (int i = 0; i < n; i++)
		if (!atomic_load(&rm->servers[i].dead) && !strcmp(rm->servers[i].addr, addr))
			return i;
	return -1;
}

/* Under servers_lock: the entry a new server takes: a lost one nothing refers to, else one
 * never used, else a live one nothing refers to (its copies all moved away); -1 if none. */
static int free_entry(struct remote_mem *rm)
{
	int n = atomic_load(&rm->nr_servers), idle = -1;

	for (int i = 0; i < n; i++) {
		if (atomic_load(&rm->servers[i].refs))
			continue;
		if (atomic_load(&rm->servers[i].dead))
			return i;
		if (idle < 0)
			idle = i;
	}
	return n < RM_MAX_SERVERS ? n : idle;
}

int remote_mem_server_find(struct remote_mem *rm, const char *addr)
{
	int found;

	pthread_mutex_lock(&rm->servers_lock);
	found = live_entry(rm, addr);
	if (found >= 0)
		remote_mem_server_hold(rm, found);
	pthread_mutex_unlock(&rm->servers_lock);
	return found;
}

int remote_mem_server_by_addr(struct remote_mem *rm, const char *addr, bool *created, char *err,
			      size_t errlen)
{
	char host[sizeof(rm->servers[0].host)], port[sizeof(rm->servers[0].port)];
	struct remote_mem_server *s;
	int found;

	if (created)
		*created = false;
	if (strlen(addr) > MP_ADDR_LEN ||
	    remote_mem_parse_server(addr, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "memory server '%s' is not HOST:PORT", addr);
		return -1;
	}
	pthread_mutex_lock(&rm->servers_lock);
	found = live_entry(rm, addr);
	if (found >= 0) {
		remote_mem_server_hold(rm, found);
		pthread_mutex_unlock(&rm->servers_lock);
		return found;
	}
	found = free_entry(rm);
	if (found < 0) {
		snprintf(err, errlen,
			 "this vNode uses %d memory servers at once (lost ones whose copies are "
			 "not dropped yet included), the most it can",
			 RM_MAX_SERVERS);
	} else {
		s = &rm->servers[found];
		if (found < atomic_load(&rm->nr_servers))
			log_debug("memory server entry %d (%s%s) reused for %s", found, s->addr,
				  atomic_load(&s->dead) ? ", lost" : "", addr);
		server_clear(rm, found);
		snprintf(s->addr, sizeof(s->addr), "%s", addr);
		snprintf(s->host, sizeof(s->host), "%s", host);
		snprintf(s->port, sizeof(s->port), "%s", port);
		atomic_store(&s->refs, 1);
		if (found == atomic_load(&rm->nr_servers))
			atomic_store(&rm->nr_servers, found + 1);
		if (created)
			*created = true;
	}
	pthread_mutex_unlock(&rm->servers_lock);
	return found;
}

/* Send or call op on copy c of region idx through ch; the body is already in place. */
int remote_mem_copy_call(struct remote_mem *rm, int server, int ch, unsigned op, size_t body_len,
			 struct mem_client_reply *r, struct remote_mem_failure *f)
{
	struct fab_conn *c = rm->servers[server].conn[ch];
	enum mem_client_result rc =
		mem_client_exchange(c, ++rm->next_id[ch], op, body_len, rm->timeout_ms, r);

	if (rc) {
		f->lost = rc != MC_MALFORMED;
		snprintf(f->what, sizeof(f->what), "%s failed: %s", mem_proto_op_name(op),
			 mem_client_result_text(rc));
		return -1;
	}
	return 0;
}

/* OPEN region idx on server (CREATE and JOIN as asked): its handle, epoch and RMA key. */
int remote_mem_open_on(struct remote_mem *rm, int idx, int server, int ch, uint32_t flags,
		       struct mem_proto_open_reply *out, struct remote_mem_failure *f)
{
	const struct remote_mem_region *g = &rm->regions[idx];
	struct mem_proto_open m = {.index = (uint32_t)idx, .flags = flags, .size = g->size};
	struct fab_conn *c = remote_mem_conn(rm, server, ch, f);
	struct mem_client_reply r;
	char text[MP_ERRTEXT_MAX + 1];

	if (!c)
		return -1;
	mem_proto_open_put((uint8_t *)fabric_sbuf(c) + MP_HDR_LEN, &m);
	if (remote_mem_copy_call(rm, server, ch, MP_OPEN, MP_OPEN_LEN, &r, f))
		return -1;
	if (r.status != MP_OK) {
		mem_client_reply_text(&r, text, sizeof(text));
		snprintf(f->what, sizeof(f->what), "cannot open vRegion %d (%llu MiB): %s: %s", idx,
			 (unsigned long long)(g->size >> 20), mem_proto_status_name(r.status),
			 text);
		if (r.status == MP_EREDIRECT && strlen(text) < sizeof(f->moved_to) &&
		    mem_proto_addr_ok(text, true))
			memcpy(f->moved_to, text, strlen(text) + 1);
		return -1;
	}
	if (mem_proto_open_reply_get(r.payload, r.len, out) != MP_OK || out->size != g->size) {
		snprintf(f->what, sizeof(f->what), "malformed OPEN reply for vRegion %d", idx);
		return -1;
	}
	return 0;
}

void remote_mem_set_copy(struct remote_mem *rm, struct remote_mem_copy *cp, bool is_new, int server,
			 int state, const struct mem_proto_open_reply *o)
{
	int old = is_new ? -1 : atomic_load(&cp->server);

	if (old != server) {
		remote_mem_server_hold(rm, server);
		if (old >= 0)
			remote_mem_server_put(rm, old);
	}
	atomic_store(&cp->server, server);
	cp->state = state;
	atomic_store(&cp->handle, o->handle);
	atomic_store(&cp->epoch, o->epoch);
	memset(cp->rma, 0, sizeof(cp->rma));
	atomic_store(&cp->failed, false);
}

void remote_mem_remove_copy(struct remote_mem *rm, struct remote_mem_region *g, int k)
{
	remote_mem_server_put(rm, atomic_load(&g->copies[k].server));
	memmove(&g->copies[k], &g->copies[k + 1],
		(size_t)(g->nr_copies - k - 1) * sizeof(g->copies[0]));
	g->nr_copies--;
}

/* Mark a copy (or, when its server is lost, the server) failed; a warning says what it
 * cost. Under the region's read lock. */
void remote_mem_copy_failed(struct remote_mem *rm, int idx, struct remote_mem_copy *cp,
			    const struct remote_mem_failure *f)
{
	char label[400];
	int server = atomic_load(&cp->server);

	if (f->lost)
		remote_mem_lose_server(rm, server, f->what);
	if (!atomic_exchange(&cp->failed, true)) {
		atomic_fetch_add(&rm->copies_lost, 1);
		log_warn("vRegion %d: its copy on %s is dropped: %s", idx,
			 remote_mem_server_label(rm, server, label, sizeof(label)), f->what);
	}
}

bool remote_mem_usable(const struct remote_mem *rm, const struct remote_mem_copy *cp, bool for_read)
{
	return !atomic_load(&cp->failed) &&
	       !atomic_load(&rm->servers[atomic_load(&cp->server)].dead) &&
	       (cp->state == RM_COPY_LIVE || !for_read);
}

enum remote_mem_next remote_mem_on_refusal(struct remote_mem *rm, int idx,
					   struct remote_mem_copy *cp, int ch,
					   const struct mem_client_reply *r, char *owner,
					   size_t olen, bool *reopened,
					   struct remote_mem_failure *f)
{
	char text[MP_ERRTEXT_MAX + 1];
	int server = atomic_load(&cp->server);

	mem_client_reply_text(r, text, sizeof(text));
	/* Expired while a renewal is at hand (it came late): show it, send again. */
	if (r->status == MP_EEXPIRED && !*reopened && rm->holder &&
	    cap_holder_stale(rm->holder, CAP_KIND_MEMORY, rm->servers[server].auth[ch].gen)) {
		*reopened = true;
		if (remote_mem_reauth(rm, server, ch, f))
			return REMOTE_MEM_NEXT_FAIL;
		return REMOTE_MEM_NEXT_RETRY;
	}
	if (r->status == MP_ESTALE && !*reopened) {
		struct mem_proto_open_reply o;

		*reopened = true;
		if (remote_mem_open_on(rm, idx, server, ch, 0, &o, f))
			return REMOTE_MEM_NEXT_FAIL;
		atomic_store(&cp->handle, o.handle);
		atomic_store(&cp->epoch, o.epoch);
		return REMOTE_MEM_NEXT_RETRY;
	}
	if (r->status == MP_EREDIRECT && strlen(text) < olen && mem_proto_addr_ok(text, true)) {
		memcpy(owner, text, strlen(text) + 1);
		return REMOTE_MEM_NEXT_REDIRECT;
	}
	snprintf(f->what, sizeof(f->what), "page request for vRegion %d refused: %s: %s", idx,
		 mem_proto_status_name(r->status), text);
	return REMOTE_MEM_NEXT_FAIL;
}

int remote_mem_find_copy(const struct remote_mem_region *g, int server)
{
	for (int k = 0; k < g->nr_copies; k++)
		if (atomic_load(&g->copies[k].server) == server)
			return k;
	return -1;
}

/* Region idx's copy on from_server moved to owner ("NAME@HOST:PORT"): open it there and
 * make that the copy's server. Takes the region's write lock itself; the caller holds
 * from_server's entry. */
int remote_mem_follow_redirect(struct remote_mem *rm, int idx, int from_server, const char *owner,
			       int ch, struct remote_mem_failure *why)
{
	struct remote_mem_region *g = &rm->regions[idx];
	const char *addr = strchr(owner, '@') + 1;
	char err[256], label[400];
	struct mem_proto_open_reply o;
	struct remote_mem_failure f = {0};
	int to = remote_mem_server_by_addr(rm, addr, NULL, err, sizeof(err)), rc = -1;

	if (to < 0) {
		snprintf(why->what, sizeof(why->what),
			 "moved to %s, which cannot be followed: %.100s", owner, err);
		log_warn("vRegion %d: %s", idx, why->what);
		return -1;
	}
	if (remote_mem_open_on(rm, idx, to, ch, 0, &o, &f)) {
		snprintf(why->what, sizeof(why->what),
			 "moved to %s, which does not serve it: %.100s", owner, f.what);
		log_warn("vRegion %d: %s", idx, why->what);
		if (f.lost)
			remote_mem_lose_server(rm, to, f.what);
		remote_mem_server_put(rm, to);
		return -1;
	}
	pthread_rwlock_wrlock(&g->lock);
	for (int k = 0; k < g->nr_copies; k++) {
		struct remote_mem_copy *cp = &g->copies[k];
		int there = remote_mem_find_copy(g, to);

		if (atomic_load(&cp->server) != from_server || atomic_load(&cp->failed))
			continue;
		rc = 0;
		if (there < 0) {
			remote_mem_set_copy(rm, cp, false, to, cp->state, &o);
			continue;
		}
		/* The region already has a copy there (it was added for the move): it is one
		 * region on that server, so the moved copy merges into it. */
		if (cp->state == RM_COPY_LIVE)
			g->copies[there].state = RM_COPY_LIVE;
		remote_mem_remove_copy(rm, g, k);
		k--;
	}
	pthread_rwlock_unlock(&g->lock);
	remote_mem_server_put(rm, to);
	if (!rc) {
		atomic_fetch_add(&rm->redirects, 1);
		log_info("vRegion %d: moved from %s to %s: following it", idx,
			 remote_mem_server_label(rm, from_server, label, sizeof(label)), owner);
	}
	return rc;
}

/* At open, the copy named for region idx moved to f->moved_to (the map was older than a
 * move): open it where it went instead; *server becomes that server, held (one thread runs
 * at open: the caller lets it go once the copy names it). */
static int open_moved(struct remote_mem *rm, int idx, int *server, struct mem_proto_open_reply *o,
		      struct remote_mem_failure *f)
{
	char owner[MP_OWNER_LEN + 1], err[256];
	int to;

	memcpy(owner, f->moved_to, sizeof(owner));
	to = remote_mem_server_by_addr(rm, strchr(owner, '@') + 1, NULL, err, sizeof(err));
	if (to < 0) {
		snprintf(f->what, sizeof(f->what), "vRegion %d moved to %s: %.100s", idx, owner,
			 err);
		return -1;
	}
	for (int ch = 0; ch <= rm->nr_channels; ch++)
		if (!remote_mem_conn(rm, to, ch, f)) {
			remote_mem_server_put(rm, to);
			return -1;
		}
	memset(f->moved_to, 0, sizeof(f->moved_to));
	if (remote_mem_open_on(rm, idx, to, remote_mem_ctl_channel(rm), 0, o, f)) {
		remote_mem_server_put(rm, to);
		return -1;
	}
	log_info("vRegion %d: moved from %s to %s: opened there", idx, rm->servers[*server].addr,
		 owner);
	atomic_fetch_add(&rm->redirects, 1);
	*server = to;
	return 0;
}

/* The state of a vNode's remote memory before any server is contacted: -1 if out of memory. */
static int remote_mem_open_init(struct remote_mem *rm, const struct remote_mem_config *cfg,
				uint64_t ram_size, int nr_channels)
{
	pthread_rwlockattr_t a;

	memset(rm, 0, sizeof(*rm));
	pthread_mutex_init(&rm->error_lock, NULL);
	pthread_mutex_init(&rm->servers_lock, NULL);
	pthread_mutex_init(&rm->ctl_lock, NULL);
	rm->vnode = cfg->vnode;
	rm->ram_size = ram_size;
	rm->region_size = cfg->region_size;
	rm->timeout_ms = cfg->timeout_ms;
	rm->use_rma = cfg->use_rma;
	rm->holder = cfg->holder;
	snprintf(rm->provider, sizeof(rm->provider), "%s", cfg->provider);
	snprintf(rm->client_name, sizeof(rm->client_name), "%s", cfg->client_name);
	rm->nr_channels = nr_channels;
	rm->nr_regions = (int)((ram_size + cfg->region_size - 1) / cfg->region_size);
	rm->regions = calloc((size_t)rm->nr_regions, sizeof(*rm->regions));
	for (int ch = 0; ch < nr_channels; ch++) {
		rm->stage[ch] = malloc((size_t)MP_MAX_PAGES * MP_PAGE_SIZE);
		if (!rm->stage[ch]) {
			free(rm->regions);
			rm->regions = NULL;
		}
	}
	if (!rm->regions) {
		for (int ch = 0; ch < nr_channels; ch++)
			free(rm->stage[ch]);
		snprintf(rm->error, sizeof(rm->error), "out of memory");
		return -1;
	}
	/* Pager threads hold a region's read lock back to back: a copy change (the write
	 * lock) must not wait for a gap between them, so writers go first. */
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	for (int i = 0; i < rm->nr_regions; i++)
		pthread_rwlock_init(&rm->regions[i].lock, &a);
	pthread_rwlockattr_destroy(&a);
	return 0;
}

/* Every configured server, each channel connected. */
static int remote_mem_open_servers(struct remote_mem *rm, const struct remote_mem_config *cfg)
{
	char label[400], err[256];

	for (int s = 0; s < cfg->nr_servers; s++) {
		struct remote_mem_failure f = {0};
		int idx = remote_mem_server_by_addr(rm, cfg->servers[s], NULL, err, sizeof(err));

		if (idx != s) {
			snprintf(rm->error, sizeof(rm->error), "%s",
				 idx < 0 ? err : "a memory server is named twice");
			return -1;
		}
		for (int ch = 0; ch <= rm->nr_channels; ch++)
			if (!remote_mem_conn(rm, s, ch, &f)) {
				remote_mem_set_error(rm, s, "%s", f.what);
				return -1;
			}
		log_info("%s: connected (%d channel%s, page reads by %s)",
			 remote_mem_server_label(rm, s, label, sizeof(label)), rm->nr_channels,
			 rm->nr_channels == 1 ? "" : "s", rm->servers[s].rma ? "RMA" : "messages");
	}
	return 0;
}

/* Region i's copies opened (created) on the servers the configuration names. */
static int remote_mem_open_region(struct remote_mem *rm, const struct remote_mem_config *cfg, int i,
				  int replicas)
{
	struct remote_mem_region *g = &rm->regions[i];
	uint64_t start = (uint64_t)i * rm->region_size;

	g->size = rm->ram_size - start < rm->region_size ? rm->ram_size - start : rm->region_size;
	for (int k = 0; k < RM_MAX_COPIES; k++) {
		int server = cfg->owners    ? cfg->owners[i][k]
			     : k < replicas ? (i + k) % cfg->nr_servers
					    : -1;
		struct mem_proto_open_reply o;
		struct remote_mem_failure f = {0};
		bool moved = false;

		if (server < 0)
			break;
		if (server >= cfg->nr_servers) {
			snprintf(rm->error, sizeof(rm->error),
				 "vRegion %d: owner %d is not a memory server (0..%d)", i, server,
				 cfg->nr_servers - 1);
			return -1;
		}
		for (int j = 0; j < g->nr_copies; j++)
			if (atomic_load(&g->copies[j].server) == server) {
				snprintf(rm->error, sizeof(rm->error),
					 "vRegion %d: two copies on memory server %d", i, server);
				return -1;
			}
		if (remote_mem_open_on(rm, i, server, remote_mem_ctl_channel(rm), MP_OPEN_CREATE,
				       &o, &f) &&
		    (!f.moved_to[0] || !(moved = !open_moved(rm, i, &server, &o, &f)))) {
			remote_mem_set_error(rm, server, "%s", f.what);
			return -1;
		}
		if (remote_mem_find_copy(g, server) >= 0) {
			snprintf(rm->error, sizeof(rm->error),
				 "vRegion %d: two copies on memory server %s", i,
				 rm->servers[server].addr);
			return -1;
		}
		remote_mem_set_copy(rm, &g->copies[g->nr_copies++], true, server, RM_COPY_LIVE, &o);
		if (moved)
			remote_mem_server_put(rm, server);
		log_debug("vRegion %d: [%llu MiB, +%llu MiB) copy %d on %s handle %llx "
			  "epoch %llu",
			  i, (unsigned long long)(start >> 20), (unsigned long long)(g->size >> 20),
			  k, rm->servers[server].name, (unsigned long long)o.handle,
			  (unsigned long long)o.epoch);
	}
	if (!g->nr_copies) {
		snprintf(rm->error, sizeof(rm->error), "vRegion %d has no memory server", i);
		return -1;
	}
	return 0;
}

int remote_mem_open(struct remote_mem *rm, const struct remote_mem_config *cfg, uint64_t ram_size,
		    int nr_channels)
{
	int replicas = cfg->replicas > 0 ? cfg->replicas : 1;

	if (remote_mem_open_init(rm, cfg, ram_size, nr_channels))
		return -1;
	if (replicas > RM_MAX_COPIES || replicas > cfg->nr_servers) {
		snprintf(rm->error, sizeof(rm->error),
			 "%d copies of each vRegion need as many memory servers (there are %d, "
			 "and at most %d copies)",
			 replicas, cfg->nr_servers, RM_MAX_COPIES);
		return -1;
	}
	if (remote_mem_open_servers(rm, cfg))
		return -1;
	for (int i = 0; i < rm->nr_regions; i++)
		if (remote_mem_open_region(rm, cfg, i, replicas))
			return -1;
	/* The configured servers were held while the regions opened; from now on the copies
	 * there hold them. */
	for (int s = 0; s < cfg->nr_servers; s++)
		remote_mem_server_put(rm, s);
	return 0;
}

void remote_mem_close(struct remote_mem *rm, bool free_regions)
{
	int ch = remote_mem_ctl_channel(rm), n = atomic_load(&rm->nr_servers);

	for (int i = 0; free_regions && rm->regions && i < rm->nr_regions; i++) {
		struct remote_mem_region *g = &rm->regions[i];

		for (int k = 0; k < g->nr_copies; k++) {
			struct remote_mem_copy *cp = &g->copies[k];
			int server = atomic_load(&cp->server);
			struct mem_proto_close m = {.handle = atomic_load(&cp->handle),
						    .epoch = atomic_load(&cp->epoch)};
			struct remote_mem_failure f = {0};
			struct fab_conn *c;
			struct mem_client_reply r;

			if (!m.handle || atomic_load(&rm->servers[server].dead))
				continue;
			c = remote_mem_conn(rm, server, ch, &f);
			if (!c || fabric_broken(c))
				continue;
			mem_proto_close_put((uint8_t *)fabric_sbuf(c) + MP_HDR_LEN, &m);
			if (mem_client_exchange(c, ++rm->next_id[ch], MP_CLOSE, MP_CLOSE_LEN,
						rm->timeout_ms, &r) == MC_OK &&
			    r.status != MP_OK)
				log_warn("vRegion %d: CLOSE refused by %s: %s", i,
					 rm->servers[server].name, mem_proto_status_name(r.status));
		}
	}
	for (int s = 0; s < n; s++)
		for (int c = 0; c <= rm->nr_channels; c++)
			if (rm->servers[s].conn[c])
				fabric_close(rm->servers[s].conn[c]);
	for (int i = 0; rm->regions && i < rm->nr_regions; i++)
		pthread_rwlock_destroy(&rm->regions[i].lock);
	free(rm->regions);
	for (int c = 0; c < RM_MAX_CHANNELS; c++)
		free(rm->stage[c]);
	pthread_mutex_destroy(&rm->error_lock);
	pthread_mutex_destroy(&rm->servers_lock);
	pthread_mutex_destroy(&rm->ctl_lock);
	memset(rm, 0, sizeof(*rm));
}

int remote_mem_region_of(const struct remote_mem *rm, uint64_t off)
{
	return (int)(off / rm->region_size);
}
