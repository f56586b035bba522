/* rpc_proto.c: libvirt remote-protocol packets: length word, header, error replies. */
#include "rpc_proto.h"

#include <stdio.h>

#define RPC_ERR_LEVEL_ERROR 2

int64_t rpc_proto_body_len(const uint8_t word[RPC_LEN_LEN])
{
	uint32_t len = (uint32_t)word[0] << 24 | (uint32_t)word[1] << 16 | (uint32_t)word[2] << 8 |
		       word[3];

	if (len < RPC_LEN_LEN + RPC_HDR_LEN || len - RPC_LEN_LEN > RPC_MESSAGE_MAX)
		return -1;
	return (int64_t)len - RPC_LEN_LEN;
}

int rpc_proto_hdr_get(struct xdr_in *x, struct rpc_proto_hdr *h)
{
	h->prog = xdr_get_u32(x);
	h->vers = xdr_get_u32(x);
	h->proc = xdr_get_i32(x);
	h->type = xdr_get_i32(x);
	h->serial = xdr_get_u32(x);
	h->status = xdr_get_i32(x);
	if (x->err)
		return -1;
	if (h->type < RPC_CALL || h->type > RPC_STREAM_HOLE) {
		x->err = "unknown message type";
		return -1;
	}
	if (h->status < RPC_OK || h->status > RPC_CONTINUE) {
		x->err = "unknown message status";
		return -1;
	}
	return 0;
}

void rpc_proto_begin(struct xdr_out *o, const struct rpc_proto_hdr *h)
{
	xdr_put_u32(o, 0); /* the length, patched by rpc_proto_end */
	xdr_put_u32(o, h->prog);
	xdr_put_u32(o, h->vers);
	xdr_put_i32(o, h->proc);
	xdr_put_i32(o, h->type);
	xdr_put_u32(o, h->serial);
	xdr_put_i32(o, h->status);
}

void rpc_proto_end(struct xdr_out *o)
{
	xdr_patch_u32(o, 0, (uint32_t)o->len);
}

void rpc_proto_begin_reply(struct xdr_out *o, const struct rpc_proto_hdr *c)
{
	struct rpc_proto_hdr r = *c;

	r.type = RPC_REPLY;
	r.status = RPC_OK;
	rpc_proto_begin(o, &r);
}

void rpc_proto_error_reply(struct xdr_out *o, const struct rpc_proto_hdr *c, int code, int domain,
			   const char *message)
{
	struct rpc_proto_hdr r = *c;

	r.type = c->type == RPC_STREAM ? RPC_STREAM : RPC_REPLY;
	r.status = RPC_ERROR;
	rpc_proto_begin(o, &r);
	xdr_put_i32(o, code);
	xdr_put_i32(o, domain);
	xdr_put_opt_string(o, message);
	xdr_put_i32(o, RPC_ERR_LEVEL_ERROR);
	xdr_put_u32(o, 0); /* dom: none */
	xdr_put_u32(o, 0); /* str1..str3: none */
	xdr_put_u32(o, 0);
	xdr_put_u32(o, 0);
	xdr_put_i32(o, 0); /* int1, int2 */
	xdr_put_i32(o, 0);
	xdr_put_u32(o, 0); /* net: none */
	rpc_proto_end(o);
}

void rpc_proto_unknown_proc_reply(struct xdr_out *o, const struct rpc_proto_hdr *c)
{
	char msg[48];

	snprintf(msg, sizeof(msg), "unknown procedure: %d", c->proc);
	rpc_proto_error_reply(o, c, RPC_ERR_RPC, RPC_FROM_RPC, msg);
}
