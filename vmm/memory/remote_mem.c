/* remote_mem.c: connections to memory servers, region copies, page reads, replicated
 * write-back, failover and redirects. */
#include "remote_mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/client/mem_client.h"
#include "lib/parse.h"
#include "lib/strbuf.h"

int rm_parse_server(const char *text, char *host, size_t hlen, char *port, size_t plen)
{
	return parse_hostport(text, 1, host, hlen, port, plen);
}

const char *remote_mem_server_label(const struct remote_mem *rm, int server, char *buf, size_t len)
{
	const struct rm_server *s = &rm->servers[server];

	if (s->name[0])
		snprintf(buf, len, "memory server %s (%s:%s)", s->name, s->host, s->port);
	else
		snprintf(buf, len, "memory server %s:%s", s->host, s->port);
	return buf;
}

/* The reason I/O failed, once (the first one is what the vNode stops with). */
__attribute__((format(printf, 3, 4))) static void set_error(struct remote_mem *rm, int server,
							    const char *fmt, ...)
{
	char label[400], what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&rm->error_lock);
	if (!rm->error[0])
		snprintf(rm->error, sizeof(rm->error), "%s: %s",
			 remote_mem_server_label(rm, server, label, sizeof(label)), what);
	pthread_mutex_unlock(&rm->error_lock);
}

static int ctl_channel(const struct remote_mem *rm)
{
	return rm->nr_channels;
}

/* What went wrong with one request to one server. */
struct failure {
	bool lost; /* the server is unreachable: every copy there is gone */
	char what[256];
	char moved_to[MP_OWNER_LEN + 1]; /* OPEN answered EREDIRECT: where it went */
};

static void lose_server(struct remote_mem *rm, int server, const char *why)
{
	char label[400];

	if (!atomic_exchange(&rm->servers[server].dead, true))
		log_warn("%s lost: %s", remote_mem_server_label(rm, server, label, sizeof(label)),
			 why);
}

static int hello(struct remote_mem *rm, int server, int ch, struct failure *f)
{
	struct rm_server *s = &rm->servers[server];
	struct mp_hello m = {.vnode = rm->vnode};
	struct mp_hello_reply hr;
	struct mc_reply r;
	enum mc_result rc;
	char text[MP_ERRTEXT_MAX + 1];

	snprintf(m.name, sizeof(m.name), "%s", rm->client_name);
	mp_hello_put((uint8_t *)fab_sbuf(s->conn[ch]) + MP_HDR_LEN, &m);
	rc = mc_call(s->conn[ch], ++rm->next_id[ch], MP_HELLO, MP_HELLO_LEN, rm->timeout_ms, &r);
	if (rc) {
		f->lost = rc != MC_MALFORMED;
		snprintf(f->what, sizeof(f->what), "HELLO failed: %s", mc_result_text(rc));
		return -1;
	}
	if (r.status != MP_OK) {
		snprintf(f->what, sizeof(f->what), "HELLO refused: %s: %s",
			 mp_status_name(r.status), mc_reply_text(&r, text, sizeof(text)));
		return -1;
	}
	if (mp_hello_reply_get(r.payload, r.len, &hr) != MP_OK) {
		snprintf(f->what, sizeof(f->what), "malformed HELLO reply");
		return -1;
	}
	/* Set by the first HELLO, before the server is in use; read-only from then on. */
	if (!s->name[0]) {
		s->rma = rm->use_rma && (hr.flags & MP_HELLO_RMA) && fab_has_rma(s->conn[ch]);
		snprintf(s->name, sizeof(s->name), "%s", hr.name);
	}
	return 0;
}

/* Channel ch's connection to server, made on first use by the channel's own thread. */
static struct fab_conn *conn_for(struct remote_mem *rm, int server, int ch, struct failure *f)
{
	struct rm_server *s = &rm->servers[server];
	int rc;

	if (atomic_load(&s->dead)) {
		f->lost = true;
		snprintf(f->what, sizeof(f->what), "lost earlier");
		return NULL;
	}
	if (s->conn[ch])
		return s->conn[ch];
	rc = fab_connect(rm->provider, s->host, s->port, MP_MAX_MSG, rm->timeout_ms, &s->conn[ch]);
	if (rc) {
		s->conn[ch] = NULL;
		f->lost = true;
		snprintf(f->what, sizeof(f->what), "cannot connect: %s",
			 rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		return NULL;
	}
	if (hello(rm, server, ch, f)) {
		fab_close(s->conn[ch]);
		s->conn[ch] = NULL;
		return NULL;
	}
	return s->conn[ch];
}

/* The entry for "HOST:PORT": the live one with that address, or a new one. */
static int server_by_addr(struct remote_mem *rm, const char *addr, bool *created, char *err,
			  size_t errlen)
{
	struct rm_server *s;
	int n, found = -1;

	if (created)
		*created = false;
	pthread_mutex_lock(&rm->servers_lock);
	n = atomic_load(&rm->nr_servers);
	for (int i = 0; i < n && found < 0; i++)
		if (!strcmp(rm->servers[i].addr, addr) && !atomic_load(&rm->servers[i].dead))
			found = i;
	if (found < 0 && n == RM_MAX_SERVERS)
		snprintf(err, errlen, "this vNode has used %d memory servers, the most it can",
			 RM_MAX_SERVERS);
	if (found < 0 && n < RM_MAX_SERVERS) {
		s = &rm->servers[n];
		memset(s, 0, sizeof(*s));
		if (strlen(addr) > MP_ADDR_LEN ||
		    rm_parse_server(addr, s->host, sizeof(s->host), s->port, sizeof(s->port))) {
			snprintf(err, errlen, "memory server '%s' is not HOST:PORT", addr);
		} else {
			snprintf(s->addr, sizeof(s->addr), "%s", addr);
			atomic_store(&rm->nr_servers, n + 1);
			found = n;
			if (created)
				*created = true;
		}
	}
	pthread_mutex_unlock(&rm->servers_lock);
	return found;
}

/* ---- one request to one copy ------------------------------------------------------------ */

/* Send or call op on copy c of region idx through ch; the body is already in place. */
static int copy_call(struct remote_mem *rm, int server, int ch, unsigned op, size_t body_len,
		     struct mc_reply *r, struct failure *f)
{
	struct fab_conn *c = rm->servers[server].conn[ch];
	enum mc_result rc = mc_call(c, ++rm->next_id[ch], op, body_len, rm->timeout_ms, r);

	if (rc) {
		f->lost = rc != MC_MALFORMED;
		snprintf(f->what, sizeof(f->what), "%s failed: %s", mp_op_name(op),
			 mc_result_text(rc));
		return -1;
	}
	return 0;
}

/* OPEN region idx on server (CREATE and JOIN as asked): its handle, epoch and RMA key. */
static int open_on(struct remote_mem *rm, int idx, int server, int ch, uint32_t flags,
		   struct mp_open_reply *out, struct failure *f)
{
	const struct rm_region *g = &rm->regions[idx];
	struct mp_open m = {.index = (uint32_t)idx, .flags = flags, .size = g->size};
	struct fab_conn *c = conn_for(rm, server, ch, f);
	struct mc_reply r;
	char text[MP_ERRTEXT_MAX + 1];

	if (!c)
		return -1;
	mp_open_put((uint8_t *)fab_sbuf(c) + MP_HDR_LEN, &m);
	if (copy_call(rm, server, ch, MP_OPEN, MP_OPEN_LEN, &r, f))
		return -1;
	if (r.status != MP_OK) {
		mc_reply_text(&r, text, sizeof(text));
		snprintf(f->what, sizeof(f->what), "cannot open vRegion %d (%llu MiB): %s: %s", idx,
			 (unsigned long long)(g->size >> 20), mp_status_name(r.status), text);
		if (r.status == MP_EREDIRECT && strlen(text) < sizeof(f->moved_to) &&
		    mp_addr_ok(text, true))
			memcpy(f->moved_to, text, strlen(text) + 1);
		return -1;
	}
	if (mp_open_reply_get(r.payload, r.len, out) != MP_OK || out->size != g->size) {
		snprintf(f->what, sizeof(f->what), "malformed OPEN reply for vRegion %d", idx);
		return -1;
	}
	return 0;
}

static void set_copy(struct rm_copy *cp, int server, int state, const struct mp_open_reply *o)
{
	atomic_store(&cp->server, server);
	cp->state = state;
	atomic_store(&cp->handle, o->handle);
	atomic_store(&cp->epoch, o->epoch);
	cp->rma_addr = o->rma_addr;
	cp->rma_key = o->rma_key;
	atomic_store(&cp->failed, false);
}

/* Mark a copy (or, when its server is lost, the server) failed; a warning says what it
 * cost. Under the region's read lock. */
static void copy_failed(struct remote_mem *rm, int idx, struct rm_copy *cp, const struct failure *f)
{
	char label[400];
	int server = atomic_load(&cp->server);

	if (f->lost)
		lose_server(rm, server, f->what);
	if (!atomic_exchange(&cp->failed, true)) {
		atomic_fetch_add(&rm->copies_lost, 1);
		log_warn("vRegion %d: its copy on %s is dropped: %s", idx,
			 remote_mem_server_label(rm, server, label, sizeof(label)), f->what);
	}
}

static bool usable(const struct remote_mem *rm, const struct rm_copy *cp, bool for_read)
{
	return !atomic_load(&cp->failed) &&
	       !atomic_load(&rm->servers[atomic_load(&cp->server)].dead) &&
	       (cp->state == RM_COPY_LIVE || !for_read);
}

/* What to do after an error reply from a copy. */
enum next {
	N_FAIL,	    /* the copy is of no use any more */
	N_RETRY,    /* reopened (stale epoch): send again */
	N_REDIRECT, /* the region moved: follow, then send again */
};

static enum next on_refusal(struct remote_mem *rm, int idx, struct rm_copy *cp, int ch,
			    const struct mc_reply *r, char *owner, size_t olen, bool *reopened,
			    struct failure *f)
{
	char text[MP_ERRTEXT_MAX + 1];
	int server = atomic_load(&cp->server);

	mc_reply_text(r, text, sizeof(text));
	if (r->status == MP_ESTALE && !*reopened) {
		struct mp_open_reply o;

		*reopened = true;
		if (open_on(rm, idx, server, ch, 0, &o, f))
			return N_FAIL;
		atomic_store(&cp->handle, o.handle);
		atomic_store(&cp->epoch, o.epoch);
		return N_RETRY;
	}
	if (r->status == MP_EREDIRECT && strlen(text) < olen && mp_addr_ok(text, true)) {
		memcpy(owner, text, strlen(text) + 1);
		return N_REDIRECT;
	}
	snprintf(f->what, sizeof(f->what), "page request for vRegion %d refused: %s: %s", idx,
		 mp_status_name(r->status), text);
	return N_FAIL;
}

static int find_copy(const struct rm_region *g, int server);

/* Region idx's copy on from_server moved to owner ("NAME@HOST:PORT"): open it there and
 * make that the copy's server. Takes the region's write lock itself. */
static int follow_redirect(struct remote_mem *rm, int idx, int from_server, const char *owner,
			   int ch, struct failure *why)
{
	struct rm_region *g = &rm->regions[idx];
	const char *addr = strchr(owner, '@') + 1;
	char err[256], label[400];
	struct mp_open_reply o;
	struct failure f = {0};
	int to = server_by_addr(rm, addr, NULL, err, sizeof(err)), rc = -1;

	if (to < 0) {
		snprintf(why->what, sizeof(why->what),
			 "moved to %s, which cannot be followed: %.100s", owner, err);
		log_warn("vRegion %d: %s", idx, why->what);
		return -1;
	}
	if (open_on(rm, idx, to, ch, 0, &o, &f)) {
		snprintf(why->what, sizeof(why->what),
			 "moved to %s, which does not serve it: %.100s", owner, f.what);
		log_warn("vRegion %d: %s", idx, why->what);
		if (f.lost)
			lose_server(rm, to, f.what);
		return -1;
	}
	pthread_rwlock_wrlock(&g->lock);
	for (int k = 0; k < g->nr_copies; k++) {
		struct rm_copy *cp = &g->copies[k];
		int there = find_copy(g, to);

		if (atomic_load(&cp->server) != from_server || atomic_load(&cp->failed))
			continue;
		rc = 0;
		if (there < 0) {
			set_copy(cp, to, cp->state, &o);
			continue;
		}
		/* The region already has a copy there (it was added for the move): it is one
		 * region on that server, so the moved copy merges into it. */
		if (cp->state == RM_COPY_LIVE)
			g->copies[there].state = RM_COPY_LIVE;
		memmove(cp, cp + 1, (size_t)(g->nr_copies - k - 1) * sizeof(*cp));
		g->nr_copies--;
		k--;
	}
	pthread_rwlock_unlock(&g->lock);
	if (!rc) {
		atomic_fetch_add(&rm->redirects, 1);
		log_info("vRegion %d: moved from %s to %s: following it", idx,
			 remote_mem_server_label(rm, from_server, label, sizeof(label)), owner);
	}
	return rc;
}

/* ---- page reads ------------------------------------------------------------------------- */

static const void *read_copy(struct remote_mem *rm, int idx, struct rm_copy *cp, int ch,
			     uint64_t in, unsigned npages, char *owner, size_t olen,
			     enum next *next, struct failure *f)
{
	int server = atomic_load(&cp->server);
	struct rm_server *s = &rm->servers[server];
	struct fab_conn *c = conn_for(rm, server, ch, f);
	bool reopened = false;

	*next = N_FAIL;
	if (!c)
		return NULL;
	if (s->rma && cp->rma_key) {
		int rc = fab_rma_read(c, (size_t)npages * MP_PAGE_SIZE, cp->rma_addr + in,
				      cp->rma_key, rm->timeout_ms);

		if (rc == 0)
			return fab_rbuf(c);
		if (rc == -ENOTCONN || rc == -ETIMEDOUT || fab_broken(c)) {
			f->lost = true;
			snprintf(f->what, sizeof(f->what), "RMA read failed: %s",
				 rc == -ETIMEDOUT ? "no completion in time"
						  : "connection lost (server gone?)");
			return NULL;
		}
		/* The server may have revoked the key (region moved): ask by message. */
		log_debug("vRegion %d: RMA read failed (%s); asking by message", idx,
			  strerror(-rc));
	}
	for (;;) {
		struct mp_io io = {.handle = atomic_load(&cp->handle),
				   .epoch = atomic_load(&cp->epoch),
				   .offset = in,
				   .npages = npages};
		struct mc_reply r;

		mp_io_put((uint8_t *)fab_sbuf(c) + MP_HDR_LEN, &io);
		if (copy_call(rm, server, ch, MP_READ, MP_IO_LEN, &r, f))
			return NULL;
		if (r.status == MP_OK && r.len == (size_t)npages * MP_PAGE_SIZE)
			return r.payload;
		if (r.status == MP_OK) {
			snprintf(f->what, sizeof(f->what), "READ reply has %zu bytes, not %u pages",
				 r.len, npages);
			return NULL;
		}
		*next = on_refusal(rm, idx, cp, ch, &r, owner, olen, &reopened, f);
		if (*next != N_RETRY)
			return NULL;
	}
}

const void *remote_mem_read(struct remote_mem *rm, int ch, uint64_t off, unsigned npages)
{
	int idx = remote_mem_region_of(rm, off);
	struct rm_region *g = &rm->regions[idx];
	uint64_t in = off - (uint64_t)idx * rm->region_size;
	struct failure last = {0};
	int last_server = -1;

	for (int redirects = 0; redirects < 4; redirects++) {
		char owner[MP_OWNER_LEN + 1] = "";
		int moved_from = -1;

		pthread_rwlock_rdlock(&g->lock);
		for (int k = 0; k < g->nr_copies; k++) {
			struct rm_copy *cp = &g->copies[k];
			struct failure f = {0};
			enum next next;
			const void *data;

			if (!usable(rm, cp, true))
				continue;
			data = read_copy(rm, idx, cp, ch, in, npages, owner, sizeof(owner), &next,
					 &f);
			if (data) {
				pthread_rwlock_unlock(&g->lock);
				return data;
			}
			if (next == N_REDIRECT) {
				moved_from = atomic_load(&cp->server);
				break;
			}
			last = f;
			last_server = atomic_load(&cp->server);
			copy_failed(rm, idx, cp, &f);
		}
		pthread_rwlock_unlock(&g->lock);
		if (moved_from < 0)
			break;
		if (follow_redirect(rm, idx, moved_from, owner, ch, &last)) {
			last_server = moved_from;
			break;
		}
	}
	if (last_server >= 0)
		set_error(rm, last_server, "%s; vRegion %d has no other live copy", last.what, idx);
	else
		set_error(rm, atomic_load(&g->copies[0].server), "vRegion %d has no live copy left",
			  idx);
	return NULL;
}

/* ---- replicated write-back -------------------------------------------------------------- */

void *remote_mem_write_buf(struct remote_mem *rm, int ch, uint64_t off)
{
	(void)off;
	return rm->stage[ch];
}

/* One round: the pages to every usable copy at once, then every reply. Returns the live
 * copies that took them; *redirect names a copy that moved (its server in *moved_from). */
static int write_round(struct remote_mem *rm, int idx, int ch, uint64_t in, unsigned npages,
		       char *owner, size_t olen, int *moved_from, struct failure *last,
		       int *last_server)
{
	struct rm_region *g = &rm->regions[idx];
	size_t bytes = (size_t)npages * MP_PAGE_SIZE;
	bool sent[RM_MAX_COPIES] = {false};
	uint64_t ids[RM_MAX_COPIES] = {0};
	int ok_live = 0;

	for (int k = 0; k < g->nr_copies; k++) {
		struct rm_copy *cp = &g->copies[k];
		struct failure f = {0};
		int server = atomic_load(&cp->server);
		struct fab_conn *c;
		struct mp_io io;
		enum mc_result rc;

		if (!usable(rm, cp, false))
			continue;
		c = conn_for(rm, server, ch, &f);
		if (!c) {
			*last = f;
			*last_server = server;
			copy_failed(rm, idx, cp, &f);
			continue;
		}
		io = (struct mp_io){.handle = atomic_load(&cp->handle),
				    .epoch = atomic_load(&cp->epoch),
				    .offset = in,
				    .npages = npages};
		mp_io_put((uint8_t *)fab_sbuf(c) + MP_HDR_LEN, &io);
		memcpy((uint8_t *)fab_sbuf(c) + MP_HDR_LEN + MP_IO_LEN, rm->stage[ch], bytes);
		ids[k] = ++rm->next_id[ch];
		rc = mc_send(c, ids[k], MP_WRITE, MP_IO_LEN + bytes, rm->timeout_ms);
		if (rc) {
			f.lost = true;
			snprintf(f.what, sizeof(f.what), "WRITE failed: %s", mc_result_text(rc));
			*last = f;
			*last_server = server;
			copy_failed(rm, idx, cp, &f);
			continue;
		}
		sent[k] = true;
	}
	for (int k = 0; k < g->nr_copies; k++) {
		struct rm_copy *cp = &g->copies[k];
		struct failure f = {0};
		int server = atomic_load(&cp->server);
		bool reopened = false;
		struct mc_reply r;
		enum mc_result rc;

		if (!sent[k])
			continue;
		rc = mc_wait(rm->servers[server].conn[ch], ids[k], MP_WRITE, rm->timeout_ms, &r);
		for (;;) {
			enum next next;
			struct mp_io io;

			if (rc) {
				f.lost = rc != MC_MALFORMED;
				snprintf(f.what, sizeof(f.what), "WRITE failed: %s",
					 mc_result_text(rc));
				break;
			}
			if (r.status == MP_OK) {
				ok_live += cp->state == RM_COPY_LIVE;
				break;
			}
			next = on_refusal(rm, idx, cp, ch, &r, owner, olen, &reopened, &f);
			if (next == N_REDIRECT) {
				*moved_from = server;
				f.what[0] = '\0';
				break;
			}
			if (next == N_FAIL)
				break;
			/* Reopened after a stale epoch: this copy alone, again. */
			io = (struct mp_io){.handle = atomic_load(&cp->handle),
					    .epoch = atomic_load(&cp->epoch),
					    .offset = in,
					    .npages = npages};
			mp_io_put((uint8_t *)fab_sbuf(rm->servers[server].conn[ch]) + MP_HDR_LEN,
				  &io);
			memcpy((uint8_t *)fab_sbuf(rm->servers[server].conn[ch]) + MP_HDR_LEN +
				       MP_IO_LEN,
			       rm->stage[ch], bytes);
			rc = mc_call(rm->servers[server].conn[ch], ++rm->next_id[ch], MP_WRITE,
				     MP_IO_LEN + bytes, rm->timeout_ms, &r);
		}
		if (f.what[0] && (rc || r.status != MP_OK)) {
			*last = f;
			*last_server = server;
			copy_failed(rm, idx, cp, &f);
		}
	}
	return ok_live;
}

int remote_mem_write(struct remote_mem *rm, int ch, uint64_t off, unsigned npages)
{
	int idx = remote_mem_region_of(rm, off);
	struct rm_region *g = &rm->regions[idx];
	uint64_t in = off - (uint64_t)idx * rm->region_size;
	struct failure last = {0};
	int last_server = -1;

	for (int redirects = 0; redirects < 4; redirects++) {
		char owner[MP_OWNER_LEN + 1] = "";
		int moved_from = -1, ok;

		pthread_rwlock_rdlock(&g->lock);
		ok = write_round(rm, idx, ch, in, npages, owner, sizeof(owner), &moved_from, &last,
				 &last_server);
		pthread_rwlock_unlock(&g->lock);
		/* The round went to every copy in use and dropped each one that failed, so it is
		 * done once a live copy took it (another thread may meanwhile lose a copy that
		 * did: that one no longer counts). A moved copy is followed and written again:
		 * a write is idempotent. */
		if (moved_from < 0 && ok > 0)
			return 0;
		if (moved_from < 0)
			break;
		if (follow_redirect(rm, idx, moved_from, owner, ch, &last)) {
			last_server = moved_from;
			break;
		}
	}
	if (last_server >= 0)
		set_error(rm, last_server, "%s; vRegion %d has no other live copy", last.what, idx);
	else
		set_error(rm, atomic_load(&g->copies[0].server), "vRegion %d has no live copy left",
			  idx);
	return -1;
}

/* ---- open and close --------------------------------------------------------------------- */

/* At open, the copy named for region idx moved to f->moved_to (the map was older than a
 * move): open it where it went instead; *server becomes that server. */
static int open_moved(struct remote_mem *rm, int idx, int *server, struct mp_open_reply *o,
		      struct failure *f)
{
	char owner[MP_OWNER_LEN + 1], err[256];
	int to;

	memcpy(owner, f->moved_to, sizeof(owner));
	to = server_by_addr(rm, strchr(owner, '@') + 1, NULL, err, sizeof(err));
	if (to < 0) {
		snprintf(f->what, sizeof(f->what), "vRegion %d moved to %s: %.100s", idx, owner,
			 err);
		return -1;
	}
	for (int ch = 0; ch <= rm->nr_channels; ch++)
		if (!conn_for(rm, to, ch, f))
			return -1;
	memset(f->moved_to, 0, sizeof(f->moved_to));
	if (open_on(rm, idx, to, ctl_channel(rm), 0, o, f))
		return -1;
	log_info("vRegion %d: moved from %s to %s: opened there", idx, rm->servers[*server].addr,
		 owner);
	atomic_fetch_add(&rm->redirects, 1);
	*server = to;
	return 0;
}

int remote_mem_open(struct remote_mem *rm, const struct rm_config *cfg, uint64_t ram_size,
		    int nr_channels)
{
	int replicas = cfg->replicas > 0 ? cfg->replicas : 1;
	char label[400], err[256];

	memset(rm, 0, sizeof(*rm));
	pthread_mutex_init(&rm->error_lock, NULL);
	pthread_mutex_init(&rm->servers_lock, NULL);
	pthread_mutex_init(&rm->ctl_lock, NULL);
	rm->vnode = cfg->vnode;
	rm->ram_size = ram_size;
	rm->region_size = cfg->region_size;
	rm->timeout_ms = cfg->timeout_ms;
	rm->use_rma = cfg->use_rma;
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
	{
		pthread_rwlockattr_t a;

		/* Pager threads hold a region's read lock back to back: a copy change (the
		 * write lock) must not wait for a gap between them, so writers go first. */
		pthread_rwlockattr_init(&a);
		pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		for (int i = 0; i < rm->nr_regions; i++)
			pthread_rwlock_init(&rm->regions[i].lock, &a);
		pthread_rwlockattr_destroy(&a);
	}
	if (replicas > RM_MAX_COPIES || replicas > cfg->nr_servers) {
		snprintf(rm->error, sizeof(rm->error),
			 "%d copies of each vRegion need as many memory servers (there are %d, "
			 "and at most %d copies)",
			 replicas, cfg->nr_servers, RM_MAX_COPIES);
		return -1;
	}
	for (int s = 0; s < cfg->nr_servers; s++) {
		struct failure f = {0};
		int idx = server_by_addr(rm, cfg->servers[s], NULL, err, sizeof(err));

		if (idx != s) {
			snprintf(rm->error, sizeof(rm->error), "%s",
				 idx < 0 ? err : "a memory server is named twice");
			return -1;
		}
		for (int ch = 0; ch <= nr_channels; ch++)
			if (!conn_for(rm, s, ch, &f)) {
				set_error(rm, s, "%s", f.what);
				return -1;
			}
		log_info("%s: connected (%d channel%s, page reads by %s)",
			 remote_mem_server_label(rm, s, label, sizeof(label)), nr_channels,
			 nr_channels == 1 ? "" : "s", rm->servers[s].rma ? "RMA" : "messages");
	}
	for (int i = 0; i < rm->nr_regions; i++) {
		struct rm_region *g = &rm->regions[i];
		uint64_t start = (uint64_t)i * rm->region_size;

		g->size = ram_size - start < rm->region_size ? ram_size - start : rm->region_size;
		for (int k = 0; k < RM_MAX_COPIES; k++) {
			int server = cfg->owners    ? cfg->owners[i][k]
				     : k < replicas ? (i + k) % cfg->nr_servers
						    : -1;
			struct mp_open_reply o;
			struct failure f = {0};

			if (server < 0)
				break;
			if (server >= cfg->nr_servers) {
				snprintf(rm->error, sizeof(rm->error),
					 "vRegion %d: owner %d is not a memory server (0..%d)", i,
					 server, cfg->nr_servers - 1);
				return -1;
			}
			for (int j = 0; j < g->nr_copies; j++)
				if (atomic_load(&g->copies[j].server) == server) {
					snprintf(rm->error, sizeof(rm->error),
						 "vRegion %d: two copies on memory server %d", i,
						 server);
					return -1;
				}
			if (open_on(rm, i, server, ctl_channel(rm), MP_OPEN_CREATE, &o, &f) &&
			    (!f.moved_to[0] || open_moved(rm, i, &server, &o, &f))) {
				set_error(rm, server, "%s", f.what);
				return -1;
			}
			if (find_copy(g, server) >= 0) {
				snprintf(rm->error, sizeof(rm->error),
					 "vRegion %d: two copies on memory server %s", i,
					 rm->servers[server].addr);
				return -1;
			}
			set_copy(&g->copies[g->nr_copies++], server, RM_COPY_LIVE, &o);
			log_debug("vRegion %d: [%llu MiB, +%llu MiB) copy %d on %s handle %llx "
				  "epoch %llu",
				  i, (unsigned long long)(start >> 20),
				  (unsigned long long)(g->size >> 20), k, rm->servers[server].name,
				  (unsigned long long)o.handle, (unsigned long long)o.epoch);
		}
		if (!g->nr_copies) {
			snprintf(rm->error, sizeof(rm->error), "vRegion %d has no memory server",
				 i);
			return -1;
		}
	}
	return 0;
}

void remote_mem_close(struct remote_mem *rm, bool free_regions)
{
	int ch = ctl_channel(rm), n = atomic_load(&rm->nr_servers);

	for (int i = 0; free_regions && rm->regions && i < rm->nr_regions; i++) {
		struct rm_region *g = &rm->regions[i];

		for (int k = 0; k < g->nr_copies; k++) {
			struct rm_copy *cp = &g->copies[k];
			int server = atomic_load(&cp->server);
			struct mp_close m = {.handle = atomic_load(&cp->handle),
					     .epoch = atomic_load(&cp->epoch)};
			struct failure f = {0};
			struct fab_conn *c;
			struct mc_reply r;

			if (!m.handle || atomic_load(&rm->servers[server].dead))
				continue;
			c = conn_for(rm, server, ch, &f);
			if (!c || fab_broken(c))
				continue;
			mp_close_put((uint8_t *)fab_sbuf(c) + MP_HDR_LEN, &m);
			if (mc_call(c, ++rm->next_id[ch], MP_CLOSE, MP_CLOSE_LEN, rm->timeout_ms,
				    &r) == MC_OK &&
			    r.status != MP_OK)
				log_warn("vRegion %d: CLOSE refused by %s: %s", i,
					 rm->servers[server].name, mp_status_name(r.status));
		}
	}
	for (int s = 0; s < n; s++)
		for (int c = 0; c <= rm->nr_channels; c++)
			if (rm->servers[s].conn[c])
				fab_close(rm->servers[s].conn[c]);
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

/* ---- the control plane's changes -------------------------------------------------------- */

static int find_copy(const struct rm_region *g, int server)
{
	for (int k = 0; k < g->nr_copies; k++)
		if (atomic_load(&g->copies[k].server) == server)
			return k;
	return -1;
}

/* The live server entry for addr among the existing ones, or -1. */
static int known_server(struct remote_mem *rm, const char *addr)
{
	int n = atomic_load(&rm->nr_servers);

	for (int i = n - 1; i >= 0; i--)
		if (!strcmp(rm->servers[i].addr, addr))
			return atomic_load(&rm->servers[i].dead) ? -1 : i;
	return -1;
}

static bool bad_index(const struct remote_mem *rm, int idx, char *err, size_t errlen)
{
	if (idx >= 0 && idx < rm->nr_regions)
		return false;
	snprintf(err, errlen, "vRegion %d does not exist (this vNode has %d)", idx, rm->nr_regions);
	return true;
}

int remote_mem_add_copy(struct remote_mem *rm, int idx, const char *addr, char *err, size_t errlen)
{
	struct rm_region *g;
	struct mp_open_reply o;
	struct failure f = {0};
	int server, k, rc = -1;
	bool created;

	if (bad_index(rm, idx, err, errlen))
		return -1;
	g = &rm->regions[idx];
	pthread_mutex_lock(&rm->ctl_lock);
	server = server_by_addr(rm, addr, &created, err, errlen);
	if (server < 0)
		goto out;
	/* A server new to this vNode: every channel connects now, before any copy there is
	 * in use (so that no pager thread stalls on a connect, and none races this one). */
	for (int ch = 0; created && ch <= rm->nr_channels; ch++)
		if (!conn_for(rm, server, ch, &f)) {
			lose_server(rm, server, f.what);
			snprintf(err, errlen, "%s: %s", addr, f.what);
			goto out;
		}
	if (open_on(rm, idx, server, ctl_channel(rm), MP_OPEN_CREATE | MP_OPEN_JOIN, &o, &f)) {
		if (f.lost)
			lose_server(rm, server, f.what);
		snprintf(err, errlen, "%s: %s", addr, f.what);
		goto out;
	}
	pthread_rwlock_wrlock(&g->lock);
	k = find_copy(g, server);
	if (k >= 0 && g->copies[k].state == RM_COPY_LIVE && !atomic_load(&g->copies[k].failed)) {
		snprintf(err, errlen, "vRegion %d already has a live copy on %s", idx, addr);
	} else if (k < 0 && g->nr_copies == RM_MAX_COPIES) {
		snprintf(err, errlen, "vRegion %d has %d copies, the most it can", idx,
			 RM_MAX_COPIES);
	} else {
		set_copy(&g->copies[k >= 0 ? k : g->nr_copies++], server, RM_COPY_JOINING, &o);
		rc = 0;
	}
	pthread_rwlock_unlock(&g->lock);
	if (!rc)
		log_info("vRegion %d: new copy joining on %s (%s)", idx, addr,
			 rm->servers[server].name);
out:
	pthread_mutex_unlock(&rm->ctl_lock);
	return rc;
}

int remote_mem_copy_live(struct remote_mem *rm, int idx, const char *addr, char *err, size_t errlen)
{
	struct rm_region *g;
	int server, k, rc = -1;

	if (bad_index(rm, idx, err, errlen))
		return -1;
	g = &rm->regions[idx];
	pthread_mutex_lock(&rm->ctl_lock);
	server = known_server(rm, addr);
	pthread_rwlock_wrlock(&g->lock);
	k = server < 0 ? -1 : find_copy(g, server);
	if (k < 0)
		snprintf(err, errlen, "vRegion %d has no copy on %s", idx, addr);
	else if (atomic_load(&g->copies[k].failed))
		snprintf(err, errlen, "vRegion %d's copy on %s failed: it cannot go live", idx,
			 addr);
	else
		rc = 0;
	if (!rc)
		g->copies[k].state = RM_COPY_LIVE;
	pthread_rwlock_unlock(&g->lock);
	pthread_mutex_unlock(&rm->ctl_lock);
	if (!rc)
		log_info("vRegion %d: its copy on %s is live", idx, addr);
	return rc;
}

int remote_mem_drop_copy(struct remote_mem *rm, int idx, const char *addr, char *err, size_t errlen)
{
	struct rm_region *g;
	int n = atomic_load(&rm->nr_servers), k = -1, live_other = 0, rc = -1;

	if (bad_index(rm, idx, err, errlen))
		return -1;
	g = &rm->regions[idx];
	pthread_mutex_lock(&rm->ctl_lock);
	pthread_rwlock_wrlock(&g->lock);
	/* A copy there that failed (or whose server was lost) goes first; then a live one. */
	for (int pass = 0; pass < 2 && k < 0; pass++)
		for (int j = 0; j < g->nr_copies && k < 0; j++) {
			int s = atomic_load(&g->copies[j].server);

			if (s < n && !strcmp(rm->servers[s].addr, addr) &&
			    (pass || !usable(rm, &g->copies[j], false)))
				k = j;
		}
	for (int j = 0; j < g->nr_copies; j++)
		live_other += j != k && g->copies[j].state == RM_COPY_LIVE &&
			      usable(rm, &g->copies[j], true);
	if (k < 0) {
		/* Already gone (dropped before, or never there): nothing to do. */
		rc = 0;
	} else if (!live_other && usable(rm, &g->copies[k], true)) {
		snprintf(err, errlen, "the copy on %s is vRegion %d's last live copy", addr, idx);
	} else {
		memmove(&g->copies[k], &g->copies[k + 1],
			(size_t)(g->nr_copies - k - 1) * sizeof(g->copies[0]));
		g->nr_copies--;
		rc = 0;
		log_info("vRegion %d: its copy on %s is dropped", idx, addr);
	}
	pthread_rwlock_unlock(&g->lock);
	pthread_mutex_unlock(&rm->ctl_lock);
	return rc;
}

int remote_mem_server_lost(struct remote_mem *rm, const char *addr)
{
	int n = atomic_load(&rm->nr_servers), orphans = 0, server = -1;

	for (int s = 0; s < n; s++)
		if (!strcmp(rm->servers[s].addr, addr) && !atomic_load(&rm->servers[s].dead)) {
			lose_server(rm, s, "the control plane says it is gone");
			server = s;
		}
	for (int i = 0; i < rm->nr_regions; i++) {
		struct rm_region *g = &rm->regions[i];
		int live = 0;

		pthread_rwlock_rdlock(&g->lock);
		for (int k = 0; k < g->nr_copies; k++)
			live += g->copies[k].state == RM_COPY_LIVE &&
				usable(rm, &g->copies[k], true);
		if (!live) {
			orphans++;
			if (server >= 0)
				set_error(
					rm, server,
					"lost (the control plane says so), and with it vRegion %d, "
					"which has no other live copy",
					i);
		}
		pthread_rwlock_unlock(&g->lock);
	}
	return orphans;
}

void remote_mem_describe(struct remote_mem *rm, struct strbuf *out)
{
	int n = atomic_load(&rm->nr_servers);

	sb_printf(out, "{\"servers\":[");
	for (int s = 0; s < n; s++) {
		sb_printf(out, "%s{\"addr\":", s ? "," : "");
		sb_json_str(out, rm->servers[s].addr);
		sb_printf(out, ",\"name\":");
		sb_json_str(out, rm->servers[s].name);
		sb_printf(out, ",\"lost\":%s}",
			  atomic_load(&rm->servers[s].dead) ? "true" : "false");
	}
	sb_printf(out, "],\"regions\":[");
	for (int i = 0; i < rm->nr_regions; i++) {
		struct rm_region *g = &rm->regions[i];

		pthread_rwlock_rdlock(&g->lock);
		sb_printf(out, "%s[", i ? "," : "");
		for (int k = 0; k < g->nr_copies; k++) {
			const struct rm_copy *cp = &g->copies[k];

			sb_printf(out, "%s{\"server\":%d,\"state\":\"%s\",\"failed\":%s}",
				  k ? "," : "", atomic_load(&cp->server),
				  cp->state == RM_COPY_LIVE ? "live" : "joining",
				  usable(rm, cp, false) ? "false" : "true");
		}
		sb_printf(out, "]");
		pthread_rwlock_unlock(&g->lock);
	}
	sb_printf(out, "],\"copies_lost\":%llu,\"redirects\":%llu}",
		  (unsigned long long)atomic_load(&rm->copies_lost),
		  (unsigned long long)atomic_load(&rm->redirects));
}
