/* migrate_options.h: lego-vmm's migration option (a row of vmm/options.h): be a migration's
 * destination; handled in migrate_config.c. No code. */
#ifndef LEGO_MIGRATE_OPTIONS_H
#define LEGO_MIGRATE_OPTIONS_H

#define MIGRATE_OPTIONS(X)                                                                         \
	X(migrate_config_incoming, "incoming", 0, "HOST:PORT", 0,                                  \
	  "be the destination of a migration: attach to the vNode's vRegions and disks (the same " \
	  "--mem, --cpus, --mmon, --region-size, --region-owners, --vnode-id and --disk as the "   \
	  "source; --kernel and --initrd are not loaded: --kernel tells whether a Linux guest, "   \
	  "with KVM's interrupt controllers, arrives), listen on HOST:PORT (port 0: any; the "     \
	  "control socket's 'migration' tells which) for the source's state, then run the vNode "  \
	  "from where it was")

#endif
