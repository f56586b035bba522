/* page_cycle.c: the kernel's share of the pager's CPU per fetched page, per mode, without a
 * network: a page's install into registered memory and its eviction, in runs of --run pages,
 * as the pager issues them (the receive is left out: both modes pay it, into a bounce buffer
 * or into the file). Figures, CPU ns per page (this thread's CPU time):
 *
 *   page_cycle_copy_ns      UFFDIO_COPY (write-protected) + MADV_DONTNEED: the copy mode
 *   page_cycle_zerocopy_ns  fallocate + MADV_POPULATE_WRITE of the alias + UFFDIO_CONTINUE
 *                           (write-protected) + a hole punch: the zero-copy mode (memfd)
 *   page_cycle_move_ns      UFFDIO_MOVE of an anonymous page in + UFFDIO_WRITEPROTECT +
 *                           UFFDIO_MOVE out to a pool: no mode of the pager; what zero copy
 *                           without shmem would cost (only where the kernel has UFFDIO_MOVE)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/parse.h"

#define PAGE	 4096ULL
#define MAX_RUN	 64
#define NR_PAGES 16384ULL /* 64 MiB, the bench's working set */

#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP ((__u64)1 << 1)
#endif
#ifndef UFFDIO_MOVE /* Linux 6.8; older uapi headers lack it */
struct uffdio_move {
	__u64 dst, src, len, mode;
	__s64 move;
};
#define UFFD_FEATURE_MOVE (1 << 10)
#define _UFFDIO_MOVE	  (0x05)
#define UFFDIO_MOVE	  _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif

static uint8_t src[MAX_RUN * PAGE] __attribute__((aligned(4096)));

static uint64_t cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "page_cycle: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A userfaultfd with features, or -1 when this kernel lacks them. */
static int uffd_new(uint64_t features)
{
	int u = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	struct uffdio_api a = {.api = UFFD_API, .features = features};

	if (u < 0)
		die("userfaultfd");
	if (ioctl(u, UFFDIO_API, &a) < 0) {
		close(u);
		return -1;
	}
	return u;
}

static void uffd_register(int u, uint8_t *p, uint64_t len, uint64_t mode)
{
	struct uffdio_register r = {.range = {.start = (uint64_t)(uintptr_t)p, .len = len},
				    .mode = mode};

	if (ioctl(u, UFFDIO_REGISTER, &r) < 0)
		die("UFFDIO_REGISTER");
}

static uint8_t *anon(uint64_t len)
{
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

static double cycle_copy(uint64_t run, int rounds)
{
	int u = uffd_new(UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	uint8_t *g = anon(NR_PAGES * PAGE);
	uint64_t t0;

	if (u < 0)
		die("UFFDIO_API");
	uffd_register(u, g, NR_PAGES * PAGE,
		      UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP);
	t0 = cpu_ns();
	for (int r = 0; r < rounds; r++)
		for (uint64_t i = 0; i < NR_PAGES; i += run) {
			struct uffdio_copy c = {.dst = (uint64_t)(uintptr_t)(g + i * PAGE),
						.src = (uint64_t)(uintptr_t)src,
						.len = run * PAGE,
						.mode = UFFDIO_COPY_MODE_WP};

			if (ioctl(u, UFFDIO_COPY, &c) < 0)
				die("UFFDIO_COPY");
			if (madvise(g + i * PAGE, run * PAGE, MADV_DONTNEED))
				die("MADV_DONTNEED");
		}
	t0 = cpu_ns() - t0;
	munmap(g, NR_PAGES * PAGE);
	close(u);
	return (double)t0 / (double)(NR_PAGES * (uint64_t)rounds);
}

static double cycle_zerocopy(uint64_t run, int rounds)
{
	int u = uffd_new(UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	int fd = memfd_create("page-cycle", MFD_CLOEXEC);
	uint8_t *g, *a;
	uint64_t t0;
	double per_page = -1;

	if (u < 0 || fd < 0 || ftruncate(fd, (off_t)(NR_PAGES * PAGE))) {
		if (u >= 0)
			close(u);
		if (fd >= 0)
			close(fd);
		return -1; /* no minor faults on shmem: no zero-copy mode */
	}
	g = mmap(NULL, NR_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	a = mmap(NULL, NR_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (g == MAP_FAILED || a == MAP_FAILED)
		die("mmap of the memfd");
	uffd_register(u, g, NR_PAGES * PAGE,
		      UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR |
			      UFFDIO_REGISTER_MODE_WP);
	t0 = cpu_ns();
	for (int r = 0; r < rounds; r++)
		for (uint64_t i = 0; i < NR_PAGES; i += run) {
			struct uffdio_continue c = {
				.range = {.start = (uint64_t)(uintptr_t)(g + i * PAGE),
					  .len = run * PAGE},
				.mode = UFFDIO_CONTINUE_MODE_WP};

			if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)(i * PAGE),
				      (off_t)(run * PAGE)) ||
			    madvise(a + i * PAGE, run * PAGE, MADV_POPULATE_WRITE))
				die("allocating the pages");
			if (ioctl(u, UFFDIO_CONTINUE, &c) < 0)
				goto out; /* no UFFDIO_CONTINUE_MODE_WP: no zero-copy mode */
			if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      (off_t)(i * PAGE), (off_t)(run * PAGE)))
				die("punching the pages");
		}
	t0 = cpu_ns() - t0;
	per_page = (double)t0 / (double)(NR_PAGES * (uint64_t)rounds);
out:
	munmap(g, NR_PAGES * PAGE);
	munmap(a, NR_PAGES * PAGE);
	close(fd);
	close(u);
	return per_page;
}

static void uffd_move(int u, uint8_t *dst, uint8_t *from, uint64_t len)
{
	struct uffdio_move m = {
		.dst = (uint64_t)(uintptr_t)dst, .src = (uint64_t)(uintptr_t)from, .len = len};

	if (ioctl(u, UFFDIO_MOVE, &m) < 0)
		die("UFFDIO_MOVE");
}

static double cycle_move(uint64_t run, int rounds)
{
	int u = uffd_new(UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_MOVE);
	uint8_t *g, *pool;
	uint64_t t0;

	if (u < 0)
		return -1;
	g = anon(NR_PAGES * PAGE);
	pool = anon(run * PAGE);
	uffd_register(u, g, NR_PAGES * PAGE,
		      UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP);
	memset(pool, 1, run * PAGE); /* the pool's pages, allocated once, before registering */
	uffd_register(u, pool, run * PAGE, UFFDIO_REGISTER_MODE_MISSING);
	t0 = cpu_ns();
	for (int r = 0; r < rounds; r++)
		for (uint64_t i = 0; i < NR_PAGES; i += run) {
			struct uffdio_writeprotect w = {
				.range = {.start = (uint64_t)(uintptr_t)(g + i * PAGE),
					  .len = run * PAGE},
				.mode = UFFDIO_WRITEPROTECT_MODE_WP};

			uffd_move(u, g + i * PAGE, pool, run * PAGE);
			if (ioctl(u, UFFDIO_WRITEPROTECT, &w) < 0)
				die("UFFDIO_WRITEPROTECT");
			uffd_move(u, pool, g + i * PAGE, run * PAGE);
		}
	t0 = cpu_ns() - t0;
	munmap(g, NR_PAGES * PAGE);
	munmap(pool, run * PAGE);
	close(u);
	return (double)t0 / (double)(NR_PAGES * (uint64_t)rounds);
}

int main(int argc, char **argv)
{
	uint64_t run = 64, rounds = 4;
	double z, m;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: page_cycle [--run PAGES] [--rounds N]\n"
			       "The kernel's CPU per page for each pager mode's install and "
			       "eviction (runs of PAGES, 1..%d, default 64; N passes over 64 MiB, "
			       "default 4). Prints one 'name value' line per figure.\n",
			       MAX_RUN);
			return 0;
		}
		if (i + 1 < argc && !strcmp(argv[i], "--run") &&
		    !parse_uint(argv[i + 1], 1, MAX_RUN, &run) && NR_PAGES % run == 0) {
			i++;
		} else if (i + 1 < argc && !strcmp(argv[i], "--rounds") &&
			   !parse_uint(argv[i + 1], 1, 100, &rounds)) {
			i++;
		} else {
			fprintf(stderr, "page_cycle: bad argument '%s' (--help)\n", argv[i]);
			return 64;
		}
	}
	memset(src, 0x5a, sizeof(src));
	printf("page_cycle_copy_ns %.1f\n", cycle_copy(run, (int)rounds));
	z = cycle_zerocopy(run, (int)rounds);
	if (z >= 0)
		printf("page_cycle_zerocopy_ns %.1f\n", z);
	m = cycle_move(run, (int)rounds);
	if (m >= 0)
		printf("page_cycle_move_ns %.1f\n", m);
	return 0;
}
