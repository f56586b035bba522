/* remote_mem_io.c: page I/O on the vRegions' copies: reads from the first live copy with
 * failover to the next, write-back to every copy at once, redirects followed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/client/mem_client.h"
#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "remote_mem.h"
#include "remote_mem_internal.h"

static const void *read_copy(struct remote_mem *rm, int idx, struct remote_mem_copy *cp, int ch,
			     uint64_t in, unsigned npages, void *dst, char *owner, size_t olen,
			     enum remote_mem_next *next, struct remote_mem_failure *f)
{
	int server = atomic_load(&cp->server);
	struct remote_mem_server *s = &rm->servers[server];
	struct fab_conn *c = remote_mem_conn(rm, server, ch, f);
	bool reopened = false;

	*next = REMOTE_MEM_NEXT_FAIL;
	if (!c)
		return NULL;
	if (s->rma && !cp->rma[ch].asked) {
		/* This channel's own registration of the vRegion (an OPEN on its connection). */
		struct mem_proto_open_reply o;
		struct remote_mem_failure ignored = {0};

		cp->rma[ch].asked = true;
		if (!remote_mem_open_on(rm, idx, server, ch, 0, &o, &ignored) &&
		    o.handle == atomic_load(&cp->handle)) {
			cp->rma[ch].addr = o.rma_addr;
			cp->rma[ch].key = o.rma_key;
		}
	}
	if (s->rma && cp->rma[ch].key) {
		int rc = fabric_rma_read(c, (size_t)npages * MP_PAGE_SIZE, cp->rma[ch].addr + in,
					 cp->rma[ch].key, rm->timeout_ms);

		if (rc == 0) {
			atomic_fetch_add(&rm->reads_rma, 1);
			return fabric_rbuf(c);
		}
		if (rc == -ENOTCONN || rc == -ETIMEDOUT || fabric_broken(c)) {
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
		struct mem_proto_io io = {.handle = atomic_load(&cp->handle),
					  .epoch = atomic_load(&cp->epoch),
					  .offset = in,
					  .npages = npages};
		struct mem_client_reply r;
		/* The reply's pages straight into dst where the provider allows it. */
		bool split = dst && !fabric_post_recv_split(c, MP_HDR_LEN, dst,
							    (size_t)npages * MP_PAGE_SIZE);

		mem_proto_io_put((uint8_t *)fabric_sbuf(c) + MP_HDR_LEN, &io);
		if (remote_mem_copy_call(rm, server, ch, MP_READ, MP_IO_LEN, &r, f)) {
			/* A receive into dst may still be posted: a late reply must never land
			 * in guest RAM, so this channel's connection goes now (only this thread
			 * uses it; the server is lost anyway). */
			if (split && f->lost) {
				fabric_close(c);
				s->conn[ch] = NULL;
			}
			return NULL;
		}
		if (split)
			r.payload = dst;
		if (r.status == MP_OK && r.len == (size_t)npages * MP_PAGE_SIZE) {
			atomic_fetch_add(&rm->reads_msg, 1);
			return r.payload;
		}
		if (r.status == MP_OK) {
			snprintf(f->what, sizeof(f->what), "READ reply has %zu bytes, not %u pages",
				 r.len, npages);
			return NULL;
		}
		*next = remote_mem_on_refusal(rm, idx, cp, ch, &r, owner, olen, &reopened, f);
		if (*next != REMOTE_MEM_NEXT_RETRY)
			return NULL;
	}
}

/* Under region idx's lock: the label of the server of its first copy, for an error with
 * no failure of its own to name. */
static void first_copy_label(struct remote_mem *rm, const struct remote_mem_region *g,
			     struct remote_mem_last_failure *last)
{
	if (!last->server[0] && g->nr_copies)
		remote_mem_server_label(rm, atomic_load(&g->copies[0].server), last->server,
					sizeof(last->server));
}

/* No copy could serve or take the pages: the error the vNode stops with. */
static void io_failed(struct remote_mem *rm, int idx, const struct remote_mem_last_failure *last)
{
	if (last->f.what[0])
		remote_mem_set_error_at(rm, last->server, "%s; vRegion %d has no other live copy",
					last->f.what, idx);
	else
		remote_mem_set_error_at(rm, last->server, "vRegion %d has no live copy left", idx);
}

/* The copy on moved_from (held by the caller) moved to owner: followed. 0, or -1 with
 * last saying why (and moved_from let go either way). */
static int follow(struct remote_mem *rm, int idx, int moved_from, const char *owner, int ch,
		  struct remote_mem_last_failure *last)
{
	struct remote_mem_failure f = {0};
	int rc = remote_mem_follow_redirect(rm, idx, moved_from, owner, ch, &f);

	if (rc)
		remote_mem_note_failure(rm, moved_from, &f, last);
	remote_mem_server_put(rm, moved_from);
	return rc;
}

const void *remote_mem_io_read(struct remote_mem *rm, int ch, uint64_t off, unsigned npages)
{
	return remote_mem_io_read_into(rm, ch, off, npages, NULL);
}

const void *remote_mem_io_read_into(struct remote_mem *rm, int ch, uint64_t off, unsigned npages,
				    void *dst)
{
	int idx = remote_mem_region_of(rm, off);
	struct remote_mem_region *g = &rm->regions[idx];
	uint64_t in = off - (uint64_t)idx * rm->region_size;
	struct remote_mem_last_failure last = {0};

	for (int redirects = 0; redirects < 4; redirects++) {
		char owner[MP_OWNER_LEN + 1] = "";
		int moved_from = -1;

		pthread_rwlock_rdlock(&g->lock);
		for (int k = 0; k < g->nr_copies; k++) {
			struct remote_mem_copy *cp = &g->copies[k];
			struct remote_mem_failure f = {0};
			enum remote_mem_next next;
			const void *data;

			if (!remote_mem_usable(rm, cp, true))
				continue;
			data = read_copy(rm, idx, cp, ch, in, npages, dst, owner, sizeof(owner),
					 &next, &f);
			if (data) {
				pthread_rwlock_unlock(&g->lock);
				return data;
			}
			if (next == REMOTE_MEM_NEXT_REDIRECT) {
				/* Held past the lock: followed under the write lock. */
				moved_from = atomic_load(&cp->server);
				remote_mem_server_hold(rm, moved_from);
				break;
			}
			remote_mem_note_failure(rm, atomic_load(&cp->server), &f, &last);
			remote_mem_copy_failed(rm, idx, cp, &f);
		}
		if (moved_from < 0)
			first_copy_label(rm, g, &last);
		pthread_rwlock_unlock(&g->lock);
		if (moved_from < 0 || follow(rm, idx, moved_from, owner, ch, &last))
			break;
	}
	io_failed(rm, idx, &last);
	return NULL;
}

void *remote_mem_io_write_buf(struct remote_mem *rm, int ch, uint64_t off)
{
	(void)off;
	return rm->stage[ch];
}

/* One round: the pages to every remote_mem_usable copy at once, then every reply. Returns the live
 * copies that took them; *redirect names a copy that moved (its server in *moved_from). */
static int write_round(struct remote_mem *rm, int idx, int ch, uint64_t in, unsigned npages,
		       char *owner, size_t olen, int *moved_from,
		       struct remote_mem_last_failure *last)
{
	struct remote_mem_region *g = &rm->regions[idx];
	size_t bytes = (size_t)npages * MP_PAGE_SIZE;
	bool sent[RM_MAX_COPIES] = {false};
	uint64_t ids[RM_MAX_COPIES] = {0};
	int ok_live = 0;

	for (int k = 0; k < g->nr_copies; k++) {
		struct remote_mem_copy *cp = &g->copies[k];
		struct remote_mem_failure f = {0};
		int server = atomic_load(&cp->server);
		struct fab_conn *c;
		struct mem_proto_io io;
		enum mem_client_result rc;

		if (!remote_mem_usable(rm, cp, false))
			continue;
		c = remote_mem_conn(rm, server, ch, &f);
		if (!c) {
			remote_mem_note_failure(rm, server, &f, last);
			remote_mem_copy_failed(rm, idx, cp, &f);
			continue;
		}
		io = (struct mem_proto_io){.handle = atomic_load(&cp->handle),
					   .epoch = atomic_load(&cp->epoch),
					   .offset = in,
					   .npages = npages};
		mem_proto_io_put((uint8_t *)fabric_sbuf(c) + MP_HDR_LEN, &io);
		memcpy((uint8_t *)fabric_sbuf(c) + MP_HDR_LEN + MP_IO_LEN, rm->stage[ch], bytes);
		ids[k] = ++rm->next_id[ch];
		rc = mem_client_send(c, ids[k], MP_WRITE, MP_IO_LEN + bytes, rm->timeout_ms);
		if (rc) {
			f.lost = true;
			snprintf(f.what, sizeof(f.what), "WRITE failed: %s",
				 mem_client_result_text(rc));
			remote_mem_note_failure(rm, server, &f, last);
			remote_mem_copy_failed(rm, idx, cp, &f);
			continue;
		}
		sent[k] = true;
	}
	for (int k = 0; k < g->nr_copies; k++) {
		struct remote_mem_copy *cp = &g->copies[k];
		struct remote_mem_failure f = {0};
		int server = atomic_load(&cp->server);
		bool reopened = false;
		struct mem_client_reply r;
		enum mem_client_result rc;

		if (!sent[k])
			continue;
		rc = mem_client_wait(rm->servers[server].conn[ch], ids[k], MP_WRITE, rm->timeout_ms,
				     &r);
		for (;;) {
			enum remote_mem_next next;
			struct mem_proto_io io;

			if (rc) {
				f.lost = rc != MC_MALFORMED;
				snprintf(f.what, sizeof(f.what), "WRITE failed: %s",
					 mem_client_result_text(rc));
				break;
			}
			if (r.status == MP_OK) {
				ok_live += cp->state == RM_COPY_LIVE;
				break;
			}
			next = remote_mem_on_refusal(rm, idx, cp, ch, &r, owner, olen, &reopened,
						     &f);
			if (next == REMOTE_MEM_NEXT_REDIRECT) {
				/* Held past the lock: followed under the write lock (one copy a
				 * round: a region moves one copy at a time). */
				if (*moved_from < 0) {
					*moved_from = server;
					remote_mem_server_hold(rm, server);
				}
				f.what[0] = '\0';
				break;
			}
			if (next == REMOTE_MEM_NEXT_FAIL)
				break;
			/* Reopened after a stale epoch: this copy alone, again. */
			io = (struct mem_proto_io){.handle = atomic_load(&cp->handle),
						   .epoch = atomic_load(&cp->epoch),
						   .offset = in,
						   .npages = npages};
			mem_proto_io_put((uint8_t *)fabric_sbuf(rm->servers[server].conn[ch]) +
						 MP_HDR_LEN,
					 &io);
			memcpy((uint8_t *)fabric_sbuf(rm->servers[server].conn[ch]) + MP_HDR_LEN +
				       MP_IO_LEN,
			       rm->stage[ch], bytes);
			rc = mem_client_exchange(rm->servers[server].conn[ch], ++rm->next_id[ch],
						 MP_WRITE, MP_IO_LEN + bytes, rm->timeout_ms, &r);
		}
		if (f.what[0] && (rc || r.status != MP_OK)) {
			remote_mem_note_failure(rm, server, &f, last);
			remote_mem_copy_failed(rm, idx, cp, &f);
		}
	}
	if (*moved_from < 0)
		first_copy_label(rm, g, last);
	return ok_live;
}

int remote_mem_io_write(struct remote_mem *rm, int ch, uint64_t off, unsigned npages)
{
	int idx = remote_mem_region_of(rm, off);
	struct remote_mem_region *g = &rm->regions[idx];
	uint64_t in = off - (uint64_t)idx * rm->region_size;
	struct remote_mem_last_failure last = {0};

	for (int redirects = 0; redirects < 4; redirects++) {
		char owner[MP_OWNER_LEN + 1] = "";
		int moved_from = -1, ok;

		pthread_rwlock_rdlock(&g->lock);
		ok = write_round(rm, idx, ch, in, npages, owner, sizeof(owner), &moved_from, &last);
		pthread_rwlock_unlock(&g->lock);
		/* The round went to every copy in use and dropped each one that failed, so it is
		 * done once a live copy took it (another thread may meanwhile lose a copy that
		 * did: that one no longer counts). A moved copy is followed and written again:
		 * a write is idempotent. */
		if (moved_from < 0 && ok > 0)
			return 0;
		if (moved_from < 0 || follow(rm, idx, moved_from, owner, ch, &last))
			break;
	}
	io_failed(rm, idx, &last);
	return -1;
}

void remote_mem_io_read_counts(struct remote_mem *rm, uint64_t *rma, uint64_t *msg)
{
	*rma = atomic_load(&rm->reads_rma);
	*msg = atomic_load(&rm->reads_msg);
}
