/* virtio_harness.h: a test-side virtio-blk driver: guest RAM, MMIO bus, temp disk, rings. */
#ifndef LEGO_TEST_VIRTIO_HARNESS_H
#define LEGO_TEST_VIRTIO_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "vmm/block/blk_backend.h"
#include "vmm/kvm/bus.h"
#include "vmm/kvm/guest_mem.h"
#include "lib/proto/lego_guest_abi.h"
#include "lib/log.h"
#include "vmm/devices/virtio/virtio_blk.h"
#include "vmm/devices/virtio/virtio_mmio.h"

#define VT_RAM	     (16ULL << 20)
#define VT_SECTORS   2048ULL /* 1 MiB disk */
#define VT_DESC	     0x100000ULL
#define VT_AVAIL     0x101000ULL
#define VT_USED	     0x102000ULL
#define VT_HDR(i)    (0x200000ULL + 0x20ULL * (i))
#define VT_STATUS(i) (0x210000ULL + (i))
#define VT_DATA	     0x400000ULL /* data buffers: [VT_DATA, VT_DATA + 4 MiB) */
#define VT_DATA_LEN  (4ULL << 20)
#define VT_CANARY    0xa5

struct vt {
	struct guest_mem mem;
	struct bus bus;
	char path[64];
	int fd; /* the test's own view of the disk image */
	struct blk_backend *be;
	struct virtio_mmio_dev *dev;
	uint16_t num;	    /* queue size the driver configured */
	uint16_t avail_idx; /* driver's next avail index */
};

/* The disk's initial contents: every byte depends on its offset. */
static inline uint8_t vt_pattern(uint64_t off)
{
	return (uint8_t)((off * 7) ^ (off >> 9) ^ 0x3c);
}

static inline void *vt_g(struct vt *t, uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_ptr(&t->mem, gpa, len);

	assert_non_null(p);
	return p;
}

static inline uint32_t vt_r32(struct vt *t, uint64_t off)
{
	uint32_t v = 0x5a5a5a5a;

	assert_true(bus_access(&t->bus, LEGO_MMIO_BASE + off, &v, 4, false));
	return v;
}

static inline void vt_w32(struct vt *t, uint64_t off, uint32_t v)
{
	assert_true(bus_access(&t->bus, LEGO_MMIO_BASE + off, &v, 4, true));
}

static inline uint64_t vt_cfg(struct vt *t, uint64_t off, uint32_t size)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aULL;

	assert_true(
		bus_access(&t->bus, LEGO_MMIO_BASE + VIRTIO_MMIO_CONFIG + off, &v, size, false));
	if (size < 8)
		v &= (1ULL << (8 * size)) - 1;
	return v;
}

/* Create RAM, bus and a device on backend be (owned by the caller: fd -1, no path). */
static inline void vt_open_with(struct vt *t, struct blk_backend *be)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	assert_int_equal(guest_mem_init(&t->mem, VT_RAM), 0);
	bus_init(&t->bus, "mmio");
	t->dev = virtio_blk_create(&t->bus, &t->mem, LEGO_MMIO_BASE, be);
	assert_non_null(t->dev);
	memset(vt_g(t, VT_DATA, VT_DATA_LEN), VT_CANARY, VT_DATA_LEN);
}

/* Create RAM, bus, a sectors-long temp disk filled with vt_pattern, its blk_file
 * backend and the device. */
static inline void vt_open(struct vt *t, uint64_t sectors, bool read_only)
{
	uint8_t buf[4096];
	char path[64];
	struct blk_backend *be;
	int fd;

	snprintf(path, sizeof(path), "/tmp/lego-vt-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (uint64_t off = 0; off < sectors * 512; off += sizeof(buf)) {
		uint64_t n = sectors * 512 - off < sizeof(buf) ? sectors * 512 - off : sizeof(buf);

		for (uint64_t i = 0; i < n; i++)
			buf[i] = vt_pattern(off + i);
		assert_int_equal(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
	}
	assert_int_equal(blk_file_open(path, read_only, &be), 0);
	vt_open_with(t, be);
	t->be = be;
	t->fd = fd;
	memcpy(t->path, path, sizeof(path));
}

static inline void vt_close(struct vt *t)
{
	virtio_blk_destroy(t->dev);
	if (t->be)
		blk_backend_close(t->be);
	if (t->fd >= 0) {
		close(t->fd);
		unlink(t->path);
	}
	guest_mem_destroy(&t->mem);
}

/* Status handshake with VERSION_1 accepted, queue 0 of num entries at VT_DESC/AVAIL/USED. */
static inline void vt_driver_up(struct vt *t, uint16_t num)
{
	memset(vt_g(t, VT_DESC, 0x3000), 0, 0x3000);
	t->num = num;
	t->avail_idx = 0;
	vt_w32(t, VIRTIO_MMIO_STATUS, 0);
	vt_w32(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vt_w32(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vt_w32(t, VIRTIO_MMIO_DRIVER_FEATURES, vt_r32(t, VIRTIO_MMIO_DEVICE_FEATURES));
	vt_w32(t, VIRTIO_MMIO_STATUS,
	       VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	assert_true(vt_r32(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	vt_w32(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	vt_w32(t, VIRTIO_MMIO_QUEUE_NUM, num);
	vt_w32(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)VT_DESC);
	vt_w32(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	vt_w32(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)VT_AVAIL);
	vt_w32(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	vt_w32(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)VT_USED);
	vt_w32(t, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	vt_w32(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_READY), 1);
	vt_w32(t, VIRTIO_MMIO_STATUS,
	       VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		       VIRTIO_CONFIG_S_DRIVER_OK);
}

static inline struct vring_desc *vt_descs(struct vt *t)
{
	return vt_g(t, VT_DESC, 16ULL * VIRTQ_NUM_MAX);
}

static inline struct vring_avail *vt_avail(struct vt *t)
{
	return vt_g(t, VT_AVAIL, 6 + 2ULL * VIRTQ_NUM_MAX);
}

static inline struct vring_used *vt_used(struct vt *t)
{
	return vt_g(t, VT_USED, 6 + 8ULL * VIRTQ_NUM_MAX);
}

static inline void vt_desc(struct vt *t, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
			   uint16_t next)
{
	struct vring_desc *d = &vt_descs(t)[i];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* Put head in the avail ring without publishing the new idx. */
static inline void vt_avail_put(struct vt *t, uint16_t head)
{
	vt_avail(t)->ring[t->avail_idx % t->num] = head;
	t->avail_idx++;
}

static inline void vt_avail_publish(struct vt *t)
{
	__atomic_store_n(&vt_avail(t)->idx, t->avail_idx, __ATOMIC_RELEASE);
}

static inline void vt_publish(struct vt *t, uint16_t head)
{
	vt_avail_put(t, head);
	vt_avail_publish(t);
}

static inline void vt_notify(struct vt *t)
{
	vt_w32(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static inline uint16_t vt_used_idx(struct vt *t)
{
	return __atomic_load_n(&vt_used(t)->idx, __ATOMIC_ACQUIRE);
}

static inline struct vring_used_elem vt_used_elem(struct vt *t, uint16_t i)
{
	return vt_used(t)->ring[i % t->num];
}

static inline uint8_t vt_status(struct vt *t, uint16_t head)
{
	return __atomic_load_n((uint8_t *)vt_g(t, VT_STATUS(head), 1), __ATOMIC_ACQUIRE);
}

static inline void vt_hdr(struct vt *t, uint16_t head, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = {.type = type, .ioprio = 0, .sector = sector};

	memcpy(vt_g(t, VT_HDR(head), sizeof(h)), &h, sizeof(h));
}

/* A three-descriptor request at descriptors head, head+1, head+2 (data_len 0: two):
 * header at VT_HDR(head), status at VT_STATUS(head) (preset to 0xff). Returns the
 * number of descriptors used. */
static inline int vt_blk_chain(struct vt *t, uint16_t head, uint32_t type, uint64_t sector,
			       uint64_t data, uint32_t data_len, bool data_write)
{
	uint16_t st = data_len ? head + 2 : head + 1;

	vt_hdr(t, head, type, sector);
	*(uint8_t *)vt_g(t, VT_STATUS(head), 1) = 0xff;
	vt_desc(t, head, VT_HDR(head), 16, VRING_DESC_F_NEXT, head + 1);
	if (data_len)
		vt_desc(t, head + 1, data, data_len,
			VRING_DESC_F_NEXT | (data_write ? VRING_DESC_F_WRITE : 0), st);
	vt_desc(t, st, VT_STATUS(head), 1, VRING_DESC_F_WRITE, 0);
	return data_len ? 3 : 2;
}

/* Build, publish and notify one request; returns its status byte. */
static inline uint8_t vt_do(struct vt *t, uint16_t head, uint32_t type, uint64_t sector,
			    uint64_t data, uint32_t data_len, bool data_write)
{
	vt_blk_chain(t, head, type, sector, data, data_len, data_write);
	vt_publish(t, head);
	vt_notify(t);
	return vt_status(t, head);
}

/* The whole disk image still holds vt_pattern, except [skip_off, +skip_len). */
static inline bool vt_disk_is_pattern(struct vt *t, uint64_t sectors, uint64_t skip_off,
				      uint64_t skip_len)
{
	uint8_t *buf = malloc(sectors * 512);
	bool ok = true;

	assert_non_null(buf);
	assert_int_equal(pread(t->fd, buf, sectors * 512, 0), (ssize_t)(sectors * 512));
	for (uint64_t i = 0; i < sectors * 512 && ok; i++)
		if ((i < skip_off || i >= skip_off + skip_len) && buf[i] != vt_pattern(i))
			ok = false;
	free(buf);
	return ok;
}

static inline uint8_t *vt_snapshot(struct vt *t)
{
	uint8_t *s = malloc(VT_RAM);

	assert_non_null(s);
	memcpy(s, t->mem.base, VT_RAM);
	return s;
}

/* Guest RAM equals the snapshot, except [skip, +skip_len) (skip_len 0: everything). */
static inline bool vt_ram_same(struct vt *t, const uint8_t *snap, uint64_t skip, uint64_t skip_len)
{
	if (!skip_len)
		return !memcmp(snap, t->mem.base, VT_RAM);
	return !memcmp(snap, t->mem.base, skip) &&
	       !memcmp(snap + skip + skip_len, t->mem.base + skip + skip_len,
		       VT_RAM - skip - skip_len);
}

/* Capture what the code under test logs to stderr (log.c writes fd 2). */
struct vt_capture {
	int saved;
	FILE *f;
	enum log_level level;
};

static inline void vt_capture_start(struct vt_capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->f), STDERR_FILENO) >= 0);
	c->level = log_get_level();
	if (c->level > LOG_WARN)
		log_set_level(LOG_WARN);
}

/* Stop capturing; returns the text (caller frees); VT_ECHO_LOG=1 also shows it. */
static inline char *vt_capture_stop(struct vt_capture *c)
{
	long n;
	char *text;

	fflush(stderr);
	log_set_level(c->level);
	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	n = ftell(c->f);
	assert_true(n >= 0);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	rewind(c->f);
	assert_int_equal(fread(text, 1, (size_t)n, c->f), (size_t)n);
	fclose(c->f);
	if (getenv("VT_ECHO_LOG")) {
		ssize_t r = write(STDERR_FILENO, text, (size_t)n); /* best effort */

		(void)r;
	}
	return text;
}

static inline int vt_count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

#endif
