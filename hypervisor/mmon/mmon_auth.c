/* mmon_auth.c: capabilities on a memory-server connection. */
#include "mmon_auth.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lib/cap/cap_key.h"
#include "lib/log.h"

/* How many connections each vNode holds with a capability: a tenant cannot take every
 * connection the server has (FAB_SERVER's caps count all of them). */
#define MAX_TRACKED 4096
static struct {
	pthread_mutex_t lock;
	int n;
	struct {
		uint64_t vnode;
		int conns;
	} v[MAX_TRACKED];
} held = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Count one more connection of vnode: 0, or -1 when it holds its most. */
static int count_conn(uint64_t vnode)
{
	int i, rc = 0;

	pthread_mutex_lock(&held.lock);
	for (i = 0; i < held.n && held.v[i].vnode != vnode; i++)
		;
	if (i == held.n && held.n < MAX_TRACKED)
		held.v[held.n++].vnode = vnode;
	if (i == MAX_TRACKED || held.v[i].conns >= MMON_HANDLER_VNODE_CONNS)
		rc = -1;
	else
		held.v[i].conns++;
	pthread_mutex_unlock(&held.lock);
	return rc;
}

void mmon_auth_end(struct mmon_handler_session *s)
{
	if (!s->counted)
		return;
	pthread_mutex_lock(&held.lock);
	for (int i = 0; i < held.n; i++)
		if (held.v[i].vnode == s->vnode && --held.v[i].conns == 0)
			held.v[i] = held.v[--held.n];
	pthread_mutex_unlock(&held.lock);
	s->counted = false;
}

int mmon_auth_hello(struct mmon_handler_session *s, char *err, size_t errlen)
{
	if (!s->verify)
		return 0;
	if (cap_key_random(s->challenge, sizeof(s->challenge))) {
		snprintf(err, errlen, "the server has no random bytes for a challenge");
		return -1;
	}
	return 0;
}

enum mem_proto_status mmon_auth_check(struct mmon_handler_session *s,
				      const struct mem_proto_auth *m, char *err, size_t errlen)
{
	struct cap c;
	char rights[96];
	enum cap_verify_result v;

	if (!s->verify)
		return MP_OK; /* nothing is asked for: what is shown changes nothing */
	if (s->bad_auths >= MMON_HANDLER_MAX_BAD_AUTHS) {
		snprintf(err, errlen, "too many refused capabilities on this connection");
		return MP_EAUTH;
	}
	v = cap_verify_check(s->verify, CAP_KIND_MEMORY, s->challenge, m->cap, m->cap_len, m->proof,
			     cap_now(), &c, err, errlen);
	if (v == CAP_VERIFY_OK && c.vnode != s->vnode) {
		snprintf(err, errlen,
			 "capability %016" PRIx64 " is for vNode %" PRIu64
			 ", this connection said HELLO as vNode %" PRIu64,
			 c.serial, c.vnode, s->vnode);
		v = CAP_VERIFY_BAD;
	}
	if (v == CAP_VERIFY_OK && !s->counted && count_conn(s->vnode)) {
		snprintf(err, errlen,
			 "vNode %" PRIu64 " holds %d connections here, the most it may", s->vnode,
			 MMON_HANDLER_VNODE_CONNS);
		v = CAP_VERIFY_BAD;
	} else if (v == CAP_VERIFY_OK) {
		s->counted = true;
	}
	if (v != CAP_VERIFY_OK) {
		s->bad_auths++;
		log_warn("%s (vNode %" PRIu64 "): capability refused: %s", s->peer, s->vnode, err);
		return v == CAP_VERIFY_EXPIRED ? MP_EEXPIRED : MP_EAUTH;
	}
	if (!s->authed || c.serial != s->cap.serial)
		log_info("%s: vNode %" PRIu64 " presents capability %016" PRIx64
			 " (%s; vRegions %u..%u, quota %" PRIu64 " MiB; expires in %" PRIu64 " s)",
			 s->peer, s->vnode, c.serial,
			 cap_rights_text(CAP_KIND_MEMORY, c.rights, rights, sizeof(rights)),
			 c.region_first, c.region_first + c.region_count - 1, c.quota >> 20,
			 c.expires - cap_now());
	else if (c.expires != s->cap.expires)
		log_info("%s: vNode %" PRIu64 " presents capability %016" PRIx64
			 " renewed (expires in %" PRIu64 " s)",
			 s->peer, s->vnode, c.serial, c.expires - cap_now());
	s->cap = c;
	s->authed = true;
	s->scope = (struct mmon_pool_scope){.vnode = s->vnode,
					    .limited = true,
					    .first = c.region_first,
					    .count = c.region_count,
					    .region_max = c.region_max,
					    .quota = c.quota};
	return MP_OK;
}

enum mem_proto_status mmon_auth_right(struct mmon_handler_session *s, uint32_t right, char *err,
				      size_t errlen)
{
	bool denied;
	enum cap_verify_result v;

	if (!s->verify)
		return MP_OK;
	v = cap_verify_use(&s->cap, s->authed, s->cap.rights, right, &denied, err, errlen);
	return v == CAP_VERIFY_OK	 ? MP_OK
	       : v == CAP_VERIFY_EXPIRED ? MP_EEXPIRED
	       : denied			 ? MP_EACCES
					 : MP_EAUTH;
}
