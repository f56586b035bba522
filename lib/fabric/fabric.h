/* fabric.h: lego's transport over libfabric: reliable connected endpoints (FI_EP_MSG) for
 * request/reply messages and one-sided RMA reads of registered memory.
 *
 * The provider is "tcp" unless the caller or LEGO_FABRIC_PROVIDER names another: "verbs" on
 * an RDMA fabric (its message endpoints: measured over Soft-RoCE, a 4 KiB ping-pong took 88 us
 * there against 544 us over "verbs;ofi_rxm", which also needs FI_UNIVERSE_SIZE <= 127 on rxe).
 * LEGO_FABRIC_RMA=emulated makes fabric_has_rma true on tcp too (tests of the RMA path). Each
 * connection owns one registered buffer split into a send half and a receive half of
 * fabric_bufsize() bytes each, so a message never needs copying into registered memory. One thread
 * uses a connection at a time; a domain is shared.
 *
 * Every call that waits takes a timeout; a peer that closes the connection or dies turns
 * the connection broken (-ENOTCONN from then on). Functions return 0 or -errno.
 */
#ifndef LEGO_FABRIC_H
#define LEGO_FABRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fab_domain;
struct fab_listener;
struct fab_conn;
struct fab_mr;

/* The provider named by LEGO_FABRIC_PROVIDER, else "tcp". */
const char *fabric_default_provider(void);

/* Listen on host:port ("0" picks a free port). */
int fabric_listen(const char *provider, const char *host, const char *port,
		  struct fab_listener **out);
/* The port actually bound, as text. */
const char *fabric_listener_port(const struct fab_listener *l);
/* Whether the listener's provider has native one-sided RMA (fabric_has_rma). */
bool fabric_listener_has_rma(const struct fab_listener *l);
/* Give every connection accepted from now on a domain of its own (on verbs, its own
 * protection domain), so that memory registered there is reachable from it alone
 * (fabric_conn_domain). */
void fabric_listener_private_domains(struct fab_listener *l);
/* Wait up to timeout_ms for a connection; -EAGAIN when none came. admit (if not NULL) is
 * asked first, with the peer's "host:port": false rejects it (-ECONNREFUSED) before it
 * costs anything. */
int fabric_accept(struct fab_listener *l, size_t bufsize, int timeout_ms,
		  bool (*admit)(void *arg, const char *peer), void *arg, struct fab_conn **out);
void fabric_listener_close(struct fab_listener *l);

/* Connect to host:port; the connection owns its own domain. */
int fabric_connect(const char *provider, const char *host, const char *port, size_t bufsize,
		   int timeout_ms, struct fab_conn **out);
void fabric_close(struct fab_conn *c);

void *fabric_sbuf(struct fab_conn *c);
void *fabric_rbuf(struct fab_conn *c);
size_t fabric_bufsize(const struct fab_conn *c);
/* "host:port" of the peer, for log lines. */
const char *fabric_peer(const struct fab_conn *c);
/* An accepted connection's own domain (fabric_listener_private_domains), else NULL. */
struct fab_domain *fabric_conn_domain(struct fab_conn *c);
bool fabric_broken(const struct fab_conn *c);
/* How long waits on this connection poll before sleeping (-1: the process default; no
 * polling on a single CPU). A caller that waits anyway, for replies slower than a round
 * trip (disk reads), can poll longer than the default and skip a slow wake-up. */
void fabric_set_spin_us(struct fab_conn *c, int us);
/* Whether one-sided RMA reads are native (and so worth using) on this connection's
 * provider; false for providers that emulate RMA over a byte stream (tcp), unless
 * LEGO_FABRIC_RMA=emulated. */
bool fabric_has_rma(const struct fab_conn *c);

/* Post the receive buffer; then fabric_recv_wait for the message (-EMSGSIZE: it was longer
 * than the buffer and was cut; the connection stays usable; -ETIMEDOUT: nothing yet, the
 * receive stays posted). Send, call and RMA read break the connection on timeout. */
int fabric_post_recv(struct fab_conn *c);
int fabric_recv_wait(struct fab_conn *c, int timeout_ms, size_t *len);
/* Post a receive whose first hdr_len bytes land in the receive buffer and the rest (up to
 * dst_len) in dst, e.g. a reply's pages straight into the memory that will hold them; the
 * next fabric_call_send keeps it. -EOPNOTSUPP where the provider needs dst registered
 * (FI_MR_LOCAL, e.g. verbs) or a receive is already posted: post the plain one then. */
int fabric_post_recv_split(struct fab_conn *c, size_t hdr_len, void *dst, size_t dst_len);
/* Send len bytes from the send buffer and wait until the provider is done with them. */
int fabric_send(struct fab_conn *c, size_t len, int timeout_ms);
/* Request/reply: post receive, send req_len bytes, wait for the reply. In two halves, so
 * that one thread can have a request in flight on each of several connections. */
int fabric_call(struct fab_conn *c, size_t req_len, size_t *reply_len, int timeout_ms);
int fabric_call_send(struct fab_conn *c, size_t req_len, int timeout_ms);
int fabric_call_wait(struct fab_conn *c, size_t *reply_len, int timeout_ms);
/* One-sided read of len bytes at (raddr, key) on the peer into the receive buffer. */
int fabric_rma_read(struct fab_conn *c, size_t len, uint64_t raddr, uint64_t key, int timeout_ms);

/* Register [addr, addr + len) for remote reads and writes by peers of domain d; *raddr and
 * *key are what a peer passes to fabric_rma_read for byte 0. Where the caller picks keys
 * (no FI_MR_PROV_KEY) they are random, as wide as the provider takes. */
int fabric_mr_reg(struct fab_domain *d, void *addr, size_t len, struct fab_mr **out,
		  uint64_t *raddr, uint64_t *key);
void fabric_mr_close(struct fab_mr *mr);

#endif
