/* mem_options.h: lego-vmm's remote-memory options (rows of vmm/options.h): the memory servers,
 * the vRegions' copies, the ExCache and its pager; handled in mem_config.c. No code. */
#ifndef LEGO_MEM_OPTIONS_H
#define LEGO_MEM_OPTIONS_H

#define MEM_OPTIONS(X)                                                                            \
	X(mem_config_mmon, "mmon", 0, "HOST:PORT", 0,                                             \
	  "a memory server; repeat to spread vRegions (max %d)", RM_MAX_SERVERS)                  \
	X(mem_config_region_size, "region-size", 0, "SIZE", 0,                                    \
	  "vRegion size (multiple of 2 MiB; default 1G)")                                         \
	X(mem_config_region_owners, "region-owners", 0, "LIST", 0,                                \
	  "the memory servers of each vRegion: comma-separated indexes into the --mmon list (0 "  \
	  "= the first), one per vRegion, its replicas' after '+', e.g. 1,0+1,1+0 (default: "     \
	  "vRegion i on server i mod the number of servers, its replicas on the next ones)")      \
	X(mem_config_replicas, "replicas", 0, "N", 0,                                             \
	  "copies of every vRegion, on as many servers (1..%d; default 1); a write-back is done " \
	  "when every copy has it, and a lost server's copies fail over to the others",           \
	  RM_MAX_COPIES)                                                                          \
	X(mem_config_cache, "cache", 0, "SIZE", 0,                                                \
	  "ExCache: most guest RAM resident here (default: all of it; at least 1M)")              \
	X(mem_config_pager_threads, "pager-threads", 0, "N", 0,                                   \
	  "fault-serving threads (1..%d; default %d)", PAGER_MAX_THREADS,                         \
	  MEM_DEFAULT_PAGER_THREADS)                                                              \
	X(mem_config_no_prefetch, "no-prefetch", 0, NULL, 0,                                      \
	  "fetch only the faulting page, even when sequential")                                   \
	X(mem_config_pager_mode, "pager-mode", 0, "MODE", 0,                                      \
	  "how a fetched page reaches guest RAM: zerocopy (received into guest RAM's memfd, "     \
	  "mapped by UFFDIO_CONTINUE), copy (UFFDIO_COPY from a receive buffer) or auto "         \
	  "(default: copy, which measured less CPU per page over tcp)")                           \
	X(mem_config_mem_trace, "mem-trace", 0, "FILE", 0,                                        \
	  "trace mode: write the page number of every missing-page fault, in order, to FILE "     \
	  "(little-endian uint32s; lru_replay replays them through an ideal LRU)")                \
	X(mem_config_no_rma, "no-rma", 0, NULL, 0,                                                \
	  "never fetch pages with one-sided RMA reads (used where the provider has them "         \
	  "natively, e.g. verbs; tcp uses messages)")                                             \
	X(mem_config_provider, "provider", 0, "NAME", 0,                                          \
	  "libfabric provider (default $LEGO_FABRIC_PROVIDER or tcp)")                            \
	X(mem_config_mmon_timeout, "mmon-timeout", 0, "MS", 0,                                    \
	  "a memory server silent this long is lost (default %d)", MEM_DEFAULT_TIMEOUT_MS)        \
	X(mem_config_vnode_id, "vnode-id", 0, "N", OPTIONS_PMON,                                  \
	  "the vNode's id on the servers (default: random)")                                      \
	X(mem_config_keep_regions, "keep-regions", 0, NULL, 0,                                    \
	  "leave the vRegions on the servers at exit")                                            \
	X(mem_config_attach_regions, "attach-regions", 0, NULL, 0,                                \
	  "the vRegions already hold this vNode's RAM (kept by an earlier run, or loaded by a "   \
	  "tool): fetch every page from its server instead of assuming zeros")

#endif
