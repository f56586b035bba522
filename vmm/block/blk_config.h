/* blk_config.h: the vNode's disks as the command line names them (blk_options.h's rows, read
 * by blk_config.c). */
#ifndef LEGO_BLK_CONFIG_H
#define LEGO_BLK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define BLK_CONFIG_MAX_DISKS		   8
#define BLK_CONFIG_DEFAULT_SMON_CHANNELS   16
#define BLK_CONFIG_DEFAULT_SMON_TIMEOUT_MS 30000

struct vmm_options;
struct cap_holder;

struct blk_config_disk_spec {
	const char *path; /* a file, or smon://HOST:PORT/VOLUME */
	bool read_only;
	bool smon;
	char host[256], port[16];
	const char *vol;
};

struct blk_config {
	int nr_disks;
	struct blk_config_disk_spec disks[BLK_CONFIG_MAX_DISKS];
	int smon_channels, smon_timeout_ms;
	struct cap_holder *holder; /* what storage servers are shown (vmm_caps.c), or NULL */
};

void blk_config_init(struct vmm_options *c);

#endif
