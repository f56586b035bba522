/* wl_evil.c: evil: a malicious driver posting malformed virtqueues to the disk (and, in
 * wl_evil_net.c, to a NIC); checks the VMM's reaction. */
#include <stdbool.h>
#include <stdint.h>

#include "guest-drivers/runtime/alloc.h"
#include "guest-drivers/runtime/console.h"
#include "guest-drivers/runtime/fmt.h"
#include "guest-drivers/runtime/hash.h"
#include "guest-drivers/runtime/io.h"
#include "guest-drivers/runtime/kstring.h"
#include "lib/proto/lego_guest_abi.h"
#include "guest-drivers/runtime/timing.h"
#include "guest-drivers/virtio/vio_blk.h"
#include "guest-drivers/virtio/vio_net.h"
#include "wl_evil_net.h"
#include "workloads.h"

#define EVIL_GRACE_MS	 20   /* a rejected chain must stay uncompleted this long */
#define EVIL_WAIT_MS	 5000 /* for a completion that must come */
#define CANARY_TAIL	 (64ULL << 10)
#define PAGE		 4096ULL
#define DATA_BYTES	 8192
#define POISON		 0xa5
#define STATUS_UNTOUCHED 0xee
#define RT_BYTES	 4096
#define VICTIM_BYTES	 8192
#define CANARY_SEED	 0x63616e617279ULL
#define ITABLE_BYTES	 512

struct evil {
	struct vio_blk blk;
	uint64_t ram_end;
	uint64_t capacity;
	struct virtio_blk_hdr *hdr;
	uint8_t *data;	 /* DATA_BYTES, POISON before every case */
	uint8_t *status; /* STATUS_UNTOUCHED before every case */
	struct virtio_vring_desc *itable;
	uint8_t *rt_w, *rt_r;
	uint8_t *victim_before, *victim_after;
	uint8_t *canary_lo, *canary_hi; /* pages just before and after the rings */
	uint64_t victim; /* sector that malformed writes aim at (beyond the first MiB) */
	uint64_t rt_base, rt_slots;
	uint16_t used_before;
	unsigned nr_cases, nr_failed;
};

/* ---- canaries ---------------------------------------------------------------------- */

static void canary_fill(uint64_t start, uint64_t len)
{
	for (uint64_t p = start; p < start + len; p += 8)
		*(volatile uint64_t *)(uintptr_t)p = hash_mix64(p ^ CANARY_SEED);
}

/* Number of changed words; the first is described in err. */
static uint64_t canary_check(uint64_t start, uint64_t len, char *err, size_t errlen)
{
	uint64_t bad = 0;

	for (uint64_t p = start; p < start + len; p += 8) {
		uint64_t want = hash_mix64(p ^ CANARY_SEED);
		uint64_t got = *(volatile uint64_t *)(uintptr_t)p;

		if (got != want && !bad++)
			fmt_snprintf(err, errlen, "0x%lx: expected 0x%016lx got 0x%016lx", p, want,
				     got);
	}
	return bad;
}

/* ---- raw ring access ----------------------------------------------------------------- */

static uint16_t qnum(const struct evil *e)
{
	return e->blk.vq.num;
}

static uint64_t gpa(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void set_desc(struct evil *e, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct virtio_vring_desc *d = &e->blk.vq.desc[i];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static void set_hdr(struct evil *e, uint32_t type, uint64_t sector)
{
	e->hdr->type = type;
	e->hdr->reserved = 0;
	e->hdr->sector = sector;
}

/* Standard three-descriptor request: 0 header, 1 data, 2 status. */
static void std_chain(struct evil *e, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
		      bool data_write)
{
	set_hdr(e, type, sector);
	set_desc(e, 0, gpa(e->hdr), sizeof(*e->hdr), VRING_DESC_F_NEXT, 1);
	set_desc(e, 1, data, len,
		 (uint16_t)(VRING_DESC_F_NEXT | (data_write ? VRING_DESC_F_WRITE : 0)), 2);
	set_desc(e, 2, gpa(e->status), 1, VRING_DESC_F_WRITE, 0);
}

static void set_avail_idx(struct evil *e, uint16_t idx)
{
	__atomic_store_n(&e->blk.vq.avail->idx, idx, __ATOMIC_RELEASE);
	vio_mmio_notify(&e->blk.dev, 0);
}

/* Put head in the next avail slot, publish and notify. */
static void publish(struct evil *e, uint16_t head)
{
	struct vio_ring *vq = &e->blk.vq;

	vq->avail->ring[vq->avail_idx % vq->num] = head;
	vq->avail_idx++;
	set_avail_idx(e, vq->avail_idx);
}

static bool data_untouched(const struct evil *e)
{
	for (unsigned i = 0; i < DATA_BYTES; i++) {
		if (e->data[i] != POISON)
			return false;
	}
	return true;
}

/* ---- expected reactions ---------------------------------------------------------------- */

/* Malformed: DEVICE_NEEDS_RESET set, nothing completed, no byte of ours written. */
static int expect_rejected(struct evil *e, char *err, size_t errlen)
{
	uint32_t st = vio_mmio_status(&e->blk.dev);
	uint16_t used;

	timing_delay_ms(EVIL_GRACE_MS);
	used = vio_ring_used_idx(&e->blk.vq);
	if (!(st & VIRTIO_S_DEVICE_NEEDS_RESET)) {
		fmt_snprintf(err, errlen, "DEVICE_NEEDS_RESET not set (status 0x%x)", st);
		return -1;
	}
	if (used != e->used_before) {
		fmt_snprintf(err, errlen, "the chain was completed (used idx %u -> %u)",
			     e->used_before, used);
		return -1;
	}
	if (*e->status != STATUS_UNTOUCHED) {
		fmt_snprintf(err, errlen, "status byte written (0x%02x)", *e->status);
		return -1;
	}
	if (!data_untouched(e)) {
		fmt_snprintf(err, errlen, "the device wrote into the data buffer");
		return -1;
	}
	return 0;
}

/* Well-formed but bad: completed with status want, used len 1, device still usable. */
static int expect_status(struct evil *e, uint16_t head, uint8_t want, bool check_data, char *err,
			 size_t errlen)
{
	struct vio_ring *vq = &e->blk.vq;
	const struct virtio_vring_used_elem *el;
	struct timing_deadline dl;
	uint32_t st;

	timing_deadline_start(&dl, EVIL_WAIT_MS);
	while (vio_ring_used_idx(vq) == e->used_before) {
		if (timing_deadline_passed(&dl)) {
			fmt_snprintf(err, errlen, "not completed within %u ms (status 0x%x)",
				     EVIL_WAIT_MS, vio_mmio_status(&e->blk.dev));
			return -1;
		}
		io_cpu_relax();
	}
	el = &vq->used->ring[e->used_before % vq->num];
	st = vio_mmio_status(&e->blk.dev);
	if (st & VIRTIO_S_DEVICE_NEEDS_RESET) {
		fmt_snprintf(err, errlen,
			     "device needs reset (status 0x%x): this chain is well-formed", st);
		return -1;
	}
	if (vio_ring_used_idx(vq) != (uint16_t)(e->used_before + 1) || el->id != head) {
		fmt_snprintf(err, errlen, "used idx %u, element id %u (expected %u, %u)",
			     vio_ring_used_idx(vq), el->id, (uint16_t)(e->used_before + 1), head);
		return -1;
	}
	if (*e->status != want || el->len != 1) {
		fmt_snprintf(err, errlen, "status %u, used len %u (expected status %u, len 1)",
			     *e->status, el->len, want);
		return -1;
	}
	if (check_data && !data_untouched(e)) {
		fmt_snprintf(err, errlen,
			     "the device wrote into the data buffer of a failed request");
		return -1;
	}
	return 0;
}

/* ---- recovery ------------------------------------------------------------------------- */

static int round_trip(struct evil *e, unsigned no, char *err, size_t errlen)
{
	uint64_t sector = e->rt_base + (no % e->rt_slots) * (RT_BYTES / VIRTIO_BLK_SECTOR);
	uint8_t status;
	uint32_t used;

	for (unsigned i = 0; i < RT_BYTES; i += 8)
		*(uint64_t *)(e->rt_w + i) = hash_mix64(0x7274ULL + no * RT_BYTES + i);
	memset(e->rt_r, 0, RT_BYTES);
	if (!e->blk.read_only) {
		if (vio_blk_io(&e->blk, VIRTIO_BLK_T_OUT, sector, e->rt_w, RT_BYTES, &status, &used,
			       err, errlen))
			return -1;
		if (status != VIRTIO_BLK_S_OK || used != 1) {
			fmt_snprintf(err, errlen, "round trip write: status %u len %u", status,
				     used);
			return -1;
		}
	}
	if (vio_blk_io(&e->blk, VIRTIO_BLK_T_IN, sector, e->rt_r, RT_BYTES, &status, &used, err,
		       errlen))
		return -1;
	if (status != VIRTIO_BLK_S_OK || used != RT_BYTES + 1) {
		fmt_snprintf(err, errlen, "round trip read: status %u len %u", status, used);
		return -1;
	}
	if (!e->blk.read_only && memcmp(e->rt_w, e->rt_r, RT_BYTES)) {
		fmt_snprintf(err, errlen, "round trip at sector %lu read back different data",
			     sector);
		return -1;
	}
	return 0;
}

static int recover(struct evil *e, unsigned no, char *err, size_t errlen)
{
	if (vio_mmio_reset(&e->blk.dev)) {
		fmt_snprintf(err, errlen, "Status reads 0x%x after writing 0",
			     vio_mmio_status(&e->blk.dev));
		return -1;
	}
	if (vio_blk_reinit(&e->blk, err, errlen))
		return -1;
	return round_trip(e, no, err, errlen);
}

/* ---- malformed chains: DEVICE_NEEDS_RESET, nothing completed ------------------------------ */

static int c_desc_beyond_ram(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_IN, e->rt_base, e->ram_end, VIRTIO_BLK_SECTOR, true);
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_data_past_ram_end(struct evil *e, char *err, size_t errlen)
{
	char detail[120];

	/* Half of the buffer is in RAM (the canary), half beyond: nothing may be written. */
	std_chain(e, VIRTIO_BLK_T_IN, e->rt_base, e->ram_end - PAGE, 2 * PAGE, true);
	publish(e, 0);
	if (expect_rejected(e, err, errlen))
		return -1;
	if (canary_check(e->ram_end - CANARY_TAIL, CANARY_TAIL, detail, sizeof(detail))) {
		fmt_snprintf(err, errlen, "the in-RAM part was written: %s", detail);
		return -1;
	}
	return 0;
}

static int c_desc_in_mmio(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_IN, e->rt_base, LEGO_MMIO_BASE, VIRTIO_BLK_SECTOR, true);
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_desc_addr_wraps(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_IN, e->rt_base, 0xfffffffffffff000ULL, 2 * PAGE, true);
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_desc_len_4g(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_IN, e->rt_base, gpa(e->data), 0xffffffffu, true);
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_desc_loop(struct evil *e, char *err, size_t errlen)
{
	set_hdr(e, VIRTIO_BLK_T_OUT, e->victim);
	set_desc(e, 0, gpa(e->hdr), sizeof(*e->hdr), VRING_DESC_F_NEXT, 1);
	set_desc(e, 1, gpa(e->data), VIRTIO_BLK_SECTOR, VRING_DESC_F_NEXT, 0); /* back to 0 */
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_chain_too_long(struct evil *e, char *err, size_t errlen)
{
	uint16_t num = qnum(e);

	/* Every descriptor chained, the last back to the first: longer than the queue. */
	set_hdr(e, VIRTIO_BLK_T_OUT, e->victim);
	set_desc(e, 0, gpa(e->hdr), sizeof(*e->hdr), VRING_DESC_F_NEXT, 1);
	for (uint16_t i = 1; i < num; i++)
		set_desc(e, i, gpa(e->data), VIRTIO_BLK_SECTOR, VRING_DESC_F_NEXT,
			 (uint16_t)((i + 1) % num));
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_next_out_of_range(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_OUT, e->victim, gpa(e->data), VIRTIO_BLK_SECTOR, false);
	e->blk.vq.desc[1].next = qnum(e); /* first index past the table */
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_avail_idx_jump(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_OUT, e->victim, gpa(e->data), VIRTIO_BLK_SECTOR, false);
	set_avail_idx(e, (uint16_t)(e->blk.vq.avail_idx + qnum(e) + 1));
	return expect_rejected(e, err, errlen);
}

static int c_avail_entry_out_of_range(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_OUT, e->victim, gpa(e->data), VIRTIO_BLK_SECTOR, false);
	publish(e, qnum(e));
	return expect_rejected(e, err, errlen);
}

static int c_indirect(struct evil *e, char *err, size_t errlen)
{
	/* VIRTQ_DESC_F_INDIRECT was never negotiated. The table holds a valid request; read
	 * as a plain 512-byte buffer instead, the chain is a valid write: a device that
	 * ignored the flag would complete it (and change the victim sectors). */
	set_hdr(e, VIRTIO_BLK_T_OUT, e->victim);
	memset(e->itable, 0, ITABLE_BYTES);
	e->itable[0] =
		(struct virtio_vring_desc){gpa(e->hdr), sizeof(*e->hdr), VRING_DESC_F_NEXT, 1};
	e->itable[1] =
		(struct virtio_vring_desc){gpa(e->data), VIRTIO_BLK_SECTOR, VRING_DESC_F_NEXT, 2};
	e->itable[2] = (struct virtio_vring_desc){gpa(e->status), 1, VRING_DESC_F_WRITE, 0};
	set_desc(e, 0, gpa(e->hdr), sizeof(*e->hdr), VRING_DESC_F_NEXT, 1);
	set_desc(e, 1, gpa(e->itable), ITABLE_BYTES, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 2);
	set_desc(e, 2, gpa(e->status), 1, VRING_DESC_F_WRITE, 0);
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_readable_after_writable(struct evil *e, char *err, size_t errlen)
{
	set_hdr(e, VIRTIO_BLK_T_IN, e->rt_base);
	set_desc(e, 0, gpa(e->hdr), sizeof(*e->hdr), VRING_DESC_F_NEXT, 1);
	set_desc(e, 1, gpa(e->data), VIRTIO_BLK_SECTOR, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(e, 2, gpa(e->data) + PAGE, VIRTIO_BLK_SECTOR, VRING_DESC_F_NEXT, 3);
	set_desc(e, 3, gpa(e->status), 1, VRING_DESC_F_WRITE, 0);
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_status_readable(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_OUT, e->victim, gpa(e->data), VIRTIO_BLK_SECTOR, false);
	e->blk.vq.desc[2].flags = 0; /* status buffer device-readable */
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_status_empty(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_OUT, e->victim, gpa(e->data), VIRTIO_BLK_SECTOR, false);
	e->blk.vq.desc[2].len = 0;
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_header_only(struct evil *e, char *err, size_t errlen)
{
	set_hdr(e, VIRTIO_BLK_T_FLUSH, 0);
	set_desc(e, 0, gpa(e->hdr), sizeof(*e->hdr), 0, 0);
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_header_short(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_OUT, e->victim, gpa(e->data), VIRTIO_BLK_SECTOR, false);
	e->blk.vq.desc[0].len = 8;
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

static int c_header_writable(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_IN, e->rt_base, gpa(e->data), VIRTIO_BLK_SECTOR, true);
	e->blk.vq.desc[0].flags |= VRING_DESC_F_WRITE;
	publish(e, 0);
	return expect_rejected(e, err, errlen);
}

/* ---- queue setup: QueueReady must read 0 -------------------------------------------------- */

static int queue_case(struct evil *e, uint64_t desc, uint64_t avail, uint64_t used, char *err,
		      size_t errlen)
{
	const struct vio_ring *vq = &e->blk.vq;

	if (vio_mmio_negotiate(&e->blk.dev, 0, err, errlen))
		return -1;
	if (!desc)
		desc = gpa(vq->desc);
	if (!avail)
		avail = gpa(vq->avail);
	if (!used)
		used = gpa(vq->used);
	if (!vio_mmio_queue_enable(&e->blk.dev, 0, vq->num, desc, avail, used)) {
		fmt_snprintf(err, errlen, "QueueReady reads 1 (desc 0x%lx avail 0x%lx used 0x%lx)",
			     desc, avail, used);
		return -1;
	}
	return 0;
}

static int c_queue_desc_beyond_ram(struct evil *e, char *err, size_t errlen)
{
	return queue_case(e, e->ram_end, 0, 0, err, errlen);
}

static int c_queue_avail_crosses_ram_end(struct evil *e, char *err, size_t errlen)
{
	return queue_case(e, 0, e->ram_end - 2, 0, err, errlen);
}

static int c_queue_used_in_mmio(struct evil *e, char *err, size_t errlen)
{
	return queue_case(e, 0, 0, LEGO_MMIO_BASE, err, errlen);
}

static int c_queue_desc_wraps(struct evil *e, char *err, size_t errlen)
{
	return queue_case(e, 0xfffffffffffffff0ULL, 0, 0, err, errlen);
}

static int c_queue_desc_misaligned(struct evil *e, char *err, size_t errlen)
{
	return queue_case(e, gpa(e->blk.vq.desc) + 8, 0, 0, err, errlen);
}

static int c_queue_used_misaligned(struct evil *e, char *err, size_t errlen)
{
	return queue_case(e, 0, 0, gpa(e->blk.vq.used) + 2, err, errlen);
}

static int c_no_version_1(struct evil *e, char *err, size_t errlen)
{
	const struct vio_mmio_dev *d = &e->blk.dev;
	uint32_t st;

	if (vio_mmio_reset(d)) {
		fmt_snprintf(err, errlen, "reset failed");
		return -1;
	}
	vio_mmio_set_status(d, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	vio_mmio_reg_write(d, VIRTIO_DRIVER_FEATURES_SEL, 0);
	vio_mmio_reg_write(d, VIRTIO_DRIVER_FEATURES, (uint32_t)d->device_features);
	vio_mmio_reg_write(d, VIRTIO_DRIVER_FEATURES_SEL, 1);
	vio_mmio_reg_write(d, VIRTIO_DRIVER_FEATURES, 0); /* no VIRTIO_F_VERSION_1 */
	vio_mmio_set_status(d, VIRTIO_S_FEATURES_OK);
	st = vio_mmio_status(d);
	if (st & VIRTIO_S_FEATURES_OK) {
		fmt_snprintf(err, errlen,
			     "FEATURES_OK stuck without VIRTIO_F_VERSION_1 (status 0x%x)", st);
		return -1;
	}
	return 0;
}

/* ---- well-formed, semantically bad: a status byte ----------------------------------------- */

static int c_sector_beyond_capacity(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_OUT, e->capacity, gpa(e->data), VIRTIO_BLK_SECTOR, false);
	publish(e, 0);
	return expect_status(e, 0, VIRTIO_BLK_S_IOERR, true, err, errlen);
}

static int c_sector_crosses_capacity(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_OUT, e->capacity - 1, gpa(e->data), 2 * VIRTIO_BLK_SECTOR, false);
	publish(e, 0);
	return expect_status(e, 0, VIRTIO_BLK_S_IOERR, true, err, errlen);
}

static int c_sector_overflow(struct evil *e, char *err, size_t errlen)
{
	/* sector * 512 wraps 2^64 */
	std_chain(e, VIRTIO_BLK_T_OUT, ~0ULL >> 8, gpa(e->data), VIRTIO_BLK_SECTOR, false);
	publish(e, 0);
	return expect_status(e, 0, VIRTIO_BLK_S_IOERR, true, err, errlen);
}

static int c_read_beyond_capacity(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_IN, e->capacity, gpa(e->data), VIRTIO_BLK_SECTOR, true);
	publish(e, 0);
	return expect_status(e, 0, VIRTIO_BLK_S_IOERR, true, err, errlen);
}

static int c_len_not_multiple_512(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_OUT, e->victim, gpa(e->data), 100, false);
	publish(e, 0);
	return expect_status(e, 0, VIRTIO_BLK_S_IOERR, true, err, errlen);
}

static int c_unknown_type(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, 0xff, e->victim, gpa(e->data), VIRTIO_BLK_SECTOR, false);
	publish(e, 0);
	return expect_status(e, 0, VIRTIO_BLK_S_UNSUPP, true, err, errlen);
}

static int c_read_into_readable(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_IN, e->rt_base, gpa(e->data), VIRTIO_BLK_SECTOR, false);
	publish(e, 0);
	return expect_status(e, 0, VIRTIO_BLK_S_IOERR, true, err, errlen);
}

static int c_write_from_writable(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_OUT, e->victim, gpa(e->data), VIRTIO_BLK_SECTOR, true);
	publish(e, 0);
	return expect_status(e, 0, VIRTIO_BLK_S_IOERR, true, err, errlen);
}

static int c_write_read_only(struct evil *e, char *err, size_t errlen)
{
	std_chain(e, VIRTIO_BLK_T_OUT, e->victim, gpa(e->data), VIRTIO_BLK_SECTOR, false);
	publish(e, 0);
	return expect_status(e, 0, VIRTIO_BLK_S_IOERR, true, err, errlen);
}

struct evil_case {
	const char *name;
	int (*fn)(struct evil *e, char *err, size_t errlen);
};

static const struct evil_case cases[] = {
	{"desc-beyond-ram-end", c_desc_beyond_ram},
	{"desc-straddles-ram-end", c_data_past_ram_end},
	{"desc-in-mmio-window", c_desc_in_mmio},
	{"desc-addr-wraps", c_desc_addr_wraps},
	{"desc-len-4g", c_desc_len_4g},
	{"desc-loop", c_desc_loop},
	{"chain-longer-than-queue", c_chain_too_long},
	{"next-out-of-range", c_next_out_of_range},
	{"avail-idx-jump", c_avail_idx_jump},
	{"avail-entry-out-of-range", c_avail_entry_out_of_range},
	{"indirect-desc", c_indirect},
	{"readable-after-writable", c_readable_after_writable},
	{"status-device-readable", c_status_readable},
	{"status-empty", c_status_empty},
	{"header-only", c_header_only},
	{"header-short", c_header_short},
	{"header-device-writable", c_header_writable},
	{"queue-desc-beyond-ram", c_queue_desc_beyond_ram},
	{"queue-avail-crosses-ram-end", c_queue_avail_crosses_ram_end},
	{"queue-used-in-mmio-window", c_queue_used_in_mmio},
	{"queue-desc-wraps", c_queue_desc_wraps},
	{"queue-desc-misaligned", c_queue_desc_misaligned},
	{"queue-used-misaligned", c_queue_used_misaligned},
	{"features-without-version-1", c_no_version_1},
	{"sector-beyond-capacity", c_sector_beyond_capacity},
	{"sector-crosses-capacity", c_sector_crosses_capacity},
	{"sector-overflows", c_sector_overflow},
	{"read-beyond-capacity", c_read_beyond_capacity},
	{"len-not-multiple-of-512", c_len_not_multiple_512},
	{"unknown-type", c_unknown_type},
	{"read-into-readable-buffer", c_read_into_readable},
	{"write-from-writable-buffer", c_write_from_writable},
};

/* ---- driver ------------------------------------------------------------------------------ */

static void report(struct evil *e, const char *name, int r, const char *why)
{
	e->nr_cases++;
	if (!r) {
		console_printf("evil: %s: ok\n", name);
		return;
	}
	e->nr_failed++;
	console_printf("evil: %s: FAIL %s\n", name, why);
}

static void run_case(struct evil *e, unsigned no, const char *name,
		     int (*fn)(struct evil *e, char *err, size_t errlen))
{
	char why[200] = "", rwhy[200] = "";
	int r;

	memset(e->data, POISON, DATA_BYTES);
	*e->status = STATUS_UNTOUCHED;
	e->used_before = vio_ring_used_idx(&e->blk.vq);
	r = fn(e, why, sizeof(why));
	if (recover(e, no, rwhy, sizeof(rwhy))) {
		if (!r)
			fmt_snprintf(why, sizeof(why), "device did not recover: %s", rwhy);
		else
			console_printf("evil: %s: and the device did not recover: %s\n", name,
				       rwhy);
		r = -1;
	}
	report(e, name, r, why);
}

static void *must_alloc(uint64_t size, uint64_t align, bool *ok)
{
	void *p = alloc_bytes(size, align);

	if (!p)
		*ok = false;
	return p;
}

static bool evil_fail(const char *msg)
{
	console_printf("evil: %s\n", msg);
	console_printf("RESULT evil FAIL cases=0 failed=1 reason=setup\n");
	return false;
}

/* The disk's cases (e->nr_cases and nr_failed count them); false if they could not run. */
static bool evil_blk(struct evil *e, uint64_t base)
{
	char err[200], why[200];
	bool ok = true;
	uint8_t status;
	uint32_t used;
	uint64_t bad;

	e->canary_lo = must_alloc(PAGE, PAGE, &ok);
	if (ok && vio_blk_init(&e->blk, base, err, sizeof(err))) {
		ok = evil_fail(err);
		goto out;
	}
	e->canary_hi = must_alloc(PAGE, PAGE, &ok);
	e->hdr = must_alloc(sizeof(*e->hdr), 64, &ok);
	e->status = must_alloc(1, 64, &ok);
	e->itable = must_alloc(ITABLE_BYTES, 64, &ok);
	e->data = must_alloc(DATA_BYTES, PAGE, &ok);
	e->rt_w = must_alloc(RT_BYTES, PAGE, &ok);
	e->rt_r = must_alloc(RT_BYTES, PAGE, &ok);
	e->victim_before = must_alloc(VICTIM_BYTES, PAGE, &ok);
	e->victim_after = must_alloc(VICTIM_BYTES, PAGE, &ok);
	if (!ok || alloc_top() > e->ram_end - CANARY_TAIL) {
		ok = evil_fail("not enough guest RAM for the buffers and the RAM-end canary");
		goto out;
	}
	e->capacity = e->blk.capacity;
	if (e->capacity < 64) {
		ok = evil_fail("the disk is too small (need at least 32 KiB)");
		goto out;
	}
	/* Valid round trips stay in the first MiB; malformed writes aim beyond it. */
	e->rt_base = e->capacity >= 4096 ? 128 : 0;
	e->rt_slots = (e->capacity - e->rt_base) / (RT_BYTES / VIRTIO_BLK_SECTOR);
	if (e->rt_slots > 64)
		e->rt_slots = 64;
	e->victim = e->capacity >= 8192 ? 4096 : e->capacity / 2;
	if (round_trip(e, 0, err, sizeof(err))) {
		fmt_snprintf(why, sizeof(why), "the device does not work before any attack: %s",
			     err);
		ok = evil_fail(why);
		goto out;
	}
	if (vio_blk_io(&e->blk, VIRTIO_BLK_T_IN, e->victim, e->victim_before, VICTIM_BYTES, &status,
		       &used, err, sizeof(err)) ||
	    status != VIRTIO_BLK_S_OK) {
		ok = evil_fail("cannot read the victim sectors");
		goto out;
	}
	console_printf("evil: virtio-blk@0x%lx, %lu sectors, queue %u, RAM end 0x%lx\n", base,
		       e->capacity, qnum(e), e->ram_end);

	canary_fill(e->ram_end - CANARY_TAIL, CANARY_TAIL);
	canary_fill(gpa(e->canary_lo), PAGE);
	canary_fill(gpa(e->canary_hi), PAGE);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(e, i + 1, cases[i].name, cases[i].fn);
	if (e->blk.read_only)
		run_case(e, 100, "write-to-read-only-disk", c_write_read_only);

	bad = canary_check(e->ram_end - CANARY_TAIL, CANARY_TAIL, err, sizeof(err));
	fmt_snprintf(why, sizeof(why), "%lu words changed, first %s", bad, err);
	report(e, "canary-ram-end", bad ? -1 : 0, why);
	bad = canary_check(gpa(e->canary_lo), PAGE, err, sizeof(err)) +
	      canary_check(gpa(e->canary_hi), PAGE, err, sizeof(err));
	fmt_snprintf(why, sizeof(why), "%lu words changed, last %s", bad, err);
	report(e, "canary-around-rings", bad ? -1 : 0, why);
	if (vio_blk_io(&e->blk, VIRTIO_BLK_T_IN, e->victim, e->victim_after, VICTIM_BYTES, &status,
		       &used, err, sizeof(err)) ||
	    status != VIRTIO_BLK_S_OK)
		report(e, "victim-sectors-unchanged", -1, "cannot read them back");
	else
		report(e, "victim-sectors-unchanged",
		       memcmp(e->victim_before, e->victim_after, VICTIM_BYTES) ? -1 : 0,
		       "a rejected write reached the disk");

out:
	vio_blk_shutdown(&e->blk);
	return ok;
}

bool wl_evil(const struct workloads_ctx *ctx)
{
	static struct evil ev;
	struct evil *e = &ev;
	uint64_t mark = alloc_mark(), start = io_rdtsc(), blk, net;
	char err[200];
	bool has_blk, has_net, ok;

	memset(e, 0, sizeof(*e));
	e->ram_end = ram_end(ctx->bi);
	has_blk = !vio_blk_find(ctx->bi, &blk, err, sizeof(err));
	has_net = !vio_net_find(ctx->bi, &net);
	if (!has_blk && !has_net)
		return evil_fail("no virtio-blk or virtio-net device to attack");
	ok = !has_blk || evil_blk(e, blk);
	if (ok && has_net)
		wl_evil_net(ctx, net, &e->nr_cases, &e->nr_failed);
	alloc_release(mark);
	if (!ok)
		return false;
	ok = e->nr_failed == 0;
	console_printf("RESULT evil %s cases=%u failed=%u ms=%lu\n", ok ? "PASS" : "FAIL",
		       e->nr_cases, e->nr_failed, timing_elapsed_ms(start));
	return ok;
}
