/* blk_options.h: lego-vmm's disk options (rows of vmm/options.h): virtio-blk disks on files or
 * storage-server volumes; handled in blk_config.c. No code. */
#ifndef LEGO_BLK_OPTIONS_H
#define LEGO_BLK_OPTIONS_H

#define BLK_OPTIONS(X)                                                                          \
	X(blk_config_disk, "disk", 'd', "PATH[,ro]", 0,                                         \
	  "virtio-blk disk backed by a file, or by a volume on a storage server: "              \
	  "smon://HOST:PORT/VOLUME; repeat for more (max %d)",                                  \
	  BLK_CONFIG_MAX_DISKS)                                                                 \
	X(blk_config_smon_channels, "smon-channels", 0, "N", 0,                                 \
	  "connections (requests in flight) per storage-server disk (1..%d; default %d)",       \
	  BLK_SMON_MAX_CHANNELS, BLK_CONFIG_DEFAULT_SMON_CHANNELS)                              \
	X(blk_config_smon_timeout, "smon-timeout", 0, "MS", 0,                                  \
	  "keep retrying requests to an unreachable storage server this long before the guest " \
	  "sees an I/O error (default %d)",                                                     \
	  BLK_CONFIG_DEFAULT_SMON_TIMEOUT_MS)

#endif
