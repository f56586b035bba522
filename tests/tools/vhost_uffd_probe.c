/* vhost_uffd_probe.c: does the kernel's vhost-net work on memory served by userfaultfd, as
 * lego-vmm's pager serves guest RAM? Each check prints a RESULT line.
 *
 *   vhost_uffd_probe [--tap NAME]
 *
 * "Guest RAM" is 4 MiB registered with userfaultfd (missing and write-protect faults), as the
 * pager registers it; a thread of this program plays the pager: a missing page is filled with
 * known bytes (UFFDIO_COPY, write-protected unless the fault was a write) and a write to a
 * write-protected page is recorded as dirty, then allowed. The rings live in that memory, the
 * buffers in pages nobody has touched (or that were evicted with MADV_DONTNEED). vhost-net
 * (/dev/vhost-net, one rx/tx queue pair) is attached to a tap this program creates, and an
 * AF_PACKET socket on the tap plays the network:
 *   tx-missing   vhost reads a frame from a page that is not resident: the pager serves the
 *                fault, from vhost's own thread, and the frame reaches the tap intact;
 *   rx-missing   a frame into a non-resident buffer: served, written, intact;
 *   rx-dirty     a frame into a resident, write-protected buffer: the write faults (the pager
 *                marks the page dirty, as for a vCPU's write), then lands;
 *   evicted      after MADV_DONTNEED and re-protection (the pager's eviction), all of it
 *                again: each access faults again.
 * Needs root, /dev/vhost-net and /dev/net/tun (tests/vmm/net-device.t runs it in the test
 * bed). Exit 0 if every check passed, 1 if one failed, 2 if it could not run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/userfaultfd.h>
#include <linux/vhost.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE	 4096UL
#define RAM	 (4UL << 20)
#define QNUM	 8
#define HDR	 sizeof(struct virtio_net_hdr_mrg_rxbuf)
#define ETYPE	 0x88b5 /* IEEE local experimental */
#define FRAME	 1000
#define TX_PAGE	 0x100 /* the page holding the frame the "guest" sends */
#define RX_PAGE0 0x200 /* rx buffer never touched */
#define RX_PAGE1 0x201 /* rx buffer made resident (and write-protected) first */
/* Ring layout (guest-physical = offset into RAM): rx queue at 0, tx queue at 0x10000. */
#define RING_DESC  0x0000
#define RING_AVAIL 0x1000
#define RING_USED  0x2000
#define TXQ_OFF	   0x10000

static uint8_t *ram;
static int uffd = -1, stop_fd = -1, failures;

struct fault {
	uint64_t page;
	bool wp, write;
	uint32_t tid;
};
static pthread_mutex_t flock_ = PTHREAD_MUTEX_INITIALIZER;
static struct fault faults[256];
static int nr_faults;

static void result(bool pass, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("RESULT %s %s ", name, pass ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures += !pass;
}

static void die(const char *what)
{
	fprintf(stderr, "vhost_uffd_probe: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* The bytes the pager puts in page p: for TX_PAGE a virtio-net header and an Ethernet frame. */
static void page_content(uint64_t p, uint8_t *buf)
{
	memset(buf, 0x5a, PAGE);
	if (p != TX_PAGE)
		return;
	memset(buf, 0, HDR);
	memset(buf + HDR, 0xff, 6);
	memcpy(buf + HDR + 6, "\x52\x54\x00\x12\x34\x56", 6);
	buf[HDR + 12] = ETYPE >> 8;
	buf[HDR + 13] = ETYPE & 0xff;
	for (int i = 14; i < FRAME; i++)
		buf[HDR + i] = (uint8_t)(i * 7 + 3);
}

static void record(uint64_t page, bool wp, bool write, uint32_t tid)
{
	pthread_mutex_lock(&flock_);
	if (nr_faults < (int)(sizeof(faults) / sizeof(faults[0])))
		faults[nr_faults++] = (struct fault){page, wp, write, tid};
	pthread_mutex_unlock(&flock_);
}

static void serve(const struct uffd_msg *m)
{
	uint64_t addr = m->arg.pagefault.address & ~(PAGE - 1);
	uint64_t page = (addr - (uint64_t)(uintptr_t)ram) / PAGE;
	bool wp = m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP;
	bool write = m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE;
	static uint8_t buf[PAGE];

	record(page, wp, write, m->arg.pagefault.feat.ptid);
	if (wp) {
		struct uffdio_writeprotect w = {.range = {addr, PAGE}, .mode = 0};

		if (ioctl(uffd, UFFDIO_WRITEPROTECT, &w) < 0)
			die("UFFDIO_WRITEPROTECT off");
		return;
	}
	page_content(page, buf);
	struct uffdio_copy c = {.dst = addr,
				.src = (uint64_t)(uintptr_t)buf,
				.len = PAGE,
				.mode = write ? 0 : UFFDIO_COPY_MODE_WP};
	if (ioctl(uffd, UFFDIO_COPY, &c) < 0 && errno != EEXIST)
		die("UFFDIO_COPY");
}

static void *pager(void *arg)
{
	struct pollfd p[2] = {{.fd = uffd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
	struct uffd_msg m;

	(void)arg;
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			die("poll");
		if (p[1].revents)
			return NULL;
		if (!(p[0].revents & POLLIN))
			continue;
		if (read(uffd, &m, sizeof(m)) != sizeof(m)) {
			if (errno == EAGAIN)
				continue;
			die("read uffd");
		}
		if (m.event == UFFD_EVENT_PAGEFAULT)
			serve(&m);
	}
}

static void uffd_setup(void)
{
	struct uffdio_api api = {.api = UFFD_API,
				 .features =
					 UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_PAGEFAULT_FLAG_WP};
	struct uffdio_register reg = {.range = {(uint64_t)(uintptr_t)ram, RAM},
				      .mode = UFFDIO_REGISTER_MODE_MISSING |
					      UFFDIO_REGISTER_MODE_WP};

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		die("userfaultfd");
	if (ioctl(uffd, UFFDIO_API, &api) < 0)
		die("UFFDIO_API");
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
		die("UFFDIO_REGISTER");
}

/* Write-protect (again) a resident page, as the pager does before writing a dirty one back. */
static void protect(uint64_t page)
{
	struct uffdio_writeprotect w = {.range = {(uint64_t)(uintptr_t)(ram + page * PAGE), PAGE},
					.mode = UFFDIO_WRITEPROTECT_MODE_WP};

	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &w) < 0)
		die("UFFDIO_WRITEPROTECT on");
}

/* The faults recorded on page since mark, as "missing-read/missing-write/wp by COMM". */
static int faults_on(int mark, uint64_t page, char *out, size_t len, bool *wp, bool *foreign)
{
	int n = 0;
	size_t used = 0;

	*wp = *foreign = false;
	out[0] = '\0';
	pthread_mutex_lock(&flock_);
	for (int i = mark; i < nr_faults; i++) {
		char path[64], comm[32] = "?";
		FILE *f;

		if (faults[i].page != page)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/comm", faults[i].tid);
		f = fopen(path, "r");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		*wp |= faults[i].wp;
		*foreign |= (pid_t)faults[i].tid != (pid_t)syscall(SYS_gettid) &&
			    !strncmp(comm, "vhost", 5);
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s by %s(%u)",
					 n ? "," : "",
					 faults[i].wp	   ? "wp"
					 : faults[i].write ? "missing-write"
							   : "missing-read",
					 comm, faults[i].tid);
		n++;
	}
	pthread_mutex_unlock(&flock_);
	return n;
}

struct queue {
	int index, kick, call;
	uint64_t off; /* its rings' offset in RAM */
	uint16_t avail_idx, used_seen;
};

static struct vring_desc *desc(struct queue *q)
{
	return (struct vring_desc *)(ram + q->off + RING_DESC);
}
static struct vring_avail *avail(struct queue *q)
{
	return (struct vring_avail *)(ram + q->off + RING_AVAIL);
}
static struct vring_used *used(struct queue *q)
{
	return (struct vring_used *)(ram + q->off + RING_USED);
}

/* Publish descriptor d (one buffer at gpa, len bytes) and kick. */
static void post(struct queue *q, uint16_t d, uint64_t gpa, uint32_t len, bool dev_write)
{
	desc(q)[d] = (struct vring_desc){
		.addr = gpa, .len = len, .flags = dev_write ? VRING_DESC_F_WRITE : 0};
	avail(q)->ring[q->avail_idx % QNUM] = d;
	__atomic_store_n(&avail(q)->idx, ++q->avail_idx, __ATOMIC_RELEASE);
	uint64_t one = 1;
	if (write(q->kick, &one, sizeof(one)) != sizeof(one))
		die("kick");
}

/* Wait (2 s at most) for the next used element: 0 with its id and len, -1 on timeout. */
static int wait_used(struct queue *q, uint32_t *id, uint32_t *len)
{
	for (int i = 0; i < 200; i++) {
		uint16_t idx = __atomic_load_n(&used(q)->idx, __ATOMIC_ACQUIRE);

		if (idx != q->used_seen) {
			struct vring_used_elem *e = &used(q)->ring[q->used_seen % QNUM];

			*id = e->id;
			*len = e->len;
			q->used_seen++;
			return 0;
		}
		struct pollfd p = {.fd = q->call, .events = POLLIN};
		uint64_t n;

		if (poll(&p, 1, 10) > 0 && read(q->call, &n, sizeof(n)) < 0)
			die("call");
	}
	return -1;
}

static void vhost_ioctl(int fd, unsigned long req, void *arg, const char *name)
{
	if (ioctl(fd, req, arg) < 0)
		die(name);
}

static void vhost_queue(int vfd, struct queue *q, int tap)
{
	struct vhost_vring_state num = {.index = (unsigned)q->index, .num = QNUM};
	struct vhost_vring_state base = {.index = (unsigned)q->index, .num = 0};
	struct vhost_vring_addr addr = {.index = (unsigned)q->index,
					.desc_user_addr = (uint64_t)(uintptr_t)desc(q),
					.avail_user_addr = (uint64_t)(uintptr_t)avail(q),
					.used_user_addr = (uint64_t)(uintptr_t)used(q)};
	struct vhost_vring_file kick, call, be = {.index = (unsigned)q->index, .fd = tap};

	q->kick = eventfd(0, EFD_CLOEXEC);
	q->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->kick < 0 || q->call < 0)
		die("eventfd");
	kick = (struct vhost_vring_file){.index = (unsigned)q->index, .fd = q->kick};
	call = (struct vhost_vring_file){.index = (unsigned)q->index, .fd = q->call};
	vhost_ioctl(vfd, VHOST_SET_VRING_NUM, &num, "VHOST_SET_VRING_NUM");
	vhost_ioctl(vfd, VHOST_SET_VRING_BASE, &base, "VHOST_SET_VRING_BASE");
	vhost_ioctl(vfd, VHOST_SET_VRING_ADDR, &addr, "VHOST_SET_VRING_ADDR");
	vhost_ioctl(vfd, VHOST_SET_VRING_KICK, &kick, "VHOST_SET_VRING_KICK");
	vhost_ioctl(vfd, VHOST_SET_VRING_CALL, &call, "VHOST_SET_VRING_CALL");
	vhost_ioctl(vfd, VHOST_NET_SET_BACKEND, &be, "VHOST_NET_SET_BACKEND");
}

static int vhost_open(int tap, struct queue *rx, struct queue *tx)
{
	int vfd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
	uint64_t features;
	struct {
		struct vhost_memory m;
		struct vhost_memory_region r;
	} mem = {.m = {.nregions = 1},
		 .r = {.guest_phys_addr = 0,
		       .memory_size = RAM,
		       .userspace_addr = (uint64_t)(uintptr_t)ram}};

	if (vfd < 0)
		die("open /dev/vhost-net");
	vhost_ioctl(vfd, VHOST_SET_OWNER, NULL, "VHOST_SET_OWNER");
	vhost_ioctl(vfd, VHOST_GET_FEATURES, &features, "VHOST_GET_FEATURES");
	features &= (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	vhost_ioctl(vfd, VHOST_SET_FEATURES, &features, "VHOST_SET_FEATURES");
	vhost_ioctl(vfd, VHOST_SET_MEM_TABLE, &mem, "VHOST_SET_MEM_TABLE");
	vhost_queue(vfd, rx, tap);
	vhost_queue(vfd, tx, tap);
	return vfd;
}

static int tap_open(const char *name, int *ifindex)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int hdr = (int)HDR, fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), s;
	char path[128];
	FILE *f;

	if (fd < 0)
		die("open /dev/net/tun");
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	vhost_ioctl(fd, TUNSETIFF, &ifr, "TUNSETIFF");
	vhost_ioctl(fd, TUNSETVNETHDRSZ, &hdr, "TUNSETVNETHDRSZ");
	/* No IPv6 router solicitations from the host side into the rx buffers. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifr.ifr_name);
	f = fopen(path, "w");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	vhost_ioctl(s, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	vhost_ioctl(s, SIOCSIFFLAGS, &ifr, "SIOCSIFFLAGS");
	vhost_ioctl(s, SIOCGIFINDEX, &ifr, "SIOCGIFINDEX");
	*ifindex = ifr.ifr_ifindex;
	close(s);
	return fd;
}

static int packet_open(int ifindex)
{
	struct sockaddr_ll sa = {
		.sll_family = AF_PACKET, .sll_protocol = htons(ETYPE), .sll_ifindex = ifindex};
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETYPE));

	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)))
		die("AF_PACKET socket on the tap");
	return s;
}

/* The guest's frame from TX_PAGE must come out of the tap as the pager made it. */
static void check_tx(const char *name, int pkt, struct queue *tx, int mark)
{
	uint8_t want[PAGE], got[2048];
	char fl[512];
	bool wp, vhost;
	uint32_t id, len;
	struct pollfd p = {.fd = pkt, .events = POLLIN};
	ssize_t n = -1;

	page_content(TX_PAGE, want);
	post(tx, 0, TX_PAGE * PAGE, (uint32_t)(HDR + FRAME), false);
	if (poll(&p, 1, 3000) > 0)
		n = recv(pkt, got, sizeof(got), 0);
	bool done = !wait_used(tx, &id, &len);
	int nf = faults_on(mark, TX_PAGE, fl, sizeof(fl), &wp, &vhost);
	result(n == FRAME && !memcmp(got, want + HDR, FRAME) && done && nf >= 1 && vhost, name,
	       "frame=%zd/%d bytes intact=%d used=%d faults=%d [%s]", n, FRAME,
	       n == FRAME && !memcmp(got, want + HDR, FRAME), done, nf, fl);
}

/* A frame sent into the tap must land in the rx buffer at page, with the expected fault. */
static void check_rx(const char *name, int pkt, int ifindex, struct queue *rx, uint16_t d,
		     uint64_t page, bool want_wp, int mark, int seq)
{
	uint8_t frame[FRAME];
	struct sockaddr_ll to = {.sll_family = AF_PACKET,
				 .sll_protocol = htons(ETYPE),
				 .sll_ifindex = ifindex,
				 .sll_halen = 6};
	char fl[512];
	bool wp, vhost;
	uint32_t id = 0, len = 0;

	memset(frame, 0xff, 6);
	memcpy(frame + 6, "\x52\x54\x00\xab\xcd\xef", 6);
	frame[12] = ETYPE >> 8;
	frame[13] = ETYPE & 0xff;
	for (int i = 14; i < FRAME; i++)
		frame[i] = (uint8_t)(i * 13 + seq);
	memset(to.sll_addr, 0xff, 6);
	post(rx, d, page * PAGE, PAGE, true);
	if (sendto(pkt, frame, sizeof(frame), 0, (struct sockaddr *)&to, sizeof(to)) != FRAME)
		die("sendto on the tap");
	bool done = !wait_used(rx, &id, &len);
	const struct virtio_net_hdr_mrg_rxbuf *h = (const void *)(ram + page * PAGE);
	bool intact = done && id == d && len == HDR + FRAME && h->num_buffers == 1 &&
		      !memcmp(ram + page * PAGE + HDR, frame, FRAME);
	int nf = faults_on(mark, page, fl, sizeof(fl), &wp, &vhost);

	result(intact && nf >= 1 && vhost && wp == want_wp, name,
	       "used=%d id=%u len=%u intact=%d faults=%d [%s]", done, id, len, intact, nf, fl);
}

int main(int argc, char **argv)
{
	const char *tap_name = "lego-probe%d";
	struct queue rx = {.index = 0, .off = 0}, tx = {.index = 1, .off = TXQ_OFF};
	int tap, vfd, pkt, ifindex, c, mark;
	pthread_t th;
	uint64_t one = 1;
	volatile uint8_t sink;

	while ((c = getopt(argc, argv, "t:h")) != -1) {
		if (c == 't') {
			tap_name = optarg;
		} else {
			fprintf(stderr, "usage: vhost_uffd_probe [-t TAP]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap");
	uffd_setup();
	stop_fd = eventfd(0, EFD_CLOEXEC);
	pthread_create(&th, NULL, pager, NULL);
	tap = tap_open(tap_name, &ifindex);
	pkt = packet_open(ifindex);
	/* The rings become resident here, faulted in by this thread. */
	memset(ram + rx.off, 0, 3 * PAGE);
	memset(ram + tx.off, 0, 3 * PAGE);
	vfd = vhost_open(tap, &rx, &tx);
	/* RX_PAGE1 resident and write-protected: read it (a read fault installs it WP). */
	sink = ram[RX_PAGE1 * PAGE];
	(void)sink;

	mark = nr_faults;
	check_tx("tx-missing", pkt, &tx, mark);
	check_rx("rx-missing", pkt, ifindex, &rx, 0, RX_PAGE0, false, mark, 1);
	check_rx("rx-dirty", pkt, ifindex, &rx, 1, RX_PAGE1, true, mark, 2);

	/* The pager's eviction: the dirty pages protected and written back, then dropped. */
	protect(RX_PAGE1);
	if (madvise(ram + TX_PAGE * PAGE, PAGE, MADV_DONTNEED) ||
	    madvise(ram + RX_PAGE0 * PAGE, PAGE, MADV_DONTNEED))
		die("madvise");
	mark = nr_faults;
	check_tx("evicted-tx-missing", pkt, &tx, mark);
	check_rx("evicted-rx-missing", pkt, ifindex, &rx, 2, RX_PAGE0, false, mark, 3);
	check_rx("evicted-rx-dirty", pkt, ifindex, &rx, 3, RX_PAGE1, true, mark, 4);

	close(vfd);
	close(pkt);
	close(tap);
	if (write(stop_fd, &one, sizeof(one)) != sizeof(one))
		die("stop");
	pthread_join(th, NULL);
	printf("RESULT vhost-uffd %s checks_failed=%d\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
