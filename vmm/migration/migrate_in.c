/* migrate_in.c: the destination side of a live migration (lego-vmm --incoming). Every
 * message is checked before anything of it is used; the vCPUs start only on GO. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <asm/kvm_para.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/tcp.h"
#include "lib/fdio.h"
#include "vmm/kvm/irqchip.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/proto/mig_proto.h"
#include "migrate.h"
#include "vmm/memory/pager.h"
#include "lib/parse.h"
#include "vmm/devices/legacy/serial.h"
#include "vmm/kvm/vcpu_state.h"
#include "vmm/kvm/vm.h"
#include "lib/proto/wire.h"
#include "migrate_devices.h"
#include "vmm/net/net_nics.h"

#define MSG_TIMEOUT_MS 30000 /* the source is paused while it sends: it never idles long */
#define GO_TIMEOUT_MS  30000

/* What has arrived so far. */
struct in_progress {
	bool hello, serial, vminfo, hot, irqchip;
	uint64_t vcpus_seen, apics_seen; /* bitmaps */
	struct migrate_devices_seen devs;
	uint64_t pages_covered;
	uint64_t console_bytes;
};

static void set_phase(struct migrate *m, enum migrate_phase p)
{
	pthread_mutex_lock(&m->lock);
	m->phase = p;
	pthread_mutex_unlock(&m->lock);
}

static int nr_nics(const struct migrate *m)
{
	return m->nics ? m->nics->nr : 0;
}

static int check_hello(struct migrate *m, const struct mig_proto_hello *h, char *err, size_t errlen)
{
	const char *what = NULL;
	uint64_t theirs = 0, ours = 0;

	if (h->vnode != m->vnode)
		what = "vNode id", theirs = h->vnode, ours = m->vnode;
	else if (h->mem_bytes != m->mem_bytes)
		what = "guest RAM size", theirs = h->mem_bytes, ours = m->mem_bytes;
	else if (h->region_size != m->region_size)
		what = "vRegion size", theirs = h->region_size, ours = m->region_size;
	else if (h->vcpus != (uint32_t)m->vcpus)
		what = "vCPU count", theirs = h->vcpus, ours = (uint64_t)m->vcpus;
	else if (h->disks != (uint32_t)m->nr_disks)
		what = "disk count", theirs = h->disks, ours = (uint64_t)m->nr_disks;
	else if (h->nics != (uint32_t)nr_nics(m))
		what = "NIC count", theirs = h->nics, ours = (uint64_t)nr_nics(m);
	if (what) {
		snprintf(err, errlen, "the source's %s is %llu, this VMM's is %llu", what,
			 (unsigned long long)theirs, (unsigned long long)ours);
		return -1;
	}
	if (!!(h->flags & MIG_HELLO_IRQCHIP) != m->vm->irqchip) {
		snprintf(err, errlen,
			 m->vm->irqchip
				 ? "the source runs a freestanding guest, but this VMM was "
				   "started for a Linux kernel"
				 : "the source runs a Linux guest (KVM's in-kernel interrupt "
				   "controllers): start this VMM with its Linux --kernel");
		return -1;
	}
	return 0;
}

/* kvm-clock's MSRs: setting one makes KVM write the wall clock into guest RAM, or map the
 * vCPU's time page, at once; guest RAM is the source's until GO, so they are taken out of
 * the vCPU's state here and set when the vNode runs here (migrate_in_running). */
static bool touches_guest_ram(uint32_t msr)
{
	return msr == MSR_KVM_WALL_CLOCK || msr == MSR_KVM_SYSTEM_TIME ||
	       msr == MSR_KVM_WALL_CLOCK_NEW || msr == MSR_KVM_SYSTEM_TIME_NEW;
}

static void hold_clock_msrs(struct migrate *m, uint32_t vcpu, struct vcpu_state *vs)
{
	uint32_t kept = 0;

	m->nr_held_msrs[vcpu] = 0;
	for (uint32_t i = 0; i < vs->nr_msrs; i++) {
		if (!touches_guest_ram(vs->msrs[i].index))
			vs->msrs[kept++] = vs->msrs[i];
		else if (vs->msrs[i].value && m->nr_held_msrs[vcpu] < MIGRATE_HELD_MSRS)
			m->held_msrs[vcpu][m->nr_held_msrs[vcpu]++] = vs->msrs[i];
	}
	vs->nr_msrs = kept;
}

/* A message that does not decode: what is wrong with it. */
static int migrate_in_malformed(uint16_t type, const char *bad, char *err, size_t errlen)
{
	snprintf(err, errlen, "malformed %s: %s", mig_proto_type_name(type), bad);
	return -1;
}

/* Each message kind into the vNode: 0 to go on, 1 after END, -1 with err. */
static int migrate_in_hello(struct migrate *m, struct in_progress *ip, const uint8_t *p,
			    uint32_t len, char *err, size_t errlen)
{
	struct mig_proto_hello h;
	char bad[200];

	if (ip->hello) {
		snprintf(err, errlen, "a second HELLO");
		return -1;
	}
	if (mig_proto_hello_get(p, len, &h, bad, sizeof(bad)))
		return migrate_in_malformed(MIG_HELLO, bad, err, errlen);
	if (check_hello(m, &h, err, errlen))
		return -1;
	ip->hello = true;
	m->user_paused = h.flags & MIG_HELLO_PAUSED;
	return 0;
}

static int migrate_in_console(struct migrate *m, struct in_progress *ip, const uint8_t *p,
			      uint32_t len, char *err, size_t errlen)
{
	ip->console_bytes += len;
	if (m->console_fd >= 0 && fdio_write_all(m->console_fd, p, len)) {
		snprintf(err, errlen, "cannot write the console history: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int migrate_in_vcpu(struct migrate *m, struct in_progress *ip, const uint8_t *p,
			   uint32_t len, char *err, size_t errlen)
{
	struct vcpu_state vs;
	uint32_t idx, refused;
	char bad[200];
	int rc;

	if (mig_proto_vcpu_get(p, len, &idx, &vs, bad, sizeof(bad)))
		return migrate_in_malformed(MIG_VCPU, bad, err, errlen);
	if (idx >= (uint32_t)m->vcpus || (ip->vcpus_seen & (1ULL << idx))) {
		vcpu_state_free(&vs);
		snprintf(err, errlen, "VCPU %u is out of range or repeated", idx);
		return -1;
	}
	hold_clock_msrs(m, idx, &vs);
	rc = vcpu_state_set(m->vm->kvm_fd, m->vm->vcpus[idx].fd, &vs, &refused, err, errlen);
	vcpu_state_free(&vs);
	if (rc)
		return -1;
	ip->vcpus_seen |= 1ULL << idx;
	m->msrs_refused += refused;
	return 0;
}

static int migrate_in_apic(struct migrate *m, struct in_progress *ip, const uint8_t *p,
			   uint32_t len, char *err, size_t errlen)
{
	struct vcpu_state_apic a;
	char bad[200];
	uint32_t idx;

	if (mig_proto_apic_get(p, len, &idx, &a, bad, sizeof(bad)))
		return migrate_in_malformed(MIG_APIC, bad, err, errlen);
	/* After its vCPU's state: the APIC base MSR (in sregs) says how to read it. */
	if (!m->vm->irqchip || idx >= (uint32_t)m->vcpus || !(ip->vcpus_seen & (1ULL << idx)) ||
	    (ip->apics_seen & (1ULL << idx))) {
		snprintf(err, errlen,
			 "APIC %u is unexpected, out of range, repeated or before its VCPU", idx);
		return -1;
	}
	if (vcpu_state_apic_set(m->vm->vcpus[idx].fd, &a, err, errlen))
		return -1;
	ip->apics_seen |= 1ULL << idx;
	return 0;
}

static int migrate_in_irqchip(struct migrate *m, struct in_progress *ip, const uint8_t *p,
			      uint32_t len, char *err, size_t errlen)
{
	struct irqchip_state is;
	char bad[200];

	if (mig_proto_irqchip_get(p, len, &is, bad, sizeof(bad)))
		return migrate_in_malformed(MIG_IRQCHIP, bad, err, errlen);
	if (!m->vm->irqchip || ip->irqchip) {
		snprintf(err, errlen, "IRQCHIP is unexpected or repeated");
		return -1;
	}
	if (irqchip_state_set(m->vm, &is, err, errlen))
		return -1;
	ip->irqchip = true;
	return 0;
}

static int migrate_in_virtio(struct migrate *m, struct in_progress *ip, const uint8_t *p,
			     uint32_t len, char *err, size_t errlen)
{
	return migrate_devices_take_virtio(m, &ip->devs, p, len, err, errlen);
}

static int migrate_in_net(struct migrate *m, struct in_progress *ip, const uint8_t *p, uint32_t len,
			  char *err, size_t errlen)
{
	return migrate_devices_take_net(m, &ip->devs, p, len, err, errlen);
}

static int migrate_in_net_rx(struct migrate *m, struct in_progress *ip, const uint8_t *p,
			     uint32_t len, char *err, size_t errlen)
{
	return migrate_devices_take_net_rx(m, &ip->devs, p, len, err, errlen);
}

static int migrate_in_serial(struct migrate *m, struct in_progress *ip, const uint8_t *p,
			     uint32_t len, char *err, size_t errlen)
{
	struct serial_state st;
	char bad[200];

	if (ip->serial)
		return migrate_in_malformed(MIG_SERIAL, "a second SERIAL", err, errlen);
	if (mig_proto_serial_get(p, len, &st, bad, sizeof(bad)))
		return migrate_in_malformed(MIG_SERIAL, bad, err, errlen);
	serial_load(m->serial, &st);
	ip->serial = true;
	return 0;
}

static int migrate_in_vminfo(struct migrate *m, struct in_progress *ip, const uint8_t *p,
			     uint32_t len, char *err, size_t errlen)
{
	struct mig_proto_vminfo vi;
	char bad[200];

	if (ip->vminfo)
		return migrate_in_malformed(MIG_VMINFO, "a second VMINFO", err, errlen);
	if (mig_proto_vminfo_get(p, len, &vi, bad, sizeof(bad)))
		return migrate_in_malformed(MIG_VMINFO, bad, err, errlen);
	m->vm->cpu_ns_base = vi.cpu_ns;
	ip->vminfo = true;
	return 0;
}

static int migrate_in_remote_bits(struct migrate *m, struct in_progress *ip, const uint8_t *p,
				  uint32_t len, char *err, size_t errlen)
{
	uint64_t first, n;
	const uint8_t *bits;
	char bad[200];

	if (mig_proto_bits_get(p, len, &first, &n, &bits, bad, sizeof(bad)))
		return migrate_in_malformed(MIG_REMOTE_BITS, bad, err, errlen);
	/* In order, all of guest RAM; a pass may be sent again from page 0. */
	if (first == 0)
		ip->pages_covered = 0;
	if (first != ip->pages_covered || n > pager_migration_npages(m->pg) - first ||
	    pager_migration_load_remote_bits(m->pg, first, n, bits)) {
		snprintf(err, errlen, "REMOTE_BITS for pages [%llu, +%llu) do not fit",
			 (unsigned long long)first, (unsigned long long)n);
		return -1;
	}
	ip->pages_covered += n;
	return 0;
}

/* The count-prefixed page numbers of a REMOTE_DELTA or HOT_PAGES (mig_proto_pages_get checked the
 * length): malloc'ed, NULL when out of memory. */
static uint32_t *migrate_in_page_list(const uint8_t *p, uint32_t count)
{
	uint32_t *pages = malloc((count ? count : 1) * sizeof(*pages));

	for (uint32_t i = 0; pages && i < count; i++)
		pages[i] = wire_get_le32(p + 4 + (size_t)i * 4);
	return pages;
}

static int migrate_in_remote_delta(struct migrate *m, struct in_progress *ip, const uint8_t *p,
				   uint32_t len, char *err, size_t errlen)
{
	uint32_t count, *pages, badp = 0;
	char bad[200];
	int rc;

	if (mig_proto_pages_get(p, len, &count, bad, sizeof(bad)))
		return migrate_in_malformed(MIG_REMOTE_DELTA, bad, err, errlen);
	if (ip->pages_covered != pager_migration_npages(m->pg)) {
		snprintf(err, errlen, "REMOTE_DELTA before the whole bitmap");
		return -1;
	}
	pages = migrate_in_page_list(p, count);
	if (!pages) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = pager_migration_load_remote_pages(m->pg, pages, count, &badp);
	free(pages);
	if (rc) {
		snprintf(err, errlen,
			 "REMOTE_DELTA names page %u of guest RAM, which is beyond it or already "
			 "resident here",
			 badp);
		return -1;
	}
	return 0;
}

static int migrate_in_hot_pages(struct migrate *m, struct in_progress *ip, const uint8_t *p,
				uint32_t len, char *err, size_t errlen)
{
	char bad[200];
	uint32_t count;

	if (ip->hot)
		return migrate_in_malformed(MIG_HOT_PAGES, "a second HOT_PAGES", err, errlen);
	if (mig_proto_pages_get(p, len, &count, bad, sizeof(bad)))
		return migrate_in_malformed(MIG_HOT_PAGES, bad, err, errlen);
	free(m->hot);
	m->hot = migrate_in_page_list(p, count);
	if (!m->hot) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (m->hot[i] >= pager_migration_npages(m->pg)) {
			snprintf(err, errlen, "HOT_PAGES names page %u beyond guest RAM",
				 m->hot[i]);
			return -1;
		}
	}
	m->nr_hot = count;
	ip->hot = true;
	return 0;
}

static int migrate_in_end(struct migrate *m, struct in_progress *ip, const uint8_t *p, uint32_t len,
			  char *err, size_t errlen)
{
	uint64_t all = m->vcpus >= 64 ? ~0ULL : (1ULL << m->vcpus) - 1;
	bool chips = !m->vm->irqchip || (ip->apics_seen == all && ip->irqchip);

	(void)p;
	if (len || ip->vcpus_seen != all || !migrate_devices_all_seen(m, &ip->devs) ||
	    !ip->serial || !ip->vminfo || !chips ||
	    ip->pages_covered != pager_migration_npages(m->pg)) {
		snprintf(err, errlen,
			 "END before the whole state: %d of %d vCPU(s), %d of %d device(s), %d of "
			 "%d NIC(s), serial %s, interrupt controllers %s, pages %llu of %llu",
			 __builtin_popcountll(ip->vcpus_seen), m->vcpus,
			 __builtin_popcountll(ip->devs.devs), m->nr_disks + nr_nics(m),
			 __builtin_popcountll(ip->devs.nets), nr_nics(m), ip->serial ? "yes" : "no",
			 chips ? "yes" : "no", (unsigned long long)ip->pages_covered,
			 (unsigned long long)pager_migration_npages(m->pg));
		return -1;
	}
	return 1;
}

/* The messages a source sends, a row each; any other is refused. */
static const struct {
	uint16_t type;
	int (*take)(struct migrate *m, struct in_progress *ip, const uint8_t *p, uint32_t len,
		    char *err, size_t errlen);
} migrate_in_messages[] = {
	{MIG_HELLO, migrate_in_hello},
	{MIG_CONSOLE, migrate_in_console},
	{MIG_VCPU, migrate_in_vcpu},
	{MIG_APIC, migrate_in_apic},
	{MIG_IRQCHIP, migrate_in_irqchip},
	{MIG_VIRTIO, migrate_in_virtio},
	{MIG_NET, migrate_in_net},
	{MIG_NET_RX, migrate_in_net_rx},
	{MIG_SERIAL, migrate_in_serial},
	{MIG_VMINFO, migrate_in_vminfo},
	{MIG_REMOTE_BITS, migrate_in_remote_bits},
	{MIG_REMOTE_DELTA, migrate_in_remote_delta},
	{MIG_HOT_PAGES, migrate_in_hot_pages},
	{MIG_END, migrate_in_end},
};

/* One message into the vNode; 1 after END, 0 to go on, -1 with err. */
static int take(struct migrate *m, struct in_progress *ip, uint16_t type, const uint8_t *p,
		uint32_t len, char *err, size_t errlen)
{
	if (!ip->hello && type != MIG_HELLO) {
		snprintf(err, errlen, "the stream must start with HELLO, not %s",
			 mig_proto_type_name(type));
		return -1;
	}
	for (size_t i = 0; i < sizeof(migrate_in_messages) / sizeof(migrate_in_messages[0]); i++)
		if (migrate_in_messages[i].type == type)
			return migrate_in_messages[i].take(m, ip, p, len, err, errlen);
	snprintf(err, errlen, "unexpected %s from the source", mig_proto_type_name(type));
	return -1;
}

static int refuse(struct migrate *m, const char *why)
{
	log_error("incoming migration refused: %s", why);
	if (m->conn)
		migrate_io_send(m->conn, MIG_ERROR, why, strlen(why));
	pthread_mutex_lock(&m->lock);
	snprintf(m->error, sizeof(m->error), "%s", why);
	m->phase = MIGRATE_FAILED;
	pthread_mutex_unlock(&m->lock);
	return -1;
}

/* A source that passes: a processor host's certificate over TLS (or plain TCP when asked
 * for). A connection that fails is refused (logged) and the wait goes on, so that a
 * stranger cannot spoil the real source's migration. */
static struct tls_conn *admit_source(struct migrate *m, int fd, const char *addr)
{
	struct tls_conn *c = tls_conn_plain(fd, addr);
	char err[300], who[96];

	if (!c || !m->pki)
		return c;
	if (tls_conn_upgrade(c, m->pki, TLS_CONN_HANDSHAKE_MS, err, sizeof(err))) {
		log_error("incoming migration: refused %s: %s", addr, err);
	} else if (c->peer.kind != TLS_KIND_PMON) {
		log_error("incoming migration: refused %s: only a processor host's certificate may "
			  "send a vNode, and this one grants %s",
			  addr, tls_pki_id_text(&c->peer, who, sizeof(who)));
	} else {
		log_info("incoming migration: the source is pmon '%s' at %s", c->peer.name, addr);
		return c;
	}
	tls_conn_close(c);
	return NULL;
}

static struct tls_conn *accept_source(struct migrate *m, int timeout_ms)
{
	struct pollfd p = {.fd = m->listen_fd, .events = POLLIN};
	int rc, fd, one = 1;

	/* In slices, so that a stop (SIGTERM) is noticed. */
	for (int64_t end = mono_clock_ms() + timeout_ms;;) {
		struct sockaddr_storage ss = {0};
		socklen_t sl = sizeof(ss);
		char addr[TLS_CONN_ADDR_MAX];
		struct tls_conn *c;

		if (mono_clock_ms() >= end || atomic_load(&m->vm->stopping))
			return NULL;
		rc = poll(&p, 1, 200);
		if (rc < 0 && errno != EINTR)
			return NULL;
		if (rc <= 0)
			continue;
		fd = accept4(m->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		tcp_peer_name(&ss, addr, sizeof(addr), NULL, 0);
		c = admit_source(m, fd, addr);
		if (c)
			return c;
	}
}

int migrate_in_run(struct migrate *m, const char *addr, int accept_timeout_ms)
{
	char host[256], port[16], why[512] = "";
	struct in_progress ip = {0};
	uint64_t t0;
	uint16_t type;
	uint8_t *payload;
	uint32_t len;
	char bad[200];
	struct tls_conn *c;
	int rc;

	m->role = MIGRATE_ROLE_INCOMING;
	serial_hold_input(m->serial, true); /* the source's unread input comes first */
	if (parse_hostport(addr, 0, host, sizeof(host), port, sizeof(port)))
		return refuse(m, "--incoming must be HOST:PORT");
	m->listen_fd = tcp_listen(addr, port, sizeof(port), why, sizeof(why));
	if (m->listen_fd < 0) {
		char msg[700];

		snprintf(msg, sizeof(msg), "cannot listen on %s: %s", addr, why);
		return refuse(m, msg);
	}
	pthread_mutex_lock(&m->lock);
	snprintf(m->listen, sizeof(m->listen), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	m->phase = MIGRATE_LISTENING;
	pthread_mutex_unlock(&m->lock);
	log_info("migration: waiting for the source on %s (%s)", m->listen,
		 m->pki ? "TLS: a processor host's certificate"
			: "plain TCP: --insecure-migration");
	c = accept_source(m, accept_timeout_ms);
	close(m->listen_fd);
	m->listen_fd = -1;
	if (!c) {
		if (atomic_load(&m->vm->stopping))
			snprintf(why, sizeof(why), "stopped before a source connected");
		else
			snprintf(why, sizeof(why), "no source connected within %d ms",
				 accept_timeout_ms);
		return refuse(m, why);
	}
	pthread_mutex_lock(&m->lock);
	m->conn = c;
	m->phase = MIGRATE_RECEIVING;
	pthread_mutex_unlock(&m->lock);
	t0 = (uint64_t)mono_clock_ns();
	for (;;) {
		if (migrate_io_recv(c, MSG_TIMEOUT_MS, &type, &payload, &len, why, sizeof(why))) {
			char msg[600];

			snprintf(msg, sizeof(msg), "the stream broke: %s", why);
			return refuse(m, msg);
		}
		rc = take(m, &ip, type, payload, len, why, sizeof(why));
		free(payload);
		if (rc < 0)
			return refuse(m, why);
		if (rc > 0)
			break;
	}
	log_info("migration: state loaded (%.1f ms after the source connected; %llu console "
		 "byte(s), %u hot page(s)%s)",
		 (double)((uint64_t)mono_clock_ns() - t0) / 1e6,
		 (unsigned long long)ip.console_bytes, m->nr_hot,
		 m->msrs_refused ? ", some MSRs refused" : "");
	if (migrate_io_send(c, MIG_READY, NULL, 0))
		return refuse(m, "the source went away before READY");
	set_phase(m, MIGRATE_READY_WAIT);
	if (migrate_io_recv(c, GO_TIMEOUT_MS, &type, &payload, &len, why, sizeof(why))) {
		char msg[600];

		snprintf(msg, sizeof(msg), "no GO from the source: %s", why);
		return refuse(m, msg);
	}
	if (type != MIG_GO) {
		free(payload);
		snprintf(why, sizeof(why), "expected GO, got %s", mig_proto_type_name(type));
		return refuse(m, why);
	}
	rc = mig_proto_go_get(payload, len, &m->src_go, bad, sizeof(bad));
	free(payload);
	if (rc) {
		snprintf(why, sizeof(why), "malformed GO: %s", bad);
		return refuse(m, why);
	}
	m->go_ns = (uint64_t)mono_clock_ns();
	return 0;
}

void migrate_in_running(struct migrate *m)
{
	/* The vCPUs are released right after: the source may exit now. A lost RUNNING is
	 * what the source's "uncertain" state is for. */
	uint64_t here = (uint64_t)mono_clock_ns() - m->go_ns;

	if (migrate_io_send(m->conn, MIG_RUNNING, NULL, 0))
		log_warn("migration: could not confirm to the source that the vNode runs here");
	for (int v = 0; v < m->vcpus && v < MIGRATE_MAX_VCPUS; v++) {
		for (int i = 0; i < m->nr_held_msrs[v]; i++) {
			const struct vcpu_state_msr *h = &m->held_msrs[v][i];

			if (vcpu_state_msr_set(m->vm->vcpus[v].fd, h->index, h->value))
				log_warn("migration: vCPU %d: KVM refuses kvm-clock's MSR 0x%x", v,
					 h->index);
		}
	}
	/* The NICs move packets from here on, and tell the network where the vNode is now. */
	if (m->nics)
		net_nics_release(m->nics);
	/* The whole migration's figures: the source's, up to GO, and ours since. */
	pthread_mutex_lock(&m->lock);
	m->elapsed_ns = m->src_go.elapsed_ns + here;
	m->downtime_ns = m->src_go.downtime_ns + here;
	m->pages_written = m->src_go.pages_written;
	m->bytes_total = m->src_go.bytes_total;
	m->bytes_processed = m->src_go.bytes_processed;
	m->phase = MIGRATE_RUNNING_HERE;
	pthread_mutex_unlock(&m->lock);
	serial_hold_input(m->serial, false);
	tls_conn_shutdown(m->conn);
	/* What the guest used last on the source, fetched while it starts running here. */
	pager_migration_prefetch(m->pg, m->hot, m->nr_hot);
	log_info("migration: the vNode runs here (migration %.1f ms, downtime %.1f ms)",
		 (double)m->elapsed_ns / 1e6, (double)m->downtime_ns / 1e6);
}
