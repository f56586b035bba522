/* metrics_http.h: a Prometheus scrape endpoint: a small HTTP/1.1 server (lib/netserver.c's
 * accept thread and caps) answering GET /metrics with a page its render function writes in
 * the text exposition format. Read-only and unauthenticated: whoever reaches the address
 * reads the page, so it listens only where it is told. One request per connection, at most
 * METRICS_HTTP_REQUEST_MAX bytes of it, within METRICS_HTTP_READ_MS; one page rendered at a
 * time. */
#ifndef LEGO_METRICS_HTTP_H
#define LEGO_METRICS_HTTP_H

#include <stddef.h>

#include "strbuf.h"

#define METRICS_HTTP_REQUEST_MAX 8192
#define METRICS_HTTP_READ_MS	 5000
#define METRICS_HTTP_PAGE_MAX	 (32u << 20)

/* Writes the page into b (bounded: b->failed if cut); 0, or -1 (answered 500). */
typedef int (*metrics_http_render)(struct strbuf *b, void *ctx);

/* Listen on "HOST:PORT" (port 0 picks; the bound port into port) and serve from a thread of
 * its own: 0, or -1 with err. */
int metrics_http_start(const char *hostport, metrics_http_render render, void *ctx, char *port,
		       size_t plen, char *err, size_t errlen);

#endif
