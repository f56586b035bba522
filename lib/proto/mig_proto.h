/* mig_proto.h: the live-migration stream between a source lego-vmm and the lego-vmm started
 * for it on the destination processor host (--incoming), over one TCP connection.
 *
 * Every message is a 16-byte header and exactly `len` payload bytes, little-endian fields at
 * fixed offsets:
 *   0 magic "LEGV" (4)  4 type (2)  6 version (2)  8 payload length (4)  12 reserved, zero (4)
 *
 * The source sends HELLO, CONSOLE* and REMOTE_BITS* (the pages the memory servers hold)
 * while the guest runs, then, with the vCPUs paused: CONSOLE* (the rest), VCPU per vCPU,
 * with KVM's in-kernel irqchip (a Linux guest; HELLO says so) APIC per vCPU and IRQCHIP,
 * VIRTIO per device (the disks, then the NICs), NET per NIC with its NET_RX*, SERIAL, VMINFO,
 * REMOTE_DELTA* (pages held since the bitmap; or the whole REMOTE_BITS* again), HOT_PAGES?, END.
 * The destination loads and checks it all and answers READY (or ERROR and hangs up); the source
 * answers GO; the destination starts its vCPUs and answers RUNNING. Until GO the source can resume;
 * after RUNNING it exits. kvm_* blobs are the x86-64 KVM uapi layouts, whose sizes are checked
 * exactly.
 */
#ifndef LEGO_MIG_PROTO_H
#define LEGO_MIG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/kvm/irqchip.h"
#include "vmm/devices/legacy/serial.h"
#include "vmm/kvm/vcpu_state.h"
#include "vmm/devices/virtio/virtio_mmio.h"

#define MIG_MAGIC	0x5647454cU /* "LEGV" */
#define MIG_VERSION	1
#define MIG_HDR_LEN	16
#define MIG_MAX_PAYLOAD (4U << 20)
#define MIG_HELLO_LEN	48
#define MIG_SERIAL_LEN	16 /* the fixed part; the input not yet read follows */
#define MIG_SERIAL_MAX	(MIG_SERIAL_LEN + SERIAL_RX_MAX)
#define MIG_VMINFO_LEN	16
#define MIG_GO_LEN	40
#define MIG_ERR_MAX	512

enum mig_proto_type {
	MIG_HELLO = 1,
	MIG_CONSOLE = 2,
	MIG_VCPU = 3,
	MIG_VIRTIO = 4,
	MIG_SERIAL = 5,
	MIG_VMINFO = 6,
	MIG_REMOTE_BITS = 7,
	MIG_HOT_PAGES = 8,
	MIG_END = 9,
	MIG_READY = 10,
	MIG_GO = 11,
	MIG_RUNNING = 12,
	MIG_ERROR = 13,
	MIG_REMOTE_DELTA = 14,
	MIG_APIC = 15,
	MIG_IRQCHIP = 16,
	MIG_NET = 17,
	MIG_NET_RX = 18,
	MIG_TYPE_MAX = 18,
};

#define MIG_HELLO_PAUSED  1U /* the vNode was paused by its user: it stays paused */
#define MIG_HELLO_IRQCHIP 2U /* KVM's in-kernel irqchip (a Linux guest): APIC and IRQCHIP come */

struct mig_proto_hdr {
	uint16_t type;
	uint32_t len;
};

struct mig_proto_hello {
	uint32_t flags;
	uint64_t vnode, mem_bytes, region_size;
	uint32_t vcpus, disks;
	uint64_t console_bytes; /* console history the source will send */
	uint32_t nics;		/* virtio-net NICs (their VIRTIO messages follow the disks') */
};

struct mig_proto_vminfo {
	uint64_t cpu_ns; /* vCPU time used so far, so totals carry on */
	uint64_t downtime_start_ns;
};

/* GO: the source's figures so far, so that the destination can report the whole migration
 * (the source exits moments later). */
struct mig_proto_go {
	uint64_t elapsed_ns, downtime_ns; /* since `migrate`, and since the vCPUs paused */
	uint64_t pages_written, bytes_total, bytes_processed;
};

const char *mig_proto_type_name(uint16_t type);

void mig_proto_go_put(uint8_t *b, const struct mig_proto_go *g);
int mig_proto_go_get(const uint8_t *b, size_t len, struct mig_proto_go *g, char *err,
		     size_t errlen);

void mig_proto_hdr_put(uint8_t *b, uint16_t type, uint32_t len);
/* 0, or -1 with err (bad magic/version/reserved, unknown type, too long). */
int mig_proto_hdr_get(const uint8_t *b, struct mig_proto_hdr *h, char *err, size_t errlen);

void mig_proto_hello_put(uint8_t *b, const struct mig_proto_hello *m);
int mig_proto_hello_get(const uint8_t *b, size_t len, struct mig_proto_hello *m, char *err,
			size_t errlen);

/* VCPU: index(4) has(4) regs sregs fpu xcrs events debugregs xsave_len(4) xsave
 * nr_msrs(4) {index(4) value(8)}*. The encoded size, and the encoder into b (size bytes). */
size_t mig_proto_vcpu_len(const struct vcpu_state *s);
void mig_proto_vcpu_put(uint8_t *b, uint32_t index, const struct vcpu_state *s);
/* Fills s (its xsave and msrs malloc'ed: vcpu_state_free). */
int mig_proto_vcpu_get(const uint8_t *b, size_t len, uint32_t *index, struct vcpu_state *s,
		       char *err, size_t errlen);

/* VIRTIO: index(4) device_id(4) driver_features(8) 6 x u32 nr_queues(4) then per queue
 * num(2) ready(1) pad(1) desc(8) avail(8) used(8) last_avail(2) used_idx(2). */
#define MIG_VIRTIO_QLEN	   32
#define MIG_VIRTIO_LEN(nq) (44 + (size_t)(nq)*MIG_VIRTIO_QLEN)
void mig_proto_virtio_put(uint8_t *b, uint32_t index, const struct virtio_mmio_state *st);
int mig_proto_virtio_get(const uint8_t *b, size_t len, uint32_t *index,
			 struct virtio_mmio_state *st, char *err, size_t errlen);

/* NET: a NIC's identity: index(4) mac(6) reserved, zero (6). The destination's NIC must have
 * the same MAC (the guest keeps the one it read). */
#define MIG_NET_LEN 16
struct mig_proto_net {
	uint32_t index;
	uint8_t mac[6];
};
/* NET_RX: index(4), then a frame the NIC's tap held for the guest when the source stopped its
 * data path, as the tap gave it (its virtio-net header first): the destination hands it to
 * the guest before anything newer. */
#define MIG_NET_RX_HDR 4
void mig_proto_net_put(uint8_t *b, const struct mig_proto_net *n);
int mig_proto_net_get(const uint8_t *b, size_t len, struct mig_proto_net *n, char *err,
		      size_t errlen);

/* APIC: index(4) mp_state(4) tsc_deadline(8) kvm_lapic_state. */
#define MIG_APIC_LEN (16 + sizeof(struct kvm_lapic_state))
void mig_proto_apic_put(uint8_t *b, uint32_t index, const struct vcpu_state_apic *a);
int mig_proto_apic_get(const uint8_t *b, size_t len, uint32_t *index, struct vcpu_state_apic *a,
		       char *err, size_t errlen);

/* IRQCHIP: kvm_irqchip x 3 (PIC master, PIC slave, IOAPIC), kvm_pit_state2, kvm_clock_data. */
#define MIG_IRQCHIP_LEN                                                                  \
	(IRQCHIP_NR_CHIPS * sizeof(struct kvm_irqchip) + sizeof(struct kvm_pit_state2) + \
	 sizeof(struct kvm_clock_data))
void mig_proto_irqchip_put(uint8_t *b, const struct irqchip_state *s);
int mig_proto_irqchip_get(const uint8_t *b, size_t len, struct irqchip_state *s, char *err,
			  size_t errlen);

/* SERIAL: ier lcr mcr scr dll dlm fcr flags(1: bit 0 THRE interrupt pending, bit 1 overrun)
 * bytes_out(8), then the receive FIFO's bytes (0..SERIAL_RX_MAX). The encoded size, and the
 * encoder into b (MIG_SERIAL_LEN + st->rx_len bytes). */
size_t mig_proto_serial_len(const struct serial_state *st);
void mig_proto_serial_put(uint8_t *b, const struct serial_state *st);
int mig_proto_serial_get(const uint8_t *b, size_t len, struct serial_state *st, char *err,
			 size_t errlen);

void mig_proto_vminfo_put(uint8_t *b, const struct mig_proto_vminfo *m);
int mig_proto_vminfo_get(const uint8_t *b, size_t len, struct mig_proto_vminfo *m, char *err,
			 size_t errlen);

/* REMOTE_BITS: first page(8) pages(8) then ceil(pages / 8) bytes of bits. */
#define MIG_BITS_HDR 16
int mig_proto_bits_get(const uint8_t *b, size_t len, uint64_t *first, uint64_t *n,
		       const uint8_t **bits, char *err, size_t errlen);

/* HOT_PAGES, REMOTE_DELTA: count(4) then count page indexes (4 each). */
int mig_proto_pages_get(const uint8_t *b, size_t len, uint32_t *count, char *err, size_t errlen);

#endif
