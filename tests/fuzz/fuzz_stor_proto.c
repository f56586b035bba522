/* fuzz_stor_proto.c: every decoder of the storage protocol (lego-smon on each request,
 * its clients on each reply) on arbitrary bytes: no crash, no read past the input, and
 * what decodes re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/proto/stor_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[SP_MAX_MSG];

static void same(const uint8_t *p, size_t n)
{
	if (memcmp(out, p, n))
		abort();
}

/* A request body for op: its fields in range, and the same bytes once re-encoded. */
static void request(unsigned op, const uint8_t *p, size_t n)
{
	struct stor_proto_req m;
	char err[SP_ERRTEXT_MAX + 1];
	size_t len;

	if (stor_proto_req_get(op, p, n, &m, err, sizeof(err)))
		return;
	if (op == SP_AUTH) {
		if (m.proof != p || m.cap_len + CAP_SIG_LEN != n || m.cap_len > CAP_MAX_LEN)
			abort();
		return;
	}
	if (op != SP_HELLO && !(op == SP_LIST && !m.vol[0]) && !stor_proto_vol_name_ok(m.vol))
		abort();
	if ((op == SP_READ || op == SP_WRITE) && (m.len == 0 || m.len > SP_MAX_IO))
		abort();
	len = stor_proto_req_put(out, op, 1, &m) - SP_HDR_LEN;
	if (len != n)
		abort();
	memmove(out, out + SP_HDR_LEN, len);
	same(p, len);
}

static void reply(unsigned which, const uint8_t *p, size_t n)
{
	switch (which % 5) {
	case 0: {
		struct stor_proto_hello_reply m;

		if (!stor_proto_hello_reply_get(p, n, &m))
			same(p, stor_proto_hello_reply_put(out, &m));
		break;
	}
	case 1: {
		struct stor_proto_vol_info v;

		if (!stor_proto_stat_reply_get(p, n, &v))
			same(p, stor_proto_stat_reply_put(out, &v));
		break;
	}
	case 2: {
		uint32_t count;
		bool more;

		if (!stor_proto_list_get(p, n, &count, &more)) {
			struct stor_proto_vol_info v;

			for (uint32_t i = 0; i < count; i++)
				if (!stor_proto_list_entry_get(p, i, &v) &&
				    !stor_proto_vol_name_ok(v.name))
					abort();
		}
		break;
	}
	case 3: {
		struct stor_proto_auth_reply m;

		if (!stor_proto_auth_reply_get(p, n, &m))
			same(p, stor_proto_auth_reply_put(out, &m));
		break;
	}
	default: {
		char text[SP_ERRTEXT_MAX + 1];

		wire_text_get(p, n, text, sizeof(text));
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[SP_ERRTEXT_MAX + 1];
	struct wire_hdr h;
	uint8_t *p;

	if (size < 1 || size > SP_MAX_MSG)
		return 0;
	p = malloc(size - 1 ? size - 1 : 1);
	memcpy(p, data + 1, size - 1);
	if (data[0] & 0x80) {
		/* A whole message: header, then the body its op says. */
		if (!stor_proto_hdr_get(p, size - 1, &h, err, sizeof(err)))
			request(h.op, p + SP_HDR_LEN, h.len);
	} else if (data[0] & 0x40) {
		reply(data[0], p, size - 1);
	} else {
		request(data[0] % (SP_OP_MAX + 2), p, size - 1);
	}
	stor_proto_op_name(data[0]);
	stor_proto_status_name(data[0]);
	stor_proto_status_errno(data[0] % (SP_STATUS_MAX + 2));
	free(p);
	return 0;
}
