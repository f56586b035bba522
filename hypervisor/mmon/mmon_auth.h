/* mmon_auth.h: a memory-server connection's capability: the challenge its HELLO reply
 * carries, the check of what AUTH presents, and the right every request needs. */
#ifndef LEGO_MMON_AUTH_H
#define LEGO_MMON_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "lib/proto/mem_proto.h"
#include "mmon_handler.h"

/* The connection's first HELLO: its challenge. 0, or -1 with err. */
int mmon_auth_hello(struct mmon_handler_session *s, char *err, size_t errlen);
/* AUTH: the capability m presents, checked (signature, holder's proof, vNode, time); on
 * MP_OK it is the connection's from now on. Refusals are logged. */
enum mem_proto_status mmon_auth_check(struct mmon_handler_session *s,
				      const struct mem_proto_auth *m, char *err, size_t errlen);
/* The connection ended: it no longer counts among its vNode's. */
void mmon_auth_end(struct mmon_handler_session *s);
/* May the connection do what needs right now? MP_OK, or EAUTH (no capability), EEXPIRED,
 * EACCES (not granted) with err. */
enum mem_proto_status mmon_auth_right(struct mmon_handler_session *s, uint32_t right, char *err,
				      size_t errlen);

#endif
