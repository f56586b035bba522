/* test_virtqueue.c: split-ring mechanics on real guest RAM: enable checks, pop, push. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "vmm/kvm/guest_mem.h"
#include "lib/proto/lego_guest_abi.h"
#include "vmm/devices/virtio/virtqueue.h"

#define RAM   (16ULL << 20)
#define DESC  0x10000ULL
#define AVAIL 0x11000ULL
#define USED  0x12000ULL
#define BUF   0x100000ULL

struct fix {
	struct guest_mem mem;
	struct virtqueue vq;
	struct virtqueue_chain chain;
	char why[256];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(guest_mem_init(&f->mem, RAM), 0);
	virtqueue_reset(&f->vq);
	f->vq.num = 8;
	f->vq.desc_gpa = DESC;
	f->vq.avail_gpa = AVAIL;
	f->vq.used_gpa = USED;
	assert_int_equal(virtqueue_enable(&f->vq, &f->mem, f->why, sizeof(f->why)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	guest_mem_destroy(&f->mem);
	free(f);
	return 0;
}

static void *g(struct fix *f, uint64_t gpa)
{
	void *p = guest_mem_ptr(&f->mem, gpa, 1);

	assert_non_null(p);
	return p;
}

static void desc(struct fix *f, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)g(f, DESC) + i;

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static struct vring_avail *avail(struct fix *f)
{
	return g(f, AVAIL);
}

static struct vring_used *used(struct fix *f)
{
	return g(f, USED);
}

static void publish(struct fix *f, uint16_t head)
{
	struct vring_avail *a = avail(f);

	a->ring[a->idx % f->vq.size] = head;
	a->idx++;
}

static int pop(struct fix *f)
{
	f->why[0] = 0;
	return virtqueue_pop(&f->vq, &f->mem, &f->chain, f->why, sizeof(f->why));
}

static int avail_batch(struct fix *f)
{
	f->why[0] = 0;
	return virtqueue_avail(&f->vq, f->why, sizeof(f->why));
}

/* Pop must fail naming the problem, consuming nothing. */
static void pop_fails(struct fix *f, const char *why)
{
	uint16_t last = f->vq.last_avail;
	uint32_t inflight = f->vq.inflight;

	assert_int_equal(avail_batch(f), 1);
	assert_int_equal(pop(f), -1);
	if (!strstr(f->why, why))
		fail_msg("expected \"%s\" in \"%s\"", why, f->why);
	assert_int_equal(f->vq.last_avail, last);
	assert_int_equal(f->vq.inflight, inflight);
}

static void test_num_valid(void **state)
{
	(void)state;
	for (uint32_t n = 0; n <= 1024; n++)
		assert_int_equal(virtqueue_num_valid(n), n && n <= 256 && !(n & (n - 1)));
	assert_false(virtqueue_num_valid(0x10000));
	assert_false(virtqueue_num_valid(0x80000000u));
	assert_false(virtqueue_num_valid(0xffffffffu));
}

static void test_enable_maps_rings(void **state)
{
	struct fix *f = *state;

	assert_true(f->vq.ready);
	assert_int_equal(f->vq.size, 8);
	assert_ptr_equal(f->vq.desc, f->mem.base + DESC);
	assert_ptr_equal(f->vq.avail, f->mem.base + AVAIL);
	assert_ptr_equal(f->vq.used, f->mem.base + USED);
	assert_int_equal(f->vq.last_avail, 0);
	assert_int_equal(f->vq.used_idx, 0);
}

struct enable_case {
	uint16_t num;
	uint64_t desc, avail, used;
	const char *why;
};

static void test_enable_refuses(void **state)
{
	struct fix *f = *state;
	const struct enable_case cases[] = {
		{0, DESC, AVAIL, USED, "queue size 0"},
		{3, DESC, AVAIL, USED, "queue size 3"},
		{8, DESC + 8, AVAIL, USED, "descriptor table at 0x10008 is not 16-byte aligned"},
		{8, DESC, AVAIL + 1, USED, "avail ring at 0x11001 is not 2-byte aligned"},
		{8, DESC, AVAIL, USED + 2, "used ring at 0x12002 is not 4-byte aligned"},
		{8, RAM - 16 * 8 + 16, AVAIL, USED, "descriptor table"},
		{256, RAM - 4096 + 16, AVAIL, USED, "descriptor table"},
		{8, DESC, RAM - 22 + 2, USED, "avail ring"},
		{8, DESC, AVAIL, RAM - 70 + 2, "used ring"},
		{8, DESC, AVAIL, RAM, "used ring"},
		{8, LEGO_MMIO_BASE, AVAIL, USED, "descriptor table"},
		{8, DESC, LEGO_MMIO_BASE - 16, USED, "avail ring"},
		{8, DESC, AVAIL, ~0ULL - 3, "used ring"},
		{8, DESC, AVAIL, LEGO_HIGH_RAM_BASE, "used ring"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct enable_case *c = &cases[i];

		virtqueue_reset(&f->vq);
		f->vq.num = c->num;
		f->vq.desc_gpa = c->desc;
		f->vq.avail_gpa = c->avail;
		f->vq.used_gpa = c->used;
		f->why[0] = 0;
		assert_int_equal(virtqueue_enable(&f->vq, &f->mem, f->why, sizeof(f->why)), -1);
		assert_false(f->vq.ready);
		if (!strstr(f->why, c->why))
			fail_msg("case %zu: expected \"%s\" in \"%s\"", i, c->why, f->why);
	}
	/* Exactly at the end of RAM is fine. */
	virtqueue_reset(&f->vq);
	f->vq.num = 8;
	f->vq.desc_gpa = RAM - 128;
	f->vq.avail_gpa = RAM - 22;
	f->vq.used_gpa = RAM - 72;
	assert_int_equal(virtqueue_enable(&f->vq, &f->mem, f->why, sizeof(f->why)), 0);
}

static void test_enable_refuses_while_in_flight(void **state)
{
	struct fix *f = *state;

	desc(f, 0, BUF, 16, 0, 0);
	publish(f, 0);
	assert_int_equal(avail_batch(f), 1);
	assert_int_equal(pop(f), 1);
	f->vq.ready = false;
	assert_int_equal(virtqueue_enable(&f->vq, &f->mem, f->why, sizeof(f->why)), -1);
	assert_non_null(strstr(f->why, "in flight"));
	virtqueue_push(&f->vq, 0, 0);
	assert_int_equal(virtqueue_enable(&f->vq, &f->mem, f->why, sizeof(f->why)), 0);
	assert_int_equal(f->vq.last_avail, 0);
	assert_int_equal(f->vq.used_idx, 0);
}

/* Rings and buffers must not straddle the two RAM slots around the MMIO window. */
static void test_slot_boundary(void **state)
{
	struct guest_mem mem;
	struct virtqueue vq;
	struct virtqueue_chain *c = malloc(sizeof(*c));
	char why[256];
	const uint64_t low_end = LEGO_MMIO_BASE;

	(void)state;
	assert_non_null(c);
	if (guest_mem_init(&mem, LEGO_MMIO_BASE + (4ULL << 20))) {
		free(c);
		skip();
	}
	virtqueue_reset(&vq);
	vq.num = 8;
	vq.desc_gpa = low_end - 64; /* 128-byte table crosses into the MMIO window */
	vq.avail_gpa = 0x11000;
	vq.used_gpa = 0x12000;
	assert_int_equal(virtqueue_enable(&vq, &mem, why, sizeof(why)), -1);
	vq.desc_gpa = LEGO_HIGH_RAM_BASE; /* rings in high RAM are fine */
	assert_int_equal(virtqueue_enable(&vq, &mem, why, sizeof(why)), 0);
	{
		struct vring_desc *d = guest_mem_ptr(&mem, LEGO_HIGH_RAM_BASE, 128);
		struct vring_avail *a = guest_mem_ptr(&mem, 0x11000, 22);

		d[0] = (struct vring_desc){.addr = low_end - 8, .len = 16};
		d[1] = (struct vring_desc){.addr = LEGO_HIGH_RAM_BASE + 0x1000, .len = 16};
		a->ring[0] = 0;
		a->ring[1] = 1;
		a->idx = 2;
		assert_int_equal(virtqueue_avail(&vq, why, sizeof(why)), 2);
		assert_int_equal(virtqueue_pop(&vq, &mem, c, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "not inside guest RAM"));
		vq.last_avail = 1; /* skip it: the next one is in high RAM */
		assert_int_equal(virtqueue_pop(&vq, &mem, c, why, sizeof(why)), 1);
		assert_ptr_equal(c->seg[0].hva, mem.base + LEGO_MMIO_BASE + 0x1000);
	}
	guest_mem_destroy(&mem);
	free(c);
}

static void test_pop_chain(void **state)
{
	struct fix *f = *state;
	struct virtqueue_chain *c = &f->chain;

	assert_int_equal(avail_batch(f), 0);
	assert_int_equal(pop(f), 0);
	desc(f, 5, BUF, 16, VRING_DESC_F_NEXT, 2);
	desc(f, 2, BUF + 0x1000, 4096, VRING_DESC_F_NEXT, 7);
	desc(f, 7, BUF + 0x3000, 0, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0);
	desc(f, 0, BUF + 0x2000, 1, VRING_DESC_F_WRITE, 3); /* next ignored without NEXT */
	publish(f, 5);
	assert_int_equal(avail_batch(f), 1);
	assert_int_equal(pop(f), 1);
	assert_int_equal(c->head, 5);
	assert_int_equal(c->nr, 4);
	assert_ptr_equal(c->seg[0].hva, f->mem.base + BUF);
	assert_int_equal(c->seg[0].len, 16);
	assert_false(c->seg[0].write);
	assert_ptr_equal(c->seg[1].hva, f->mem.base + BUF + 0x1000);
	assert_int_equal(c->seg[1].len, 4096);
	assert_false(c->seg[1].write);
	assert_int_equal(c->seg[2].len, 0);
	assert_true(c->seg[2].write);
	assert_ptr_equal(c->seg[3].hva, f->mem.base + BUF + 0x2000);
	assert_true(c->seg[3].write);
	assert_int_equal(f->vq.last_avail, 1);
	assert_int_equal(f->vq.inflight, 1);
	assert_int_equal(pop(f), 0);
	/* Pop never touches the used ring. */
	assert_int_equal(used(f)->idx, 0);
}

static void test_pop_batch_is_a_snapshot(void **state)
{
	struct fix *f = *state;

	desc(f, 0, BUF, 16, 0, 0);
	desc(f, 1, BUF, 16, 0, 0);
	desc(f, 2, BUF, 16, 0, 0);
	publish(f, 0);
	publish(f, 1);
	assert_int_equal(avail_batch(f), 2);
	publish(f, 2); /* published after the batch was read */
	assert_int_equal(pop(f), 1);
	assert_int_equal(pop(f), 1);
	assert_int_equal(pop(f), 0);
	assert_int_equal(avail_batch(f), 1);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->chain.head, 2);
}

static void test_longest_chain(void **state)
{
	struct fix *f = *state;

	for (uint16_t i = 0; i < 8; i++)
		desc(f, i, BUF + 16 * i, 16, i < 7 ? VRING_DESC_F_NEXT : 0, (i + 1) % 8);
	publish(f, 0);
	assert_int_equal(avail_batch(f), 1);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->chain.nr, 8);
	/* One more link makes a loop through all 8. */
	virtqueue_push(&f->vq, 0, 0);
	desc(f, 7, BUF, 16, VRING_DESC_F_NEXT, 0);
	publish(f, 3);
	pop_fails(f, "longer than the queue size");
}

static void test_pop_malformed(void **state)
{
	struct fix *f = *state;

	/* next out of range */
	desc(f, 0, BUF, 16, VRING_DESC_F_NEXT, 8);
	publish(f, 0);
	pop_fails(f, "next 8 is not below queue size 8");
	/* self loop */
	desc(f, 0, BUF, 16, VRING_DESC_F_NEXT, 0);
	pop_fails(f, "longer than the queue size");
	/* two-cycle */
	desc(f, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	desc(f, 1, BUF, 16, VRING_DESC_F_NEXT, 0);
	pop_fails(f, "longer than the queue size");
	/* indirect */
	desc(f, 0, BUF, 16, VRING_DESC_F_INDIRECT, 0);
	pop_fails(f, "indirect");
	/* readable after writable */
	desc(f, 0, BUF, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc(f, 1, BUF, 16, 0, 0);
	pop_fails(f, "device-readable after a device-writable");
	/* buffers outside RAM */
	desc(f, 0, RAM - 8, 16, 0, 0);
	pop_fails(f, "not inside guest RAM");
	desc(f, 0, RAM, 0, 0, 0);
	pop_fails(f, "not inside guest RAM");
	desc(f, 0, LEGO_MMIO_BASE, 4, 0, 0);
	pop_fails(f, "not inside guest RAM");
	desc(f, 0, ~0ULL - 15, 32, 0, 0);
	pop_fails(f, "not inside guest RAM");
	desc(f, 0, BUF, 0xffffffff, 0, 0);
	pop_fails(f, "not inside guest RAM");
	desc(f, 0, 0, (uint32_t)RAM, 0, 0); /* all of RAM is fine... */
	assert_int_equal(pop(f), 1);
	virtqueue_push(&f->vq, 0, 0);
	desc(f, 0, 1, (uint32_t)RAM, 0, 0); /* ...one byte more is not */
	publish(f, 0);
	pop_fails(f, "not inside guest RAM");
	/* bad avail entries */
	desc(f, 0, BUF, 16, 0, 0);
	avail(f)->ring[f->vq.last_avail % 8] = 8;
	pop_fails(f, "avail ring entry");
	avail(f)->ring[f->vq.last_avail % 8] = 0xffff;
	pop_fails(f, "avail ring entry");
	avail(f)->ring[f->vq.last_avail % 8] = 0;
	assert_int_equal(pop(f), 1);
}

static void test_avail_too_far_ahead(void **state)
{
	struct fix *f = *state;

	avail(f)->idx = 8;
	assert_int_equal(avail_batch(f), 8);
	avail(f)->idx = 9;
	assert_int_equal(avail_batch(f), -1);
	assert_non_null(strstr(f->why, "ahead"));
	assert_int_equal(f->vq.avail_end, 8); /* unchanged by the failed read */
	avail(f)->idx = 0xffff;
	assert_int_equal(avail_batch(f), -1);
}

static void test_head_in_flight(void **state)
{
	struct fix *f = *state;

	desc(f, 4, BUF, 16, 0, 0);
	publish(f, 4);
	assert_int_equal(avail_batch(f), 1);
	assert_int_equal(pop(f), 1);
	publish(f, 4);
	pop_fails(f, "chain head 4 is already in flight");
	virtqueue_push(&f->vq, 4, 16);
	assert_int_equal(pop(f), 1);
	/* drop forgets a chain without a used entry */
	virtqueue_drop(&f->vq, 4);
	assert_int_equal(f->vq.inflight, 0);
	assert_int_equal(used(f)->idx, 1);
	/* pushing or dropping a head not in flight does not underflow the count */
	virtqueue_drop(&f->vq, 4);
	virtqueue_drop(&f->vq, 0xffff);
	assert_int_equal(f->vq.inflight, 0);
}

static void test_push_and_wrap(void **state)
{
	struct fix *f = *state;
	struct vring_used *u = used(f);

	desc(f, 1, BUF, 16, 0, 0);
	for (uint32_t i = 0; i < 70000; i++) {
		publish(f, 1);
		assert_int_equal(avail_batch(f), 1);
		assert_int_equal(pop(f), 1);
		virtqueue_push(&f->vq, 1, i);
		if (u->idx != (uint16_t)(i + 1))
			fail_msg("used idx %u after %u pushes", u->idx, i + 1);
		if (u->ring[i % 8].id != 1 || u->ring[i % 8].len != i)
			fail_msg("used element %u wrong", i);
	}
	assert_int_equal(f->vq.last_avail, (uint16_t)70000);
	assert_int_equal(f->vq.inflight, 0);
}

static void test_queue_size_one(void **state)
{
	struct fix *f = *state;

	virtqueue_reset(&f->vq);
	f->vq.num = 1;
	f->vq.desc_gpa = DESC;
	f->vq.avail_gpa = AVAIL;
	f->vq.used_gpa = USED;
	assert_int_equal(virtqueue_enable(&f->vq, &f->mem, f->why, sizeof(f->why)), 0);
	memset(g(f, AVAIL), 0, 8);
	desc(f, 0, BUF, 16, 0, 0);
	for (int i = 0; i < 3; i++) {
		publish(f, 0);
		assert_int_equal(avail_batch(f), 1);
		assert_int_equal(pop(f), 1);
		virtqueue_push(&f->vq, 0, 1);
	}
	assert_int_equal(used(f)->idx, 3);
	desc(f, 0, BUF, 16, VRING_DESC_F_NEXT, 0);
	publish(f, 0);
	pop_fails(f, "longer than the queue size 1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_num_valid),
		cmocka_unit_test_setup_teardown(test_enable_maps_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_refuses_while_in_flight, setup,
						teardown),
		cmocka_unit_test(test_slot_boundary),
		cmocka_unit_test_setup_teardown(test_pop_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_batch_is_a_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_longest_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_too_far_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_and_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_size_one, setup, teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("virtqueue", tests, NULL, NULL);
}
