/* pmon_adopt.h: a restarted lego-pmon adopts the lego-vmm processes the previous one left.
 * Each lego-vmm lego-pmon starts outlives it (its own session, no parent-death signal) and
 * is recorded in RUNDIR/UUID.run (JSON: the vNode, its pid and the process's start time).
 * At start every run file is read: a lego-vmm still running (the same process: its start
 * time and command line; asked on its control socket for its state) is adopted as if
 * started here, its exit watched through a pidfd and its status read from UUID.exit
 * (lego-vmm --exit-file); one that ended meanwhile, or whose pid another process has now,
 * becomes an exited record with the status it left (-1: none), which lego-controld learns
 * in the heartbeat and forgets (VM_FORGET removes the files). */
#ifndef LEGO_PMON_ADOPT_H
#define LEGO_PMON_ADOPT_H

#include <stdint.h>
#include <sys/types.h>

#include "pmon_ctx.h"

/* v's run file written (whole, then renamed into place): 0, or -1 (logged). Under the
 * table's lock: v does not change meanwhile. */
int pmon_adopt_record(const char *run_dir, const struct pmon_vms_entry *v);
/* The process's start time from /proc/PID/stat: 0, or -1 if there is no such process. */
int pmon_adopt_start_time(pid_t pid, uint64_t *out);
/* The exit status lego-vmm left in RUNDIR/ID.exit, or -1 if it left none. */
int pmon_adopt_exit_status(const char *run_dir, const char *id);
/* A child's exit, known from waitpid: written to its exit file unless lego-vmm did. */
void pmon_adopt_child_exited(const char *run_dir, const uint8_t uuid[16], int status);
/* Its run file and exit file removed (VM_FORGET). */
void pmon_adopt_forget(const char *run_dir, const char *id);
/* At start, before registering: every run file read, its vNode adopted or recorded as
 * exited, bad files removed. How many were adopted. */
int pmon_adopt_all(struct pmon_ctx *p);
/* An adopted vNode's pidfd became readable: it exited; its record says so (with the status
 * it left). true if something changed. */
bool pmon_adopt_exited(struct pmon_ctx *p, int pidfd);

#endif
