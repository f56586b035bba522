/* rpc_proto.h: the libvirt remote protocol's packet layer (facts: LIBVIRT_PROTOCOL.md of the
 * team's shared notes): a big-endian u32 length counting the whole packet, a 24-byte XDR
 * header (program, version, procedure, type, serial, status), then an XDR payload. */
#ifndef LEGO_RPC_PROTO_H
#define LEGO_RPC_PROTO_H

#include <stdint.h>

#include "xdr.h"

#define RPC_REMOTE_PROGRAM    0x20008086U
#define RPC_REMOTE_VERSION    1U
#define RPC_KEEPALIVE_PROGRAM 0x6b656570U /* "keep" */
#define RPC_KEEPALIVE_VERSION 1U
#define RPC_KEEPALIVE_PING    1
#define RPC_KEEPALIVE_PONG    2
#define RPC_LEN_LEN	      4
#define RPC_HDR_LEN	      24
#define RPC_MESSAGE_MAX	      33554432U /* a packet without its length word */
#define RPC_STRING_MAX	      4194304U

enum rpc_proto_type {
	RPC_CALL = 0,
	RPC_REPLY = 1,
	RPC_MESSAGE = 2,
	RPC_STREAM = 3,
	RPC_CALL_WITH_FDS = 4,
	RPC_REPLY_WITH_FDS = 5,
	RPC_STREAM_HOLE = 6,
};

enum rpc_proto_status { RPC_OK = 0, RPC_ERROR = 1, RPC_CONTINUE = 2 };

/* virErrorNumber and virErrorDomain values the server uses. */
enum rpc_proto_err_code {
	RPC_ERR_INTERNAL = 1,
	RPC_ERR_NO_SUPPORT = 3,
	RPC_ERR_INVALID_ARG = 8,
	RPC_ERR_OPERATION_FAILED = 9,
	RPC_ERR_XML = 27,
	RPC_ERR_DOM_EXIST = 28,
	RPC_ERR_OPERATION_DENIED = 29,
	RPC_ERR_RPC = 39,
	RPC_ERR_NO_DOMAIN = 42,
	RPC_ERR_NO_NETWORK = 43,
	RPC_ERR_OPERATION_INVALID = 55,
	RPC_ERR_CONFIG_UNSUPPORTED = 67,
	RPC_ERR_ARGUMENT_UNSUPPORTED = 74,
	RPC_ERR_OPERATION_ABORTED = 78,
	RPC_ERR_OPERATION_UNSUPPORTED = 84,
};
enum rpc_proto_err_domain { RPC_FROM_NONE = 0, RPC_FROM_RPC = 7, RPC_FROM_DOMAIN = 20 };

struct rpc_proto_hdr {
	uint32_t prog, vers;
	int32_t proc, type;
	uint32_t serial;
	int32_t status;
};

/* The length word (the packet's first 4 bytes): how many bytes follow it, or -1 if the
 * length is impossible (shorter than a header, or over the 32 MiB limit). */
int64_t rpc_proto_body_len(const uint8_t word[RPC_LEN_LEN]);
/* The header at the start of a packet body (after the length word); 0, or -1 with
 * x->err set. */
int rpc_proto_hdr_get(struct xdr_in *x, struct rpc_proto_hdr *h);

/* Start a packet (length placeholder, header); end patches the length in. */
void rpc_proto_begin(struct xdr_out *o, const struct rpc_proto_hdr *h);
void rpc_proto_end(struct xdr_out *o);
/* A REPLY to call c with status OK: begin it, then the caller adds the payload. */
void rpc_proto_begin_reply(struct xdr_out *o, const struct rpc_proto_hdr *c);
/* The whole error REPLY to call c (a remote_error: code, domain, message, level ERROR). */
void rpc_proto_error_reply(struct xdr_out *o, const struct rpc_proto_hdr *c, int code, int domain,
			   const char *message);
/* The error libvirtd gives for a procedure it does not have; clients turn it into
 * VIR_ERR_NO_SUPPORT, which many virsh fallbacks expect. */
void rpc_proto_unknown_proc_reply(struct xdr_out *o, const struct rpc_proto_hdr *c);

#endif
