/* smon_auth.c: capabilities on a storage-server connection. */
#include "smon_auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/cap/cap_key.h"
#include "lib/log.h"

int smon_auth_hello(struct smon_handler_session *s, char *err, size_t errlen)
{
	if (!s->verify || s->hello)
		return 0;
	if (cap_key_random(s->challenge, sizeof(s->challenge))) {
		snprintf(err, errlen, "the server has no random bytes for a challenge");
		return -1;
	}
	return 0;
}

enum stor_proto_status smon_auth_check(struct smon_handler_session *s,
				       const struct stor_proto_req *m, char *err, size_t errlen)
{
	struct cap c;
	char rights[96];
	enum cap_verify_result v;

	if (!s->verify)
		return SP_OK; /* nothing is asked for: what is shown changes nothing */
	if (s->bad_auths >= SMON_HANDLER_MAX_BAD_AUTHS) {
		snprintf(err, errlen, "too many refused capabilities on this connection");
		return SP_EAUTH;
	}
	v = cap_verify_check(s->verify, CAP_KIND_STORAGE, s->challenge, m->cap, m->cap_len,
			     m->proof, cap_now(), &c, err, errlen);
	if (v != CAP_VERIFY_OK) {
		s->bad_auths++;
		log_warn("%s (%s): capability refused: %s", s->peer, s->client, err);
		return v == CAP_VERIFY_EXPIRED ? SP_EEXPIRED : SP_EAUTH;
	}
	if (!s->authed || c.serial != s->cap.serial)
		log_info("%s (%s): capability %016" PRIx64 " of vNode %" PRIu64
			 " (%s on %s%u volume%s; expires in %" PRIu64 " s)",
			 s->peer, s->client, c.serial, c.vnode,
			 cap_rights_text(CAP_KIND_STORAGE, c.rights, rights, sizeof(rights)),
			 c.flags & CAP_ALL_VOLUMES ? "every volume, " : "", c.nr_volumes,
			 c.nr_volumes == 1 ? "" : "s", c.expires - cap_now());
	else if (c.expires != s->cap.expires)
		log_info("%s (%s): capability %016" PRIx64 " renewed (expires in %" PRIu64 " s)",
			 s->peer, s->client, c.serial, c.expires - cap_now());
	s->cap = c;
	s->authed = true;
	return SP_OK;
}

enum stor_proto_status smon_auth_right(struct smon_handler_session *s, uint32_t right,
				       const char *vol, char *err, size_t errlen)
{
	uint32_t granted = vol ? cap_volume_rights(&s->cap, vol)
			       : (s->cap.flags & CAP_ALL_VOLUMES ? s->cap.rights : 0);
	bool denied;
	enum cap_verify_result v;
	size_t n;

	if (!s->verify)
		return SP_OK;
	v = cap_verify_use(&s->cap, s->authed, granted, right, &denied, err, errlen);
	if (v == CAP_VERIFY_OK)
		return SP_OK;
	if (v == CAP_VERIFY_EXPIRED)
		return SP_EEXPIRED;
	if (!denied)
		return SP_EAUTH;
	n = strlen(err);
	snprintf(err + n, errlen - n, " on %s", vol ? "this volume" : "every volume");
	return SP_EACCES;
}
