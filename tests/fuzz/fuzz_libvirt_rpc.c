/* fuzz_libvirt_rpc.c: libFuzzer target: any bytes as a libvirt RPC packet. The length
 * word, the header and the argument shapes the server decodes (strings, optional strings,
 * a domain: name, uuid, id; typed parameters; opaque cookies) must be bounded by the
 * packet and refuse what does not fit, and every call gets an encodable error reply. The
 * migration arguments go through lego's own checks (mig_args.c): URI, parameters, flags. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/controld/libvirt/mig_args.h"
#include "controlplane/controld/libvirt/rpc_proto.h"
#include "controlplane/controld/libvirt/xdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_proto_hdr h;
	struct xdr_in x;
	struct xdr_out o;
	int64_t body;
	bool present;
	uint32_t len, n = 0, flags;
	struct mig_args_typed_param *params = NULL;
	struct mig_args_request r;
	char *uri, err[1024];

	if (size < RPC_LEN_LEN)
		return 0;
	body = rpc_proto_body_len(data);
	if (body < 0 || (size_t)body != size - RPC_LEN_LEN)
		return 0;
	xdr_in_init(&x, data + RPC_LEN_LEN, (size_t)body);
	if (rpc_proto_hdr_get(&x, &h))
		return 0;
	/* The shapes of the procedures' arguments, as one sequence: a domain, strings, a
	 * typed-parameter list and a cookie. */
	free(xdr_get_string(&x, RPC_STRING_MAX)); /* domain name */
	xdr_get_fixed(&x, 16);			  /* uuid */
	xdr_get_i32(&x);			  /* id */
	uri = xdr_get_opt_string(&x, RPC_STRING_MAX, &present);
	mig_args_tp_decode(&x, &params, &n);
	xdr_get_opaque(&x, 4194304, &len);
	flags = xdr_get_u32(&x);
	if (xdr_in_done(&x)) {
		if (uri && !mig_args_uri_parse(uri, &r, err, sizeof(err)) &&
		    (!r.host[0] || strlen(r.host) > MIG_ARGS_HOST_MAX))
			abort();
		if (!mig_args_params_check(params, n, "vn1", &r, err, sizeof(err)) &&
		    strlen(r.listen_host) > MIG_ARGS_LISTEN_HOST_MAX)
			abort();
		mig_args_flags_check(flags, flags & 1, err, sizeof(err));
	}
	mig_args_tp_free(params, n);
	free(uri);
	/* Every call can be answered, whatever it held. */
	xdr_out_init(&o, RPC_MESSAGE_MAX + RPC_LEN_LEN);
	rpc_proto_unknown_proc_reply(&o, &h);
	if (o.err || rpc_proto_body_len(o.p) != (int64_t)o.len - RPC_LEN_LEN)
		abort();
	xdr_out_free(&o);
	return 0;
}
