/* test_virtio_blk_async.c: virtio-blk with a backend that completes later, on any thread. */
#include <pthread.h>
#include <time.h>

#include "lib/log.h"
#include "virtio_harness.h"

#define ALL_STATUS                                                                            \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | \
	 VIRTIO_CONFIG_S_DRIVER_OK)
#define FAKE_MAX	  256
#define FAKE_FILL(sector) ((uint8_t)(0x40 + (sector)))

/* A backend that parks requests until the test completes them. */
struct fake {
	struct blk_backend be;
	pthread_mutex_t lock;
	struct blk_backend_req *pending[FAKE_MAX];
	int npending;
	int submitted;
};

static void fake_submit(struct blk_backend *be, struct blk_backend_req *req)
{
	struct fake *f = (struct fake *)be;

	pthread_mutex_lock(&f->lock);
	assert_true(f->npending < FAKE_MAX);
	f->pending[f->npending++] = req;
	f->submitted++;
	pthread_mutex_unlock(&f->lock);
}

static void fake_close(struct blk_backend *be)
{
	(void)be;
}

static const struct blk_backend_ops fake_ops = {.submit = fake_submit, .close = fake_close};

static int fake_npending(struct fake *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->npending;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* Complete pending request i (in submission order among those still pending). */
static void fake_complete(struct fake *f, int i, int err)
{
	struct blk_backend_req *req;

	pthread_mutex_lock(&f->lock);
	assert_true(i < f->npending);
	req = f->pending[i];
	memmove(&f->pending[i], &f->pending[i + 1],
		(size_t)(f->npending - i - 1) * sizeof(f->pending[0]));
	f->npending--;
	pthread_mutex_unlock(&f->lock);
	if (!err && req->type == BLK_REQ_READ)
		for (int k = 0; k < req->iovcnt; k++)
			memset(req->iov[k].iov_base, FAKE_FILL(req->sector), req->iov[k].iov_len);
	req->complete(req, err);
}

struct afix {
	struct fake fake;
	struct vt t;
};

static int setup(void **state)
{
	struct afix *a = calloc(1, sizeof(*a));

	assert_non_null(a);
	a->fake.be.ops = &fake_ops;
	a->fake.be.sectors = 1024;
	memcpy(a->fake.be.id, "fake-disk", 9);
	pthread_mutex_init(&a->fake.lock, NULL);
	vt_open_with(&a->t, &a->fake.be);
	vt_driver_up(&a->t, 16);
	*state = a;
	return 0;
}

static int teardown(void **state)
{
	struct afix *a = *state;

	/* Nothing may stay in flight past the test: complete leftovers so destroy returns. */
	while (fake_npending(&a->fake))
		fake_complete(&a->fake, 0, -EIO);
	vt_close(&a->t);
	pthread_mutex_destroy(&a->fake.lock);
	free(a);
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void test_out_of_order_completion(void **state)
{
	struct afix *a = *state;
	struct vt *t = &a->t;

	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 1, VT_DATA, 512, true);
	vt_blk_chain(t, 3, VIRTIO_BLK_T_IN, 2, VT_DATA + 512, 1024, true);
	vt_blk_chain(t, 6, VIRTIO_BLK_T_OUT, 3, VT_DATA + 4096, 512, false);
	vt_avail_put(t, 0);
	vt_avail_put(t, 3);
	vt_avail_put(t, 6);
	vt_avail_publish(t);
	vt_notify(t);
	/* All three are with the backend, none completed. */
	assert_int_equal(fake_npending(&a->fake), 3);
	assert_int_equal(vt_used_idx(t), 0);
	assert_int_equal(vt_status(t, 0), 0xff);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* Complete the middle one first. */
	fake_complete(&a->fake, 1, 0);
	assert_int_equal(vt_used_idx(t), 1);
	assert_int_equal(vt_used_elem(t, 0).id, 3);
	assert_int_equal(vt_used_elem(t, 0).len, 1025);
	assert_int_equal(vt_status(t, 3), VIRTIO_BLK_S_OK);
	assert_int_equal(vt_status(t, 0), 0xff);
	assert_int_equal(*(uint8_t *)vt_g(t, VT_DATA + 512, 1), FAKE_FILL(2));
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	fake_complete(&a->fake, 1, 0); /* the write (head 6) */
	fake_complete(&a->fake, 0, 0); /* the first read (head 0) */
	assert_int_equal(vt_used_idx(t), 3);
	assert_int_equal(vt_used_elem(t, 1).id, 6);
	assert_int_equal(vt_used_elem(t, 1).len, 1);
	assert_int_equal(vt_used_elem(t, 2).id, 0);
	assert_int_equal(vt_used_elem(t, 2).len, 513);
	assert_int_equal(*(uint8_t *)vt_g(t, VT_DATA, 1), FAKE_FILL(1));
}

static void test_full_queue_in_flight(void **state)
{
	struct afix *a = *state;
	struct vt *t = &a->t;
	uint16_t n = 0;

	vt_driver_up(t, 256);
	/* 85 chains of 3 descriptors: 255 of the 256 in flight at once. */
	for (uint16_t h = 0; h + 3 <= 256; h += 3, n++) {
		vt_blk_chain(t, h, VIRTIO_BLK_T_IN, n, VT_DATA + 512ULL * n, 512, true);
		vt_avail_put(t, h);
	}
	vt_avail_publish(t);
	vt_notify(t);
	assert_int_equal(fake_npending(&a->fake), n);
	/* Complete newest first. */
	for (int i = n - 1; i >= 0; i--)
		fake_complete(&a->fake, i, 0);
	assert_int_equal(vt_used_idx(t), n);
	for (uint16_t i = 0; i < n; i++) {
		uint16_t h = (uint16_t)(3 * (n - 1 - i));

		assert_int_equal(vt_used_elem(t, i).id, h);
		assert_int_equal(vt_status(t, h), VIRTIO_BLK_S_OK);
		assert_int_equal(*(uint8_t *)vt_g(t, VT_DATA + 512ULL * (h / 3), 1),
				 FAKE_FILL(h / 3));
	}
}

static void test_backend_error(void **state)
{
	struct afix *a = *state;
	struct vt *t = &a->t;

	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 5, VT_DATA, 512, true);
	vt_publish(t, 0);
	vt_notify(t);
	fake_complete(&a->fake, 0, -EIO);
	assert_int_equal(vt_status(t, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(vt_used_elem(t, 0).len, 1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), ALL_STATUS);
}

struct later {
	struct fake *f;
	int delay_ms;
	int count;
	volatile int done;
};

static void *complete_later(void *arg)
{
	struct later *l = arg;

	sleep_ms(l->delay_ms);
	l->done = 1;
	for (int i = 0; i < l->count; i++)
		fake_complete(l->f, 0, 0);
	return NULL;
}

static void test_drain_waits(void **state)
{
	struct afix *a = *state;
	struct vt *t = &a->t;
	struct later l = {.f = &a->fake, .delay_ms = 100, .count = 2};
	pthread_t th;

	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 1, VT_DATA, 512, true);
	vt_blk_chain(t, 3, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	vt_avail_put(t, 0);
	vt_avail_put(t, 3);
	vt_avail_publish(t);
	vt_notify(t);
	assert_int_equal(fake_npending(&a->fake), 2);
	assert_int_equal(pthread_create(&th, NULL, complete_later, &l), 0);
	virtio_blk_drain(t->dev);
	assert_true(l.done);
	assert_int_equal(vt_used_idx(t), 2);
	pthread_join(th, NULL);
	/* Drain with nothing in flight returns at once. */
	virtio_blk_drain(t->dev);
}

struct resetter {
	struct vt *t;
	uint32_t reg, val;
	volatile int done;
};

static void *write_reg(void *arg)
{
	struct resetter *r = arg;

	vt_w32(r->t, r->reg, r->val);
	r->done = 1;
	return NULL;
}

static void test_reset_waits_for_inflight(void **state)
{
	struct afix *a = *state;
	struct vt *t = &a->t;
	struct resetter r = {.t = t, .reg = VIRTIO_MMIO_STATUS, .val = 0};
	pthread_t th;

	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 7, VT_DATA, 512, true);
	vt_publish(t, 0);
	vt_notify(t);
	assert_int_equal(pthread_create(&th, NULL, write_reg, &r), 0);
	sleep_ms(100);
	assert_false(r.done);
	/* Registers stay readable meanwhile, and new requests are not taken. */
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	vt_blk_chain(t, 3, VIRTIO_BLK_T_IN, 8, VT_DATA + 4096, 512, true);
	vt_publish(t, 3);
	vt_notify(t);
	assert_int_equal(a->fake.submitted, 1);
	fake_complete(&a->fake, 0, 0);
	pthread_join(th, NULL);
	assert_true(r.done);
	/* The completion landed before the reset cleared the queue. */
	assert_int_equal(vt_used_idx(t), 1);
	assert_int_equal(vt_status(t, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(vt_status(t, 3), 0xff);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(fake_npending(&a->fake), 0);
	/* And the device works again after a new setup. */
	vt_driver_up(t, 16);
	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 7, VT_DATA, 512, true);
	vt_publish(t, 0);
	vt_notify(t);
	fake_complete(&a->fake, 0, 0);
	assert_int_equal(vt_used_idx(t), 1);
}

static void test_queue_disable_waits(void **state)
{
	struct afix *a = *state;
	struct vt *t = &a->t;
	struct resetter r = {.t = t, .reg = VIRTIO_MMIO_QUEUE_READY, .val = 0};
	pthread_t th;

	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 7, VT_DATA, 512, true);
	vt_publish(t, 0);
	vt_notify(t);
	assert_int_equal(pthread_create(&th, NULL, write_reg, &r), 0);
	sleep_ms(100);
	assert_false(r.done);
	/* Re-enabling while the old request is in flight is refused. */
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_READY), 0);
	vt_w32(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_READY), 0);
	fake_complete(&a->fake, 0, 0);
	pthread_join(th, NULL);
	assert_int_equal(vt_used_idx(t), 1);
	vt_w32(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_QUEUE_READY), 1);
}

static void test_head_reused_while_in_flight(void **state)
{
	struct afix *a = *state;
	struct vt *t = &a->t;
	struct vt_capture cap;
	char *log;

	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 1, VT_DATA, 512, true);
	vt_publish(t, 0);
	vt_notify(t);
	/* The guest publishes the same head again before it was used. */
	vt_publish(t, 0);
	vt_capture_start(&cap);
	vt_notify(t);
	log = vt_capture_stop(&cap);
	assert_non_null(strstr(log, "already in flight"));
	free(log);
	assert_true(vt_r32(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(a->fake.submitted, 1);
	/* The first request still completes normally. */
	fake_complete(&a->fake, 0, 0);
	assert_int_equal(vt_used_idx(t), 1);
	assert_int_equal(vt_status(t, 0), VIRTIO_BLK_S_OK);
	vt_w32(t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vt_r32(t, VIRTIO_MMIO_STATUS), 0);
}

static void test_semantic_errors_skip_backend(void **state)
{
	struct afix *a = *state;
	struct vt *t = &a->t;

	vt_blk_chain(t, 0, VIRTIO_BLK_T_IN, 1024, VT_DATA, 512, true); /* beyond capacity */
	vt_blk_chain(t, 3, VIRTIO_BLK_T_GET_ID, 0, VT_DATA + 4096, 20, true);
	vt_blk_chain(t, 6, 99, 0, 0, 0, false);
	vt_avail_put(t, 0);
	vt_avail_put(t, 3);
	vt_avail_put(t, 6);
	vt_avail_publish(t);
	vt_notify(t);
	assert_int_equal(a->fake.submitted, 0);
	assert_int_equal(vt_used_idx(t), 3);
	assert_int_equal(vt_status(t, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(vt_status(t, 3), VIRTIO_BLK_S_OK);
	assert_int_equal(vt_status(t, 6), VIRTIO_BLK_S_UNSUPP);
	assert_memory_equal(vt_g(t, VT_DATA + 4096, 20), "fake-disk\0\0\0\0\0\0\0\0\0\0\0", 20);
}

static void *destroy_thread(void *arg)
{
	struct afix *a = arg;

	virtio_blk_destroy(a->t.dev);
	a->t.dev = NULL;
	return NULL;
}

static void test_destroy_drains(void **state)
{
	struct afix *a = *state;
	struct vt *t = &a->t;
	pthread_t th;

	vt_blk_chain(t, 0, VIRTIO_BLK_T_OUT, 1, VT_DATA, 512, false);
	vt_publish(t, 0);
	vt_notify(t);
	assert_int_equal(pthread_create(&th, NULL, destroy_thread, a), 0);
	sleep_ms(100);
	assert_non_null(a->t.dev); /* still waiting for the write */
	fake_complete(&a->fake, 0, 0);
	pthread_join(th, NULL);
	assert_null(a->t.dev);
	assert_int_equal(vt_status(t, 0), VIRTIO_BLK_S_OK);
}

/* Completions from a backend thread race with notifies from two vCPU threads. */
struct pump {
	struct afix *a;
	volatile int stop;
	int completed;
};

static void *pump_thread(void *arg)
{
	struct pump *p = arg;

	while (!p->stop || fake_npending(&p->a->fake)) {
		if (fake_npending(&p->a->fake)) {
			fake_complete(&p->a->fake, 0, 0);
			p->completed++;
		}
	}
	return NULL;
}

struct vm_vcpu {
	struct afix *a;
	pthread_mutex_t *guest_lock;
	int k;
	int bad;
};

static void *vcpu_thread(void *arg)
{
	struct vm_vcpu *v = arg;
	struct vt *t = &v->a->t;
	uint16_t head = (uint16_t)(3 * v->k);

	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(v->guest_lock);
		vt_blk_chain(t, head, VIRTIO_BLK_T_IN, (uint64_t)(i % 200),
			     VT_DATA + 4096ULL * v->k, 512, true);
		vt_publish(t, head);
		pthread_mutex_unlock(v->guest_lock);
		vt_notify(t);
		while (vt_status(t, head) == 0xff)
			;
		if (vt_status(t, head) != VIRTIO_BLK_S_OK ||
		    *(volatile uint8_t *)(t->mem.base + VT_DATA + 4096ULL * v->k + 511) !=
			    FAKE_FILL(i % 200))
			v->bad++;
	}
	return NULL;
}

static void test_concurrent_async(void **state)
{
	struct afix *a = *state;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct pump p = {.a = a};
	struct vm_vcpu v[2] = {{.a = a, .guest_lock = &lock, .k = 0},
			       {.a = a, .guest_lock = &lock, .k = 1}};
	pthread_t pt, vth[2];

	assert_int_equal(pthread_create(&pt, NULL, pump_thread, &p), 0);
	for (int k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&vth[k], NULL, vcpu_thread, &v[k]), 0);
	for (int k = 0; k < 2; k++)
		pthread_join(vth[k], NULL);
	p.stop = 1;
	pthread_join(pt, NULL);
	assert_int_equal(v[0].bad + v[1].bad, 0);
	assert_int_equal(p.completed, 4000);
	assert_int_equal(vt_used_idx(&a->t), 4000);
	virtio_blk_drain(a->t.dev);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_out_of_order_completion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_queue_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_waits_for_inflight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_disable_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_reused_while_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_semantic_errors_skip_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_async, setup, teardown),
	};

	(void)argc;
	alarm(60); /* a request stuck in flight hangs drain: fail instead of hanging */
	log_init(argv[0]);
	if (!getenv("LEGO_LOG"))
		log_set_level(LOG_ERROR);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("virtio_blk_async", tests, NULL, NULL);
}
