/* mmon_fill.c: copy a vRegion's pages from another memory server into a joining copy. */
#include "mmon_fill.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/client/mem_client.h"
#include "lib/mono_clock.h"
#include "lib/parse.h"
#include "lib/proto/wire.h"

struct fill_job {
	struct mmon_fill_ctx ctx;
	char provider[64], server[MP_NAME_LEN + 1];
	uint64_t vnode;
	struct mp_fill req;
	struct mmon_region *r;
	uint64_t next_id;
	char error[MP_ERRTEXT_MAX + 1];
};

/* One request to the source; the reply's payload, or NULL with job->error set. */
static const uint8_t *ask(struct fill_job *j, struct fab_conn *c, unsigned op, size_t body_len,
			  size_t *len)
{
	struct mc_reply r;
	enum mc_result rc = mc_call(c, ++j->next_id, op, body_len, j->ctx.timeout_ms, &r);
	char text[MP_ERRTEXT_MAX + 1];

	if (rc) {
		snprintf(j->error, sizeof(j->error), "source %s: %s: %s", j->req.src_addr,
			 mp_op_name(op), mc_result_text(rc));
		return NULL;
	}
	if (r.status != MP_OK) {
		snprintf(j->error, sizeof(j->error), "source %s refused %s: %s: %s",
			 j->req.src_addr, mp_op_name(op), mp_status_name(r.status),
			 mc_reply_text(&r, text, sizeof(text)));
		return NULL;
	}
	*len = r.len;
	return r.payload;
}

static int connect_source(struct fill_job *j, struct fab_conn **out)
{
	char host[MP_ADDR_LEN + 1], port[16];
	struct mp_hello m = {.vnode = j->vnode};
	struct mp_hello_reply hr;
	const uint8_t *p;
	size_t len;
	int rc;

	if (parse_hostport(j->req.src_addr, 1, host, sizeof(host), port, sizeof(port))) {
		snprintf(j->error, sizeof(j->error), "source '%s' is not HOST:PORT",
			 j->req.src_addr);
		return -1;
	}
	rc = fab_connect(j->provider, host, port, MP_MAX_MSG, j->ctx.timeout_ms, out);
	if (rc) {
		*out = NULL;
		snprintf(j->error, sizeof(j->error), "cannot connect to the source %s: %s",
			 j->req.src_addr, rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		return -1;
	}
	snprintf(m.name, sizeof(m.name), "fill:%.27s", j->server);
	mp_hello_put((uint8_t *)fab_sbuf(*out) + MP_HDR_LEN, &m);
	p = ask(j, *out, MP_HELLO, MP_HELLO_LEN, &len);
	if (!p)
		return -1;
	if (mp_hello_reply_get(p, len, &hr) != MP_OK) {
		snprintf(j->error, sizeof(j->error), "source %s: malformed HELLO reply",
			 j->req.src_addr);
		return -1;
	}
	return 0;
}

/* The source's stored bitmap of the whole region (npages bits, rounded up to 64). */
static uint64_t *source_bitmap(struct fill_job *j, struct fab_conn *c, uint64_t npages)
{
	uint64_t words = (npages + 63) / 64, *bits = calloc(words ? words : 1, 8);

	if (!bits) {
		snprintf(j->error, sizeof(j->error), "out of memory for the bitmap");
		return NULL;
	}
	for (uint64_t w = 0; w < words;) {
		uint64_t n = words - w > MP_BITMAP_MAX / 64 ? MP_BITMAP_MAX / 64 : words - w;
		struct mp_bitmap m = {.handle = j->req.src_handle,
				      .epoch = j->req.src_epoch,
				      .first = w * 64,
				      .npages = (uint32_t)(n * 64)};
		const uint8_t *p;
		size_t len;

		mp_bitmap_put((uint8_t *)fab_sbuf(c) + MP_HDR_LEN, &m);
		p = ask(j, c, MP_BITMAP, MP_BITMAP_LEN, &len);
		if (!p) {
			free(bits);
			return NULL;
		}
		if (len != n * 8) {
			snprintf(j->error, sizeof(j->error),
				 "source %s: BITMAP reply of %zu bytes, not %llu", j->req.src_addr,
				 len, (unsigned long long)(n * 8));
			free(bits);
			return NULL;
		}
		for (uint64_t i = 0; i < n; i++)
			bits[w + i] = get_le64(p + 8 * i);
		w += n;
	}
	return bits;
}

static bool held(const uint64_t *bits, uint64_t pg)
{
	return bits[pg / 64] >> (pg % 64) & 1;
}

static int copy_pages(struct fill_job *j, struct fab_conn *c, const uint64_t *bits, uint64_t npages)
{
	uint64_t total = 0, done = 0;

	for (uint64_t pg = 0; pg < npages; pg++)
		total += held(bits, pg);
	atomic_store(&j->r->fill_total, total);
	for (uint64_t pg = 0; pg < npages;) {
		uint32_t n = 0;
		struct mp_io io;
		const uint8_t *p;
		uint64_t installed;
		size_t len;

		if (!held(bits, pg)) {
			pg++;
			continue;
		}
		while (n < MP_MAX_PAGES && pg + n < npages && held(bits, pg + n))
			n++;
		io = (struct mp_io){.handle = j->req.src_handle,
				    .epoch = j->req.src_epoch,
				    .offset = pg * MP_PAGE_SIZE,
				    .npages = n};
		mp_io_put((uint8_t *)fab_sbuf(c) + MP_HDR_LEN, &io);
		p = ask(j, c, MP_READ, MP_IO_LEN, &len);
		if (!p)
			return -1;
		if (len != (size_t)n * MP_PAGE_SIZE) {
			snprintf(j->error, sizeof(j->error), "source %s: READ reply of %zu bytes",
				 j->req.src_addr, len);
			return -1;
		}
		if (mmon_pool_fill_install(j->ctx.pool, j->r, pg, n, p, &installed)) {
			snprintf(j->error, sizeof(j->error), "the copy was closed during its fill");
			return -1;
		}
		done += n;
		atomic_store(&j->r->fill_done, done);
		pg += n;
	}
	return 0;
}

static void *fill_thread(void *arg)
{
	struct fill_job *j = arg;
	struct fab_conn *c = NULL;
	uint64_t npages = j->r->size / MP_PAGE_SIZE, *bits = NULL;
	int64_t t0 = mono_ms();
	int rc = connect_source(j, &c);

	if (!rc) {
		bits = source_bitmap(j, c, npages);
		rc = bits ? copy_pages(j, c, bits, npages) : -1;
	}
	if (c)
		fab_close(c);
	free(bits);
	if (rc)
		log_warn("vNode %llu region %u: fill from %s failed: %s",
			 (unsigned long long)j->vnode, j->req.index, j->req.src_addr, j->error);
	else
		log_info("vNode %llu region %u: filled from %s: %llu pages in %lld ms",
			 (unsigned long long)j->vnode, j->req.index, j->req.src_addr,
			 (unsigned long long)atomic_load(&j->r->fill_done),
			 (long long)(mono_ms() - t0));
	mmon_pool_fill_end(j->ctx.pool, j->r, rc ? j->error : NULL);
	free(j);
	return NULL;
}

enum mp_status mmon_fill_start(const struct mmon_fill_ctx *ctx, uint64_t vnode,
			       const struct mp_fill *req, char *err, size_t errlen)
{
	struct fill_job *j = calloc(1, sizeof(*j));
	enum mp_status st;
	pthread_t t;

	if (!j) {
		snprintf(err, errlen, "out of memory");
		return MP_EIO;
	}
	j->ctx = *ctx;
	snprintf(j->provider, sizeof(j->provider), "%s", ctx->provider);
	snprintf(j->server, sizeof(j->server), "%s", ctx->server);
	j->vnode = vnode;
	j->req = *req;
	st = mmon_pool_fill_begin(ctx->pool, vnode, req->index, &j->r, err, errlen);
	if (st) {
		free(j);
		return st;
	}
	if (pthread_create(&t, NULL, fill_thread, j)) {
		mmon_pool_fill_end(ctx->pool, j->r, "cannot start the fill thread");
		free(j);
		snprintf(err, errlen, "cannot start the fill thread");
		return MP_EIO;
	}
	pthread_detach(t);
	log_info("vNode %llu region %u: filling from %s", (unsigned long long)vnode, req->index,
		 req->src_addr);
	return MP_OK;
}
