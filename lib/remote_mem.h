/* remote_mem.h: a vNode's guest RAM as vRegions on memory servers (lego-mmon).
 *
 * RAM offsets [0, ram_size) are cut into regions of region_size bytes; region i lives on
 * server owners[i] when a control plane assigns owners (--region-owners), else on server
 * i % nr_servers. Each region has the handle and epoch its owner gave it. Page I/O goes
 * through channels: one connection per server per channel, each channel used by one
 * thread at a time (a pager thread, the flusher).
 */
#ifndef LEGO_REMOTE_MEM_H
#define LEGO_REMOTE_MEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mem_proto.h"

#define RM_MAX_SERVERS	16
#define RM_MAX_CHANNELS 9

struct fab_conn;

struct rm_server {
	char host[256];
	char port[16];
	char name[MP_NAME_LEN + 1]; /* the server's own name, from HELLO */
	bool rma;
	struct fab_conn *conn[RM_MAX_CHANNELS];
};

struct rm_region {
	int server;
	uint64_t handle, epoch, size;
	uint64_t rma_addr, rma_key;
};

struct remote_mem {
	uint64_t vnode;
	uint64_t ram_size, region_size;
	int timeout_ms;
	bool use_rma;
	int nr_servers, nr_channels, nr_regions;
	struct rm_server servers[RM_MAX_SERVERS];
	struct rm_region *regions;
	uint64_t next_id[RM_MAX_CHANNELS];
	pthread_mutex_t error_lock;
	char error[512]; /* the first failure, naming the server */
};

struct rm_config {
	uint64_t vnode;
	const char *client_name;
	const char *provider;
	uint64_t region_size;
	int timeout_ms;
	bool use_rma;
	int nr_servers;
	const char *servers[RM_MAX_SERVERS]; /* "HOST:PORT" */
	const int *owners; /* server index per region, or NULL: region i on i % nr_servers */
};

/* "HOST:PORT" -> host and port; -1 if malformed. */
int rm_parse_server(const char *text, char *host, size_t hlen, char *port, size_t plen);

/* Connect nr_channels channels to every server and open (creating) every region.
 * Returns 0 or -1 with rm->error set. */
int remote_mem_open(struct remote_mem *rm, const struct rm_config *cfg, uint64_t ram_size,
		    int nr_channels);
/* Drop the connections; with free_regions, the servers free the regions first. */
void remote_mem_close(struct remote_mem *rm, bool free_regions);

/* Read npages pages at RAM offset off (all inside one region) through channel ch; returns
 * a pointer to the data (valid until the channel's next call) or NULL with rm->error set. */
const void *remote_mem_read(struct remote_mem *rm, int ch, uint64_t off, unsigned npages);
/* Where to put up to MP_MAX_PAGES pages for remote_mem_write(rm, ch, off, ...): the
 * registered send buffer of the connection that will carry them (no extra copy). */
void *remote_mem_write_buf(struct remote_mem *rm, int ch, uint64_t off);
int remote_mem_write(struct remote_mem *rm, int ch, uint64_t off, unsigned npages);

/* The region holding RAM offset off, and its server's "name (host:port)". */
int remote_mem_region_of(const struct remote_mem *rm, uint64_t off);
const char *remote_mem_server_label(const struct remote_mem *rm, int server, char *buf, size_t len);

#endif
