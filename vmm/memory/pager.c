/* pager.c: the ExCache's fault service: userfaultfd (missing and write-protect faults; minor
 * ones in the zero-copy mode), page states, sequential prefetch, the fatal stop when memory is
 * lost; the choice of mode, start and stop. */
#include "pager.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/lat_hist.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "pager_internal.h"
#include "vmm/kvm/vm.h"

#define WATCHDOG_MS 1000 /* after a fatal error, how long a stuck vCPU may delay exit */

static uint8_t zero_pages[MP_MAX_PAGES * PAGE] __attribute__((aligned(4096)));

static void *watchdog(void *arg)
{
	struct pager *pg = arg;
	struct pager_stats st;

	usleep(WATCHDOG_MS * 1000);
	log_error("vCPUs are still blocked on memory that cannot be served: exiting with %d",
		  VMM_EXIT_FAILURE);
	pager_stats_get(pg, &st);
	pager_stats_log(&st);
	fflush(NULL);
	_exit(VMM_EXIT_FAILURE);
	return NULL;
}

/* Memory is unreachable: stop the vNode. Faults still pending are never served (serving
 * them with anything but the data would corrupt the guest silently). */
void pager_fatal(struct pager *pg)
{
	pthread_t t;

	if (atomic_exchange(&pg->failed, true))
		return;
	log_error("%s; stopping the vNode", pg->rm->error[0] ? pg->rm->error : "pager failed");
	vm_stop(pg->vm, VMM_EXIT_FAILURE);
	if (pthread_create(&t, NULL, watchdog, pg) == 0)
		pthread_detach(t);
}

int pager_uffd_copy(struct pager *pg, uint64_t idx, const void *src, uint64_t n, bool wp)
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
int pager_uffd_wp(struct pager *pg, uint64_t idx, uint64_t n, bool protect)
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

/* Under pg->lock: the owner now holds page idx. */
void pager_mark_remote(struct pager *pg, uint64_t idx)
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

uint64_t pager_region_end(struct pager *pg, uint64_t idx)
{
	uint64_t rs = pg->rm->region_size / PAGE;
	uint64_t end = (idx / rs + 1) * rs;

	return end < pg->npages ? end : pg->npages;
}

int pager_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int install_zeros(struct pager *pg, uint64_t idx, uint64_t n, bool wp)
{
	STAT_ADD(pg, zero_fills, n);
	if (!pg->zc)
		return pager_uffd_copy(pg, idx, zero_pages, n, wp);
	/* The file's new pages are zeros already. */
	return pager_zc_prepare(pg, idx, n) ? pager_zc_map(pg, idx, n, wp) : -1;
}

int pager_install_remote(struct pager *pg, int ch, uint64_t idx, uint64_t n, bool wp)
{
	uint8_t *dst = NULL;
	const void *data;

	if (pg->zc && !(dst = pager_zc_prepare(pg, idx, n)))
		return -1;
	data = remote_mem_io_read_into(pg->rm, ch, idx * PAGE, (unsigned)n, dst);
	if (data) {
		STAT_ADD(pg, fetches, 1);
		STAT_ADD(pg, fetched, n);
		STAT_ADD(pg, bytes_in, n * PAGE);
		if (!pg->zc)
			return pager_uffd_copy(pg, idx, data, n, wp);
		/* Where the transport could not receive into the file (RMA into its registered
		 * buffer), one copy by hand still saves UFFDIO_COPY's. */
		if (data != dst)
			memcpy(dst, data, n * PAGE);
		if (pager_zc_map(pg, idx, n, wp) == 0)
			return 0;
	}
	/* Absent pages hold nothing in the file: a later fault fetches them again. */
	if (pg->zc)
		pager_zc_punch(pg, idx, n);
	return -1;
}

/* A missing page: install it (and, on sequential access, the run after it). A write
 * fault's pages are installed writable and dirty: protecting them would only cost a
 * second fault per page at once (a sequential writer writes the whole run). */
static void fault_served(struct pager *pg, uint64_t t0)
{
	STAT_ADD(pg, faults, 1);
	lat_hist_add(&pg->lat, (uint64_t)mono_clock_ns() - t0);
}

/* The fault's time (from t0) is counted once the faulting thread runs again, before any
 * eviction: that is what the vCPU waited. */
static int serve_missing(struct pager *pg, int ch, uint64_t idx, bool write, bool minor,
			 uint64_t t0)
{
	bool refault;
	uint64_t n = 1, max = 1, end;
	uint8_t s;

	pthread_mutex_lock(&pg->lock);
	wait_not_busy(pg, idx);
	s = pg->st[idx];
	if ((s & PS_STATE) != PS_ABSENT) {
		/* Another thread installed it while this fault was queued. A minor fault on a
		 * resident page: in the file, not mapped here (yet): map it as its state says. */
		int rc = minor ? pager_zc_map(pg, idx, 1, (s & PS_STATE) == PS_CLEAN) : 0;

		pthread_mutex_unlock(&pg->lock);
		uffd_wake(pg, idx, 1);
		if (rc == 0)
			fault_served(pg, t0);
		return rc;
	}
	if (pg->prefetch) {
		pg->window = idx == pg->seq_next ? pg->window * 2 : 1;
		if (pg->window > MP_MAX_PAGES)
			pg->window = MP_MAX_PAGES;
		max = pg->window;
		if (max > pg->budget / 8)
			max = pg->budget / 8 ? pg->budget / 8 : 1;
	}
	end = pager_region_end(pg, idx);
	while (n < max && idx + n < end && pg->st[idx + n] == s)
		n++;
	for (uint64_t i = 0; i < n; i++)
		pg->st[idx + i] |= PS_BUSY;
	pg->seq_next = idx + n;
	refault = pager_clock_refault(&pg->clock, (uint32_t)idx);
	if (pg->trace)
		pager_trace_fault(pg, idx);
	pthread_mutex_unlock(&pg->lock);

	if ((s & PS_REMOTE) ? pager_install_remote(pg, ch, idx, n, !write)
			    : install_zeros(pg, idx, n, !write)) {
		pager_fatal(pg);
		return -1;
	}
	fault_served(pg, t0);
	STAT_ADD(pg, prefetched, n - 1);
	STAT_ADD(pg, refaults, refault);
	pthread_mutex_lock(&pg->lock);
	if (write)
		pg->dirty += n;
	if (write && pg->tracking)
		pager_migration_written(pg, idx);
	for (uint64_t i = 0; i < n; i++)
		pg->st[idx + i] = (write ? PS_DIRTY : PS_CLEAN) | (s & PS_REMOTE);
	/* A write miss, or the miss of a page picked less than a ring ago (a refault), is a use
	 * the hand should see; other read misses and prefetched pages are not yet (a read sets
	 * no bit: only a later write does; measured, a bit for every read miss lowers zipf's
	 * hit ratio: 0.7398 against 0.7476). */
	pager_evict_resident(pg, idx, n, write || refault ? idx : UINT64_MAX);
	pager_evict_kick(pg);
	pthread_cond_broadcast(&pg->cond);
	pthread_mutex_unlock(&pg->lock);
	return pager_evict_make_room(pg, ch);
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
	/* Written: a use the CLOCK hand sees. */
	pager_clock_touch(&pg->clock, (uint32_t)idx);
	if (pg->tracking)
		pager_migration_written(pg, idx);
	pg->st[idx] = PS_DIRTY | (s & PS_REMOTE) | PS_BUSY;
	pthread_mutex_unlock(&pg->lock);
	rc = pager_uffd_wp(pg, idx, 1, false);
	pthread_mutex_lock(&pg->lock);
	pg->st[idx] &= (uint8_t)~PS_BUSY;
	pthread_cond_broadcast(&pg->cond);
	pthread_mutex_unlock(&pg->lock);
	STAT_ADD(pg, wp_faults, 1);
	if (rc)
		pager_fatal(pg);
	return rc;
}

/* Each thread waits on its own epoll set, userfaultfd in it with EPOLLEXCLUSIVE: a fault
 * wakes one idle thread, not all of them (the others would only read nothing and sleep again:
 * a wake-up and two system calls per fault and thread, which is not cheap in a nested guest). */
static int thread_epoll(struct pager *pg)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = pg->uffd};
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pg->uffd, &ev)) {
		log_error("pager: epoll for userfaultfd: %s", strerror(errno));
		if (ep >= 0)
			close(ep);
		return -1;
	}
	ev = (struct epoll_event){.events = EPOLLIN, .data.fd = pg->stop_fd};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, pg->stop_fd, &ev)) {
		log_error("pager: epoll for the stop event: %s", strerror(errno));
		close(ep);
		return -1;
	}
	return ep;
}

static void *pager_thread(void *arg)
{
	struct pager_thread *t = arg;
	struct pager *pg = t->pg;
	struct uffd_msg msgs[16];
	int ep = thread_epoll(pg);

	if (ep < 0) {
		pager_fatal(pg);
		return NULL;
	}
	while (!atomic_load(&pg->failed)) {
		struct epoll_event ev[2];
		bool stop = false;
		int ne = epoll_wait(ep, ev, 2, -1);
		ssize_t n;

		if (ne < 0 && errno != EINTR)
			break;
		for (int i = 0; i < ne; i++)
			stop |= ev[i].data.fd == pg->stop_fd;
		if (stop)
			break;
		n = read(pg->uffd, msgs, sizeof(msgs));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			log_error("pager: reading userfaultfd: %s", strerror(errno));
			break;
		}
		atomic_fetch_add(&pg->demand, (unsigned)((size_t)n / sizeof(msgs[0])));
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
			t0 = (uint64_t)mono_clock_ns();
			serve_missing(pg, t->ch, idx,
				      m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE,
				      m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR, t0);
		}
		atomic_store(&pg->demand_end_ns, mono_clock_ns());
		atomic_fetch_sub(&pg->demand, (unsigned)((size_t)n / sizeof(msgs[0])));
	}
	close(ep);
	return NULL;
}

/* userfaultfd for this process, handling kernel-mode faults too (KVM, syscalls). */
int pager_uffd_open(bool quiet)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		/* Unprivileged: /dev/userfaultfd (Linux 6.1+) may be accessible. */
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			close(dev);
		}
		if (fd < 0 && !quiet)
			log_error("pager: userfaultfd is not allowed for this user: give lego-vmm "
				  "CAP_SYS_PTRACE, access to /dev/userfaultfd, or set "
				  "vm.unprivileged_userfaultfd=1");
		return fd;
	}
	if (fd < 0 && !quiet)
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

	pg->uffd = pager_uffd_open(false);
	if (pg->uffd < 0)
		return -1;
	/* 4 KiB pages: the unit of fetch, dirty tracking and eviction. */
	madvise(pg->base, pg->npages * PAGE, MADV_NOHUGEPAGE);
	if (pg->zc)
		return pager_zc_setup(pg) || pager_zc_register(pg) ? -1 : 0;
	if (ioctl(pg->uffd, UFFDIO_API, &api) < 0) {
		log_error("pager: UFFDIO_API: %s", strerror(errno));
		return -1;
	}
	if (!(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
		log_error("pager: this kernel's userfaultfd lacks write-protect mode (Linux 5.7+ "
			  "needed to track dirty pages)");
		return -1;
	}
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

const char *pager_mode_name(enum pager_mode mode)
{
	return mode == PAGER_MODE_ZEROCOPY ? "zerocopy" : mode == PAGER_MODE_COPY ? "copy" : "auto";
}

/* Zero copy only where asked for, the kernel has it and no vhost-net reads guest RAM
 * (vhost_uffd_probe has only shown vhost-net on anonymous guest RAM); else copy, with one
 * line saying why. 0, or -1 when zero copy was asked for and cannot be had. */
static int choose_mode(struct pager *pg, const struct pager_config *cfg)
{
	char why[128];

	if (cfg->mode == PAGER_MODE_COPY)
		return 0;
	if (cfg->mode == PAGER_MODE_AUTO && cfg->vhost) {
		log_info("pager: copy mode: vhost-net shares guest RAM (zero copy is not chosen "
			 "with --net)");
		return 0;
	}
	if (cfg->mode == PAGER_MODE_AUTO) {
		/* Measured (remote-memory bench, page_cycle): a shmem page's allocation, mapping
		 * at the alias, UFFDIO_CONTINUE and hole punch cost ~3 us of kernel CPU where
		 * UFFDIO_COPY + MADV_DONTNEED cost ~1 us, and the copy saved is ~0.15 us; over a
		 * transport whose receive copies in the kernel anyway, auto keeps copy. */
		log_info("pager: copy mode: zero copy costs more CPU per page on this transport "
			 "(--pager-mode zerocopy forces it)");
		return 0;
	}
	if (!pager_zc_probe(why, sizeof(why))) {
		if (cfg->mode == PAGER_MODE_ZEROCOPY) {
			log_error("pager: zero-copy mode asked for, but %s", why);
			return -1;
		}
		log_info("pager: copy mode: %s", why);
		return 0;
	}
	pg->zc = true;
	return 0;
}

static void pager_free(struct pager *pg)
{
	if (pg->zc)
		pager_zc_free(pg);
	if (pg->uffd >= 0)
		close(pg->uffd);
	if (pg->stop_fd >= 0)
		close(pg->stop_fd);
	free(pg->st);
	free(pg->rbits);
	free(pg->delta);
	free(pg->wbits);
	pager_clock_free(&pg->clock);
	pager_trace_close(pg);
	pthread_mutex_destroy(&pg->lock);
	pthread_mutex_destroy(&pg->flush_lock);
	pthread_cond_destroy(&pg->cond);
	pthread_cond_destroy(&pg->evict_cond);
	free(pg);
}

int pager_start(struct pager **out, struct vm *vm, struct remote_mem *rm,
		const struct pager_config *cfg)
{
	struct pager *pg = calloc(1, sizeof(*pg));

	if (!pg)
		return -1;
	pg->uffd = pg->stop_fd = pg->memfd = -1;
	pthread_mutex_init(&pg->lock, NULL);
	pthread_mutex_init(&pg->flush_lock, NULL);
	pthread_cond_init(&pg->cond, NULL);
	pthread_cond_init(&pg->evict_cond, NULL);
	pg->evict_high = UINT64_MAX;
	pg->vm = vm;
	pg->rm = rm;
	pg->base = vm->mem.base;
	pg->npages = vm->mem.size / PAGE;
	pg->budget = cfg->cache_bytes / PAGE;
	pg->prefetch = cfg->prefetch;
	pg->window = 1;
	pg->st = calloc(pg->npages, 1);
	if (pager_clock_init(&pg->clock, pg->npages))
		pg->clock.ring = NULL;
	pg->stop_fd = eventfd(0, EFD_CLOEXEC);
	pg->rbits = calloc((pg->npages + 63) / 64, sizeof(uint64_t));
	if (pg->st && pg->rbits && cfg->attached) {
		memset(pg->st, PS_REMOTE, pg->npages);
		memset(pg->rbits, 0xff, (pg->npages + 63) / 64 * sizeof(uint64_t));
	}
	if (choose_mode(pg, cfg) || !pg->st || !pg->clock.ring || !pg->rbits || pg->stop_fd < 0 ||
	    (cfg->trace_path && pager_trace_open(pg, cfg->trace_path)) || uffd_setup(pg)) {
		if (!pg->st || !pg->clock.ring || !pg->rbits)
			log_error("pager: out of memory for %llu page states",
				  (unsigned long long)pg->npages);
		pager_free(pg);
		return -1;
	}
	/* The evictor needs a channel no fault thread uses: the flusher's, the last. */
	if (pg->rm->nr_channels > cfg->threads && pager_evict_start(pg)) {
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
	log_info("pager: %llu MiB guest RAM, ExCache %llu MiB, %d thread(s), prefetch %s%s%s, %s "
		 "mode",
		 (unsigned long long)(pg->npages * PAGE >> 20),
		 (unsigned long long)(pg->budget * PAGE >> 20), pg->nthreads,
		 pg->prefetch ? "on" : "off", pg->trace ? ", fault trace to " : "",
		 pg->trace ? cfg->trace_path : "",
		 pager_mode_name(pg->zc ? PAGER_MODE_ZEROCOPY : PAGER_MODE_COPY));
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
	pager_evict_stop(pg);
	free(pg->hot);
	if (write(pg->stop_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("pager: cannot signal the threads to stop");
	for (int i = 0; i < pg->nthreads; i++)
		pthread_join(pg->threads[i].thread, NULL);
	pager_free(pg);
}
