/* mmon_fill.c: copy a vRegion's pages from another memory server into a joining copy. */
#include "mmon_fill.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fabric/fabric.h"
#include "lib/log.h"
#include "lib/client/mem_client.h"
#include "lib/mono_clock.h"
#include "lib/proto/wire.h"

struct fill_job {
	struct mmon_fill_ctx ctx;
	char provider[64], server[MP_NAME_LEN + 1];
	uint64_t vnode;
	struct mem_proto_fill req;
	uint8_t cap[CAP_MAX_LEN]; /* req.cap points here */
	struct mmon_pool_region *r;
	uint64_t next_id;
	char error[MP_ERRTEXT_MAX + 1];
};

/* j->error's tail, after a prefix naming the source. */
static char *error_after(struct fill_job *j, const char *prefix, size_t *left)
{
	int n = snprintf(j->error, sizeof(j->error), "%s", prefix);

	n = n < 0 ? 0 : n >= (int)sizeof(j->error) ? (int)sizeof(j->error) - 1 : n;
	*left = sizeof(j->error) - (size_t)n;
	return j->error + n;
}

/* One request to the source; the reply's payload, or NULL with job->error set. */
static const uint8_t *ask(struct fill_job *j, struct fab_conn *c, unsigned op, size_t body_len,
			  size_t *len)
{
	struct mem_client_reply r;
	char prefix[MP_ADDR_LEN + 16];
	size_t left;
	char *err;

	snprintf(prefix, sizeof(prefix), "source %s: ", j->req.src_addr);
	err = error_after(j, prefix, &left);
	if (mem_client_call(c, ++j->next_id, op, body_len, j->ctx.timeout_ms, &r, err, left))
		return NULL;
	j->error[0] = '\0';
	*len = r.len;
	return r.payload;
}

static int connect_source(struct fill_job *j, struct fab_conn **out)
{
	char name[MP_NAME_LEN + 1];
	size_t left;
	char *err = error_after(j, "source: ", &left);
	struct mem_client_cred cred = {
		.key = j->ctx.key, .cap = j->req.cap, .cap_len = j->req.cap_len};

	snprintf(name, sizeof(name), "fill:%.27s", j->server);
	if (mem_client_connect(j->provider, j->req.src_addr, j->vnode, name, &cred,
			       j->ctx.timeout_ms, out, NULL, err, left))
		return -1;
	j->error[0] = '\0';
	j->next_id = 2; /* the HELLO's and the AUTH's */
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
		struct mem_proto_bitmap m = {.handle = j->req.src_handle,
					     .epoch = j->req.src_epoch,
					     .first = w * 64,
					     .npages = (uint32_t)(n * 64)};
		const uint8_t *p;
		size_t len;

		mem_proto_bitmap_put((uint8_t *)fabric_sbuf(c) + MP_HDR_LEN, &m);
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
			bits[w + i] = wire_get_le64(p + 8 * i);
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
		struct mem_proto_io io;
		const uint8_t *p;
		uint64_t installed;
		size_t len;

		if (!held(bits, pg)) {
			pg++;
			continue;
		}
		while (n < MP_MAX_PAGES && pg + n < npages && held(bits, pg + n))
			n++;
		io = (struct mem_proto_io){.handle = j->req.src_handle,
					   .epoch = j->req.src_epoch,
					   .offset = pg * MP_PAGE_SIZE,
					   .npages = n};
		mem_proto_io_put((uint8_t *)fabric_sbuf(c) + MP_HDR_LEN, &io);
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
	int64_t t0 = mono_clock_ms();
	int rc = connect_source(j, &c);

	if (!rc) {
		bits = source_bitmap(j, c, npages);
		rc = bits ? copy_pages(j, c, bits, npages) : -1;
	}
	if (c)
		fabric_close(c);
	free(bits);
	if (rc)
		log_warn("vNode %llu region %u: fill from %s failed: %s",
			 (unsigned long long)j->vnode, j->req.index, j->req.src_addr, j->error);
	else
		log_info("vNode %llu region %u: filled from %s: %llu pages in %lld ms",
			 (unsigned long long)j->vnode, j->req.index, j->req.src_addr,
			 (unsigned long long)atomic_load(&j->r->fill_done),
			 (long long)(mono_clock_ms() - t0));
	mmon_pool_fill_end(j->ctx.pool, j->r, rc ? j->error : NULL);
	free(j);
	return NULL;
}

enum mem_proto_status mmon_fill_start(const struct mmon_fill_ctx *ctx, uint64_t vnode,
				      const struct mem_proto_fill *req, char *err, size_t errlen)
{
	struct fill_job *j = calloc(1, sizeof(*j));
	enum mem_proto_status st;
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
	if (req->cap_len > sizeof(j->cap)) {
		free(j);
		snprintf(err, errlen, "the FILL's capability is too long");
		return MP_EINVAL;
	}
	if (req->cap_len)
		memcpy(j->cap, req->cap, req->cap_len);
	j->req.cap = req->cap_len ? j->cap : NULL;
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
