/* fuzz_mem_proto.c: every decoder of the memory protocol (what lego-mmon runs on each
 * request, and lego-vmm, a filling server and lego-controld on each reply) on arbitrary
 * bytes: no crash, no read past the input, and what decodes re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/mem_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[MP_MAX_MSG];

/* Re-encoded bytes equal the input's (decoders keep nothing they do not check). */
static void same(const uint8_t *p, size_t n)
{
	if (memcmp(out, p, n))
		abort();
}

static void bodies(unsigned which, const uint8_t *p, size_t n)
{
	char err[MP_ERRTEXT_MAX + 1];

	switch (which % 16) {
	case 0: {
		struct mem_proto_hello m;

		if (!mem_proto_hello_get(p, n, &m, err, sizeof(err)))
			same(p, mem_proto_hello_put(out, &m));
		break;
	}
	case 1: {
		struct mem_proto_hello_reply m;

		if (!mem_proto_hello_reply_get(p, n, &m))
			same(p, mem_proto_hello_reply_put(out, &m));
		break;
	}
	case 2: {
		struct mem_proto_open m;

		if (!mem_proto_open_get(p, n, &m, err, sizeof(err)))
			same(p, mem_proto_open_put(out, &m));
		break;
	}
	case 3: {
		struct mem_proto_open_reply m;

		if (!mem_proto_open_reply_get(p, n, &m))
			same(p, mem_proto_open_reply_put(out, &m));
		break;
	}
	case 4: {
		struct mem_proto_close m;

		if (!mem_proto_close_get(p, n, &m, err, sizeof(err)))
			same(p, mem_proto_close_put(out, &m));
		break;
	}
	case 5:
	case 6: {
		struct mem_proto_io m;

		if (!mem_proto_io_get(p, n, which % 16 == 6, &m, err, sizeof(err)))
			same(p, mem_proto_io_put(out, &m));
		break;
	}
	case 7: {
		struct mem_proto_stat_reply m;

		if (!mem_proto_stat_reply_get(p, n, &m))
			same(p, mem_proto_stat_reply_put(out, &m));
		break;
	}
	case 8: {
		struct mem_proto_fill m;

		if (!mem_proto_fill_get(p, n, &m, err, sizeof(err))) {
			if (m.cap_len > CAP_MAX_LEN || !mem_proto_addr_ok(m.src_addr, false))
				abort();
			same(p, mem_proto_fill_put(out, &m));
		}
		break;
	}
	case 9: {
		struct mem_proto_rstat m;

		if (!mem_proto_rstat_get(p, n, &m, err, sizeof(err)))
			same(p, mem_proto_rstat_put(out, &m));
		break;
	}
	case 10: {
		struct mem_proto_rstat_reply m;

		if (!mem_proto_rstat_reply_get(p, n, &m))
			same(p, mem_proto_rstat_reply_put(out, &m));
		break;
	}
	case 11: {
		struct mem_proto_release m;

		if (!mem_proto_release_get(p, n, &m, err, sizeof(err))) {
			if (!mem_proto_addr_ok(m.new_owner, true))
				abort();
			same(p, mem_proto_release_put(out, &m));
		}
		break;
	}
	case 12: {
		struct mem_proto_bitmap m;

		if (!mem_proto_bitmap_get(p, n, &m, err, sizeof(err)))
			same(p, mem_proto_bitmap_put(out, &m));
		break;
	}
	case 13: {
		struct mem_proto_auth m;

		if (!mem_proto_auth_get(p, n, &m, err, sizeof(err)) &&
		    (m.proof != p || m.cap_len + CAP_SIG_LEN != n))
			abort();
		break;
	}
	case 14: {
		struct mem_proto_auth_reply m;

		if (!mem_proto_auth_reply_get(p, n, &m))
			same(p, mem_proto_auth_reply_put(out, &m));
		break;
	}
	default: {
		char text[MP_ERRTEXT_MAX + 1], *copy = malloc(n + 1);

		memcpy(copy, p, n);
		copy[n] = '\0';
		mem_proto_addr_ok(copy, n & 1);
		free(copy);
		wire_text_get(p, n, text, sizeof(text));
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[MP_ERRTEXT_MAX + 1];
	struct wire_hdr h;
	uint8_t *p;

	if (size < 1 || size > MP_MAX_MSG)
		return 0;
	/* An exact-size copy, so ASan sees any read past the message. */
	p = malloc(size - 1 ? size - 1 : 1);
	memcpy(p, data + 1, size - 1);
	if (data[0] & 0x80) {
		if (!mem_proto_hdr_get(p, size - 1, &h, err, sizeof(err)))
			bodies(data[0], p + MP_HDR_LEN, h.len);
	} else {
		bodies(data[0], p, size - 1);
	}
	mem_proto_op_name(data[0]);
	mem_proto_status_name(data[0]);
	free(p);
	return 0;
}
