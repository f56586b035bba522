/* pmon_spawn.h: starting one lego-vmm process for a vNode, and the files it uses in the
 * run directory: UUID.sock (control socket), UUID.console, UUID.log (its stdout+stderr),
 * UUID.exit (its exit status, written as it ends). */
#ifndef LEGO_PMON_SPAWN_H
#define LEGO_PMON_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* RUNDIR/ID.EXT; the longest (a socket path must fit sockaddr_un) is checked at startup. */
#define PMON_SPAWN_PATH_MAX 4096
void pmon_spawn_path(char *out, const char *run_dir, const char *id, const char *ext);

struct pmon_spawn {
	const char *vmm, *run_dir, *id, *name;
	uint64_t vnode_uid;
	const char *const *argv; /* the request's lego-vmm options */
	uint32_t argc;
	bool remote;   /* guest RAM on memory servers (--mmon), which know it by vnode_uid */
	int secret_fd; /* -1, or a file lego-vmm reads as PMON_SPAWN_SECRET_PATH (its fd 4) */
	/* A remote vNode's migration stream: TLS with this host's certificate, or (pki_dir
	 * NULL) plain, as lego-pmon --insecure. */
	const char *pki_dir, *pki_name;
};
#define PMON_SPAWN_SECRET_PATH "/dev/fd/4"

/* fork + exec: [vmm, options..., --vnode-id UID, --pki DIR --pki-name NAME (or
 * --insecure-migration), --control SOCK, --console CONSOLE, --exit-file EXIT] (no --vnode-id nor
 * migration options without remote memory: lego-vmm refuses them then) in a session of its own,
 * stdin /dev/null, stdout+stderr appended to the log, secret_fd as fd 4 if given, no other
 * fds, no blocked signals, no parent-death signal: it outlives a lego-pmon that dies, and
 * the next one adopts it (pmon_adopt.h).
 * The pid, with *exec_errno set if the exec failed (the child then exits 127); or -1 with
 * err if no process could be made. */
pid_t pmon_spawn(const struct pmon_spawn *s, int *exec_errno, char *err, size_t errlen);

#endif
