/*
 * fill.c: /init of the guest tests/bench/qemu-migrate.sh migrates with QEMU.
 *
 * It fills as much of the guest's free RAM as it safely can with a pattern that is neither
 * zero (QEMU sends a zero page as a flag, not as 4 KiB) nor random: word w of page p holds
 * (p + 1) * FILL_MUL + w. It then prints "FILLED <MiB>" on the console and blocks reading the
 * console, touching no memory, so that pre-copy converges after one pass. A line "verify"
 * on the console makes it re-read every word and answer "VERIFIED <MiB> (<ms> ms)" or
 * "VERIFY-FAILED page P word W"; the benchmark sends it to the destination after the
 * migration, proving that every page arrived intact.
 *
 * It runs as PID 1 on a bare initramfs: it mounts devtmpfs (for /dev/console) and proc itself.
 * On a fatal error it prints "FILL-ERROR ..." and powers the machine off (QEMU runs with
 * -no-reboot).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* qemu-migrate.sh builds this file alone (static, without -I.) into a guest's initramfs:
 * lib/ is out of reach, so it has its own clock (now_ms) and write loop (say). */
#define PAGE	       4096UL
#define WORDS_PER_PAGE (PAGE / sizeof(uint64_t))
#define MIB	       (1024UL * 1024UL)
#define HUGE	       (2 * MIB)
/* An odd constant: (p + 1) * FILL_MUL is never 0 for p + 1 < 2^64. */
#define FILL_MUL 0x9e3779b97f4a7c15ULL

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	for (const char *p = buf; n > 0;) {
		ssize_t w = write(STDOUT_FILENO, p, (size_t)n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (int)w;
	}
}

static _Noreturn void fatal(const char *what)
{
	say("FILL-ERROR %s: %s", what, strerror(errno));
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void console(void)
{
	int fd;

	if (mkdir("/dev", 0755) < 0 && errno != EEXIST)
		fatal("mkdir /dev");
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0 && errno != EBUSY)
		fatal("mount devtmpfs");
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		fatal("open /dev/console");
	for (int i = 0; i < 3; i++)
		if (fd != i && dup2(fd, i) < 0)
			fatal("dup2");
	if (fd > 2)
		close(fd);
}

/*
 * The bytes the fill may take: MemAvailable (free memory above the zones' high watermarks and
 * lowmem reserves; with transparent huge pages the watermarks are large, ~100 MiB at 4 GiB,
 * and going below them ends in the OOM killer, which for PID 1 is a panic), less the fill's
 * page tables (1/512 of it; one deposited page table per huge page) and some slack.
 */
static size_t fill_bytes(size_t *available)
{
	char buf[4096];
	const char *p;
	unsigned long long kib;
	ssize_t n;
	int fd;

	if (mkdir("/proc", 0555) < 0 && errno != EEXIST)
		fatal("mkdir /proc");
	if (mount("proc", "/proc", "proc", 0, NULL) < 0 && errno != EBUSY)
		fatal("mount proc");
	fd = open("/proc/meminfo", O_RDONLY);
	if (fd < 0)
		fatal("open /proc/meminfo");
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		fatal("read /proc/meminfo");
	close(fd);
	buf[n] = '\0';
	p = strstr(buf, "MemAvailable:");
	if (!p || sscanf(p, "MemAvailable: %llu kB", &kib) != 1) {
		errno = EINVAL;
		fatal("no MemAvailable in /proc/meminfo");
	}
	*available = (size_t)kib * 1024;
	if (*available < 32 * MIB + HUGE) {
		errno = ENOMEM;
		fatal("too little available memory");
	}
	return (*available - *available / 256 - 16 * MIB) / HUGE * HUGE;
}

static void fill(uint64_t *mem, size_t pages)
{
	for (size_t p = 0; p < pages; p++) {
		uint64_t *q = mem + p * WORDS_PER_PAGE;
		uint64_t v = (p + 1) * FILL_MUL;

		for (size_t w = 0; w < WORDS_PER_PAGE; w++)
			q[w] = v + w;
	}
}

/* Returns the index of the first bad word, or pages * WORDS_PER_PAGE if all are right. */
static size_t check(const uint64_t *mem, size_t pages)
{
	for (size_t p = 0; p < pages; p++) {
		const uint64_t *q = mem + p * WORDS_PER_PAGE;
		uint64_t v = (p + 1) * FILL_MUL;
		uint64_t bad = 0;

		for (size_t w = 0; w < WORDS_PER_PAGE; w++)
			bad |= q[w] ^ (v + w);
		if (bad) {
			for (size_t w = 0; w < WORDS_PER_PAGE; w++)
				if (q[w] != v + w)
					return p * WORDS_PER_PAGE + w;
		}
	}
	return pages * WORDS_PER_PAGE;
}

/* Answers "verify" lines on the console until it reads EOF or an error, then sleeps. */
static void serve(const uint64_t *mem, size_t pages)
{
	char line[64];
	size_t len = 0;

	for (;;) {
		char c;
		ssize_t r = read(STDIN_FILENO, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (c != '\n' && c != '\r') {
			if (len < sizeof(line) - 1)
				line[len++] = c;
			continue;
		}
		line[len] = '\0';
		len = 0;
		if (strcmp(line, "verify") == 0) {
			uint64_t t0 = now_ms();
			size_t bad = check(mem, pages);

			if (bad == pages * WORDS_PER_PAGE)
				say("VERIFIED %zu (%llu ms)", pages * PAGE / MIB,
				    (unsigned long long)(now_ms() - t0));
			else
				say("VERIFY-FAILED page %zu word %zu", bad / WORDS_PER_PAGE,
				    bad % WORDS_PER_PAGE);
		}
	}
	say("qemu-guest: console closed; idling");
	for (;;)
		pause();
}

int main(void)
{
	size_t available, bytes, pages;
	uint64_t *mem, t0;

	console();
	bytes = fill_bytes(&available);
	pages = bytes / PAGE;

	mem = mmap(NULL, bytes + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fatal("mmap");
	/* Start on a 2 MiB boundary so that transparent huge pages cover the whole fill. */
	mem = (uint64_t *)(((uintptr_t)mem + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	madvise(mem, bytes, MADV_HUGEPAGE);

	t0 = now_ms();
	fill(mem, pages);
	say("qemu-guest: filled %zu MiB of %zu MiB available in %llu ms", bytes / MIB,
	    available / MIB, (unsigned long long)(now_ms() - t0));
	say("FILLED %zu", bytes / MIB);
	serve(mem, pages);
	return 0;
}
