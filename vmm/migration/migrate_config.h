/* migrate_config.h: whether this lego-vmm is a migration's destination (migrate_options.h's
 * row, read by migrate_config.c). */
#ifndef LEGO_MIGRATE_CONFIG_H
#define LEGO_MIGRATE_CONFIG_H

#include <stddef.h>

/* How long an --incoming lego-vmm waits for its source to connect. */
#define MIGRATE_CONFIG_INCOMING_WAIT_MS 60000

struct vmm_options;

struct migrate_config {
	const char *incoming; /* --incoming HOST:PORT, or NULL */
};

void migrate_config_init(struct vmm_options *c);
/* After every option: an incoming vNode's RAM must be on memory servers. */
int migrate_config_finish(struct vmm_options *c, char *err, size_t errlen);

#endif
