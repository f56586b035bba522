/* cmdline.h: the guest command line (/chosen/bootargs): workloads and their options. */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

#define CMDLINE_MAX_RUN 16

enum workload { WL_MEMTEST, WL_BLKTEST, WL_EVIL };

struct guest_opts {
	int nr_run;
	enum workload run[CMDLINE_MAX_RUN];
	uint64_t memtest_size;	 /* bytes, multiple of 4 KiB */
	uint64_t memtest_passes; /* >= 1 */
	uint64_t blktest_size;	 /* bytes, multiple of 512; 0: min(capacity, 4 MiB) */
	uint64_t blktest_seed;
	uint64_t blktest_qd; /* requests in flight, 1..GBLK_MAX_QD */
	uint64_t blktest_bs; /* bytes per request, multiple of 512 */
};

#define MEMTEST_DEFAULT_SIZE (16ULL << 20)
#define BLKTEST_DEFAULT_SIZE (4ULL << 20)
#define BLKTEST_DEFAULT_QD   4
#define BLKTEST_DEFAULT_BS   4096
#define BLKTEST_MAX_BS	     (1ULL << 20)
#define CMDLINE_MAX_QD	     32
#define MEMTEST_MAX_PASSES   1000000

/* Space-separated tokens:
 *   run=NAME[,NAME...]   memtest, blktest, evil (in that order; default run=memtest)
 *   memtest.size=SIZE memtest.passes=N blktest.size=SIZE blktest.seed=N blktest.qd=N
 *   blktest.bs=SIZE
 * Any other token, an unknown workload or a malformed value is an error: -1 with err. */
int cmdline_parse(const char *cmdline, struct guest_opts *o, char *err, size_t errlen);
const char *workload_name(enum workload w);

#endif
