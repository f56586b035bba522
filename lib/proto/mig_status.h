/* mig_status.h: what lego-vmm's control socket says about a migration (the interface is
 * ../notes/mig_spec.md): the `migration` command's progress object, and the answers of
 * `migrate`, `migrate-cancel` and `migrate-resolve`. Decoded strictly: lego-controld decides
 * from them where a vNode runs. */
#ifndef LEGO_MIG_STATUS_H
#define LEGO_MIG_STATUS_H

#include <stddef.h>
#include <stdint.h>

#define MIG_STATUS_ERROR_MAX 512
#define MIG_STATUS_LISTEN_MAX                                              \
	264 /* "HOST:PORT", HOST up to 253 bytes, maybe in []: fits VM_CTL \
	     */

/* lego-vmm's exit statuses that end a migration (its others: vmm/kvm/vm.h). */
#define MIG_STATUS_EXIT_MIGRATED	 126 /* the vNode now runs on the migration's destination */
#define MIG_STATUS_EXIT_INCOMING_ABORTED 124 /* --incoming: the vNode never ran here */

enum mig_status_role { MIG_STATUS_ROLE_NONE, MIG_STATUS_ROLE_SOURCE, MIG_STATUS_ROLE_INCOMING };

enum mig_status_phase {
	/* role none */
	MIG_STATUS_NONE,
	/* source */
	MIG_STATUS_CONNECTING,
	MIG_STATUS_PRECOPY,
	MIG_STATUS_STOPPING,
	MIG_STATUS_SENDING,
	MIG_STATUS_COMMITTING,
	MIG_STATUS_COMPLETED, /* the destination runs; the source exits 126 */
	MIG_STATUS_FAILED,    /* (both roles) the source runs on; the destination never ran */
	MIG_STATUS_UNCERTAIN, /* broke while committing: the source waits for migrate-resolve */
	/* incoming */
	MIG_STATUS_LISTENING,
	MIG_STATUS_RECEIVING,
	MIG_STATUS_READY,
	MIG_STATUS_RUNNING,
};

struct mig_status {
	enum mig_status_role role;
	enum mig_status_phase phase;
	uint64_t bytes_total, bytes_processed, bytes_remaining;
	double elapsed_ms, downtime_ms;		/* lego-vmm gives them to the microsecond */
	char error[MIG_STATUS_ERROR_MAX + 1];	/* "" when null */
	char listen[MIG_STATUS_LISTEN_MAX + 1]; /* incoming: where it listens ("" when null) */
};

/* The answer to `migration`: 0, or -1 with err (an {"error": ...} answer gives its text). A
 * phase must belong to the role; an incoming VMM that listens must say where (HOST:PORT,
 * port > 0). */
int mig_status_parse(const char *json, struct mig_status *s, char *err, size_t errlen);
/* The answer to a command that starts or steers a migration: 0 if it is an object with no
 * "error" member (and, with want, {"migration": want}); else -1 with err saying it (an
 * {"error": ...} answer gives its text). */
int mig_status_answer_check(const char *json, const char *want, char *err, size_t errlen);
const char *mig_status_phase_name(enum mig_status_phase p);

#endif
