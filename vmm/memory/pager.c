/* pager.c: userfaultfd fault service, ExCache accounting, eviction with write-back. */
#include "pager.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/lat_hist.h"
#include "lib/log.h"
#include "vmm/kvm/vm.h"

#define PAGE	    4096ULL
#define EVICT_BATCH MP_MAX_PAGES
#define WATCHDOG_MS 1000 /* after a fatal error, how long a stuck vCPU may delay exit */

/* Per-page state: one of ABSENT/CLEAN/DIRTY, plus flags. */
#define PS_ABSENT 0
#define PS_CLEAN  1
#define PS_DIRTY  2
#define PS_STATE  3
#define PS_BUSY	  4 /* a thread is changing the page; others wait on pg->cond */
#define PS_REMOTE 8 /* the owner holds a copy (else the page is all zeros) */

struct pager_thread {
	struct pager *pg;
	int ch; /* remote_mem channel */
	pthread_t thread;
};

struct pager {
	struct vm *vm;
	struct remote_mem *rm;
	uint8_t *base;
	uint64_t npages, budget;
	int uffd, stop_fd;
	uint8_t *st;
	uint64_t *rbits; /* PS_REMOTE as a bitmap (under lock): it only ever gets set */
	/* pager_remote_snapshot on: pages newly held remotely since (a migration's delta). */
	bool tracking, delta_lost;
	uint32_t *delta;
	uint32_t nr_delta, delta_cap;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t *fifo; /* resident pages, oldest first (a ring of npages entries) */
	uint64_t fifo_head, fifo_len;
	uint64_t seq_next, window; /* sequential-access detection */
	bool prefetch;
	int nthreads;
	struct pager_thread threads[PAGER_MAX_THREADS];
	pthread_t prefetcher; /* pager_prefetch's thread, joined by pager_stop */
	bool prefetching;
	atomic_bool stopping;
	uint32_t *hot;
	uint32_t nr_hot;
	pthread_mutex_t flush_lock;
	atomic_bool failed;
	struct lat_hist lat;
	uint64_t faults, wp_faults, fetches, fetched, zero_fills, prefetched, evictions, writebacks,
		bytes_in, bytes_out, dirty;
};

static uint8_t zero_pages[MP_MAX_PAGES * PAGE] __attribute__((aligned(4096)));

/* Under pg->lock: the owner now holds page idx. */
static void mark_remote(struct pager *pg, uint64_t idx)
{
	uint64_t bit = 1ULL << (idx % 64);

	pg->st[idx] |= PS_REMOTE;
	if (pg->tracking && !(pg->rbits[idx / 64] & bit)) {
		if (pg->nr_delta == pg->delta_cap) {
			uint32_t cap = pg->delta_cap ? pg->delta_cap * 2 : 4096;
			uint32_t *d = realloc(pg->delta, (size_t)cap * sizeof(*d));

			if (d) {
				pg->delta = d;
				pg->delta_cap = cap;
			}
		}
		if (pg->nr_delta < pg->delta_cap)
			pg->delta[pg->nr_delta++] = (uint32_t)idx;
		else
			pg->delta_lost = true; /* the caller sends the whole bitmap again */
	}
	pg->rbits[idx / 64] |= bit;
}

#define STAT_ADD(pg, field, n) __atomic_fetch_add(&(pg)->field, (n), __ATOMIC_RELAXED)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *watchdog(void *arg)
{
	struct pager *pg = arg;
	struct pager_stats st;

	usleep(WATCHDOG_MS * 1000);
	log_error("vCPUs are still blocked on memory that cannot be served: exiting with %d",
		  VMM_EXIT_FAILURE);
	pager_get_stats(pg, &st);
	pager_log_stats(&st);
	fflush(NULL);
	_exit(VMM_EXIT_FAILURE);
	return NULL;
}

/* Memory is unreachable: stop the vNode. Faults still pending are never served (serving
 * them with anything but the data would corrupt the guest silently). */
static void pager_fatal(struct pager *pg)
{
	pthread_t t;

	if (atomic_exchange(&pg->failed, true))
		return;
	log_error("%s; stopping the vNode", pg->rm->error[0] ? pg->rm->error : "pager failed");
	vm_stop(pg->vm, VMM_EXIT_FAILURE);
	if (pthread_create(&t, NULL, watchdog, pg) == 0)
		pthread_detach(t);
}

void pager_fail(struct pager *pg)
{
	pager_fatal(pg);
}

static int uffd_copy(struct pager *pg, uint64_t idx, const void *src, uint64_t n, bool wp)
{
	struct uffdio_copy c = {.dst = (uint64_t)(uintptr_t)(pg->base + idx * PAGE),
				.src = (uint64_t)(uintptr_t)src,
				.len = n * PAGE,
				.mode = wp ? UFFDIO_COPY_MODE_WP : 0};

	while (ioctl(pg->uffd, UFFDIO_COPY, &c) < 0) {
		if (errno == EAGAIN && c.copy > 0 && (uint64_t)c.copy < c.len) {
			c.dst += (uint64_t)c.copy;
			c.src += (uint64_t)c.copy;
			c.len -= (uint64_t)c.copy;
			c.copy = 0;
			continue;
		}
		if (errno == EAGAIN || errno == EINTR) {
			c.copy = 0;
			continue;
		}
		log_error("pager: UFFDIO_COPY of %llu pages at page %llu: %s",
			  (unsigned long long)n, (unsigned long long)idx, strerror(errno));
		return -1;
	}
	return 0;
}

static int uffd_wake(struct pager *pg, uint64_t idx, uint64_t n)
{
	struct uffdio_range r = {.start = (uint64_t)(uintptr_t)(pg->base + idx * PAGE),
				 .len = n * PAGE};

	return ioctl(pg->uffd, UFFDIO_WAKE, &r);
}

/* Set (protect) or clear write protection; clearing also wakes the faulting thread. */
static int uffd_wp(struct pager *pg, uint64_t idx, uint64_t n, bool protect)
{
	struct uffdio_writeprotect w = {
		.range = {.start = (uint64_t)(uintptr_t)(pg->base + idx * PAGE), .len = n * PAGE},
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0};

	while (ioctl(pg->uffd, UFFDIO_WRITEPROTECT, &w) < 0) {
		if (errno == EAGAIN || errno == EINTR)
			continue;
		log_error("pager: UFFDIO_WRITEPROTECT(%s) at page %llu: %s", protect ? "on" : "off",
			  (unsigned long long)idx, strerror(errno));
		return -1;
	}
	return 0;
}

static void wait_not_busy(struct pager *pg, uint64_t idx)
{
	while (pg->st[idx] & PS_BUSY)
		pthread_cond_wait(&pg->cond, &pg->lock);
}

static uint64_t region_end_page(struct pager *pg, uint64_t idx)
{
	uint64_t rs = pg->rm->region_size / PAGE;
	uint64_t end = (idx / rs + 1) * rs;

	return end < pg->npages ? end : pg->npages;
}

/* Write back runs of dirty victims and drop every victim. victims[] sorted, all BUSY. */
static int drop_pages(struct pager *pg, int ch, const uint32_t *v, const uint8_t *was, int n)
{
	for (int i = 0; i < n;) {
		int j = i + 1;
		bool dirty = (was[i] & PS_STATE) == PS_DIRTY;
		uint64_t end = region_end_page(pg, v[i]);

		while (j < n && v[j] == v[j - 1] + 1 && v[j] < end &&
		       ((was[j] & PS_STATE) == PS_DIRTY) == dirty)
			j++;
		if (dirty) {
			uint64_t off = (uint64_t)v[i] * PAGE, len = (uint64_t)(j - i) * PAGE;

			/* Protect first: a write racing with the copy faults and waits. */
			if (uffd_wp(pg, v[i], (uint64_t)(j - i), true))
				return -1;
			memcpy(remote_mem_write_buf(pg->rm, ch, off), pg->base + off, len);
			if (remote_mem_write(pg->rm, ch, off, (unsigned)(j - i)))
				return -1;
			STAT_ADD(pg, writebacks, (uint64_t)(j - i));
			STAT_ADD(pg, bytes_out, len);
		}
		if (madvise(pg->base + (uint64_t)v[i] * PAGE, (uint64_t)(j - i) * PAGE,
			    MADV_DONTNEED)) {
			log_error("pager: MADV_DONTNEED: %s", strerror(errno));
			return -1;
		}
		i = j;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Evict the oldest pages until the ExCache is within budget. */
static int make_room(struct pager *pg, int ch)
{
	uint32_t v[EVICT_BATCH];
	uint8_t was[EVICT_BATCH];

	for (;;) {
		uint64_t want, tries;
		int n = 0;

		pthread_mutex_lock(&pg->lock);
		if (pg->fifo_len <= pg->budget) {
			pthread_mutex_unlock(&pg->lock);
			return 0;
		}
		want = pg->fifo_len - pg->budget;
		/* Evict a little extra so the next faults do not each pay for an eviction. */
		want += pg->budget / 64;
		if (want > EVICT_BATCH)
			want = EVICT_BATCH;
		for (tries = pg->fifo_len; n < (int)want && tries && pg->fifo_len; tries--) {
			uint32_t idx = pg->fifo[pg->fifo_head];

			pg->fifo_head = (pg->fifo_head + 1) % pg->npages;
			pg->fifo_len--;
			if (pg->st[idx] & PS_BUSY) {
				/* Being marked dirty right now: keep it, look further. */
				pg->fifo[(pg->fifo_head + pg->fifo_len) % pg->npages] = idx;
				pg->fifo_len++;
				continue;
			}
			was[n] = pg->st[idx];
			pg->st[idx] |= PS_BUSY;
			v[n++] = idx;
		}
		pthread_mutex_unlock(&pg->lock);
		if (n == 0)
			return 0;
		/* Sort (with the states) so neighbours go out in one write. */
		if (n > 1) {
			uint64_t pairs[EVICT_BATCH];

			for (int i = 0; i < n; i++)
				pairs[i] = (uint64_t)v[i] << 8 | was[i];
			qsort(pairs, (size_t)n, sizeof(pairs[0]), cmp_u64);
			for (int i = 0; i < n; i++) {
				v[i] = (uint32_t)(pairs[i] >> 8);
				was[i] = (uint8_t)pairs[i];
			}
		}
		if (drop_pages(pg, ch, v, was, n)) {
			pager_fatal(pg);
			return -1;
		}
		pthread_mutex_lock(&pg->lock);
		for (int i = 0; i < n; i++) {
			bool dirty = (was[i] & PS_STATE) == PS_DIRTY;

			pg->st[v[i]] = PS_ABSENT | (was[i] & PS_REMOTE);
			if (dirty)
				mark_remote(pg, v[i]);
			pg->dirty -= dirty;
		}
		pthread_cond_broadcast(&pg->cond);
		pthread_mutex_unlock(&pg->lock);
		STAT_ADD(pg, evictions, (uint64_t)n);
	}
}

/* A missing page: install it (and, on sequential access, the run after it). A write
 * fault's pages are installed writable and dirty: protecting them would only cost a
 * second fault per page at once (a sequential writer writes the whole run). */
static int serve_missing(struct pager *pg, int ch, uint64_t idx, bool write)
{
	uint64_t n = 1, max = 1, end;
	const void *data;
	uint8_t s;

	pthread_mutex_lock(&pg->lock);
	wait_not_busy(pg, idx);
	s = pg->st[idx];
	if ((s & PS_STATE) != PS_ABSENT) {
		/* Another thread installed it while this fault was queued. */
		pthread_mutex_unlock(&pg->lock);
		uffd_wake(pg, idx, 1);
		return 0;
	}
	if (pg->prefetch) {
		pg->window = idx == pg->seq_next ? pg->window * 2 : 1;
		if (pg->window > MP_MAX_PAGES)
			pg->window = MP_MAX_PAGES;
		max = pg->window;
		if (max > pg->budget / 8)
			max = pg->budget / 8 ? pg->budget / 8 : 1;
	}
	end = region_end_page(pg, idx);
	while (n < max && idx + n < end && pg->st[idx + n] == s)
		n++;
	for (uint64_t i = 0; i < n; i++)
		pg->st[idx + i] |= PS_BUSY;
	pg->seq_next = idx + n;
	pthread_mutex_unlock(&pg->lock);

	if (s & PS_REMOTE) {
		data = remote_mem_read(pg->rm, ch, idx * PAGE, (unsigned)n);
		if (!data) {
			pager_fatal(pg);
			return -1;
		}
		STAT_ADD(pg, fetches, 1);
		STAT_ADD(pg, fetched, n);
		STAT_ADD(pg, bytes_in, n * PAGE);
	} else {
		data = zero_pages;
		STAT_ADD(pg, zero_fills, n);
	}
	if (uffd_copy(pg, idx, data, n, !write)) {
		pager_fatal(pg);
		return -1;
	}
	STAT_ADD(pg, prefetched, n - 1);
	pthread_mutex_lock(&pg->lock);
	if (write)
		pg->dirty += n;
	for (uint64_t i = 0; i < n; i++) {
		pg->st[idx + i] = (write ? PS_DIRTY : PS_CLEAN) | (s & PS_REMOTE);
		pg->fifo[(pg->fifo_head + pg->fifo_len) % pg->npages] = (uint32_t)(idx + i);
		pg->fifo_len++;
	}
	pthread_cond_broadcast(&pg->cond);
	pthread_mutex_unlock(&pg->lock);
	return make_room(pg, ch);
}

/* A write to a write-protected resident page: it becomes dirty. */
static int serve_wp(struct pager *pg, uint64_t idx)
{
	uint8_t s;
	int rc;

	pthread_mutex_lock(&pg->lock);
	wait_not_busy(pg, idx);
	s = pg->st[idx];
	if ((s & PS_STATE) == PS_ABSENT) {
		/* Evicted meanwhile: retrying turns it into a missing-page fault. */
		pthread_mutex_unlock(&pg->lock);
		uffd_wake(pg, idx, 1);
		return 0;
	}
	if ((s & PS_STATE) == PS_CLEAN)
		pg->dirty++;
	pg->st[idx] = PS_DIRTY | (s & PS_REMOTE) | PS_BUSY;
	pthread_mutex_unlock(&pg->lock);
	rc = uffd_wp(pg, idx, 1, false);
	pthread_mutex_lock(&pg->lock);
	pg->st[idx] &= (uint8_t)~PS_BUSY;
	pthread_cond_broadcast(&pg->cond);
	pthread_mutex_unlock(&pg->lock);
	STAT_ADD(pg, wp_faults, 1);
	if (rc)
		pager_fatal(pg);
	return rc;
}

static void *pager_thread(void *arg)
{
	struct pager_thread *t = arg;
	struct pager *pg = t->pg;
	struct pollfd fds[2] = {{.fd = pg->uffd, .events = POLLIN},
				{.fd = pg->stop_fd, .events = POLLIN}};
	struct uffd_msg msgs[16];

	while (!atomic_load(&pg->failed)) {
		ssize_t n;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		n = read(pg->uffd, msgs, sizeof(msgs));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			log_error("pager: reading userfaultfd: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; i < (size_t)n / sizeof(msgs[0]); i++) {
			struct uffd_msg *m = &msgs[i];
			uint64_t addr = m->arg.pagefault.address & ~(PAGE - 1), idx, t0;

			if (m->event != UFFD_EVENT_PAGEFAULT)
				continue;
			if (addr < (uint64_t)(uintptr_t)pg->base ||
			    addr >= (uint64_t)(uintptr_t)pg->base + pg->npages * PAGE) {
				log_error("pager: fault at 0x%llx outside guest RAM",
					  (unsigned long long)addr);
				continue;
			}
			idx = (addr - (uint64_t)(uintptr_t)pg->base) / PAGE;
			if (atomic_load(&pg->failed))
				break;
			if (m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
				serve_wp(pg, idx);
				continue;
			}
			t0 = now_ns();
			if (serve_missing(pg, t->ch, idx,
					  m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE) ==
			    0) {
				STAT_ADD(pg, faults, 1);
				lat_hist_add(&pg->lat, now_ns() - t0);
			}
		}
	}
	return NULL;
}

/* userfaultfd for this process, handling kernel-mode faults too (KVM, syscalls). */
static int uffd_open(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		/* Unprivileged: /dev/userfaultfd (Linux 6.1+) may be accessible. */
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			close(dev);
		}
		if (fd < 0)
			log_error("pager: userfaultfd is not allowed for this user: give lego-vmm "
				  "CAP_SYS_PTRACE, access to /dev/userfaultfd, or set "
				  "vm.unprivileged_userfaultfd=1");
		return fd;
	}
	if (fd < 0)
		log_error("pager: userfaultfd: %s (kernel without CONFIG_USERFAULTFD?)",
			  strerror(errno));
	return fd;
}

static int uffd_setup(struct pager *pg)
{
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg = {
		.range = {.start = (uint64_t)(uintptr_t)pg->base, .len = pg->npages * PAGE},
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP};
	const uint64_t need =
		(1ULL << _UFFDIO_COPY) | (1ULL << _UFFDIO_WAKE) | (1ULL << _UFFDIO_WRITEPROTECT);

	pg->uffd = uffd_open();
	if (pg->uffd < 0)
		return -1;
	if (ioctl(pg->uffd, UFFDIO_API, &api) < 0) {
		log_error("pager: UFFDIO_API: %s", strerror(errno));
		return -1;
	}
	if (!(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
		log_error("pager: this kernel's userfaultfd lacks write-protect mode (Linux 5.7+ "
			  "needed to track dirty pages)");
		return -1;
	}
	/* 4 KiB pages: the unit of fetch, dirty tracking and eviction. */
	madvise(pg->base, pg->npages * PAGE, MADV_NOHUGEPAGE);
	if (ioctl(pg->uffd, UFFDIO_REGISTER, &reg) < 0) {
		log_error("pager: UFFDIO_REGISTER of %llu MiB guest RAM: %s",
			  (unsigned long long)(pg->npages * PAGE >> 20), strerror(errno));
		return -1;
	}
	if ((reg.ioctls & need) != need) {
		log_error("pager: userfaultfd on guest RAM lacks COPY/WAKE/WRITEPROTECT");
		return -1;
	}
	return 0;
}

static void pager_free(struct pager *pg)
{
	if (pg->uffd >= 0)
		close(pg->uffd);
	if (pg->stop_fd >= 0)
		close(pg->stop_fd);
	free(pg->st);
	free(pg->rbits);
	free(pg->delta);
	free(pg->fifo);
	pthread_mutex_destroy(&pg->lock);
	pthread_mutex_destroy(&pg->flush_lock);
	pthread_cond_destroy(&pg->cond);
	free(pg);
}

int pager_start(struct pager **out, struct vm *vm, struct remote_mem *rm,
		const struct pager_config *cfg)
{
	struct pager *pg = calloc(1, sizeof(*pg));

	if (!pg)
		return -1;
	pg->uffd = pg->stop_fd = -1;
	pthread_mutex_init(&pg->lock, NULL);
	pthread_mutex_init(&pg->flush_lock, NULL);
	pthread_cond_init(&pg->cond, NULL);
	pg->vm = vm;
	pg->rm = rm;
	pg->base = vm->mem.base;
	pg->npages = vm->mem.size / PAGE;
	pg->budget = cfg->cache_bytes / PAGE;
	pg->prefetch = cfg->prefetch;
	pg->window = 1;
	pg->st = calloc(pg->npages, 1);
	pg->fifo = calloc(pg->npages, sizeof(*pg->fifo));
	pg->stop_fd = eventfd(0, EFD_CLOEXEC);
	pg->rbits = calloc((pg->npages + 63) / 64, sizeof(uint64_t));
	if (pg->st && pg->rbits && cfg->attached) {
		memset(pg->st, PS_REMOTE, pg->npages);
		memset(pg->rbits, 0xff, (pg->npages + 63) / 64 * sizeof(uint64_t));
	}
	if (!pg->st || !pg->fifo || !pg->rbits || pg->stop_fd < 0 || uffd_setup(pg)) {
		if (!pg->st || !pg->fifo || !pg->rbits)
			log_error("pager: out of memory for %llu page states",
				  (unsigned long long)pg->npages);
		pager_free(pg);
		return -1;
	}
	for (int i = 0; i < cfg->threads; i++) {
		struct pager_thread *t = &pg->threads[i];

		t->pg = pg;
		t->ch = i;
		if (pthread_create(&t->thread, NULL, pager_thread, t)) {
			log_error("pager: cannot start thread %d", i);
			pager_stop(pg);
			return -1;
		}
		pg->nthreads = i + 1;
	}
	log_info("pager: %llu MiB guest RAM, ExCache %llu MiB, %d thread(s), prefetch %s",
		 (unsigned long long)(pg->npages * PAGE >> 20),
		 (unsigned long long)(pg->budget * PAGE >> 20), pg->nthreads,
		 pg->prefetch ? "on" : "off");
	*out = pg;
	return 0;
}

void pager_stop(struct pager *pg)
{
	uint64_t one = 1;

	if (!pg)
		return;
	atomic_store(&pg->stopping, true);
	if (pg->prefetching)
		pthread_join(pg->prefetcher, NULL);
	free(pg->hot);
	if (write(pg->stop_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("pager: cannot signal the threads to stop");
	for (int i = 0; i < pg->nthreads; i++)
		pthread_join(pg->threads[i].thread, NULL);
	pager_free(pg);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Dirty pages are resident, so the resident set (at most the ExCache) is what is searched,
 * not all of guest RAM: a flush costs the same for 1 GiB and 64 GiB. */
int64_t pager_flush(struct pager *pg)
{
	int ch = pg->rm->nr_channels - 1;
	uint32_t *v = NULL;
	uint64_t n = 0;
	int64_t total = 0;

	bool want;

	pthread_mutex_lock(&pg->flush_lock);
	pthread_mutex_lock(&pg->lock);
	want = pg->dirty != 0;
	if (want)
		v = malloc(pg->fifo_len * sizeof(*v));
	for (uint64_t k = 0; v && k < pg->fifo_len; k++) {
		uint32_t idx = pg->fifo[(pg->fifo_head + k) % pg->npages];

		if ((pg->st[idx] & (PS_STATE | PS_BUSY)) == PS_DIRTY) {
			pg->st[idx] |= PS_BUSY;
			v[n++] = idx;
		}
	}
	pthread_mutex_unlock(&pg->lock);
	if (want && !v) {
		log_error("pager: out of memory for a flush");
		pthread_mutex_unlock(&pg->flush_lock);
		return -1;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_u32);
	for (uint64_t i = 0; i < n;) {
		uint64_t j = i + 1, end = region_end_page(pg, v[i]);
		bool ok;

		/* A run: consecutive pages in one region, at most one message. */
		while (j < n && v[j] == v[j - 1] + 1 && v[j] < end && j - i < MP_MAX_PAGES)
			j++;
		/* Protect, copy, write: the pages stay resident, now clean. */
		ok = !atomic_load(&pg->failed) && !uffd_wp(pg, v[i], j - i, true);
		if (ok) {
			memcpy(remote_mem_write_buf(pg->rm, ch, (uint64_t)v[i] * PAGE),
			       pg->base + (uint64_t)v[i] * PAGE, (j - i) * PAGE);
			ok = !remote_mem_write(pg->rm, ch, (uint64_t)v[i] * PAGE,
					       (unsigned)(j - i));
		}
		pthread_mutex_lock(&pg->lock);
		for (uint64_t k = i; k < j; k++) {
			pg->st[v[k]] = ok ? PS_CLEAN : pg->st[v[k]] & ~PS_BUSY;
			if (ok)
				mark_remote(pg, v[k]);
		}
		if (ok)
			pg->dirty -= j - i;
		pthread_cond_broadcast(&pg->cond);
		pthread_mutex_unlock(&pg->lock);
		if (!ok) {
			/* The rest stay dirty (and unlocked): the vNode stops anyway. */
			for (uint64_t k = j; k < n; k++) {
				pthread_mutex_lock(&pg->lock);
				pg->st[v[k]] &= (uint8_t)~PS_BUSY;
				pthread_mutex_unlock(&pg->lock);
			}
			pager_fatal(pg);
			break;
		}
		STAT_ADD(pg, writebacks, j - i);
		STAT_ADD(pg, bytes_out, (j - i) * PAGE);
		total += (int64_t)(j - i);
		i = j;
	}
	if (n) {
		pthread_mutex_lock(&pg->lock);
		pthread_cond_broadcast(&pg->cond);
		pthread_mutex_unlock(&pg->lock);
	}
	free(v);
	pthread_mutex_unlock(&pg->flush_lock);
	return atomic_load(&pg->failed) ? -1 : total;
}

void pager_get_stats(struct pager *pg, struct pager_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->faults = __atomic_load_n(&pg->faults, __ATOMIC_RELAXED);
	st->wp_faults = __atomic_load_n(&pg->wp_faults, __ATOMIC_RELAXED);
	st->remote_fetches = __atomic_load_n(&pg->fetches, __ATOMIC_RELAXED);
	st->pages_fetched = __atomic_load_n(&pg->fetched, __ATOMIC_RELAXED);
	st->zero_fills = __atomic_load_n(&pg->zero_fills, __ATOMIC_RELAXED);
	st->prefetched = __atomic_load_n(&pg->prefetched, __ATOMIC_RELAXED);
	st->evictions = __atomic_load_n(&pg->evictions, __ATOMIC_RELAXED);
	st->writebacks = __atomic_load_n(&pg->writebacks, __ATOMIC_RELAXED);
	st->bytes_in = __atomic_load_n(&pg->bytes_in, __ATOMIC_RELAXED);
	st->bytes_out = __atomic_load_n(&pg->bytes_out, __ATOMIC_RELAXED);
	pthread_mutex_lock(&pg->lock);
	st->resident_pages = pg->fifo_len;
	st->dirty_pages = pg->dirty;
	pthread_mutex_unlock(&pg->lock);
	st->cache_pages = pg->budget;
	st->lat_p50_ns = lat_hist_quantile(&pg->lat, 0.5);
	st->lat_p99_ns = lat_hist_quantile(&pg->lat, 0.99);
	st->lat_p999_ns = lat_hist_quantile(&pg->lat, 0.999);
	st->lat_max_ns = __atomic_load_n(&pg->lat.max_ns, __ATOMIC_RELAXED);
}

int pager_stats_json(const struct pager_stats *st, char *buf, size_t len)
{
	return snprintf(
		buf, len,
		"{\"faults\": %llu, \"wp_faults\": %llu, \"remote_fetches\": %llu, "
		"\"pages_fetched\": %llu, \"zero_fills\": %llu, \"prefetched\": %llu, "
		"\"evictions\": %llu, \"writebacks\": %llu, \"bytes_in\": %llu, \"bytes_out\": "
		"%llu, \"resident_pages\": %llu, \"dirty_pages\": %llu, \"cache_pages\": %llu, "
		"\"fault_p50_us\": %.1f, \"fault_p99_us\": %.1f, \"fault_p999_us\": %.1f, "
		"\"fault_max_us\": %.1f}",
		(unsigned long long)st->faults, (unsigned long long)st->wp_faults,
		(unsigned long long)st->remote_fetches, (unsigned long long)st->pages_fetched,
		(unsigned long long)st->zero_fills, (unsigned long long)st->prefetched,
		(unsigned long long)st->evictions, (unsigned long long)st->writebacks,
		(unsigned long long)st->bytes_in, (unsigned long long)st->bytes_out,
		(unsigned long long)st->resident_pages, (unsigned long long)st->dirty_pages,
		(unsigned long long)st->cache_pages, (double)st->lat_p50_ns / 1e3,
		(double)st->lat_p99_ns / 1e3, (double)st->lat_p999_ns / 1e3,
		(double)st->lat_max_ns / 1e3);
}

void pager_log_stats(const struct pager_stats *st)
{
	log_info("pager: faults=%llu remote_fetches=%llu pages_fetched=%llu zero_fills=%llu "
		 "prefetched=%llu wp_faults=%llu evictions=%llu writebacks=%llu in=%.1fMiB "
		 "out=%.1fMiB fault_us p50=%.1f p99=%.1f p999=%.1f",
		 (unsigned long long)st->faults, (unsigned long long)st->remote_fetches,
		 (unsigned long long)st->pages_fetched, (unsigned long long)st->zero_fills,
		 (unsigned long long)st->prefetched, (unsigned long long)st->wp_faults,
		 (unsigned long long)st->evictions, (unsigned long long)st->writebacks,
		 (double)st->bytes_in / 1048576.0, (double)st->bytes_out / 1048576.0,
		 (double)st->lat_p50_ns / 1e3, (double)st->lat_p99_ns / 1e3,
		 (double)st->lat_p999_ns / 1e3);
}

uint64_t pager_dirty_pages(struct pager *pg)
{
	uint64_t n;

	pthread_mutex_lock(&pg->lock);
	n = pg->dirty;
	pthread_mutex_unlock(&pg->lock);
	return n;
}

uint64_t pager_npages(const struct pager *pg)
{
	return pg->npages;
}

uint64_t pager_remote_bits(struct pager *pg, uint8_t *bits, bool snapshot)
{
	uint64_t held = 0, dirty, nbytes = (pg->npages + 7) / 8;

	pthread_mutex_lock(&pg->lock);
	dirty = pg->dirty;
	/* Little-endian words: bit i of the map is bit i % 8 of byte i / 8, as sent. */
	memcpy(bits, pg->rbits, nbytes);
	for (uint64_t w = 0; w < (pg->npages + 63) / 64; w++)
		held += (uint64_t)__builtin_popcountll(pg->rbits[w]);
	if (snapshot) {
		pg->tracking = true;
		pg->delta_lost = false;
		pg->nr_delta = 0;
	}
	pthread_mutex_unlock(&pg->lock);
	return dirty && !snapshot ? UINT64_MAX : held;
}

int pager_remote_delta(struct pager *pg, uint32_t **out, uint32_t *n)
{
	int rc = -1;

	pthread_mutex_lock(&pg->lock);
	*out = NULL;
	*n = 0;
	if (pg->tracking && !pg->delta_lost && !pg->dirty) {
		*out = malloc((pg->nr_delta ? pg->nr_delta : 1) * sizeof(**out));
		if (*out) {
			if (pg->nr_delta)
				memcpy(*out, pg->delta, (size_t)pg->nr_delta * sizeof(**out));
			*n = pg->nr_delta;
			rc = 0;
		}
	}
	pg->tracking = false;
	pthread_mutex_unlock(&pg->lock);
	return rc;
}

int pager_load_remote_pages(struct pager *pg, const uint32_t *pages, uint32_t n, uint32_t *bad)
{
	int rc = 0;

	pthread_mutex_lock(&pg->lock);
	for (uint32_t i = 0; i < n && !rc; i++) {
		if (pages[i] >= pg->npages || (pg->st[pages[i]] & PS_STATE) != PS_ABSENT ||
		    (pg->st[pages[i]] & PS_BUSY)) {
			*bad = pages[i];
			rc = -1;
		} else
			mark_remote(pg, pages[i]);
	}
	pthread_mutex_unlock(&pg->lock);
	return rc;
}

int pager_load_remote_bits(struct pager *pg, uint64_t first, uint64_t n, const uint8_t *bits)
{
	int rc = 0;

	if (first > pg->npages || n > pg->npages - first)
		return -1;
	pthread_mutex_lock(&pg->lock);
	for (uint64_t i = 0; i < n && !rc; i++) {
		uint8_t *s = &pg->st[first + i];

		if (!(i % 8) && !bits[i / 8] && n - i >= 8) {
			i += 7; /* a byte of zero bits: eight pages the owner never got */
			continue;
		}
		if (!(bits[i / 8] & (1U << (i % 8))))
			continue;
		/* Only pages nothing has touched here can take the source's word for it. */
		if ((*s & PS_STATE) != PS_ABSENT || (*s & PS_BUSY))
			rc = -1;
		else
			mark_remote(pg, first + i);
	}
	pthread_mutex_unlock(&pg->lock);
	return rc;
}

uint32_t pager_hot_pages(struct pager *pg, uint32_t *out, uint32_t max)
{
	uint32_t n = 0;

	pthread_mutex_lock(&pg->lock);
	/* Newest first: the last pages the guest touched are the likeliest next. */
	for (uint64_t k = pg->fifo_len; k > 0 && n < max; k--)
		out[n++] = pg->fifo[(pg->fifo_head + k - 1) % pg->npages];
	pthread_mutex_unlock(&pg->lock);
	return n;
}

/* Install pages [idx, idx + n) (BUSY, absent, held remotely) from the owner, clean. */
static int prefetch_run(struct pager *pg, int ch, uint32_t idx, uint32_t n)
{
	const void *data = remote_mem_read(pg->rm, ch, (uint64_t)idx * PAGE, n);
	bool ok = data && !uffd_copy(pg, idx, data, n, true);

	pthread_mutex_lock(&pg->lock);
	for (uint32_t i = 0; i < n; i++) {
		pg->st[idx + i] = ok ? PS_CLEAN | PS_REMOTE : PS_ABSENT | PS_REMOTE;
		if (ok) {
			pg->fifo[(pg->fifo_head + pg->fifo_len) % pg->npages] = idx + i;
			pg->fifo_len++;
		}
	}
	pthread_cond_broadcast(&pg->cond);
	pthread_mutex_unlock(&pg->lock);
	if (ok) {
		STAT_ADD(pg, prefetched, n);
		STAT_ADD(pg, fetched, n);
		STAT_ADD(pg, fetches, 1);
		STAT_ADD(pg, bytes_in, (uint64_t)n * PAGE);
	}
	return ok ? 0 : -1;
}

/* Fetch the hot pages still absent, in runs, while there is room in the ExCache; the
 * guest's own faults go first (a page being fetched here makes its fault wait). */
static void *prefetch_thread(void *arg)
{
	struct pager *pg = arg;
	int ch = pg->rm->nr_channels - 1; /* the flusher's: flush_lock keeps them apart */
	uint32_t done = 0;

	qsort(pg->hot, pg->nr_hot, sizeof(*pg->hot), cmp_u32);
	for (uint32_t i = 0; i < pg->nr_hot && !atomic_load(&pg->stopping);) {
		uint32_t n = 0, first = pg->hot[i];
		uint64_t end = region_end_page(pg, first);
		bool full;

		pthread_mutex_lock(&pg->lock);
		/* Leave a sixteenth of the ExCache to the guest's faults. */
		while (i + n < pg->nr_hot && n < MP_MAX_PAGES && pg->hot[i + n] == first + n &&
		       first + n < end && pg->st[first + n] == (PS_ABSENT | PS_REMOTE) &&
		       pg->fifo_len + n < pg->budget - pg->budget / 16) {
			pg->st[first + n] |= PS_BUSY;
			n++;
		}
		full = pg->fifo_len + 1 >= pg->budget - pg->budget / 16;
		pthread_mutex_unlock(&pg->lock);
		if (!n) {
			if (full)
				break;
			i++;
			continue;
		}
		pthread_mutex_lock(&pg->flush_lock);
		int rc = prefetch_run(pg, ch, first, n);

		pthread_mutex_unlock(&pg->flush_lock);
		if (rc)
			break; /* a failing server shows up in the guest's own faults */
		done += n;
		i += n;
	}
	log_info("pager: prefetched %u of %u hot page(s) from the source's ExCache", done,
		 pg->nr_hot);
	return NULL;
}

void pager_prefetch(struct pager *pg, const uint32_t *pages, uint32_t n)
{
	if (!n || pg->prefetching)
		return;
	pg->hot = malloc((size_t)n * sizeof(*pg->hot));
	if (!pg->hot)
		return;
	memcpy(pg->hot, pages, (size_t)n * sizeof(*pg->hot));
	pg->nr_hot = n;
	pg->prefetching = !pthread_create(&pg->prefetcher, NULL, prefetch_thread, pg);
}
