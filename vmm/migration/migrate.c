/* migrate.c: the source side of a live migration, its progress, and its control commands. */
#include "migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/proto/mig_proto.h"
#include "lib/proto/mig_status.h"
#include "vmm/memory/pager.h"
#include "lib/parse.h"
#include "vmm/memory/remote_mem.h"
#include "vmm/devices/legacy/serial.h"
#include "vmm/kvm/vcpu_state.h"
#include "vmm/devices/virtio/virtio_blk.h"
#include "migrate_devices.h"
#include "vmm/net/net_nics.h"
#include "vmm/kvm/vm.h"
#include "lib/proto/wire.h"

#define CONNECT_TIMEOUT_MS 10000
#define READY_TIMEOUT_MS   30000 /* the destination loads and checks the state */
#define RUNNING_TIMEOUT_MS 10000
#define PRECOPY_MAX_ITER   30
#define FLUSH_WAIT_MS	   5000 /* for evictions in flight when the vCPUs paused */
#define PRECOPY_DONE_PAGES 256	/* 1 MiB left dirty: flush the rest with the vCPUs paused */
#define CONSOLE_CHUNK	   (1U << 20)
#define HOT_PAGES_MAX	   (256U * 256) /* 256 MiB of ExCache worth of page numbers */
#define PAGE		   4096ULL

static const char *const phase_names[] = {
	[MIGRATE_NONE] = "none",	   [MIGRATE_CONNECTING] = "connecting",
	[MIGRATE_PRECOPY] = "precopy",	   [MIGRATE_STOPPING] = "stopping",
	[MIGRATE_SENDING] = "sending",	   [MIGRATE_COMMITTING] = "committing",
	[MIGRATE_COMPLETED] = "completed", [MIGRATE_UNCERTAIN] = "uncertain",
	[MIGRATE_LISTENING] = "listening", [MIGRATE_RECEIVING] = "receiving",
	[MIGRATE_READY_WAIT] = "ready",	   [MIGRATE_RUNNING_HERE] = "running",
	[MIGRATE_FAILED] = "failed",
};

void migrate_init(struct migrate *m)
{
	memset(m, 0, sizeof(*m));
	m->listen_fd = -1;
	m->console_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
}

bool migrate_destroy(struct migrate *m)
{
	bool handed_over;

	pthread_mutex_lock(&m->lock);
	m->cancel = true;
	/* Wakes a thread blocked on the peer, and one waiting for migrate-resolve. */
	if (m->conn)
		tls_conn_shutdown(m->conn);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	if (m->thread_started)
		pthread_join(m->thread, NULL);
	handed_over = migrate_handed_over(m);
	tls_conn_close(m->conn);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	free(m->hot);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	return handed_over;
}

static void set_phase(struct migrate *m, enum migrate_phase p)
{
	pthread_mutex_lock(&m->lock);
	m->phase = p;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	log_info("migration: %s", phase_names[p]);
}

static bool cancelled(struct migrate *m)
{
	bool c;

	pthread_mutex_lock(&m->lock);
	c = m->cancel;
	pthread_mutex_unlock(&m->lock);
	return c;
}

/* Progress as job info shows it: total = done + still dirty, and never shrinking. */
static void account(struct migrate *m, uint64_t pages, uint64_t state_bytes)
{
	uint64_t dirty = pager_stats_dirty_pages(m->pg);

	pthread_mutex_lock(&m->lock);
	m->pages_written += pages;
	m->state_bytes += state_bytes;
	m->dirty_pages = dirty;
	m->bytes_processed = m->pages_written * PAGE + m->state_bytes;
	if (m->bytes_processed + m->dirty_pages * PAGE > m->bytes_total)
		m->bytes_total = m->bytes_processed + m->dirty_pages * PAGE;
	m->elapsed_ns = (uint64_t)mono_clock_ns() - m->t0_ns;
	pthread_mutex_unlock(&m->lock);
}

int migrate_send_counted(struct migrate *m, uint16_t type, const void *p, size_t len)
{
	if (migrate_io_send(m->conn, type, p, len))
		return -1;
	account(m, 0, MIG_HDR_LEN + len);
	return 0;
}

/* Console history [from, to) read back from the console file. */
static int send_console(struct migrate *m, uint64_t from, uint64_t to, char *err, size_t errlen)
{
	uint8_t *buf;
	int fd, rc = 0;

	if (!m->console_path || from >= to)
		return 0;
	fd = open(m->console_path, O_RDONLY | O_CLOEXEC);
	buf = malloc(CONSOLE_CHUNK);
	if (fd < 0 || !buf) {
		snprintf(err, errlen, "cannot read the console file back: %s",
			 fd < 0 ? strerror(errno) : "out of memory");
		if (fd >= 0)
			close(fd);
		free(buf);
		return -1;
	}
	while (from < to && !rc) {
		size_t want = to - from < CONSOLE_CHUNK ? (size_t)(to - from) : CONSOLE_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)from);

		if (n <= 0) {
			snprintf(err, errlen, "console file shorter than its byte count");
			rc = -1;
		} else if (migrate_send_counted(m, MIG_CONSOLE, buf, (size_t)n)) {
			snprintf(err, errlen, "the destination went away");
			rc = -1;
		}
		from += n > 0 ? (uint64_t)n : 0;
	}
	close(fd);
	free(buf);
	return rc;
}

/* Look (waiting up to wait_ms) at what the destination said: it only speaks, before READY,
 * to refuse. -1 with err if it refused or hung up, 0 if it said nothing. */
static int peer_said(struct migrate *m, int wait_ms, char *err, size_t errlen)
{
	uint16_t type;
	uint8_t *payload;
	uint32_t len;

	if (!m->conn || tls_conn_wait(m->conn, wait_ms) <= 0)
		return 0;
	if (migrate_io_recv(m->conn, 1000, &type, &payload, &len, err, errlen) == 0) {
		if (type == MIG_ERROR)
			snprintf(err, errlen, "the destination refused: %s",
				 payload ? (char *)payload : "");
		else
			snprintf(err, errlen, "unexpected %s from the destination",
				 mig_proto_type_name(type));
		free(payload);
	}
	return -1;
}

/* Write dirty pages back while the guest runs, until few are left or it stops helping. */
static int precopy(struct migrate *m, char *err, size_t errlen)
{
	uint64_t last = UINT64_MAX;

	for (int it = 1; it <= PRECOPY_MAX_ITER; it++) {
		int64_t n;

		if (cancelled(m)) {
			snprintf(err, errlen, "cancelled");
			return -1;
		}
		if (peer_said(m, 0, err, errlen))
			return -1;
		n = pager_evict_flush(m->pg);
		if (n < 0) {
			snprintf(err, errlen, "a memory server failed during the write-back");
			return -1;
		}
		pthread_mutex_lock(&m->lock);
		m->iteration = it;
		pthread_mutex_unlock(&m->lock);
		account(m, (uint64_t)n, 0);
		log_debug("migration: pre-copy pass %d wrote %lld page(s); %llu dirty again", it,
			  (long long)n, (unsigned long long)m->dirty_pages);
		if (m->dirty_pages <= PRECOPY_DONE_PAGES)
			break;
		/* Not converging: the guest dirties as fast as we write; finish paused. */
		if (it >= 3 && m->dirty_pages >= last)
			break;
		last = m->dirty_pages;
	}
	return 0;
}

/* The held-page bitmap, in chunks that fit a message (32 Mi pages, 128 GiB of RAM, each). */
static int send_bits(struct migrate *m, const uint8_t *bits, uint64_t npages, uint8_t *buf)
{
	for (uint64_t first = 0; first < npages;) {
		uint64_t n = npages - first, max = (uint64_t)(MIG_MAX_PAYLOAD - MIG_BITS_HDR) * 8;

		if (n > max)
			n = max;
		wire_put_le64(buf, first);
		wire_put_le64(buf + 8, n);
		memcpy(buf + MIG_BITS_HDR, bits + first / 8, (n + 7) / 8);
		if (migrate_send_counted(m, MIG_REMOTE_BITS, buf, MIG_BITS_HDR + (n + 7) / 8))
			return -1;
		first += n;
	}
	return 0;
}

/* A list of page numbers (HOT_PAGES, REMOTE_DELTA), in messages of at most 1 Mi pages. */
static int send_pages(struct migrate *m, uint16_t type, const uint32_t *pages, uint32_t n,
		      uint8_t *buf)
{
	uint32_t max = (MIG_MAX_PAYLOAD - 4) / 4, i = 0;

	do {
		uint32_t k = n - i < max ? n - i : max;

		wire_put_le32(buf, k);
		for (uint32_t j = 0; j < k; j++)
			wire_put_le32(buf + 4 + (size_t)j * 4, pages[i + j]);
		if (migrate_send_counted(m, type, buf, 4 + (size_t)k * 4))
			return -1;
		i += k;
	} while (i < n && type == MIG_REMOTE_DELTA);
	return 0;
}

/* While the guest still runs: the bitmap of the pages the servers hold, from which point
 * the pager records every page newly held (sent as a short delta with the vCPUs paused). */
static int send_bits_snapshot(struct migrate *m, char *err, size_t errlen)
{
	uint64_t npages = pager_migration_npages(m->pg);
	uint8_t *bits = malloc((npages + 7) / 8), *buf = malloc(MIG_MAX_PAYLOAD);
	int rc = -1;

	if (!bits || !buf) {
		snprintf(err, errlen, "out of memory");
	} else {
		pager_migration_remote_bits(m->pg, bits, true);
		rc = send_bits(m, bits, npages, buf);
		if (rc)
			snprintf(err, errlen, "the destination went away");
	}
	free(bits);
	free(buf);
	return rc;
}

/* A vNode with KVM's in-kernel irqchip: each vCPU's local APIC, then the PICs, IOAPIC, PIT
 * and kvm-clock, read together with the vCPUs paused. */
static int send_irqchip(struct migrate *m, char *err, size_t errlen)
{
	uint8_t *buf = malloc(MIG_APIC_LEN > MIG_IRQCHIP_LEN ? MIG_APIC_LEN : MIG_IRQCHIP_LEN);
	struct vcpu_state_apic a;
	struct irqchip_state is;
	int rc = -1;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < m->vcpus; i++) {
		if (vcpu_state_apic_get(m->vm->vcpus[i].fd, &a, err, errlen))
			goto out;
		mig_proto_apic_put(buf, (uint32_t)i, &a);
		if (migrate_send_counted(m, MIG_APIC, buf, MIG_APIC_LEN))
			goto gone;
	}
	if (irqchip_state_get(m->vm, &is, err, errlen))
		goto out;
	mig_proto_irqchip_put(buf, &is);
	if (migrate_send_counted(m, MIG_IRQCHIP, buf, MIG_IRQCHIP_LEN))
		goto gone;
	rc = 0;
	goto out;
gone:
	snprintf(err, errlen, "the destination went away");
out:
	free(buf);
	return rc;
}

static int send_state(struct migrate *m, uint64_t console_sent, char *err, size_t errlen)
{
	uint32_t nr_msrs = 0, *msrs = vcpu_state_msr_list(m->vm->kvm_fd, &nr_msrs);
	uint64_t npages = pager_migration_npages(m->pg), held;
	size_t bits_len = (npages + 7) / 8;
	uint8_t *bits = malloc(bits_len), *buf = NULL;
	uint32_t *delta = NULL, nr_delta = 0;
	struct serial_state ss;
	struct mig_proto_vminfo vi;
	uint8_t small[MIG_VIRTIO_LEN(VIRTIO_MMIO_MAX_QUEUES)], ser[MIG_SERIAL_MAX];
	int rc = -1;

	if (!bits) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (send_console(m, console_sent, __atomic_load_n(&m->serial->bytes_out, __ATOMIC_RELAXED),
			 err, errlen))
		goto out;
	for (int i = 0; i < m->vcpus; i++) {
		struct vcpu_state vs;
		size_t len;

		if (vcpu_state_get(m->vm->kvm_fd, m->vm->vcpus[i].fd, msrs, nr_msrs, &vs, err,
				   errlen)) {
			vcpu_state_free(&vs);
			goto out;
		}
		len = mig_proto_vcpu_len(&vs);
		buf = malloc(len);
		if (buf)
			mig_proto_vcpu_put(buf, (uint32_t)i, &vs);
		vcpu_state_free(&vs);
		if (!buf || migrate_send_counted(m, MIG_VCPU, buf, len)) {
			snprintf(err, errlen, buf ? "the destination went away" : "out of memory");
			goto out;
		}
		free(buf);
		buf = NULL;
	}
	if (m->vm->irqchip && send_irqchip(m, err, errlen))
		goto out;
	if (migrate_devices_send(m, err, errlen))
		goto out;
	/* Input that came after this would be lost with the source: it waits (refused) until
	 * the vNode runs on, here if the migration fails. */
	serial_hold_input(m->serial, true);
	serial_save(m->serial, &ss);
	mig_proto_serial_put(ser, &ss);
	if (migrate_send_counted(m, MIG_SERIAL, ser, mig_proto_serial_len(&ss)))
		goto gone;
	vi = (struct mig_proto_vminfo){.cpu_ns = vm_vcpu_cpu_ns(m->vm), .downtime_start_ns = 0};
	mig_proto_vminfo_put(small, &vi);
	if (migrate_send_counted(m, MIG_VMINFO, small, MIG_VMINFO_LEN))
		goto gone;
	buf = malloc(MIG_MAX_PAYLOAD);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* The pages newly held since the snapshot; or, if that record was lost, all again. */
	if (pager_migration_remote_delta(m->pg, &delta, &nr_delta) == 0) {
		held = nr_delta;
		if (send_pages(m, MIG_REMOTE_DELTA, delta, nr_delta, buf))
			goto gone;
	} else {
		held = pager_migration_remote_bits(m->pg, bits, false);
		if (held == UINT64_MAX) {
			snprintf(err, errlen, "pages were dirtied with the vCPUs paused");
			goto out;
		}
		if (send_bits(m, bits, npages, buf))
			goto gone;
	}
	if (m->hot && send_pages(m, MIG_HOT_PAGES, m->hot, m->nr_hot, buf))
		goto gone;
	if (migrate_send_counted(m, MIG_END, NULL, 0))
		goto gone;
	log_info("migration: state sent: %d vCPU(s) (%u MSRs each), %d disk(s), %d NIC(s), %llu "
		 "page(s) newly held by the memory servers (of %llu)",
		 m->vcpus, nr_msrs, m->nr_disks, m->nics ? m->nics->nr : 0,
		 (unsigned long long)held, (unsigned long long)npages);
	rc = 0;
	goto out;
gone:
	snprintf(err, errlen, "the destination went away");
out:
	free(buf);
	free(bits);
	free(delta);
	free(msrs);
	return rc;
}

/* Wait for the destination's answer of the given type; anything else is a failure. */
static int expect(struct migrate *m, uint16_t want, int timeout_ms, char *err, size_t errlen)
{
	uint16_t type;
	uint8_t *payload;
	uint32_t len;

	if (migrate_io_recv(m->conn, timeout_ms, &type, &payload, &len, err, errlen))
		return -1;
	if (type != want) {
		if (type == MIG_ERROR)
			snprintf(err, errlen, "the destination refused: %s",
				 payload ? (char *)payload : "");
		else
			snprintf(err, errlen, "expected %s from the destination, got %s",
				 mig_proto_type_name(want), mig_proto_type_name(type));
		free(payload);
		return -1;
	}
	free(payload);
	return 0;
}

static void finish_failed(struct migrate *m, const char *why)
{
	const char *err = NULL;
	char refusal[sizeof(m->error)];
	uint32_t *delta, nr_delta;

	/* A send that failed because the destination hung up after refusing: its reason. */
	if (!strstr(why, "refused") && peer_said(m, 100, refusal, sizeof(refusal)) &&
	    strstr(refusal, "the destination refused"))
		why = refusal;
	if (m->nics_paused && m->nics)
		net_nics_resume(m->nics);
	m->nics_paused = false;
	if (m->paused_by_us)
		err = vm_resume(m->vm);
	m->paused_by_us = false;
	serial_hold_input(m->serial, false);
	/* The pager stops recording newly held pages for this migration. */
	pager_migration_remote_delta(m->pg, &delta, &nr_delta);
	free(delta);
	pthread_mutex_lock(&m->lock);
	snprintf(m->error, sizeof(m->error), "%s", why);
	m->elapsed_ns = (uint64_t)mono_clock_ns() - m->t0_ns;
	pthread_mutex_unlock(&m->lock);
	if (m->conn)
		tls_conn_shutdown(m->conn);
	log_error("migration to %s failed: %s; the vNode %s here", m->dest, why,
		  err ? "could not resume" : "runs on");
	set_phase(m, MIGRATE_FAILED);
}

static void finish_completed(struct migrate *m)
{
	pthread_mutex_lock(&m->lock);
	m->downtime_ns = (uint64_t)mono_clock_ns() - m->down_t0_ns;
	m->elapsed_ns = (uint64_t)mono_clock_ns() - m->t0_ns;
	pthread_mutex_unlock(&m->lock);
	log_info("migration to %s completed: total %.1f ms, downtime %.1f ms, %llu page(s) "
		 "written back, %llu state byte(s)",
		 m->dest, (double)m->elapsed_ns / 1e6, (double)m->downtime_ns / 1e6,
		 (unsigned long long)m->pages_written, (unsigned long long)m->state_bytes);
	set_phase(m, MIGRATE_COMPLETED);
	/* The vNode runs there now: end here without touching its memory again. */
	vm_stop(m->vm, MIG_STATUS_EXIT_MIGRATED);
}

static void *source_thread(void *arg)
{
	struct migrate *m = arg;
	struct mig_proto_hello h = {0};
	struct mig_proto_go go;
	uint8_t hello[MIG_HELLO_LEN], gob[MIG_GO_LEN];
	char why[512] = "", host[256], port[16];
	/* A processor host's certificate, valid for the host dialled: not any peer at that
	 * address. */
	struct tls_conn_expect want = {.kinds = TLS_KIND_BIT(TLS_KIND_PMON), .host = host};
	uint64_t console_sent;
	struct tls_conn *c;
	const char *err;

	parse_hostport(m->dest, 1, host, sizeof(host), port, sizeof(port));
	c = tls_conn_dial(m->dest, m->pki, &want, CONNECT_TIMEOUT_MS, why, sizeof(why));
	pthread_mutex_lock(&m->lock);
	m->conn = c;
	pthread_mutex_unlock(&m->lock);
	if (!c) {
		char msg[900];

		snprintf(msg, sizeof(msg), "cannot reach the destination %s: %s", m->dest, why);
		finish_failed(m, msg);
		return NULL;
	}
	console_sent = __atomic_load_n(&m->serial->bytes_out, __ATOMIC_RELAXED);
	h = (struct mig_proto_hello){.flags = (m->user_paused ? MIG_HELLO_PAUSED : 0) |
					      (m->vm->irqchip ? MIG_HELLO_IRQCHIP : 0),
				     .vnode = m->vnode,
				     .mem_bytes = m->mem_bytes,
				     .region_size = m->region_size,
				     .vcpus = (uint32_t)m->vcpus,
				     .disks = (uint32_t)m->nr_disks,
				     .console_bytes = console_sent,
				     .nics = m->nics ? (uint32_t)m->nics->nr : 0};
	mig_proto_hello_put(hello, &h);
	if (migrate_send_counted(m, MIG_HELLO, hello, sizeof(hello))) {
		finish_failed(m, "the destination closed the connection");
		return NULL;
	}
	set_phase(m, MIGRATE_PRECOPY);
	if (send_console(m, 0, console_sent, why, sizeof(why)) ||
	    send_bits_snapshot(m, why, sizeof(why)) || precopy(m, why, sizeof(why))) {
		finish_failed(m, why);
		return NULL;
	}

	set_phase(m, MIGRATE_STOPPING);
	m->down_t0_ns = (uint64_t)mono_clock_ns();
	if (!m->user_paused) {
		err = vm_pause(m->vm);
		if (err) {
			snprintf(why, sizeof(why), "cannot pause the vCPUs: %s", err);
			finish_failed(m, why);
			return NULL;
		}
		m->paused_by_us = true;
	}
	for (int i = 0; i < m->nr_disks; i++)
		virtio_blk_drain(m->disks[i]);
	/* vhost-net writes received packets into guest RAM: it stops before the last flush. */
	if (m->nics) {
		net_nics_pause(m->nics);
		m->nics_paused = true;
	}
	for (int waits = 0;;) {
		int64_t n = pager_evict_flush(m->pg);

		if (n < 0) {
			finish_failed(m, "a memory server failed during the final write-back");
			return NULL;
		}
		account(m, (uint64_t)n, 0);
		if (!pager_stats_dirty_pages(m->pg))
			break;
		/* The rest are being evicted by a pager thread that served a fault as the vCPUs
		 * paused (a flush skips busy pages): their write-back is under way. */
		if (!n && ++waits > FLUSH_WAIT_MS) {
			finish_failed(m, "dirty pages stayed busy during the final write-back");
			return NULL;
		}
		if (!n)
			usleep(1000);
	}
	m->hot = malloc(HOT_PAGES_MAX * sizeof(*m->hot));
	if (m->hot)
		m->nr_hot = pager_migration_hot_pages(m->pg, m->hot, HOT_PAGES_MAX);
	set_phase(m, MIGRATE_SENDING);
	if (send_state(m, console_sent, why, sizeof(why)) ||
	    expect(m, MIG_READY, READY_TIMEOUT_MS, why, sizeof(why))) {
		finish_failed(m, why);
		return NULL;
	}
	if (cancelled(m)) {
		finish_failed(m, "cancelled");
		return NULL;
	}
	/* From here the destination may run: never resume on our own. */
	set_phase(m, MIGRATE_COMMITTING);
	pthread_mutex_lock(&m->lock);
	go = (struct mig_proto_go){.elapsed_ns = (uint64_t)mono_clock_ns() - m->t0_ns,
				   .downtime_ns = (uint64_t)mono_clock_ns() - m->down_t0_ns,
				   .pages_written = m->pages_written,
				   .bytes_total = m->bytes_total,
				   .bytes_processed = m->bytes_processed};
	pthread_mutex_unlock(&m->lock);
	mig_proto_go_put(gob, &go);
	if (migrate_io_send(m->conn, MIG_GO, gob, sizeof(gob)) == 0 &&
	    expect(m, MIG_RUNNING, RUNNING_TIMEOUT_MS, why, sizeof(why)) == 0) {
		finish_completed(m);
		return NULL;
	}
	log_error("migration: the destination was told to run but did not confirm (%s): "
		  "staying paused until migrate-resolve",
		  why[0] ? why : "send failed");
	set_phase(m, MIGRATE_UNCERTAIN);
	pthread_mutex_lock(&m->lock);
	while (!m->resolved && !m->cancel)
		pthread_cond_wait(&m->cond, &m->lock);
	bool commit = m->resolved && m->resolve_commit;
	pthread_mutex_unlock(&m->lock);
	if (commit)
		finish_completed(m);
	else if (m->resolved)
		finish_failed(m, "the destination never ran (resolved by the control plane)");
	return NULL;
}

const char *migrate_start(struct migrate *m, const char *dest)
{
	char host[256], port[16];
	const char *err = NULL;

	if (!m->ready)
		return "the vNode is still starting";
	pthread_mutex_lock(&m->lock);
	bool arriving = m->role == MIGRATE_ROLE_INCOMING && m->phase != MIGRATE_RUNNING_HERE;
	pthread_mutex_unlock(&m->lock);
	if (arriving)
		return "this vNode is still arriving here from its source";
	if (!m->pg)
		return "the vNode's RAM is local (no --mmon): only vNodes with remote memory "
		       "migrate";
	if (m->local_disks)
		return "a disk is a local file, which cannot follow the vNode to another host "
		       "(use a storage-server volume)";
	if (parse_hostport(dest, 1, host, sizeof(host), port, sizeof(port)))
		return "the destination must be HOST:PORT";
	if (!m->pki && !m->insecure)
		return "no TLS for the migration stream: lego-vmm has no processor host's "
		       "certificate (--pki DIR --pki-name HOST, as lego-pmon gives) and plain TCP "
		       "was not asked for (--insecure-migration)";
	pthread_mutex_lock(&m->lock);
	if (m->role == MIGRATE_ROLE_SOURCE && m->phase != MIGRATE_FAILED) {
		err = "a migration is already under way";
	} else if (atomic_load(&m->vm->stopping)) {
		err = "the vNode is stopping";
	} else {
		if (m->thread_started) {
			pthread_join(m->thread, NULL); /* the last, failed one */
			m->thread_started = false;
		}
		tls_conn_close(m->conn);
		m->conn = NULL;
		free(m->hot);
		m->hot = NULL;
		/* A vNode that migrated in may leave again: it is a source from now on. */
		m->listen[0] = '\0';
		m->role = MIGRATE_ROLE_SOURCE;
		m->phase = MIGRATE_CONNECTING;
		m->cancel = m->resolved = m->paused_by_us = false;
		m->user_paused = vm_is_paused(m->vm);
		snprintf(m->dest, sizeof(m->dest), "%s", dest);
		m->error[0] = '\0';
		m->iteration = 0;
		m->t0_ns = (uint64_t)mono_clock_ns();
		m->elapsed_ns = m->downtime_ns = 0;
		m->pages_written = m->state_bytes = m->bytes_processed = 0;
		m->bytes_total = 0;
		if (pthread_create(&m->thread, NULL, source_thread, m)) {
			m->phase = MIGRATE_FAILED;
			err = "cannot start the migration thread";
		} else {
			m->thread_started = true;
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (!err)
		log_info("migration to %s: started", dest);
	return err;
}

const char *migrate_cancel(struct migrate *m)
{
	const char *err = NULL;

	pthread_mutex_lock(&m->lock);
	if (m->role != MIGRATE_ROLE_SOURCE || m->phase == MIGRATE_FAILED ||
	    m->phase == MIGRATE_NONE)
		err = "no migration to cancel";
	else if (m->phase == MIGRATE_COMMITTING || m->phase == MIGRATE_COMPLETED ||
		 m->phase == MIGRATE_UNCERTAIN)
		err = "too late: the destination was told to run";
	else
		m->cancel = true;
	/* A thread blocked on the peer notices at once. */
	if (!err && m->conn && m->phase != MIGRATE_SENDING)
		tls_conn_shutdown(m->conn);
	pthread_mutex_unlock(&m->lock);
	return err;
}

const char *migrate_resolve(struct migrate *m, bool commit)
{
	const char *err = NULL;

	pthread_mutex_lock(&m->lock);
	if (m->phase != MIGRATE_UNCERTAIN) {
		err = "nothing to resolve: the migration is not uncertain";
	} else {
		m->resolved = true;
		m->resolve_commit = commit;
		pthread_cond_broadcast(&m->cond);
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

bool migrate_busy(struct migrate *m)
{
	bool busy;

	pthread_mutex_lock(&m->lock);
	busy = m->role == MIGRATE_ROLE_SOURCE && m->phase != MIGRATE_FAILED &&
	       m->phase != MIGRATE_NONE;
	pthread_mutex_unlock(&m->lock);
	return busy;
}

bool migrate_handed_over(struct migrate *m)
{
	bool h;

	pthread_mutex_lock(&m->lock);
	h = m->role == MIGRATE_ROLE_SOURCE &&
	    (m->phase == MIGRATE_COMMITTING || m->phase == MIGRATE_COMPLETED ||
	     m->phase == MIGRATE_UNCERTAIN);
	pthread_mutex_unlock(&m->lock);
	return h;
}

void migrate_get_status(struct migrate *m, struct migrate_status *st)
{
	static const char *const roles[] = {"none", "source", "incoming"};

	pthread_mutex_lock(&m->lock);
	if (m->role == MIGRATE_ROLE_SOURCE && m->phase < MIGRATE_COMPLETED)
		m->elapsed_ns = (uint64_t)mono_clock_ns() - m->t0_ns;
	*st = (struct migrate_status){.role = roles[m->role],
				      .phase = phase_names[m->phase],
				      .iteration = m->iteration,
				      .dirty_pages = m->dirty_pages,
				      .pages_written = m->pages_written,
				      .bytes_total = m->bytes_total,
				      .bytes_processed = m->bytes_processed,
				      .elapsed_ns = m->elapsed_ns,
				      .downtime_ns = m->downtime_ns,
				      .msrs_refused = m->msrs_refused};
	snprintf(st->error, sizeof(st->error), "%s", m->error);
	snprintf(st->listen, sizeof(st->listen), "%s", m->listen);
	snprintf(st->dest, sizeof(st->dest), "%s", m->dest);
	pthread_mutex_unlock(&m->lock);
}
