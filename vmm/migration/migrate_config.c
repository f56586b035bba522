/* migrate_config.c: --incoming's handler and check. */
#include "migrate_config.h"

#include <stdio.h>

#include "lib/parse.h"
#include "vmm/control/vmm_options.h"

void migrate_config_init(struct vmm_options *c)
{
	c->migrate = (struct migrate_config){0};
}

int migrate_config_incoming(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	char host[256], port[16];

	if (parse_hostport(arg, 0, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "--incoming '%s' is not HOST:PORT", arg);
		return VMM_OPTIONS_BAD;
	}
	c->migrate.incoming = arg;
	return VMM_OPTIONS_OK;
}

int migrate_config_finish(struct vmm_options *c, char *err, size_t errlen)
{
	if (c->migrate.incoming && !c->mem.rm.nr_servers) {
		snprintf(err, errlen,
			 "--incoming needs --mmon: only vNodes whose RAM is on memory servers "
			 "migrate");
		return VMM_OPTIONS_BAD;
	}
	return VMM_OPTIONS_OK;
}
