/* metrics_http.c: GET /metrics over HTTP/1.1 (HEAD too), one request per connection. */
#include "metrics_http.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "mono_clock.h"
#include "netserver.h"
#include "prom_text.h"
#include "tcp.h"

#define MAX_CONNS    16
#define MAX_PER_PEER 4

struct metrics_http {
	metrics_http_render render;
	void *ctx;
	pthread_mutex_t one_page; /* pages are rendered one at a time */
	uint64_t bad_requests;
};

/* The request's head (up to its empty line) into req: its length, or -1 (closed, too
 * slow), or -2 (too long). The listener is plain TCP: its non-blocking socket is read directly, in
 * pieces, rather than a byte per tls_conn_read. */
static int read_head(struct tls_conn *c, char *req, size_t max)
{
	int64_t deadline = mono_clock_ms() + METRICS_HTTP_READ_MS;
	size_t n = 0;

	while (n < max - 1) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int left = mono_clock_ms_left(deadline);
		ssize_t got;

		if (!left || poll(&p, 1, left) <= 0)
			return -1;
		got = recv(c->fd, req + n, max - 1 - n, MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0)
			return -1;
		n += (size_t)got;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			return (int)n;
	}
	return -2;
}

static void reply(struct tls_conn *c, const char *status, const char *type, const char *extra,
		  const char *body, size_t len, bool head_only)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			 "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
			 status, type, len, extra ? extra : "");

	if (tls_conn_write(c, head, (size_t)n) == 0 && !head_only && len)
		tls_conn_write(c, body, len);
}

static void error_reply(struct tls_conn *c, const char *status, const char *extra, bool head)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "%s\n", status);

	reply(c, status, "text/plain; charset=utf-8", extra, body, (size_t)n, head);
}

/* "GET /metrics?x HTTP/1.1": the method and path, or false. */
static bool request_line(char *req, char **method, char **path)
{
	char *sp1 = strchr(req, ' '), *sp2, *eol = strpbrk(req, "\r\n");

	if (!sp1 || !eol || sp1 > eol)
		return false;
	sp2 = strchr(sp1 + 1, ' ');
	if (!sp2 || sp2 > eol || strncmp(sp2 + 1, "HTTP/1.", 7))
		return false;
	*sp1 = *sp2 = '\0';
	*method = req;
	*path = sp1 + 1;
	(*path)[strcspn(*path, "?#")] = '\0';
	return **path == '/';
}

static void page(struct metrics_http *m, struct tls_conn *c, bool head)
{
	struct strbuf b;
	int rc;

	strbuf_init(&b, METRICS_HTTP_PAGE_MAX);
	pthread_mutex_lock(&m->one_page);
	rc = m->render(&b, m->ctx);
	pthread_mutex_unlock(&m->one_page);
	if (rc || b.failed || !b.p) {
		log_warn("metrics: %s: the page could not be made%s", c->addr,
			 b.failed ? " (out of memory, or over its bound)" : "");
		error_reply(c, "500 Internal Server Error", NULL, head);
	} else {
		reply(c, "200 OK", PROM_TEXT_CONTENT_TYPE, NULL, b.p, b.len, head);
	}
	strbuf_free(&b);
}

/* After the answer: the client's unread bytes (a refused request's rest) are read and
 * dropped until it closes, for 1 s and 64 KiB at most, so that the close does not reset the
 * connection before the client has read the answer. */
static void drain_close(struct tls_conn *c)
{
	int64_t deadline = mono_clock_ms() + 1000;
	size_t total = 0;
	char junk[4096];

	shutdown(c->fd, SHUT_WR);
	while (total < 65536) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int left = mono_clock_ms_left(deadline);
		ssize_t got;

		if (!left || poll(&p, 1, left) <= 0)
			return;
		got = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0)
			return;
		total += (size_t)got;
	}
}

static void serve(struct netserver_client *cl)
{
	struct metrics_http *m = cl->cfg->ctx;
	char req[METRICS_HTTP_REQUEST_MAX], *method, *path;
	bool head;
	int n = read_head(cl->conn, req, sizeof(req));

	if (n == -2) {
		error_reply(cl->conn, "431 Request Header Fields Too Large", NULL, false);
		drain_close(cl->conn);
	}
	if (n < 0)
		return;
	if (!request_line(req, &method, &path)) {
		if (log_sampled(__atomic_add_fetch(&m->bad_requests, 1, __ATOMIC_RELAXED)))
			log_info("metrics: %s: not an HTTP/1.x request", cl->conn->addr);
		error_reply(cl->conn, "400 Bad Request", NULL, false);
		drain_close(cl->conn);
		return;
	}
	head = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head)
		error_reply(cl->conn, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", false);
	else if (!strcmp(path, "/metrics"))
		page(m, cl->conn, head);
	else if (!strcmp(path, "/"))
		reply(cl->conn, "200 OK", "text/plain; charset=utf-8", NULL,
		      "lego metrics: GET /metrics\n", 27, head);
	else
		error_reply(cl->conn, "404 Not Found", NULL, head);
	drain_close(cl->conn);
}

int metrics_http_start(const char *hostport, metrics_http_render render, void *ctx, char *port,
		       size_t plen, char *err, size_t errlen)
{
	static struct metrics_http server; /* one per program */
	struct metrics_http *m = &server;
	struct netserver_config cfg = {.what = "metrics",
				       .max_conns = MAX_CONNS,
				       .max_per_peer = MAX_PER_PEER,
				       .max_pending = MAX_CONNS,
				       .handshake_ms = METRICS_HTTP_READ_MS,
				       .idle_ms = METRICS_HTTP_READ_MS,
				       .read_ms = METRICS_HTTP_READ_MS,
				       .serve = serve};
	struct netserver *s;
	int fd;

	m->render = render;
	m->ctx = ctx;
	pthread_mutex_init(&m->one_page, NULL);
	cfg.ctx = m;
	fd = tcp_listen(hostport, port, plen, err, errlen);
	if (fd < 0)
		return -1;
	s = netserver_new(&cfg);
	if (!s || netserver_listen(s, fd, NULL, 0) || netserver_start(s)) {
		snprintf(err, errlen, "cannot start the metrics server");
		return -1;
	}
	return 0;
}
