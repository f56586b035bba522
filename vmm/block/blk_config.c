/* blk_config.c: the disk options' handlers: --disk (a file or smon://HOST:PORT/VOLUME, ",ro"),
 * the storage-server connections and retry time. */
#include "blk_config.h"

#include <stdio.h>
#include <string.h>

#include "blk_backend.h"
#include "lib/parse.h"
#include "lib/proto/stor_proto.h"
#include "vmm/control/vmm_options.h"

#define SMON_SCHEME "smon://"

void blk_config_init(struct vmm_options *c)
{
	c->blk = (struct blk_config){.smon_channels = BLK_CONFIG_DEFAULT_SMON_CHANNELS,
				     .smon_timeout_ms = BLK_CONFIG_DEFAULT_SMON_TIMEOUT_MS};
}

/* smon://HOST:PORT/VOLUME into d (anything else is a file path): 0, or -1 if malformed. */
static int blk_config_smon_disk(char *path, struct blk_config_disk_spec *d)
{
	char *slash;

	d->smon = !strncmp(path, SMON_SCHEME, strlen(SMON_SCHEME));
	if (!d->smon)
		return 0;
	slash = strchr(path + strlen(SMON_SCHEME), '/');
	if (!slash || !stor_proto_vol_name_ok(slash + 1))
		return -1;
	*slash = '\0';
	if (parse_hostport(path + strlen(SMON_SCHEME), 1, d->host, sizeof(d->host), d->port,
			   sizeof(d->port))) {
		*slash = '/';
		return -1;
	}
	*slash = '/';
	d->vol = slash + 1;
	return 0;
}

int blk_config_disk(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	struct blk_config *b = &c->blk;
	struct blk_config_disk_spec *d = &b->disks[b->nr_disks];
	char *comma = strchr(arg, ',');

	if (b->nr_disks == BLK_CONFIG_MAX_DISKS) {
		snprintf(err, errlen, "too many --disk options (at most %d): '%s'",
			 BLK_CONFIG_MAX_DISKS, arg);
		return VMM_OPTIONS_BAD;
	}
	d->read_only = false;
	if (comma) {
		if (strcmp(comma, ",ro")) {
			snprintf(err, errlen, "--disk '%s': the only option is ',ro'", arg);
			return VMM_OPTIONS_BAD;
		}
		*comma = '\0';
		d->read_only = true;
	}
	if (!*arg) {
		snprintf(err, errlen, "--disk needs a path");
		return VMM_OPTIONS_BAD;
	}
	if (blk_config_smon_disk(arg, d)) {
		snprintf(err, errlen,
			 "--disk '%s' must be smon://HOST:PORT/VOLUME with a volume name of 1-64 "
			 "of [A-Za-z0-9._-]",
			 arg);
		return VMM_OPTIONS_BAD;
	}
	d->path = arg;
	b->nr_disks++;
	return VMM_OPTIONS_OK;
}

int blk_config_smon_channels(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_uint(arg, 1, BLK_SMON_MAX_CHANNELS, &v)) {
		snprintf(err, errlen, "--smon-channels '%s' must be a number from 1 to %d", arg,
			 BLK_SMON_MAX_CHANNELS);
		return VMM_OPTIONS_BAD;
	}
	c->blk.smon_channels = (int)v;
	return VMM_OPTIONS_OK;
}

int blk_config_smon_timeout(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_uint(arg, 1, 3600000, &v)) {
		snprintf(err, errlen, "--smon-timeout '%s' must be 1..3600000 ms", arg);
		return VMM_OPTIONS_BAD;
	}
	c->blk.smon_timeout_ms = (int)v;
	return VMM_OPTIONS_OK;
}
