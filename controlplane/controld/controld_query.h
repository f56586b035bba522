/* controld_query.h: the text of a legoctl QUERY (table or JSON). */
#ifndef LEGO_CONTROLD_QUERY_H
#define LEGO_CONTROLD_QUERY_H

#include <stddef.h>

#include "lib/proto/cluster_proto.h"
#include "lib/strbuf.h"

/* Append the answer to b; 0, or a cp_status with err. */
int controld_query_render(const struct cluster_proto_query *q, struct strbuf *b, char *err,
			  size_t errlen);
/* A vNode's state as legoctl shows it: running, paused, shut off, starting (not yet
 * confirmed by its host), migrating. Under the registry lock. */
struct controld_registry_vnode;
const char *controld_query_state(const struct controld_registry_vnode *v);

#endif
