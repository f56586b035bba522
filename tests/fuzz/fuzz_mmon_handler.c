/* fuzz_mmon_handler.c: lego-mmon's request handler (mmon_handler_request, as the daemon
 * runs it on every message) fed sequences of arbitrary messages on one connection: one
 * without capability checks, one holding a capability (its rights from the input), one
 * that must still show one. No crash, no leak, every reply well-formed, and the pool's
 * accounting and the capability's quota always hold. Input: a selector byte, then messages
 * as a 2-byte length and that many bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor/mmon/mmon_handler.h"
#include "hypervisor/mmon/mmon_pool.h"
#include "lib/log.h"
#include "lib/proto/mem_proto.h"

#define POOL  (32ULL << 20)
#define QUOTA (8ULL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t reply[MP_MAX_MSG];
static const uint8_t server_key[CAP_KEY_LEN] = {1, 2, 3};
static struct cap_verify none; /* no trusted key: nothing the fuzzer shows verifies */

static void session(struct mmon_handler_session *s, unsigned kind, uint32_t rights)
{
	memset(s, 0, sizeof(*s));
	s->peer = "fuzz";
	s->server = "fuzzmm";
	s->server_key = server_key;
	if (kind == 0)
		return; /* --insecure-no-capabilities */
	s->verify = &none;
	if (kind == 2)
		return; /* must HELLO and AUTH, and cannot */
	/* HELLO said as vNode 7, and its capability checked: what the handler keeps. */
	s->hello = true;
	s->vnode = 7;
	s->authed = true;
	s->cap = (struct cap){.kind = CAP_KIND_MEMORY,
			      .rights = rights & CAP_MEM_ALL,
			      .vnode = 7,
			      .expires = UINT64_MAX,
			      .region_count = 8,
			      .region_max = 4ULL << 20,
			      .quota = QUOTA};
	s->scope = (struct mmon_pool_scope){
		.vnode = 7, .limited = true, .count = 8, .region_max = 4ULL << 20, .quota = QUOTA};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct mmon_handler_session s;
	struct mmon_pool pool;
	size_t off = 2;

	if (!quiet++)
		log_set_level(LOG_ERROR);
	if (size < 2 || mmon_pool_init(&pool, POOL))
		return 0;
	session(&s, data[0] % 3, (uint32_t)data[1] << 1 | (data[0] >> 7));
	while (off + 2 <= size) {
		size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8, n;
		struct mem_proto_stat_reply st;
		struct wire_hdr h;
		char err[MP_ERRTEXT_MAX + 1];
		uint8_t *msg;
		const struct mmon_pool_index_vnode *v;

		off += 2;
		if (len > size - off)
			len = size - off;
		msg = malloc(len ? len : 1); /* exact size: ASan sees any read past it */
		memcpy(msg, data + off, len);
		off += len;
		n = mmon_handler_request(&pool, &s, msg, len, false, reply);
		free(msg);
		if (n < MP_HDR_LEN || n > MP_MAX_MSG ||
		    mem_proto_hdr_get(reply, n, &h, err, sizeof(err)) || !(h.op & MP_REPLY) ||
		    h.status > MP_STATUS_MAX)
			abort();
		mmon_pool_stat(&pool, &st);
		if (st.reserved_bytes > POOL || st.stored_bytes > st.reserved_bytes)
			abort();
		v = mmon_pool_index_vnode(&pool.idx, 7, 0);
		if (s.scope.limited && v && v->reserved > QUOTA)
			abort();
	}
	mmon_handler_end(&pool, &s);
	mmon_pool_destroy(&pool);
	return 0;
}
