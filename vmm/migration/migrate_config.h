/* migrate_config.h: whether this lego-vmm is a migration's destination (migrate_options.h's
 * row, read by migrate_config.c). */
#ifndef LEGO_MIGRATE_CONFIG_H
#define LEGO_MIGRATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* How long an --incoming lego-vmm waits for its source to connect. */
#define MIGRATE_CONFIG_INCOMING_WAIT_MS 60000

struct vmm_options;
struct tls_pki;

struct migrate_config {
	const char *incoming; /* --incoming HOST:PORT, or NULL */
	const char *pki_dir, *pki_name;
	bool insecure;	     /* --insecure-migration */
	struct tls_pki *pki; /* pmon-NAME's certificate, loaded once the options are read */
};

void migrate_config_init(struct vmm_options *c);
/* After every option: an incoming vNode's RAM must be on memory servers, and its stream
 * has TLS (the certificate loaded) or plain TCP was asked for. */
int migrate_config_finish(struct vmm_options *c, char *err, size_t errlen);
void migrate_config_free(struct migrate_config *m);

#endif
