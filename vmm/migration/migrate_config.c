/* migrate_config.c: the migration options' handlers and check. */
#include "migrate_config.h"

#include <stdio.h>

#include "lib/parse.h"
#include "lib/tls/tls_pki.h"
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

int migrate_config_pki(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	c->migrate.pki_dir = arg;
	return VMM_OPTIONS_OK;
}

int migrate_config_pki_name(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	if (!tls_pki_name_ok(arg)) {
		snprintf(err, errlen, "--pki-name '%s' is not a processor host's name", arg);
		return VMM_OPTIONS_BAD;
	}
	c->migrate.pki_name = arg;
	return VMM_OPTIONS_OK;
}

int migrate_config_insecure(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)arg;
	(void)err;
	(void)errlen;
	c->migrate.insecure = true;
	return VMM_OPTIONS_OK;
}

int migrate_config_finish(struct vmm_options *c, char *err, size_t errlen)
{
	struct migrate_config *m = &c->migrate;
	char why[900];

	if (m->incoming && !c->mem.rm.nr_servers) {
		snprintf(err, errlen,
			 "--incoming needs --mmon: only vNodes whose RAM is on memory servers "
			 "migrate");
		return VMM_OPTIONS_BAD;
	}
	if (m->pki_dir && !m->pki_name) {
		snprintf(err, errlen, "--pki needs --pki-name: whose certificate migrations use");
		return VMM_OPTIONS_BAD;
	}
	if (m->pki_name && m->insecure) {
		snprintf(err, errlen, "--pki-name and --insecure-migration exclude each other");
		return VMM_OPTIONS_BAD;
	}
	if (m->incoming && !m->pki_name && !m->insecure) {
		snprintf(err, errlen,
			 "--incoming needs this processor host's certificate (--pki DIR --pki-name "
			 "HOST, as lego-pmon gives) or --insecure-migration: a migration stream is "
			 "never plain TCP unless asked for");
		return VMM_OPTIONS_BAD;
	}
	if (m->pki_name) {
		m->pki = tls_pki_load(tls_pki_dir(m->pki_dir), TLS_KIND_PMON, m->pki_name, why,
				      sizeof(why));
		if (!m->pki) {
			snprintf(err, errlen, "migration's TLS: %s", why);
			return VMM_OPTIONS_REFUSED;
		}
	}
	return VMM_OPTIONS_OK;
}

void migrate_config_free(struct migrate_config *m)
{
	tls_pki_free(m->pki);
	m->pki = NULL;
}
