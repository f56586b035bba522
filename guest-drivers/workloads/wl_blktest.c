/* wl_blktest.c: blktest: pattern write, FLUSH, read-back verify and GET_ID on virtio-blk. */
#include <stdbool.h>
#include <stdint.h>

#include "guest-drivers/runtime/alloc.h"
#include "guest-drivers/runtime/console.h"
#include "guest-drivers/runtime/fmt.h"
#include "guest-drivers/runtime/hash.h"
#include "guest-drivers/runtime/io.h"
#include "guest-drivers/runtime/kstring.h"
#include "perm.h"
#include "guest-drivers/runtime/timing.h"
#include "guest-drivers/virtio/vio_blk.h"
#include "workloads.h"

#define BT_MAX_REPORTS	 8
#define BT_MAX_IO_ERRORS 64 /* then the disk is gone: stop instead of failing every block */
#define WORDS_PER_SECTOR (VIRTIO_BLK_SECTOR / 8)

struct bt_run {
	struct vio_blk *blk;
	uint8_t *bufs;
	uint64_t bs, size, seed;
	uint64_t blocks, issued; /* bs-sized blocks in [0, size); how many were submitted */
	bool random;		 /* blktest.order=rand: blocks in a pseudo-random order */
	struct perm order;
	unsigned qd, inflight;
	uint64_t free_mask; /* bit k: buffer k is idle */
	uint64_t off[VIO_BLK_MAX_QD];
	uint32_t len[VIO_BLK_MAX_QD];
	uint64_t bad_sectors, io_errors;
	unsigned reports;
};

static uint64_t sector_word(uint64_t seed, uint64_t sector, unsigned j)
{
	return hash_mix64(hash_mix64(seed + 0x626c6b74657374ULL) ^ (sector * WORDS_PER_SECTOR + j));
}

static void fill(uint8_t *buf, uint64_t sector, uint32_t len, uint64_t seed)
{
	uint64_t *w = (uint64_t *)buf;

	for (uint32_t s = 0; s < len / VIRTIO_BLK_SECTOR; s++) {
		for (unsigned j = 0; j < WORDS_PER_SECTOR; j++)
			w[s * WORDS_PER_SECTOR + j] = sector_word(seed, sector + s, j);
	}
}

static void verify(struct bt_run *r, const uint8_t *buf, uint64_t sector, uint32_t len)
{
	const uint64_t *w = (const uint64_t *)buf;

	for (uint32_t s = 0; s < len / VIRTIO_BLK_SECTOR; s++) {
		for (unsigned j = 0; j < WORDS_PER_SECTOR; j++) {
			uint64_t want = sector_word(r->seed, sector + s, j);
			uint64_t got = w[s * WORDS_PER_SECTOR + j];

			if (want == got)
				continue;
			r->bad_sectors++;
			if (r->reports++ < BT_MAX_REPORTS)
				console_printf("blktest: sector %lu word %u: expected 0x%016lx got "
					       "0x%016lx\n",
					       sector + s, j, want, got);
			break;
		}
	}
}

/* Write (or read back and verify) [0, size) with up to qd requests in flight, block by
 * block in order or, with blktest.order=rand, in a pseudo-random order (another one for
 * the read-back, so reads do not just replay the writes). */
static int phase(struct bt_run *r, bool write, char *err, size_t errlen)
{
	r->blocks = (r->size + r->bs - 1) / r->bs;
	r->issued = 0;
	r->inflight = 0;
	r->free_mask = r->qd == 64 ? ~0ULL : (1ULL << r->qd) - 1;
	if (r->random)
		perm_init(&r->order, r->blocks,
			  hash_mix64(r->seed ^ (write ? 0x77726974ULL : 0x72656164ULL)));
	while (r->issued < r->blocks || r->inflight) {
		struct vio_blk_done done;
		uint32_t want_len;
		unsigned k;

		while (r->inflight < r->qd && r->issued < r->blocks) {
			uint64_t block = r->random ? perm_next(&r->order) : r->issued;
			uint64_t off = block * r->bs;
			uint64_t len = r->size - off < r->bs ? r->size - off : r->bs;
			uint8_t *buf;

			k = (unsigned)__builtin_ctzll(r->free_mask);
			buf = r->bufs + k * r->bs;
			if (write)
				fill(buf, off / VIRTIO_BLK_SECTOR, (uint32_t)len, r->seed);
			else
				memset(buf, 0x5a, len); /* stale data must not pass */
			if (vio_blk_submit(r->blk, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
					   off / VIRTIO_BLK_SECTOR, buf, (uint32_t)len, k)) {
				fmt_snprintf(err, errlen, "virtio-blk ring unexpectedly full");
				return -1;
			}
			r->free_mask &= ~(1ULL << k);
			r->off[k] = off;
			r->len[k] = (uint32_t)len;
			r->inflight++;
			r->issued++;
		}
		if (vio_blk_wait(r->blk, &done, VIO_BLK_IO_TIMEOUT_MS, err, errlen))
			return -1;
		k = (unsigned)done.tag;
		r->inflight--;
		r->free_mask |= 1ULL << k;
		want_len = write ? 1 : r->len[k] + 1;
		if (done.status != VIRTIO_BLK_S_OK || done.len != want_len) {
			if (++r->io_errors >= BT_MAX_IO_ERRORS) {
				fmt_snprintf(err, errlen, "giving up after %lu I/O errors",
					     r->io_errors);
				return -1;
			}
			if (r->reports++ < BT_MAX_REPORTS)
				console_printf(
					"blktest: %s of %u bytes at sector %lu: status %u, used "
					"len "
					"%u (expected 0 and %u)\n",
					write ? "write" : "read", r->len[k],
					r->off[k] / VIRTIO_BLK_SECTOR, done.status, done.len,
					want_len);
			continue;
		}
		if (!write)
			verify(r, r->bufs + k * r->bs, r->off[k] / VIRTIO_BLK_SECTOR, r->len[k]);
	}
	return 0;
}

/* GET_ID: a non-empty printable string of at most 20 bytes; copied (sanitised) to id. */
static int get_id(struct vio_blk *b, char *id, size_t idlen, char *err, size_t errlen)
{
	uint8_t *buf = alloc_bytes(VIRTIO_BLK_ID_BYTES, 64);
	uint8_t status;
	uint32_t used, n;

	if (!buf) {
		fmt_snprintf(err, errlen, "out of memory for GET_ID");
		return -1;
	}
	if (vio_blk_io(b, VIRTIO_BLK_T_GET_ID, 0, buf, VIRTIO_BLK_ID_BYTES, &status, &used, err,
		       errlen))
		return -1;
	if (status != VIRTIO_BLK_S_OK) {
		fmt_snprintf(err, errlen, "GET_ID status %u", status);
		return -1;
	}
	n = (uint32_t)strnlen((const char *)buf, VIRTIO_BLK_ID_BYTES);
	if (!n) {
		fmt_snprintf(err, errlen, "GET_ID returned an empty string");
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (buf[i] < 0x20 || buf[i] > 0x7e) {
			fmt_snprintf(err, errlen, "GET_ID byte %u is 0x%02x, not printable", i,
				     buf[i]);
			return -1;
		}
	}
	if (used < 2 || used > VIRTIO_BLK_ID_BYTES + 1) {
		fmt_snprintf(err, errlen, "GET_ID used len %u (expected 2..%u)", used,
			     VIRTIO_BLK_ID_BYTES + 1);
		return -1;
	}
	for (uint32_t i = 0; i < n && i + 1 < idlen; i++) {
		id[i] = buf[i] == ' ' ? '_' : (char)buf[i];
		id[i + 1] = '\0';
	}
	return 0;
}

static bool fail(const struct cmdline_opts *o, uint64_t size, const char *reason, const char *msg)
{
	console_printf("blktest: %s\n", msg);
	console_printf("RESULT blktest FAIL bytes=%lu bs=%lu qd=%lu seed=%lu errors=1 reason=%s\n",
		       size, o->blktest_bs, o->blktest_qd, o->blktest_seed, reason);
	return false;
}

bool wl_blktest(const struct workloads_ctx *ctx)
{
	static struct vio_blk blk;
	static struct bt_run run;
	const struct cmdline_opts *o = ctx->opts;
	uint64_t mark = alloc_mark(), start = io_rdtsc(), t, write_us, read_us, base, errors;
	uint64_t size = o->blktest_size;
	char err[200], id[VIRTIO_BLK_ID_BYTES + 1] = "";
	bool ok = false;

	memset(&blk, 0, sizeof(blk));
	memset(&run, 0, sizeof(run));
	if (vio_blk_find(ctx->bi, &base, err, sizeof(err)))
		return fail(o, size, "no-device", err);
	if (vio_blk_init(&blk, base, err, sizeof(err))) {
		ok = fail(o, size, "init", err);
		goto out;
	}
	if (!size)
		size = blk.capacity * VIRTIO_BLK_SECTOR < BLKTEST_DEFAULT_SIZE
			       ? blk.capacity * VIRTIO_BLK_SECTOR
			       : BLKTEST_DEFAULT_SIZE;
	if (!size || size / VIRTIO_BLK_SECTOR > blk.capacity) {
		fmt_snprintf(err, sizeof(err), "blktest.size=%lu but the disk has %lu bytes", size,
			     blk.capacity * VIRTIO_BLK_SECTOR);
		ok = fail(o, size, "disk-too-small", err);
		goto out;
	}
	if (blk.read_only) {
		ok = fail(o, size, "read-only", "the disk is read-only: cannot write the pattern");
		goto out;
	}
	if (o->blktest_qd * 3 > blk.vq.num) {
		fmt_snprintf(err, sizeof(err), "blktest.qd=%lu needs %lu descriptors, queue has %u",
			     o->blktest_qd, o->blktest_qd * 3, blk.vq.num);
		ok = fail(o, size, "qd", err);
		goto out;
	}
	run.blk = &blk;
	run.bs = o->blktest_bs;
	run.qd = (unsigned)o->blktest_qd;
	run.size = size;
	run.seed = o->blktest_seed;
	run.random = o->blktest_order == CMDLINE_BLKTEST_RAND;
	run.bufs = alloc_bytes(run.bs * run.qd, 4096);
	if (!run.bufs) {
		ok = fail(o, size, "no-memory", "no guest memory for the I/O buffers");
		goto out;
	}
	console_printf(
		"blktest: virtio-blk@0x%lx: %lu sectors, blk_size %u%s; %lu bytes, bs %lu, qd %u\n",
		base, blk.capacity, blk.blk_size, blk.has_flush ? ", flush" : "", size, run.bs,
		run.qd);

	t = io_rdtsc();
	if (phase(&run, true, err, sizeof(err))) {
		ok = fail(o, size, "write", err);
		goto out;
	}
	if (blk.has_flush) {
		uint8_t status;
		uint32_t used;

		if (vio_blk_io(&blk, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &status, &used, err,
			       sizeof(err))) {
			ok = fail(o, size, "flush", err);
			goto out;
		}
		if (status != VIRTIO_BLK_S_OK || used != 1) {
			console_printf(
				"blktest: FLUSH: status %u, used len %u (expected 0 and 1)\n",
				status, used);
			run.io_errors++;
		}
	} else {
		console_printf("blktest: the device does not offer FLUSH: not flushed\n");
	}
	write_us = timing_elapsed_us(t);
	t = io_rdtsc();
	if (phase(&run, false, err, sizeof(err))) {
		ok = fail(o, size, "read", err);
		goto out;
	}
	read_us = timing_elapsed_us(t);
	if (get_id(&blk, id, sizeof(id), err, sizeof(err))) {
		console_printf("blktest: %s\n", err);
		run.io_errors++;
	}
	errors = run.bad_sectors + run.io_errors;
	ok = errors == 0;
	console_printf(
		"RESULT blktest %s bytes=%lu bs=%lu qd=%u order=%s seed=%lu errors=%lu "
		"bad_sectors=%lu write_ms=%lu read_ms=%lu write_us=%lu read_us=%lu ms=%lu id=%s\n",
		ok ? "PASS" : "FAIL", size, run.bs, run.qd, run.random ? "rand" : "seq", run.seed,
		errors, run.bad_sectors, write_us / 1000, read_us / 1000, write_us, read_us,
		timing_elapsed_ms(start), id[0] ? id : "-");
out:
	vio_blk_shutdown(&blk);
	alloc_release(mark);
	return ok;
}
