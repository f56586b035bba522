/* blk_smon.c: block backend on a lego-smon volume: a queue served by one thread per
 * connection, each with one request in flight; requests survive a server restart. */
#include "blk_backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/client/smon_client.h"

#define CALL_TIMEOUT_MS	  5000 /* one call; a request may take several */
#define BACKOFF_MIN_MS	  5
#define BACKOFF_MAX_MS	  500
#define PROBE_INTERVAL_MS 1000
/* The inline channel's waiter is a vCPU that would wait anyway: polling through a disk
 * read (~60 us) saves the slower wake-up of a sleeping CPU. */
#define INLINE_SPIN_US 250

struct blk_smon;

struct smon_channel {
	struct blk_smon *b;
	struct smon_client *cl;
	pthread_t thread;
	int index;
};

struct blk_smon {
	struct blk_backend be;
	char vol[SP_VOL_LEN + 1];
	char server[300];
	int timeout_ms;
	uint64_t size;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct blk_backend_req *head, **tail;
	bool stopping;
	uint64_t outage_since; /* ms when the server became unreachable; 0 while it is fine */
	uint64_t last_probe;   /* ms of the last reconnect attempt after the deadline */
	int nr_channels;
	struct smon_channel ch[BLK_SMON_MAX_CHANNELS];
	/* The submitting thread's own channel for may_wait requests (one attempt there; a
	 * failure hands the request to the queue, so a vCPU never waits out an outage). */
	struct smon_channel inline_ch;
	pthread_mutex_t inline_lock;
	atomic_uint_fast64_t retries, failures;
};

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Copy between an iovec array (from byte skip on) and a flat buffer. */
static void iov_xfer(const struct iovec *iov, int cnt, uint64_t skip, void *flat, size_t len,
		     bool to_flat)
{
	uint8_t *p = flat;

	for (int i = 0; i < cnt && len; i++) {
		size_t n;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - skip;
		if (n > len)
			n = len;
		if (to_flat)
			memcpy(p, (uint8_t *)iov[i].iov_base + skip, n);
		else
			memcpy((uint8_t *)iov[i].iov_base + skip, p, n);
		p += n;
		len -= n;
		skip = 0;
	}
}

/* One attempt at the whole request, in pieces of at most SP_MAX_IO. */
static int attempt(struct smon_channel *c, struct blk_backend_req *req)
{
	struct blk_smon *b = c->b;
	uint64_t off = req->sector * BLK_SECTOR_SIZE, done = 0;

	if (req->type == BLK_REQ_FLUSH)
		return smon_client_vol_flush(c->cl, b->vol);
	while (done < req->len) {
		uint32_t n = req->len - done < SP_MAX_IO ? (uint32_t)(req->len - done) : SP_MAX_IO;
		const void *data;
		int rc;

		if (req->type == BLK_REQ_WRITE) {
			iov_xfer(req->iov, req->iovcnt, done, smon_client_write_buf(c->cl), n,
				 true);
			rc = smon_client_vol_write_buf(c->cl, b->vol, off + done, n);
		} else {
			rc = smon_client_vol_read_ref(c->cl, b->vol, off + done, n, &data);
			if (!rc)
				iov_xfer(req->iov, req->iovcnt, done, (void *)data, n, false);
		}
		if (rc)
			return rc;
		done += n;
	}
	return 0;
}

/* The server is unreachable: when that began (now, if this is the first to notice). */
static uint64_t note_outage(struct blk_smon *b, const char *why)
{
	uint64_t since;

	pthread_mutex_lock(&b->lock);
	if (!b->outage_since) {
		b->outage_since = (uint64_t)mono_clock_ms();
		log_warn("storage server %s: %s; retrying requests for up to %d ms", b->server, why,
			 b->timeout_ms);
	}
	since = b->outage_since;
	pthread_mutex_unlock(&b->lock);
	return since;
}

static void note_back(struct blk_smon *b)
{
	pthread_mutex_lock(&b->lock);
	if (b->outage_since)
		log_info("storage server %s: reachable again after %llu ms, requests resumed",
			 b->server,
			 (unsigned long long)((uint64_t)mono_clock_ms() - b->outage_since));
	b->outage_since = 0;
	pthread_mutex_unlock(&b->lock);
}

/* Past the deadline, requests fail without trying the server, except one probe a second
 * (a reconnect can take long on a dead address; thousands of them would stall the guest). */
static bool given_up(struct blk_smon *b)
{
	uint64_t now = (uint64_t)mono_clock_ms();
	bool skip = false;

	pthread_mutex_lock(&b->lock);
	if (b->outage_since && now >= b->outage_since + (uint64_t)b->timeout_ms) {
		skip = now < b->last_probe + PROBE_INTERVAL_MS;
		if (!skip)
			b->last_probe = now;
	}
	pthread_mutex_unlock(&b->lock);
	return skip;
}

/* The request, retried on fresh connections while the server is unreachable. Writes are
 * idempotent (same bytes, same place), so sending one again is safe. */
static int execute(struct smon_channel *c, struct blk_backend_req *req)
{
	struct blk_smon *b = c->b;
	int backoff = BACKOFF_MIN_MS, rc;
	bool failed_once = false;

	for (;;) {
		if (smon_client_broken(c->cl) && given_up(b)) {
			atomic_fetch_add(&b->failures, 1);
			return -EIO;
		}
		rc = smon_client_broken(c->cl) ? smon_client_reconnect(c->cl) : 0;
		if (!rc) {
			rc = attempt(c, req);
			if (!rc) {
				if (failed_once)
					note_back(b);
				return 0;
			}
			if (!smon_client_broken(c->cl)) {
				/* The server answered: no point in asking again. */
				log_error("storage server %s refused a request on volume '%s': %s",
					  b->server, b->vol, smon_client_error(c->cl));
				atomic_fetch_add(&b->failures, 1);
				return -EIO;
			}
		}
		failed_once = true;
		/* The deadline counts from the start of the outage, not of this request: once
		 * it has passed, requests fail at once until the server is back. */
		if ((uint64_t)mono_clock_ms() >=
		    note_outage(b, smon_client_error(c->cl)) + (uint64_t)b->timeout_ms) {
			if (atomic_fetch_add(&b->failures, 1) < 10)
				log_error(
					"storage server %s unreachable for over %d ms: a %llu-byte "
					"request on volume '%s' fails with an I/O error",
					b->server, b->timeout_ms, (unsigned long long)req->len,
					b->vol);
			return -EIO;
		}
		atomic_fetch_add(&b->retries, 1);
		sleep_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
}

/* Reconnect the submitters' inline channel if it broke while the server is believed up
 * (until then, may_wait requests take the queue). */
static void fix_inline(struct blk_smon *b)
{
	bool up;

	if (!smon_client_broken(b->inline_ch.cl))
		return;
	pthread_mutex_lock(&b->lock);
	up = !b->outage_since;
	pthread_mutex_unlock(&b->lock);
	if (up && !pthread_mutex_trylock(&b->inline_lock)) {
		if (smon_client_broken(b->inline_ch.cl))
			smon_client_reconnect(b->inline_ch.cl);
		pthread_mutex_unlock(&b->inline_lock);
	}
}

static void *channel_thread(void *arg)
{
	struct smon_channel *c = arg;
	struct blk_smon *b = c->b;

	for (;;) {
		struct blk_backend_req *req;

		pthread_mutex_lock(&b->lock);
		while (!b->head && !b->stopping)
			pthread_cond_wait(&b->cond, &b->lock);
		req = b->head;
		if (req) {
			b->head = req->be_next;
			if (!b->head)
				b->tail = &b->head;
		}
		pthread_mutex_unlock(&b->lock);
		if (!req)
			return NULL;
		req->complete(req, execute(c, req));
		fix_inline(b);
	}
}

static void blk_smon_submit(struct blk_backend *be, struct blk_backend_req *req)
{
	struct blk_smon *b = (struct blk_smon *)be;

	if (req->type == BLK_REQ_WRITE && be->read_only) {
		req->complete(req, -EROFS);
		return;
	}
	if (req->may_wait && !pthread_mutex_trylock(&b->inline_lock)) {
		struct smon_channel *c = &b->inline_ch;
		int rc = smon_client_broken(c->cl) ? -ENOTCONN : attempt(c, req);

		if (rc && !smon_client_broken(c->cl)) {
			log_error("storage server %s refused a request on volume '%s': %s",
				  b->server, b->vol, smon_client_error(c->cl));
			atomic_fetch_add(&b->failures, 1);
			rc = -EIO;
		}
		/* A broken inline channel is mended by a channel thread (fix_inline), never
		 * here: a connect to a dead server may take seconds. */
		pthread_mutex_unlock(&b->inline_lock);
		if (rc != -ENOTCONN && (!rc || rc == -EIO)) {
			req->complete(req, rc);
			return;
		}
	}
	req->be_next = NULL;
	pthread_mutex_lock(&b->lock);
	*b->tail = req;
	b->tail = &req->be_next;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void blk_smon_close(struct blk_backend *be)
{
	struct blk_smon *b = (struct blk_smon *)be;

	pthread_mutex_lock(&b->lock);
	b->stopping = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	for (int i = 0; i < b->nr_channels; i++) {
		pthread_join(b->ch[i].thread, NULL);
		smon_client_disconnect(b->ch[i].cl);
	}
	smon_client_disconnect(b->inline_ch.cl);
	pthread_mutex_destroy(&b->inline_lock);
	if (atomic_load(&b->retries) || atomic_load(&b->failures))
		log_info("volume '%s' on %s: %llu request attempts retried, %llu requests failed",
			 b->vol, b->server, (unsigned long long)atomic_load(&b->retries),
			 (unsigned long long)atomic_load(&b->failures));
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
}

static const struct blk_backend_ops blk_smon_ops = {
	.submit = blk_smon_submit,
	.close = blk_smon_close,
};

int blk_smon_open(const char *provider, const char *host, const char *port, const char *vol,
		  bool read_only, int channels, int timeout_ms, struct cap_holder *holder,
		  struct blk_backend **out)
{
	struct blk_smon *b;
	struct stor_proto_vol_info info;
	char err[1024];
	int rc;

	*out = NULL;
	if (!stor_proto_vol_name_ok(vol)) {
		log_error("blk-smon: '%s' is not a volume name", vol);
		return -EINVAL;
	}
	if (channels < 1 || channels > BLK_SMON_MAX_CHANNELS)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	snprintf(b->vol, sizeof(b->vol), "%s", vol);
	snprintf(b->server, sizeof(b->server), "%s:%s", host, port);
	b->timeout_ms = timeout_ms;
	b->tail = &b->head;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	pthread_mutex_init(&b->inline_lock, NULL);
	rc = smon_client_connect(provider, host, port, "lego-vmm-inline", holder, CALL_TIMEOUT_MS,
				 &b->inline_ch.cl, err, sizeof(err));
	if (rc) {
		log_error("blk-smon: storage server %s", err);
		goto fail;
	}
	b->inline_ch.b = b;
	b->inline_ch.index = -1;
	smon_client_set_spin_us(b->inline_ch.cl, INLINE_SPIN_US);
	for (int i = 0; i < channels; i++) {
		char name[SP_NAME_LEN + 1];

		snprintf(name, sizeof(name), "lego-vmm-%d", i);
		rc = smon_client_connect(provider, host, port, name, holder, CALL_TIMEOUT_MS,
					 &b->ch[i].cl, err, sizeof(err));
		if (rc) {
			log_error("blk-smon: storage server %s", err);
			goto fail;
		}
		b->ch[i].b = b;
		b->ch[i].index = i;
		b->nr_channels = i + 1;
	}
	rc = smon_client_vol_stat(b->ch[0].cl, vol, &info);
	if (rc) {
		log_error("blk-smon: volume '%s' on %s: %s", vol, b->server,
			  smon_client_error(b->ch[0].cl));
		goto fail;
	}
	b->size = info.size;
	for (int i = 0; i < b->nr_channels; i++) {
		if (pthread_create(&b->ch[i].thread, NULL, channel_thread, &b->ch[i])) {
			log_error("blk-smon: cannot start a channel thread");
			b->nr_channels = i;
			blk_smon_close(&b->be);
			return -EAGAIN;
		}
	}
	b->be.ops = &blk_smon_ops;
	b->be.sectors = info.size / BLK_SECTOR_SIZE;
	b->be.read_only = read_only;
	memset(b->be.id, 0, sizeof(b->be.id));
	memcpy(b->be.id, "lego-", 5);
	memcpy(b->be.id + 5, vol,
	       strlen(vol) < BLK_ID_BYTES - 5 ? strlen(vol) : BLK_ID_BYTES - 5); /* no NUL needed */
	log_info("blk-smon: volume '%s' on %s (%s backend): %llu sectors, %d channels%s", vol,
		 b->server,
		 smon_client_server(b->ch[0].cl)->backend == SP_BACKEND_RADOS ? "rados" : "file",
		 (unsigned long long)b->be.sectors, b->nr_channels, read_only ? ", read-only" : "");
	*out = &b->be;
	return 0;
fail:
	for (int i = 0; i < b->nr_channels; i++)
		smon_client_disconnect(b->ch[i].cl);
	smon_client_disconnect(b->inline_ch.cl);
	pthread_mutex_destroy(&b->inline_lock);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
	return rc < 0 ? rc : -EIO;
}
