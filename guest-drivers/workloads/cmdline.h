/* cmdline.h: the guest command line (/chosen/bootargs): workloads and their options. */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

#define CMDLINE_MAX_RUN 16

enum cmdline_workload {
	CMDLINE_RUN_MEMTEST,
	CMDLINE_RUN_BLKTEST,
	CMDLINE_RUN_EVIL,
	CMDLINE_RUN_FILL,
	CMDLINE_RUN_ECHO
};

/* What memtest runs: the fill/verify patterns, the zipf hot-set pages, the kv hash
 * tables, or all three in that order. */
enum cmdline_memtest_mode {
	CMDLINE_MEMTEST_PATTERNS,
	CMDLINE_MEMTEST_ZIPF,
	CMDLINE_MEMTEST_KV,
	CMDLINE_MEMTEST_ALL
};
enum cmdline_blktest_order { CMDLINE_BLKTEST_SEQ, CMDLINE_BLKTEST_RAND };

struct cmdline_opts {
	int nr_run;
	enum cmdline_workload run[CMDLINE_MAX_RUN];
	uint64_t memtest_size;	  /* bytes, multiple of 4 KiB */
	uint64_t memtest_passes;  /* >= 1 */
	uint64_t memtest_seconds; /* patterns: more passes, zipf: more rounds of its operations,
				   * until this long has passed */
	uint64_t blktest_size;	  /* bytes, multiple of 512; 0: min(capacity, 4 MiB) */
	uint64_t blktest_seed;
	uint64_t blktest_qd;			  /* requests in flight, 1..VIO_BLK_MAX_QD */
	uint64_t blktest_bs;			  /* bytes per request, multiple of 512 */
	enum cmdline_blktest_order blktest_order; /* block order of both passes */

	/* memtest.passes applies to the patterns, these to zipf and kv. */
	enum cmdline_memtest_mode memtest_mode;
	uint64_t memtest_ops;	/* operations of zipf and of kv, split over the vCPUs */
	uint64_t memtest_theta; /* zipf skew in thousandths, 0..MEMTEST_MAX_THETA */
	uint64_t memtest_seed;	/* zipf and kv: another seed, another access sequence */
	uint64_t fill_size;	/* run=fill: bytes written with a per-page pattern */
	uint64_t fill_verify;	/* run=fill: read everything back (1) or not (0) */
	uint64_t echo_lines;	/* run=echo: end after this many lines (0: at "quit") */
	uint64_t echo_seconds;	/* run=echo: fail if it has not ended within this */
	uint64_t idle_s;	/* after the workloads, stay up this long before exiting
				 * (a vNode to inspect, suspend or destroy) */
	/* evil on a NIC: an IPv4 host on its network that answers ARP, and the address to ask
	 * from (host byte order; 0: none, the receive-side cases are skipped). */
	uint32_t evil_peer, evil_ip;
};

#define MEMTEST_DEFAULT_SIZE (16ULL << 20)
#define BLKTEST_DEFAULT_SIZE (4ULL << 20)
#define BLKTEST_DEFAULT_QD   4
#define BLKTEST_DEFAULT_BS   4096
#define BLKTEST_MAX_BS	     (1ULL << 20)
#define CMDLINE_MAX_QD	     32
#define MEMTEST_MAX_PASSES   1000000
#define CMDLINE_MAX_IDLE_S   86400

#define ECHO_DEFAULT_SECONDS 600

#define MEMTEST_DEFAULT_OPS   200000
#define MEMTEST_MAX_OPS	      (1ULL << 40)
#define MEMTEST_DEFAULT_THETA 990  /* 0.99, YCSB's default */
#define MEMTEST_MAX_THETA     5000 /* 5.0: beyond, rank 0 takes (nearly) every access */

/* Space-separated tokens:
 *   run=NAME[,NAME...]   memtest, blktest, evil, fill, echo (in that order; default
 *   run=memtest)
 *   echo.lines=N echo.seconds=S (echo: answer each line typed on the console until "quit"
 *   or N lines, within S seconds; default 0 = until "quit", 600 s)
 *   fill.size=SIZE fill.verify=0|1 (fill: write every page of SIZE bytes of free RAM with
 *   a non-random per-page pattern, e.g. to give a vNode a full RAM; default 16M, verify 1)
 *   memtest.size=SIZE memtest.passes=N blktest.size=SIZE blktest.seed=N blktest.qd=N
 *   blktest.bs=SIZE blktest.order=seq|rand (default seq)
 *   memtest.mode=patterns|zipf|kv|all (default patterns) memtest.ops=N (default 200000)
 *   memtest.theta=DECIMAL (zipf skew, 0..5, default 0.99)
 *   evil.peer=A.B.C.D evil.ip=A.B.C.D (evil on a NIC: who answers ARP there, and from which
 *   address to ask: makes traffic arrive for the receive-side cases)
 * Any other token, an unknown workload or a malformed value is an error: -1 with err. */
int cmdline_parse(const char *cmdline, struct cmdline_opts *o, char *err, size_t errlen);
const char *cmdline_workload_name(enum cmdline_workload w);

#endif
