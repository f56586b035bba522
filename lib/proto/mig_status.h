/* mig_status.h: what lego-vmm's control socket says about a migration (the interface is
 * ../notes/mig_spec.md): the `migration` command's progress object, and the answers of
 * `migrate`, `migrate-cancel` and `migrate-resolve`. Decoded strictly: lego-controld decides
 * from them where a vNode runs. */
#ifndef LEGO_MIG_STATUS_H
#define LEGO_MIG_STATUS_H

#include <stddef.h>
#include <stdint.h>

#define MIG_ERROR_MAX  512
#define MIG_LISTEN_MAX 264 /* "HOST:PORT", HOST up to 253 bytes, maybe in []: fits VM_CTL */

enum mig_status_role { MIG_ROLE_NONE, MIG_ROLE_SOURCE, MIG_ROLE_INCOMING };

enum mig_status_phase {
	/* role none */
	MIG_NONE,
	/* source */
	MIG_CONNECTING,
	MIG_PRECOPY,
	MIG_STOPPING,
	MIG_SENDING,
	MIG_COMMITTING,
	MIG_COMPLETED, /* the destination runs; the source exits 126 */
	MIG_FAILED,    /* (both roles) the source runs on; the destination never ran */
	MIG_UNCERTAIN, /* broke while committing: the source waits for migrate-resolve */
	/* incoming */
	MIG_LISTENING,
	MIG_RECEIVING,
	MIG_READY,
	MIG_RUNNING,
};

struct mig_status {
	enum mig_status_role role;
	enum mig_status_phase phase;
	uint64_t bytes_total, bytes_processed, bytes_remaining;
	double elapsed_ms, downtime_ms;	 /* lego-vmm gives them to the microsecond */
	char error[MIG_ERROR_MAX + 1];	 /* "" when null */
	char listen[MIG_LISTEN_MAX + 1]; /* incoming: where it listens ("" when null) */
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
