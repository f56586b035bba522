/* migrate_options.h: lego-vmm's migration options (rows of vmm/options.h): be a migration's
 * destination, and the processor host's certificate the stream's TLS uses (lego-pmon sets
 * those); handled in migrate_config.c. No code. */
#ifndef LEGO_MIGRATE_OPTIONS_H
#define LEGO_MIGRATE_OPTIONS_H

#define MIGRATE_OPTIONS(X)                                                                         \
	X(migrate_config_incoming, "incoming", 0, "HOST:PORT", 0,                                  \
	  "be the destination of a migration: attach to the vNode's vRegions and disks (the same " \
	  "--mem, --cpus, --mmon, --region-size, --region-owners, --vnode-id and --disk as the "   \
	  "source; --kernel and --initrd are not loaded: --kernel tells whether a Linux guest, "   \
	  "with KVM's interrupt controllers, arrives), listen on HOST:PORT (port 0: any; the "     \
	  "control socket's 'migration' tells which) for the source's state, then run the vNode "  \
	  "from where it was")                                                                     \
	X(migrate_config_pki, "pki", 0, "DIR", OPTIONS_PMON,                                       \
	  "the cluster PKI (default $LEGO_PKI or /etc/lego/pki): the migration stream is mutual "  \
	  "TLS between processor hosts' certificates (set by lego-pmon)")                          \
	X(migrate_config_pki_name, "pki-name", 0, "HOST", OPTIONS_PMON,                            \
	  "this processor host's certificate in --pki: pmon-HOST.pem (set by lego-pmon); a "       \
	  "destination accepts only a source presenting a processor host's certificate, and a "    \
	  "source only a destination whose certificate is valid for the host it connects to")      \
	X(migrate_config_insecure, "insecure-migration", 0, NULL, OPTIONS_PMON,                    \
	  "migrate over plain TCP, unauthenticated and unencrypted (set by lego-pmon "             \
	  "--insecure); "                                                                          \
	  "without it or --pki-name, no migration in or out")

#endif
