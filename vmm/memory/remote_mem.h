/* remote_mem.h: a vNode's guest RAM as vRegions on memory servers (lego-mmon).
 *
 * RAM offsets [0, ram_size) are cut into regions of region_size bytes. Each region has one
 * or more copies, each on a different server: the live copies hold every page written
 * back (a write counts as done only once every live copy took it); a joining copy takes
 * writes while its server fills it from a live one, then becomes live when the control
 * plane says so. Reads go to the first live copy; a copy whose server is lost is dropped
 * at once and the next one serves (failover), and only when none is left does I/O fail.
 * A copy that moved (EREDIRECT) is followed to its new server.
 *
 * Page I/O goes through channels: one connection per server per channel, each channel
 * used by one thread at a time (a pager thread, the flusher); connections to servers
 * added later are made by each channel's own thread on first use. One more channel
 * belongs to the control functions (add, make live, drop a copy), which one thread calls
 * at a time; they change a region's copies under its write lock, so that every write
 * started after remote_mem_copies_add returns goes to the new copy too.
 *
 * A vNode may use any number of servers over its life: the table holds the servers in use
 * at once (RM_MAX_SERVERS), and an entry no copy refers to any more (its server lost, or
 * every copy there moved away) is reused for the next new server (remote_mem.c says why
 * that is safe while pager threads run).
 */
#ifndef LEGO_REMOTE_MEM_H
#define LEGO_REMOTE_MEM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/proto/mem_proto.h"

#define RM_MAX_SERVERS                                                                    \
	32		  /* servers a vNode uses at once (lost ones whose copies are not \
			   * dropped yet included); entries are reused, see above */
#define RM_MAX_CHANNELS 9 /* for page I/O; the control channel is one more */
#define RM_MAX_COPIES	4

struct fab_conn;
struct cap_holder;

/* A connection's capability, as last shown to its server. */
struct remote_mem_auth {
	bool required; /* the server asks for one (HELLO reply) */
	bool shown;
	unsigned gen; /* the holder's generation shown */
	uint8_t challenge[32];
};

struct remote_mem_server {
	char addr[MP_ADDR_LEN + 1]; /* "HOST:PORT" as given */
	char host[256];
	char port[16];
	char name[MP_NAME_LEN + 1]; /* the server's own name, from HELLO */
	bool rma;
	atomic_bool dead; /* lost: never used again (a server back at that address is a new
			   * entry) */
	/* The copies that name this entry, plus the threads that hold it outside a region
	 * lock (remote_mem_server_hold): at 0 the entry may be reused. */
	atomic_int refs;
	struct fab_conn *conn[RM_MAX_CHANNELS + 1];
	struct remote_mem_auth auth[RM_MAX_CHANNELS + 1];
};

enum remote_mem_copy_state {
	RM_COPY_LIVE = 1,
	RM_COPY_JOINING = 2,
};

struct remote_mem_copy {
	atomic_int server;
	int state; /* rm_copy_state, changed under the region's write lock */
	atomic_uint_fast64_t handle, epoch;
	/* RMA: a server registers a vRegion for each connection apart (its key reaches that
	 * connection only), so each channel learns its own address and key (an OPEN on it);
	 * written by that channel's thread alone. */
	struct {
		uint64_t addr, key;
		bool asked;
	} rma[RM_MAX_CHANNELS + 1];
	atomic_bool failed; /* refused or lost: skipped until the control plane drops it */
};

struct remote_mem_region {
	pthread_rwlock_t lock; /* read: page I/O; write: changes to the copies */
	uint64_t size;
	int nr_copies;
	struct remote_mem_copy copies[RM_MAX_COPIES];
};

struct remote_mem {
	uint64_t vnode;
	uint64_t ram_size, region_size;
	int timeout_ms;
	bool use_rma;
	struct cap_holder *holder; /* the vNode's capabilities, or NULL */
	char provider[64];
	char client_name[MP_NAME_LEN + 1];
	int nr_channels, nr_regions;  /* I/O channels; the control channel is nr_channels */
	pthread_mutex_t servers_lock; /* entries taken, found by address, reused */
	atomic_int nr_servers;	      /* entries ever taken (the highest index + 1) */
	struct remote_mem_server servers[RM_MAX_SERVERS];
	struct remote_mem_region *regions;
	uint64_t next_id[RM_MAX_CHANNELS + 1];
	uint8_t *stage[RM_MAX_CHANNELS]; /* remote_mem_io_write_buf's buffers */
	pthread_mutex_t ctl_lock;	 /* one control call at a time */
	atomic_uint_fast64_t copies_lost, redirects;
	/* Page reads served by one-sided RMA, and by READ messages (the server's CPU). */
	atomic_uint_fast64_t reads_rma, reads_msg;
	pthread_mutex_t error_lock;
	char error[512]; /* the failure that made I/O fail, naming the server */
};

struct remote_mem_config {
	uint64_t vnode;
	const char *client_name;
	const char *provider;
	uint64_t region_size;
	int timeout_ms;
	bool use_rma;
	struct cap_holder *holder; /* shown to servers that require a capability, or NULL */
	int nr_servers;
	const char *servers[RM_MAX_SERVERS]; /* "HOST:PORT" */
	/* The servers of each region's copies (indexes into servers[], -1 past the last), or
	 * NULL: region i has `replicas` copies, on servers i, i+1, ... mod nr_servers. */
	const int (*owners)[RM_MAX_COPIES];
	int replicas; /* 0 means 1 */
};

/* "HOST:PORT" -> host and port; -1 if malformed. */
int remote_mem_parse_server(const char *text, char *host, size_t hlen, char *port, size_t plen);

/* Connect nr_channels channels to every server and open (creating) every copy of every
 * region. Returns 0 or -1 with rm->error set. */
int remote_mem_open(struct remote_mem *rm, const struct remote_mem_config *cfg, uint64_t ram_size,
		    int nr_channels);
/* Drop the connections; with free_regions, the servers free the copies first. */
void remote_mem_close(struct remote_mem *rm, bool free_regions);

/* Read npages pages at RAM offset off (all inside one region) through channel ch; returns
 * a pointer to the data (valid until the channel's next call) or NULL with rm->error set
 * once no live copy can serve it. */
const void *remote_mem_io_read(struct remote_mem *rm, int ch, uint64_t off, unsigned npages);
/* The same, landing the pages in dst (npages pages) when the transport can receive there
 * directly: returns dst then, else the receive buffer as above (the caller copies). */
const void *remote_mem_io_read_into(struct remote_mem *rm, int ch, uint64_t off, unsigned npages,
				    void *dst);
/* Where to put up to MP_MAX_PAGES pages for remote_mem_io_write(rm, ch, off, ...). */
void *remote_mem_io_write_buf(struct remote_mem *rm, int ch, uint64_t off);
/* Write them to every copy of the region: 0 once every live copy holds them (copies that
 * fail are dropped), -1 with rm->error set if no live copy took them. */
int remote_mem_io_write(struct remote_mem *rm, int ch, uint64_t off, unsigned npages);

/* The control plane's changes to region idx's copies, the server named "HOST:PORT":
 * add a joining copy there (opened with JOIN; idempotent), make it live, or drop it (not
 * the last live copy). 0, or -1 with err saying why. */
int remote_mem_copies_add(struct remote_mem *rm, int idx, const char *addr, char *err,
			  size_t errlen);
int remote_mem_copies_live(struct remote_mem *rm, int idx, const char *addr, char *err,
			   size_t errlen);
int remote_mem_copies_drop(struct remote_mem *rm, int idx, const char *addr, char *err,
			   size_t errlen);
/* The control plane says the server at addr is lost: its copies fail now, without waiting
 * for I/O to find out, except a vRegion's last live copy: the control plane may have lost
 * the server while this VMM still reaches it, so that copy stays, and this VMM's own requests
 * decide (a server really gone fails them, and the vNode stops). The server is marked lost
 * when no copy stays. Returns how many copies stay; *failed: how many failed now. */
int remote_mem_copies_server_lost(struct remote_mem *rm, const char *addr, int *failed);
/* What the control plane is told of the servers and copies (the `regions` answer). */
struct remote_mem_server_view {
	char addr[MP_ADDR_LEN + 1]; /* "HOST:PORT" as given */
	char name[MP_NAME_LEN + 1]; /* from its HELLO ("" before) */
	bool lost;
};
struct remote_mem_copy_view {
	int server; /* an index of the servers' view */
	bool live;  /* else joining */
	bool failed;
};
/* The server entries (lost ones too), at most RM_MAX_SERVERS: how many. An entry a copy
 * view holds is not reused until remote_mem_copies_region_done. */
int remote_mem_copies_servers(struct remote_mem *rm, struct remote_mem_server_view *out);
/* Region idx's copies, the primary first, at most RM_MAX_COPIES: how many. Their servers'
 * entries are held (so that a servers view taken after names them) until
 * remote_mem_copies_region_done(rm, out, n). */
int remote_mem_copies_region(struct remote_mem *rm, int idx, struct remote_mem_copy_view *out);
void remote_mem_copies_region_done(struct remote_mem *rm, const struct remote_mem_copy_view *cv,
				   int n);
uint64_t remote_mem_copies_lost(struct remote_mem *rm);
uint64_t remote_mem_copies_redirects(struct remote_mem *rm);
/* Page reads (one per remote_mem_io_read that a copy served) by RMA and by messages. */
void remote_mem_io_read_counts(struct remote_mem *rm, uint64_t *rma, uint64_t *msg);

/* The region holding RAM offset off, and a server's "name (host:port)". */
int remote_mem_region_of(const struct remote_mem *rm, uint64_t off);
const char *remote_mem_server_label(const struct remote_mem *rm, int server, char *buf, size_t len);

#endif
