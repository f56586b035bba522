/* smon_auth.h: a storage-server connection's capability: the challenge of its HELLO reply,
 * the check of what AUTH presents, and the right on a volume every request needs. */
#ifndef LEGO_SMON_AUTH_H
#define LEGO_SMON_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "lib/proto/stor_proto.h"
#include "smon_handler.h"

/* The connection's first HELLO: its challenge. 0, or -1 with err. */
int smon_auth_hello(struct smon_handler_session *s, char *err, size_t errlen);
/* AUTH: the capability m presents, checked; on SP_OK it is the connection's. Refusals are
 * logged. */
enum stor_proto_status smon_auth_check(struct smon_handler_session *s,
				       const struct stor_proto_req *m, char *err, size_t errlen);
/* May the connection do what needs right on volume vol (NULL: on every volume, as LIST)?
 * SP_OK, or EAUTH, EEXPIRED, EACCES with err. */
enum stor_proto_status smon_auth_right(struct smon_handler_session *s, uint32_t right,
				       const char *vol, char *err, size_t errlen);

#endif
