/* fuzz_libvirt_rpc.c: libFuzzer target: any bytes as a libvirt RPC packet. The length
 * word, the header and the argument shapes the server decodes (strings, optional strings,
 * a domain: name, uuid, id; typed parameters; opaque cookies) must be bounded by the
 * packet and refuse what does not fit, and every call gets an encodable error reply. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_proto.h"
#include "xdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void typed_params(struct xdr_in *x)
{
	uint32_t n = xdr_get_u32(x);

	if (n > 64) {
		x->err = "too many typed parameters";
		return;
	}
	for (uint32_t i = 0; i < n && !x->err; i++) {
		free(xdr_get_string(x, 80));
		switch (xdr_get_i32(x)) {
		case 1:
		case 2:
		case 6:
			xdr_get_u32(x);
			break;
		case 3:
		case 4:
		case 5:
			xdr_get_u64(x);
			break;
		case 7:
			free(xdr_get_string(x, RPC_STRING_MAX));
			break;
		default:
			x->err = "unknown typed parameter type";
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_hdr h;
	struct xdr_in x;
	struct xdr_out o;
	int64_t body;
	bool present;
	uint32_t len;

	if (size < RPC_LEN_LEN)
		return 0;
	body = rpc_body_len(data);
	if (body < 0 || (size_t)body != size - RPC_LEN_LEN)
		return 0;
	xdr_in_init(&x, data + RPC_LEN_LEN, (size_t)body);
	if (rpc_hdr_get(&x, &h))
		return 0;
	/* The shapes of the procedures' arguments, as one sequence: a domain, strings, a
	 * typed-parameter list and a cookie. */
	free(xdr_get_string(&x, RPC_STRING_MAX)); /* domain name */
	xdr_get_fixed(&x, 16);			  /* uuid */
	xdr_get_i32(&x);			  /* id */
	free(xdr_get_opt_string(&x, RPC_STRING_MAX, &present));
	typed_params(&x);
	xdr_get_opaque(&x, 4194304, &len);
	xdr_get_u32(&x);
	xdr_in_done(&x);
	/* Every call can be answered, whatever it held. */
	xdr_out_init(&o, RPC_MESSAGE_MAX + RPC_LEN_LEN);
	rpc_unknown_proc_reply(&o, &h);
	if (o.err || rpc_body_len(o.p) != (int64_t)o.len - RPC_LEN_LEN)
		abort();
	xdr_out_free(&o);
	return 0;
}
