/* mem_config.h: guest RAM on memory servers as the command line asks for it (mem_options.h's
 * rows, read by mem_config.c), and the start of that remote memory. */
#ifndef LEGO_MEM_CONFIG_H
#define LEGO_MEM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/proto/mem_proto.h"
#include "pager.h"
#include "remote_mem.h"

#define MEM_DEFAULT_REGION	  (1ULL << 30)
#define MEM_MIN_CACHE		  (1ULL << 20)
#define MEM_DEFAULT_TIMEOUT_MS	  5000
#define MEM_DEFAULT_PAGER_THREADS 2

struct vm;
struct vmm_options;

/* Remote memory is on when at least one --mmon is given (rm.nr_servers). */
struct mem_config {
	struct remote_mem_config rm;
	uint64_t cache; /* ExCache bytes; all of guest RAM once finished */
	int pager_threads;
	enum pager_mode pager_mode;
	bool no_prefetch, keep_regions, attach_regions;
	const char *region_owners; /* --region-owners as given; rm.owners once parsed */
	const char *trace_path;	   /* --mem-trace */
	int (*owners)[RM_MAX_COPIES];
	int replicas;
	char client_name[MP_NAME_LEN + 1];
};

void mem_config_init(struct vmm_options *c);
/* After every option: what needs --mmon, --replicas against the servers, --region-owners
 * against --mem and --region-size; then the defaults that depend on them (the ExCache, a
 * random vNode id, the client name). */
int mem_config_finish(struct vmm_options *c, char *err, size_t errlen);
void mem_config_free(struct mem_config *m);

/* Connect to the servers, open the vRegions of mem bytes of guest RAM, start the pager on
 * vm's RAM (before anything touches it; vhost: vhost-net shares it). 0, or -1 (logged). */
int mem_config_start(const struct mem_config *m, uint64_t mem, bool vhost, struct vm *vm,
		     struct remote_mem *rm, struct pager **pg);

#endif
