/* mig_proto.c: encode and check every live-migration message (see mig_proto.h). */
#include "mig_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* Fixed part of VCPU before the XSAVE area, and between it and the MSRs. */
#define VCPU_FIXED                                                                                 \
	(8 + sizeof(struct kvm_regs) + sizeof(struct kvm_sregs) + sizeof(struct kvm_fpu) +         \
	 sizeof(struct kvm_xcrs) + sizeof(struct kvm_vcpu_events) + sizeof(struct kvm_debugregs) + \
	 4)
#define MSR_LEN 12

static const char *const names[] = {
	[MIG_HELLO] = "HELLO",
	[MIG_CONSOLE] = "CONSOLE",
	[MIG_VCPU] = "VCPU",
	[MIG_VIRTIO] = "VIRTIO",
	[MIG_SERIAL] = "SERIAL",
	[MIG_VMINFO] = "VMINFO",
	[MIG_REMOTE_BITS] = "REMOTE_BITS",
	[MIG_HOT_PAGES] = "HOT_PAGES",
	[MIG_END] = "END",
	[MIG_READY] = "READY",
	[MIG_GO] = "GO",
	[MIG_RUNNING] = "RUNNING",
	[MIG_ERROR] = "ERROR",
	[MIG_REMOTE_DELTA] = "REMOTE_DELTA",
	[MIG_APIC] = "APIC",
	[MIG_IRQCHIP] = "IRQCHIP",
	[MIG_NET] = "NET",
	[MIG_NET_RX] = "NET_RX",
};

const char *mig_proto_type_name(uint16_t type)
{
	return type >= 1 && type <= MIG_TYPE_MAX ? names[type] : "unknown";
}

/* A decoder's refusal: what is wrong, in err. */
static int mig_proto_bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

void mig_proto_hdr_put(uint8_t *b, uint16_t type, uint32_t len)
{
	wire_put_le32(b, MIG_MAGIC);
	wire_put_le16(b + 4, type);
	wire_put_le16(b + 6, MIG_VERSION);
	wire_put_le32(b + 8, len);
	wire_put_le32(b + 12, 0);
}

int mig_proto_hdr_get(const uint8_t *b, struct mig_proto_hdr *h, char *err, size_t errlen)
{
	if (wire_get_le32(b) != MIG_MAGIC)
		return mig_proto_bad(err, errlen, "bad magic (not a lego migration stream)");
	if (wire_get_le16(b + 6) != MIG_VERSION)
		return mig_proto_bad(err, errlen, "unsupported migration stream version");
	if (wire_get_le32(b + 12))
		return mig_proto_bad(err, errlen, "reserved header bytes are not zero");
	h->type = wire_get_le16(b + 4);
	h->len = wire_get_le32(b + 8);
	if (h->type < 1 || h->type > MIG_TYPE_MAX)
		return mig_proto_bad(err, errlen, "unknown message type");
	if (h->len > MIG_MAX_PAYLOAD)
		return mig_proto_bad(err, errlen, "message longer than the stream allows");
	return 0;
}

static int want_len(size_t len, size_t want, char *err, size_t errlen)
{
	if (len != want)
		return mig_proto_bad(err, errlen, "message has the wrong length");
	return 0;
}

void mig_proto_hello_put(uint8_t *b, const struct mig_proto_hello *m)
{
	memset(b, 0, MIG_HELLO_LEN);
	wire_put_le32(b, m->flags);
	wire_put_le64(b + 4, m->vnode);
	wire_put_le64(b + 12, m->mem_bytes);
	wire_put_le64(b + 20, m->region_size);
	wire_put_le32(b + 28, m->vcpus);
	wire_put_le32(b + 32, m->disks);
	wire_put_le64(b + 36, m->console_bytes);
	wire_put_le32(b + 44, m->nics);
}

int mig_proto_hello_get(const uint8_t *b, size_t len, struct mig_proto_hello *m, char *err,
			size_t errlen)
{
	if (want_len(len, MIG_HELLO_LEN, err, errlen))
		return -1;
	m->flags = wire_get_le32(b);
	m->vnode = wire_get_le64(b + 4);
	m->mem_bytes = wire_get_le64(b + 12);
	m->region_size = wire_get_le64(b + 20);
	m->vcpus = wire_get_le32(b + 28);
	m->disks = wire_get_le32(b + 32);
	m->console_bytes = wire_get_le64(b + 36);
	m->nics = wire_get_le32(b + 44);
	if (m->flags & ~(MIG_HELLO_PAUSED | MIG_HELLO_IRQCHIP))
		return mig_proto_bad(err, errlen, "HELLO has unknown flags");
	return 0;
}

void mig_proto_net_put(uint8_t *b, const struct mig_proto_net *n)
{
	memset(b, 0, MIG_NET_LEN);
	wire_put_le32(b, n->index);
	memcpy(b + 4, n->mac, sizeof(n->mac));
}

int mig_proto_net_get(const uint8_t *b, size_t len, struct mig_proto_net *n, char *err,
		      size_t errlen)
{
	if (want_len(len, MIG_NET_LEN, err, errlen))
		return -1;
	n->index = wire_get_le32(b);
	memcpy(n->mac, b + 4, sizeof(n->mac));
	for (int i = 10; i < MIG_NET_LEN; i++)
		if (b[i])
			return mig_proto_bad(err, errlen, "NET has non-zero reserved bytes");
	return 0;
}

size_t mig_proto_vcpu_len(const struct vcpu_state *s)
{
	return VCPU_FIXED + s->xsave_len + 4 + (size_t)s->nr_msrs * MSR_LEN;
}

static uint8_t *put_blob(uint8_t *p, const void *v, size_t n)
{
	memcpy(p, v, n);
	return p + n;
}

void mig_proto_vcpu_put(uint8_t *b, uint32_t index, const struct vcpu_state *s)
{
	uint8_t *p = b + 8;

	wire_put_le32(b, index);
	wire_put_le32(b + 4, s->has);
	p = put_blob(p, &s->regs, sizeof(s->regs));
	p = put_blob(p, &s->sregs, sizeof(s->sregs));
	p = put_blob(p, &s->fpu, sizeof(s->fpu));
	p = put_blob(p, &s->xcrs, sizeof(s->xcrs));
	p = put_blob(p, &s->events, sizeof(s->events));
	p = put_blob(p, &s->debugregs, sizeof(s->debugregs));
	wire_put_le32(p, s->xsave_len);
	p += 4;
	if (s->xsave_len)
		p = put_blob(p, s->xsave, s->xsave_len);
	wire_put_le32(p, s->nr_msrs);
	p += 4;
	for (uint32_t i = 0; i < s->nr_msrs; i++, p += MSR_LEN) {
		wire_put_le32(p, s->msrs[i].index);
		wire_put_le64(p + 4, s->msrs[i].value);
	}
}

static const uint8_t *get_blob(const uint8_t *p, void *v, size_t n)
{
	memcpy(v, p, n);
	return p + n;
}

int mig_proto_vcpu_get(const uint8_t *b, size_t len, uint32_t *index, struct vcpu_state *s,
		       char *err, size_t errlen)
{
	const uint8_t *p = b + 8;
	size_t rest;

	memset(s, 0, sizeof(*s));
	if (len < VCPU_FIXED + 4)
		return mig_proto_bad(err, errlen, "VCPU message is too short");
	*index = wire_get_le32(b);
	s->has = wire_get_le32(b + 4);
	if (s->has & ~VS_ALL)
		return mig_proto_bad(err, errlen, "VCPU message names unknown state parts");
	p = get_blob(p, &s->regs, sizeof(s->regs));
	p = get_blob(p, &s->sregs, sizeof(s->sregs));
	p = get_blob(p, &s->fpu, sizeof(s->fpu));
	p = get_blob(p, &s->xcrs, sizeof(s->xcrs));
	p = get_blob(p, &s->events, sizeof(s->events));
	p = get_blob(p, &s->debugregs, sizeof(s->debugregs));
	s->xsave_len = wire_get_le32(p);
	p += 4;
	rest = len - VCPU_FIXED;
	if (s->xsave_len > VCPU_STATE_MAX_XSAVE || s->xsave_len > rest - 4 ||
	    !!s->xsave_len != !!(s->has & VS_XSAVE) ||
	    (s->xsave_len && s->xsave_len < sizeof(struct kvm_xsave)))
		return mig_proto_bad(err, errlen, "VCPU message has an invalid XSAVE area length");
	if (s->xcrs.nr_xcrs > KVM_MAX_XCRS)
		return mig_proto_bad(err, errlen, "VCPU message has too many XCRs");
	if (s->xsave_len) {
		s->xsave = malloc(s->xsave_len);
		if (!s->xsave)
			return mig_proto_bad(err, errlen, "out of memory");
		p = get_blob(p, s->xsave, s->xsave_len);
	}
	rest -= s->xsave_len;
	s->nr_msrs = wire_get_le32(p);
	p += 4;
	if (s->nr_msrs > VCPU_STATE_MAX_MSRS || rest - 4 != (size_t)s->nr_msrs * MSR_LEN) {
		vcpu_state_free(s);
		return mig_proto_bad(err, errlen,
				     "VCPU message has an invalid MSR count or length");
	}
	s->msrs = calloc(s->nr_msrs ? s->nr_msrs : 1, sizeof(*s->msrs));
	if (!s->msrs) {
		vcpu_state_free(s);
		return mig_proto_bad(err, errlen, "out of memory");
	}
	for (uint32_t i = 0; i < s->nr_msrs; i++, p += MSR_LEN) {
		s->msrs[i].index = wire_get_le32(p);
		s->msrs[i].value = wire_get_le64(p + 4);
	}
	return 0;
}

void mig_proto_apic_put(uint8_t *b, uint32_t index, const struct vcpu_state_apic *a)
{
	wire_put_le32(b, index);
	wire_put_le32(b + 4, a->mp_state);
	wire_put_le64(b + 8, a->tsc_deadline);
	memcpy(b + 16, &a->lapic, sizeof(a->lapic));
}

int mig_proto_apic_get(const uint8_t *b, size_t len, uint32_t *index, struct vcpu_state_apic *a,
		       char *err, size_t errlen)
{
	if (want_len(len, MIG_APIC_LEN, err, errlen))
		return -1;
	*index = wire_get_le32(b);
	a->mp_state = wire_get_le32(b + 4);
	a->tsc_deadline = wire_get_le64(b + 8);
	memcpy(&a->lapic, b + 16, sizeof(a->lapic));
	/* The x86 run states (a halted, running or INIT/SIPI-waiting vCPU). */
	if (a->mp_state > KVM_MP_STATE_SIPI_RECEIVED)
		return mig_proto_bad(err, errlen, "APIC names an unknown vCPU run state");
	return 0;
}

void mig_proto_irqchip_put(uint8_t *b, const struct irqchip_state *s)
{
	size_t off = 0;

	for (int i = 0; i < IRQCHIP_NR_CHIPS; i++, off += sizeof(struct kvm_irqchip))
		memcpy(b + off, &s->chip[i], sizeof(s->chip[i]));
	memcpy(b + off, &s->pit, sizeof(s->pit));
	memcpy(b + off + sizeof(s->pit), &s->clock, sizeof(s->clock));
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

int mig_proto_irqchip_get(const uint8_t *b, size_t len, struct irqchip_state *s, char *err,
			  size_t errlen)
{
	size_t off = 0;

	if (want_len(len, MIG_IRQCHIP_LEN, err, errlen))
		return -1;
	for (int i = 0; i < IRQCHIP_NR_CHIPS; i++, off += sizeof(struct kvm_irqchip))
		memcpy(&s->chip[i], b + off, sizeof(s->chip[i]));
	memcpy(&s->pit, b + off, sizeof(s->pit));
	memcpy(&s->clock, b + off + sizeof(s->pit), sizeof(s->clock));
	for (uint32_t i = 0; i < IRQCHIP_NR_CHIPS; i++) {
		if (s->chip[i].chip_id != i || s->chip[i].pad)
			return mig_proto_bad(
				err, errlen,
				"IRQCHIP's interrupt controllers are not PIC master, PIC slave, "
				"IOAPIC in order");
	}
	if (s->pit.flags & ~(uint32_t)(KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON) ||
	    !all_zero(s->pit.reserved, sizeof(s->pit.reserved)))
		return mig_proto_bad(err, errlen,
				     "IRQCHIP's PIT has unknown flags or non-zero reserved bytes");
	if (s->clock.flags & ~(uint32_t)KVM_CLOCK_REALTIME || s->clock.pad0 || s->clock.host_tsc ||
	    !all_zero(s->clock.pad, sizeof(s->clock.pad)))
		return mig_proto_bad(err, errlen,
				     "IRQCHIP's kvm-clock has unknown flags or non-zero padding");
	return 0;
}

void mig_proto_virtio_put(uint8_t *b, uint32_t index, const struct virtio_mmio_state *st)
{
	uint8_t *q = b + 44;

	memset(b, 0, MIG_VIRTIO_LEN(st->nr_queues));
	wire_put_le32(b, index);
	wire_put_le32(b + 4, st->device_id);
	wire_put_le64(b + 8, st->driver_features);
	wire_put_le32(b + 16, st->device_features_sel);
	wire_put_le32(b + 20, st->driver_features_sel);
	wire_put_le32(b + 24, st->queue_sel);
	wire_put_le32(b + 28, st->status);
	wire_put_le32(b + 32, st->int_status);
	wire_put_le32(b + 36, st->config_generation);
	wire_put_le32(b + 40, st->nr_queues);
	for (uint32_t i = 0; i < st->nr_queues; i++, q += MIG_VIRTIO_QLEN) {
		wire_put_le16(q, st->q[i].num);
		q[2] = st->q[i].ready;
		wire_put_le64(q + 4, st->q[i].desc_gpa);
		wire_put_le64(q + 12, st->q[i].avail_gpa);
		wire_put_le64(q + 20, st->q[i].used_gpa);
		wire_put_le16(q + 28, st->q[i].last_avail);
		wire_put_le16(q + 30, st->q[i].used_idx);
	}
}

int mig_proto_virtio_get(const uint8_t *b, size_t len, uint32_t *index,
			 struct virtio_mmio_state *st, char *err, size_t errlen)
{
	const uint8_t *q = b + 44;

	memset(st, 0, sizeof(*st));
	if (len < 44)
		return mig_proto_bad(err, errlen, "VIRTIO message is too short");
	*index = wire_get_le32(b);
	st->device_id = wire_get_le32(b + 4);
	st->driver_features = wire_get_le64(b + 8);
	st->device_features_sel = wire_get_le32(b + 16);
	st->driver_features_sel = wire_get_le32(b + 20);
	st->queue_sel = wire_get_le32(b + 24);
	st->status = wire_get_le32(b + 28);
	st->int_status = wire_get_le32(b + 32);
	st->config_generation = wire_get_le32(b + 36);
	st->nr_queues = wire_get_le32(b + 40);
	if (st->nr_queues < 1 || st->nr_queues > VIRTIO_MMIO_MAX_QUEUES)
		return mig_proto_bad(err, errlen, "VIRTIO message has an invalid queue count");
	if (want_len(len, MIG_VIRTIO_LEN(st->nr_queues), err, errlen))
		return -1;
	for (uint32_t i = 0; i < st->nr_queues; i++, q += MIG_VIRTIO_QLEN) {
		if (q[2] > 1 || q[3])
			return mig_proto_bad(err, errlen,
					     "VIRTIO message has an invalid queue ready flag");
		st->q[i].num = wire_get_le16(q);
		st->q[i].ready = q[2];
		st->q[i].desc_gpa = wire_get_le64(q + 4);
		st->q[i].avail_gpa = wire_get_le64(q + 12);
		st->q[i].used_gpa = wire_get_le64(q + 20);
		st->q[i].last_avail = wire_get_le16(q + 28);
		st->q[i].used_idx = wire_get_le16(q + 30);
	}
	return 0;
}

#define SERIAL_THRE_INT 1U
#define SERIAL_OVERRUN	2U

size_t mig_proto_serial_len(const struct serial_state *st)
{
	return MIG_SERIAL_LEN + st->rx_len;
}

void mig_proto_serial_put(uint8_t *b, const struct serial_state *st)
{
	b[0] = st->ier;
	b[1] = st->lcr;
	b[2] = st->mcr;
	b[3] = st->scr;
	b[4] = st->dll;
	b[5] = st->dlm;
	b[6] = st->fcr;
	b[7] = (uint8_t)((st->thre_int ? SERIAL_THRE_INT : 0) | (st->overrun ? SERIAL_OVERRUN : 0));
	wire_put_le64(b + 8, st->bytes_out);
	memcpy(b + MIG_SERIAL_LEN, st->rx, st->rx_len);
}

int mig_proto_serial_get(const uint8_t *b, size_t len, struct serial_state *st, char *err,
			 size_t errlen)
{
	if (len < MIG_SERIAL_LEN || len > MIG_SERIAL_MAX) {
		snprintf(err, errlen, "SERIAL is %zu bytes (%d, then at most %d of input)", len,
			 MIG_SERIAL_LEN, SERIAL_RX_MAX);
		return -1;
	}
	if (b[7] & ~(SERIAL_THRE_INT | SERIAL_OVERRUN))
		return mig_proto_bad(err, errlen, "SERIAL has unknown flags");
	st->ier = b[0];
	st->lcr = b[1];
	st->mcr = b[2];
	st->scr = b[3];
	st->dll = b[4];
	st->dlm = b[5];
	st->fcr = b[6];
	st->thre_int = b[7] & SERIAL_THRE_INT;
	st->overrun = b[7] & SERIAL_OVERRUN;
	st->bytes_out = wire_get_le64(b + 8);
	st->rx_len = (uint32_t)(len - MIG_SERIAL_LEN);
	memcpy(st->rx, b + MIG_SERIAL_LEN, st->rx_len);
	return 0;
}

void mig_proto_vminfo_put(uint8_t *b, const struct mig_proto_vminfo *m)
{
	wire_put_le64(b, m->cpu_ns);
	wire_put_le64(b + 8, m->downtime_start_ns);
}

int mig_proto_vminfo_get(const uint8_t *b, size_t len, struct mig_proto_vminfo *m, char *err,
			 size_t errlen)
{
	if (want_len(len, MIG_VMINFO_LEN, err, errlen))
		return -1;
	m->cpu_ns = wire_get_le64(b);
	m->downtime_start_ns = wire_get_le64(b + 8);
	return 0;
}

int mig_proto_bits_get(const uint8_t *b, size_t len, uint64_t *first, uint64_t *n,
		       const uint8_t **bits, char *err, size_t errlen)
{
	if (len < MIG_BITS_HDR)
		return mig_proto_bad(err, errlen, "REMOTE_BITS message is too short");
	*first = wire_get_le64(b);
	*n = wire_get_le64(b + 8);
	if (*n > (uint64_t)(len - MIG_BITS_HDR) * 8 || (*n + 7) / 8 != len - MIG_BITS_HDR)
		return mig_proto_bad(err, errlen,
				     "REMOTE_BITS length does not match its page count");
	*bits = b + MIG_BITS_HDR;
	return 0;
}

int mig_proto_pages_get(const uint8_t *b, size_t len, uint32_t *count, char *err, size_t errlen)
{
	if (len < 4)
		return mig_proto_bad(err, errlen, "page list is too short");
	*count = wire_get_le32(b);
	if ((size_t)*count * 4 != len - 4)
		return mig_proto_bad(err, errlen, "page list length does not match its count");
	return 0;
}

void mig_proto_go_put(uint8_t *b, const struct mig_proto_go *g)
{
	wire_put_le64(b, g->elapsed_ns);
	wire_put_le64(b + 8, g->downtime_ns);
	wire_put_le64(b + 16, g->pages_written);
	wire_put_le64(b + 24, g->bytes_total);
	wire_put_le64(b + 32, g->bytes_processed);
}

int mig_proto_go_get(const uint8_t *b, size_t len, struct mig_proto_go *g, char *err, size_t errlen)
{
	if (want_len(len, MIG_GO_LEN, err, errlen))
		return -1;
	g->elapsed_ns = wire_get_le64(b);
	g->downtime_ns = wire_get_le64(b + 8);
	g->pages_written = wire_get_le64(b + 16);
	g->bytes_total = wire_get_le64(b + 24);
	g->bytes_processed = wire_get_le64(b + 32);
	if (g->downtime_ns > g->elapsed_ns || g->bytes_processed > g->bytes_total)
		return mig_proto_bad(err, errlen, "GO figures are inconsistent");
	return 0;
}
