/* fuzz_mig_proto.c: every decoder of the live-migration stream (what an incoming lego-vmm
 * runs on each record from its source) on arbitrary bytes: no crash, no read past the
 * record, no leak, and what decodes re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/mig_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (memcmp(a, b, n))
		abort();
}

static void record(unsigned which, const uint8_t *p, size_t n)
{
	static uint8_t out[MIG_MAX_PAYLOAD + MIG_HDR_LEN];
	char err[MIG_ERR_MAX];
	uint32_t index, count;

	switch (which % 11) {
	case 0: {
		struct mig_proto_hdr h;

		if (n >= MIG_HDR_LEN && !mig_proto_hdr_get(p, &h, err, sizeof(err)) &&
		    h.len > MIG_MAX_PAYLOAD)
			abort();
		break;
	}
	case 1: {
		struct mig_proto_hello m;

		if (!mig_proto_hello_get(p, n, &m, err, sizeof(err))) {
			mig_proto_hello_put(out, &m);
			same(out, p, MIG_HELLO_LEN);
		}
		break;
	}
	case 2: {
		struct vcpu_state s;

		memset(&s, 0, sizeof(s));
		if (!mig_proto_vcpu_get(p, n, &index, &s, err, sizeof(err))) {
			size_t len = mig_proto_vcpu_len(&s);

			if (len != n)
				abort();
			mig_proto_vcpu_put(out, index, &s);
			same(out, p, len);
		}
		free(s.xsave);
		free(s.msrs);
		break;
	}
	case 3: {
		struct virtio_mmio_state st;

		if (!mig_proto_virtio_get(p, n, &index, &st, err, sizeof(err)))
			mig_proto_virtio_put(out, index, &st);
		break;
	}
	case 4: {
		struct vcpu_state_apic a;

		if (!mig_proto_apic_get(p, n, &index, &a, err, sizeof(err))) {
			mig_proto_apic_put(out, index, &a);
			same(out, p, MIG_APIC_LEN);
		}
		break;
	}
	case 5: {
		static struct irqchip_state s;

		if (!mig_proto_irqchip_get(p, n, &s, err, sizeof(err))) {
			mig_proto_irqchip_put(out, &s);
			same(out, p, MIG_IRQCHIP_LEN);
		}
		break;
	}
	case 6: {
		static struct serial_state st;

		if (!mig_proto_serial_get(p, n, &st, err, sizeof(err))) {
			if (mig_proto_serial_len(&st) != n)
				abort();
			mig_proto_serial_put(out, &st);
			same(out, p, n);
		}
		break;
	}
	case 7: {
		struct mig_proto_vminfo m;

		if (!mig_proto_vminfo_get(p, n, &m, err, sizeof(err))) {
			mig_proto_vminfo_put(out, &m);
			same(out, p, MIG_VMINFO_LEN);
		}
		break;
	}
	case 8: {
		uint64_t first, pages;
		const uint8_t *bits;

		if (!mig_proto_bits_get(p, n, &first, &pages, &bits, err, sizeof(err)) &&
		    (bits < p || bits + (pages + 7) / 8 > p + n))
			abort();
		break;
	}
	case 9:
		if (!mig_proto_pages_get(p, n, &count, err, sizeof(err)) &&
		    4 + (size_t)count * 4 > n)
			abort();
		break;
	default: {
		struct mig_proto_go g;

		if (!mig_proto_go_get(p, n, &g, err, sizeof(err))) {
			mig_proto_go_put(out, &g);
			same(out, p, MIG_GO_LEN);
		}
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p;

	if (size < 1 || size > MIG_MAX_PAYLOAD)
		return 0;
	p = malloc(size - 1 ? size - 1 : 1);
	memcpy(p, data + 1, size - 1);
	record(data[0], p, size - 1);
	mig_proto_type_name(data[0]);
	free(p);
	return 0;
}
