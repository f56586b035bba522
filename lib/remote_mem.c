/* remote_mem.c: connections to memory servers, region opening, page read and write-back. */
#include "remote_mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fabric.h"
#include "log.h"
#include "parse.h"

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

/* One request/reply on (server, ch): the request body is already at sbuf + MP_HDR_LEN.
 * Returns the reply payload (and its length) or NULL with the error set. */
static const uint8_t *call(struct remote_mem *rm, int server, int ch, unsigned op, size_t body_len,
			   size_t *reply_len, enum mp_status *status)
{
	struct fab_conn *c = rm->servers[server].conn[ch];
	struct wire_hdr h = {.magic = MP_MAGIC,
			     .version = MP_VERSION,
			     .op = (uint16_t)op,
			     .id = ++rm->next_id[ch],
			     .len = (uint32_t)body_len};
	struct wire_hdr r;
	const char *err = NULL;
	size_t len = 0;
	int rc;

	*status = MP_EIO;
	mp_hdr_put(fab_sbuf(c), &h);
	rc = fab_call(c, MP_HDR_LEN + body_len, &len, rm->timeout_ms);
	if (rc) {
		set_error(rm, server, "%s failed: %s", mp_op_name(op),
			  rc == -ENOTCONN    ? "connection lost (server gone?)"
			  : rc == -ETIMEDOUT ? "no reply in time"
					     : strerror(-rc));
		return NULL;
	}
	if (mp_hdr_get(fab_rbuf(c), len, &r, &err) || r.op != (op | MP_REPLY) || r.id != h.id ||
	    r.status > MP_STATUS_MAX) {
		set_error(rm, server, "malformed %s reply (%s)", mp_op_name(op),
			  err ? err : "wrong op, id or status");
		return NULL;
	}
	*status = (enum mp_status)r.status;
	*reply_len = r.len;
	return (const uint8_t *)fab_rbuf(c) + MP_HDR_LEN;
}

/* The text an error reply carries, NUL-terminated into buf. */
static const char *reply_text(const uint8_t *p, size_t len, char *buf, size_t blen)
{
	size_t n = len < blen - 1 ? len : blen - 1;

	memcpy(buf, p, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			buf[i] = '?';
	return buf;
}

static int hello(struct remote_mem *rm, int server, int ch, const char *client)
{
	struct rm_server *s = &rm->servers[server];
	struct mp_hello m = {.vnode = rm->vnode};
	struct mp_hello_reply r;
	enum mp_status st;
	const uint8_t *p;
	size_t len;
	char text[MP_ERRTEXT_MAX + 1];

	snprintf(m.name, sizeof(m.name), "%s", client);
	mp_hello_put((uint8_t *)fab_sbuf(s->conn[ch]) + MP_HDR_LEN, &m);
	p = call(rm, server, ch, MP_HELLO, MP_HELLO_LEN, &len, &st);
	if (!p)
		return -1;
	if (st != MP_OK) {
		set_error(rm, server, "HELLO refused: %s: %s", mp_status_name(st),
			  reply_text(p, len, text, sizeof(text)));
		return -1;
	}
	if (mp_hello_reply_get(p, len, &r) != MP_OK) {
		set_error(rm, server, "malformed HELLO reply");
		return -1;
	}
	snprintf(s->name, sizeof(s->name), "%s", r.name);
	s->rma = rm->use_rma && (r.flags & MP_HELLO_RMA) && fab_has_rma(s->conn[ch]);
	return 0;
}

static int open_region(struct remote_mem *rm, int idx, bool create)
{
	struct rm_region *g = &rm->regions[idx];
	struct fab_conn *c = rm->servers[g->server].conn[0];
	struct mp_open m = {
		.index = (uint32_t)idx, .flags = create ? MP_OPEN_CREATE : 0, .size = g->size};
	struct mp_open_reply r;
	enum mp_status st;
	const uint8_t *p;
	size_t len;
	char text[MP_ERRTEXT_MAX + 1];

	mp_open_put((uint8_t *)fab_sbuf(c) + MP_HDR_LEN, &m);
	p = call(rm, g->server, 0, MP_OPEN, MP_OPEN_LEN, &len, &st);
	if (!p)
		return -1;
	if (st != MP_OK) {
		set_error(rm, g->server, "cannot open vRegion %d (%llu MiB): %s: %s", idx,
			  (unsigned long long)(g->size >> 20), mp_status_name(st),
			  reply_text(p, len, text, sizeof(text)));
		return -1;
	}
	if (mp_open_reply_get(p, len, &r) != MP_OK || r.size != g->size) {
		set_error(rm, g->server, "malformed OPEN reply for vRegion %d", idx);
		return -1;
	}
	g->handle = r.handle;
	g->epoch = r.epoch;
	g->rma_addr = r.rma_addr;
	g->rma_key = r.rma_key;
	return 0;
}

int remote_mem_open(struct remote_mem *rm, const struct rm_config *cfg, uint64_t ram_size,
		    int nr_channels)
{
	char label[400];

	memset(rm, 0, sizeof(*rm));
	pthread_mutex_init(&rm->error_lock, NULL);
	rm->vnode = cfg->vnode;
	rm->ram_size = ram_size;
	rm->region_size = cfg->region_size;
	rm->timeout_ms = cfg->timeout_ms;
	rm->use_rma = cfg->use_rma;
	rm->nr_servers = cfg->nr_servers;
	rm->nr_channels = nr_channels;
	rm->nr_regions = (int)((ram_size + cfg->region_size - 1) / cfg->region_size);
	rm->regions = calloc((size_t)rm->nr_regions, sizeof(*rm->regions));
	if (!rm->regions) {
		snprintf(rm->error, sizeof(rm->error), "out of memory");
		return -1;
	}
	for (int s = 0; s < rm->nr_servers; s++) {
		struct rm_server *sv = &rm->servers[s];

		if (rm_parse_server(cfg->servers[s], sv->host, sizeof(sv->host), sv->port,
				    sizeof(sv->port))) {
			snprintf(rm->error, sizeof(rm->error),
				 "memory server '%s' is not HOST:PORT", cfg->servers[s]);
			return -1;
		}
		for (int ch = 0; ch < nr_channels; ch++) {
			int rc = fab_connect(cfg->provider, sv->host, sv->port, MP_MAX_MSG,
					     rm->timeout_ms, &sv->conn[ch]);

			if (rc) {
				sv->conn[ch] = NULL;
				set_error(rm, s, "cannot connect: %s",
					  rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
				return -1;
			}
			if (hello(rm, s, ch, cfg->client_name))
				return -1;
		}
		log_info("%s: connected (%d channel%s, page reads by %s)",
			 remote_mem_server_label(rm, s, label, sizeof(label)), nr_channels,
			 nr_channels == 1 ? "" : "s", sv->rma ? "RMA" : "messages");
	}
	for (int i = 0; i < rm->nr_regions; i++) {
		struct rm_region *g = &rm->regions[i];
		uint64_t start = (uint64_t)i * rm->region_size;

		g->server = cfg->owners ? cfg->owners[i] : i % rm->nr_servers;
		if (g->server < 0 || g->server >= rm->nr_servers) {
			snprintf(rm->error, sizeof(rm->error),
				 "vRegion %d: owner %d is not a memory server (0..%d)", i,
				 g->server, rm->nr_servers - 1);
			return -1;
		}
		g->size = ram_size - start < rm->region_size ? ram_size - start : rm->region_size;
		if (open_region(rm, i, true))
			return -1;
		log_debug("vRegion %d: [%llu MiB, +%llu MiB) on %s handle %llx epoch %llu", i,
			  (unsigned long long)(start >> 20), (unsigned long long)(g->size >> 20),
			  rm->servers[g->server].name, (unsigned long long)g->handle,
			  (unsigned long long)g->epoch);
	}
	return 0;
}

void remote_mem_close(struct remote_mem *rm, bool free_regions)
{
	for (int i = 0; free_regions && rm->regions && i < rm->nr_regions; i++) {
		struct rm_region *g = &rm->regions[i];
		struct fab_conn *c = rm->servers[g->server].conn[0];
		struct mp_close m = {.handle = g->handle, .epoch = g->epoch};
		enum mp_status st;
		size_t len;

		if (!g->handle || !c || fab_broken(c))
			continue;
		mp_close_put((uint8_t *)fab_sbuf(c) + MP_HDR_LEN, &m);
		if (call(rm, g->server, 0, MP_CLOSE, MP_CLOSE_LEN, &len, &st) && st != MP_OK)
			log_warn("vRegion %d: CLOSE refused: %s", i, mp_status_name(st));
	}
	for (int s = 0; s < rm->nr_servers; s++)
		for (int ch = 0; ch < rm->nr_channels; ch++)
			if (rm->servers[s].conn[ch])
				fab_close(rm->servers[s].conn[ch]);
	free(rm->regions);
	pthread_mutex_destroy(&rm->error_lock);
	memset(rm, 0, sizeof(*rm));
}

int remote_mem_region_of(const struct remote_mem *rm, uint64_t off)
{
	return (int)(off / rm->region_size);
}

/* An error status for a page request: stale epoch reopens once; the rest are fatal. */
static int io_status(struct remote_mem *rm, int idx, enum mp_status st, const uint8_t *p,
		     size_t len, bool *retry)
{
	char text[MP_ERRTEXT_MAX + 1];

	reply_text(p, len, text, sizeof(text));
	if (st == MP_ESTALE && !*retry) {
		*retry = true;
		return open_region(rm, idx, false);
	}
	if (st == MP_EREDIRECT)
		set_error(rm, rm->regions[idx].server,
			  "no longer holds vRegion %d (moved to '%s'); following a redirect needs "
			  "the control plane",
			  idx, text);
	else
		set_error(rm, rm->regions[idx].server,
			  "page request for vRegion %d refused: %s: %s", idx, mp_status_name(st),
			  text);
	*retry = false;
	return -1;
}

const void *remote_mem_read(struct remote_mem *rm, int ch, uint64_t off, unsigned npages)
{
	int idx = remote_mem_region_of(rm, off);
	struct rm_region *g = &rm->regions[idx];
	struct rm_server *s = &rm->servers[g->server];
	struct fab_conn *c = s->conn[ch];
	uint64_t in = off - (uint64_t)idx * rm->region_size;
	bool retry = false;

	if (s->rma && g->rma_key) {
		int rc = fab_rma_read(c, (size_t)npages * MP_PAGE_SIZE, g->rma_addr + in,
				      g->rma_key, rm->timeout_ms);

		if (rc == 0)
			return fab_rbuf(c);
		if (rc == -ENOTCONN || rc == -ETIMEDOUT) {
			set_error(rm, g->server, "RMA read failed: %s",
				  rc == -ENOTCONN ? "connection lost (server gone?)"
						  : "no completion in time");
			return NULL;
		}
		/* The server may have revoked the key (region moved): ask by message. */
		log_debug("vRegion %d: RMA read failed (%s); asking by message", idx,
			  strerror(-rc));
		if (fab_broken(c))
			return NULL;
	}
	do {
		struct mp_io io = {
			.handle = g->handle, .epoch = g->epoch, .offset = in, .npages = npages};
		enum mp_status st;
		const uint8_t *p;
		size_t len;

		mp_io_put((uint8_t *)fab_sbuf(c) + MP_HDR_LEN, &io);
		p = call(rm, g->server, ch, MP_READ, MP_IO_LEN, &len, &st);
		if (!p)
			return NULL;
		if (st == MP_OK && len == (size_t)npages * MP_PAGE_SIZE)
			return p;
		if (st == MP_OK) {
			set_error(rm, g->server, "READ reply has %zu bytes, not %u pages", len,
				  npages);
			return NULL;
		}
		if (io_status(rm, idx, st, p, len, &retry))
			return NULL;
	} while (retry);
	return NULL;
}

void *remote_mem_write_buf(struct remote_mem *rm, int ch, uint64_t off)
{
	int server = rm->regions[remote_mem_region_of(rm, off)].server;

	return (uint8_t *)fab_sbuf(rm->servers[server].conn[ch]) + MP_HDR_LEN + MP_IO_LEN;
}

int remote_mem_write(struct remote_mem *rm, int ch, uint64_t off, unsigned npages)
{
	int idx = remote_mem_region_of(rm, off);
	struct rm_region *g = &rm->regions[idx];
	struct fab_conn *c = rm->servers[g->server].conn[ch];
	size_t bytes = (size_t)npages * MP_PAGE_SIZE;
	bool retry = false;

	do {
		struct mp_io io = {.handle = g->handle,
				   .epoch = g->epoch,
				   .offset = off - (uint64_t)idx * rm->region_size,
				   .npages = npages};
		enum mp_status st;
		const uint8_t *p;
		size_t len;

		mp_io_put((uint8_t *)fab_sbuf(c) + MP_HDR_LEN, &io);
		p = call(rm, g->server, ch, MP_WRITE, MP_IO_LEN + bytes, &len, &st);
		if (!p)
			return -1;
		if (st == MP_OK)
			return 0;
		if (io_status(rm, idx, st, p, len, &retry))
			return -1;
	} while (retry);
	return -1;
}
