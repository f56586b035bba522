/* pager_zc.c: the pager's zero-copy mode: guest RAM as a memfd with userfaultfd in minor-fault
 * mode. A fetched page is received straight into the file through a second mapping (the
 * alias), then UFFDIO_CONTINUE maps it into guest RAM; eviction punches it out of the file.
 *
 * Needs, from the kernel: minor faults on shmem (UFFD_FEATURE_MINOR_SHMEM, 5.13), write
 * protection on shmem (UFFD_FEATURE_WP_HUGETLBFS_SHMEM, 5.19: dirty tracking), and
 * UFFDIO_CONTINUE_MODE_WP (after 6.1): a clean page must be mapped write-protected in one step,
 * else a vCPU could write it between the map and the protection, unseen, and the eviction
 * would drop that write. pager_zc_probe tries all of it on a scratch memfd. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"
#include "pager_internal.h"

#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP ((__u64)1 << 1) /* newer than 6.1; older uapi headers lack it */
#endif

#define ZC_FEATURES (UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_WP_HUGETLBFS_SHMEM)
#define ZC_MODES \
	(UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR | UFFDIO_REGISTER_MODE_WP)
#define ZC_IOCTLS \
	((1ULL << _UFFDIO_CONTINUE) | (1ULL << _UFFDIO_WAKE) | (1ULL << _UFFDIO_WRITEPROTECT))

static int zc_continue(int uffd, uint8_t *addr, uint64_t len, bool wp)
{
	struct uffdio_continue c = {.range = {.start = (uint64_t)(uintptr_t)addr, .len = len},
				    .mode = wp ? UFFDIO_CONTINUE_MODE_WP : 0};

	while (ioctl(uffd, UFFDIO_CONTINUE, &c) < 0) {
		if (errno == EAGAIN && c.mapped > 0 && (uint64_t)c.mapped < c.range.len) {
			c.range.start += (uint64_t)c.mapped;
			c.range.len -= (uint64_t)c.mapped;
			c.mapped = 0;
			continue;
		}
		if (errno == EAGAIN || errno == EINTR) {
			c.mapped = 0;
			continue;
		}
		return -1;
	}
	return 0;
}

/* A shared mapping of the whole file, or MAP_FAILED. */
static uint8_t *zc_map(int fd, uint64_t len, void *at)
{
	return mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | (at ? MAP_FIXED : 0), fd, 0);
}

bool pager_zc_probe(char *why, size_t len)
{
	struct uffdio_api api = {.api = UFFD_API, .features = ZC_FEATURES};
	int uffd = -1, fd = -1;
	uint8_t *a = MAP_FAILED, *b = MAP_FAILED;
	bool ok = false;

	snprintf(why, len,
		 "the kernel lacks userfaultfd minor faults or write protection on shmem");
	fd = memfd_create("lego-probe", MFD_CLOEXEC);
	uffd = pager_uffd_open(true);
	if (fd < 0 || uffd < 0 || ftruncate(fd, (off_t)PAGE) || ioctl(uffd, UFFDIO_API, &api) < 0 ||
	    (api.features & ZC_FEATURES) != ZC_FEATURES)
		goto out;
	a = zc_map(fd, PAGE, NULL);
	b = zc_map(fd, PAGE, NULL);
	if (a == MAP_FAILED || b == MAP_FAILED)
		goto out;
	struct uffdio_register reg = {.range = {.start = (uint64_t)(uintptr_t)a, .len = PAGE},
				      .mode = ZC_MODES};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0 || (reg.ioctls & ZC_IOCTLS) != ZC_IOCTLS)
		goto out;
	b[0] = 0x5a; /* the page now in the file, not yet mapped at a */
	if (zc_continue(uffd, a, PAGE, true)) {
		snprintf(why, len,
			 "UFFDIO_CONTINUE_MODE_WP is missing (a kernel newer than 6.1 needed)");
		goto out;
	}
	ok = a[0] == 0x5a;
out:
	if (a != MAP_FAILED)
		munmap(a, PAGE);
	if (b != MAP_FAILED)
		munmap(b, PAGE);
	if (uffd >= 0)
		close(uffd);
	if (fd >= 0)
		close(fd);
	return ok;
}

int pager_zc_setup(struct pager *pg)
{
	uint64_t len = pg->npages * PAGE;

	pg->memfd = memfd_create("lego-guest-ram", MFD_CLOEXEC);
	if (pg->memfd < 0 || ftruncate(pg->memfd, (off_t)len)) {
		log_error("pager: memfd for %llu MiB of guest RAM: %s",
			  (unsigned long long)(len >> 20), strerror(errno));
		return -1;
	}
	/* Guest RAM becomes the file, in place: nothing has touched it yet, and KVM's memory
	 * slots name addresses, not mappings. */
	if (zc_map(pg->memfd, len, pg->base) == MAP_FAILED) {
		log_error("pager: mapping guest RAM from its memfd: %s", strerror(errno));
		return -1;
	}
	madvise(pg->base, len, MADV_DONTDUMP);
	pg->alias = zc_map(pg->memfd, len, NULL);
	if (pg->alias == MAP_FAILED) {
		pg->alias = NULL;
		log_error("pager: the second mapping of guest RAM: %s", strerror(errno));
		return -1;
	}
	madvise(pg->alias, len, MADV_DONTDUMP);
	return 0;
}

int pager_zc_register(struct pager *pg)
{
	struct uffdio_api api = {.api = UFFD_API, .features = ZC_FEATURES};
	struct uffdio_register reg = {
		.range = {.start = (uint64_t)(uintptr_t)pg->base, .len = pg->npages * PAGE},
		.mode = ZC_MODES};

	if (ioctl(pg->uffd, UFFDIO_API, &api) < 0 || (api.features & ZC_FEATURES) != ZC_FEATURES) {
		log_error("pager: UFFDIO_API with minor faults on shmem: %s", strerror(errno));
		return -1;
	}
	if (ioctl(pg->uffd, UFFDIO_REGISTER, &reg) < 0 || (reg.ioctls & ZC_IOCTLS) != ZC_IOCTLS) {
		log_error("pager: UFFDIO_REGISTER (missing, minor, write-protect) of guest RAM: %s",
			  strerror(errno));
		return -1;
	}
	return 0;
}

void pager_zc_free(struct pager *pg)
{
	if (pg->alias)
		munmap(pg->alias, pg->npages * PAGE);
	if (pg->memfd >= 0)
		close(pg->memfd);
}

uint8_t *pager_zc_prepare(struct pager *pg, uint64_t idx, uint64_t n)
{
	uint8_t *dst = pg->alias + idx * PAGE;

	/* The pages into the file in one call (fallocate allocates without a fault per page and
	 * adds them to the LRU in batches), then mapped at the alias in one more, so that the
	 * receive does not fault on each. Measured (64-page runs, this host's kernel): 1.8 us
	 * per page, against 2.2 us for MADV_POPULATE_WRITE allocating through its faults. */
	if (fallocate(pg->memfd, FALLOC_FL_KEEP_SIZE, (off_t)(idx * PAGE), (off_t)(n * PAGE)) ||
	    madvise(dst, n * PAGE, MADV_POPULATE_WRITE)) {
		log_error("pager: allocating %llu page(s) of guest RAM at page %llu: %s",
			  (unsigned long long)n, (unsigned long long)idx, strerror(errno));
		return NULL;
	}
	return dst;
}

int pager_zc_map(struct pager *pg, uint64_t idx, uint64_t n, bool wp)
{
	if (zc_continue(pg->uffd, pg->base + idx * PAGE, n * PAGE, wp) == 0 || errno == EEXIST)
		return 0;
	log_error("pager: UFFDIO_CONTINUE of %llu pages at page %llu: %s", (unsigned long long)n,
		  (unsigned long long)idx, strerror(errno));
	return -1;
}

int pager_zc_punch(struct pager *pg, uint64_t idx, uint64_t n)
{
	/* Out of the file and so out of every mapping: the next access is a missing fault. */
	if (fallocate(pg->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(idx * PAGE),
		      (off_t)(n * PAGE)) == 0)
		return 0;
	log_error("pager: punching %llu page(s) at page %llu out of guest RAM: %s",
		  (unsigned long long)n, (unsigned long long)idx, strerror(errno));
	return -1;
}
