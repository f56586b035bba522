/* options.h: lego-vmm's command-line options: every subsystem's rows, gathered in --help's
 * order. No code: lego-pmon's check of the options a VM_START carries includes it too.
 *
 * A row is X(take, name, short_name, arg, flags, help, help_args...):
 *   take        the subsystem's handler (vmm_options_take in vmm/control/vmm_options.h); only
 *               lego-vmm expands it
 *   name        the long option, "--name"
 *   short_name  its one-letter form, or 0
 *   arg         its value as --help calls it ("SIZE"), or NULL: the option takes no value
 *   flags       OPTIONS_PMON: lego-pmon sets it itself (a VM_START must not);
 *               OPTIONS_NORUN: prints something and exits, runs no vNode;
 *               VMM_CAPS_OPTIONS_SECRET: a VM_START carries the value itself, and lego-pmon
 *               writes it to a file only it and lego-vmm read, passing lego-vmm its path
 *   help        its --help text, a printf format, then its arguments (the subsystem's own
 *               constants: only lego-vmm, which includes their headers, expands them)
 */
#ifndef LEGO_VMM_OPTIONS_H
#define LEGO_VMM_OPTIONS_H

#include "vmm/block/blk_options.h"
#include "vmm/boot/boot_options.h"
#include "vmm/control/control_options.h"
#include "vmm/control/vmm_caps_options.h"
#include "vmm/devices/legacy/console_options.h"
#include "vmm/memory/mem_options.h"
#include "vmm/migration/migrate_options.h"
#include "vmm/net/net_options.h"

#define OPTIONS_PMON  1
#define OPTIONS_NORUN 2

/* Logging, help and version. */
#define GENERAL_OPTIONS(X)                                                      \
	X(vmm_options_verbose, "verbose", 'v', NULL, 0, "debug log lines")      \
	X(vmm_options_quiet, "quiet", 'q', NULL, 0, "warnings and errors only") \
	X(vmm_options_help, "help", 'h', NULL, OPTIONS_NORUN, "this text")      \
	X(vmm_options_version, "version", 'V', NULL, OPTIONS_NORUN, "version")

/* --help's sections: G(X, ROWS, heading), heading NULL (none) or a line after a blank one. */
#define OPTIONS_GROUPS(G, X)                                                               \
	G(X, BOOT_OPTIONS, NULL)                                                           \
	G(X, BLK_OPTIONS, NULL)                                                            \
	G(X, NET_OPTIONS, NULL)                                                            \
	G(X, CONSOLE_OPTIONS, NULL)                                                        \
	G(X, MEM_OPTIONS, "Remote memory (guest RAM lives on lego-mmon memory servers):")  \
	G(X, VMM_CAPS_OPTIONS,                                                             \
	  "Capabilities (what the memory and storage servers let this vNode do):")         \
	G(X, MIGRATE_OPTIONS,                                                              \
	  "Live migration (the control socket's 'migrate HOST:PORT' sends a vNode away):") \
	G(X, CONTROL_OPTIONS, "")                                                          \
	G(X, GENERAL_OPTIONS, NULL)

/* Every row, in order. */
#define OPTIONS_GROUP_ROWS(X, ROWS, heading) ROWS(X)
#define OPTIONS_ALL(X)			     OPTIONS_GROUPS(OPTIONS_GROUP_ROWS, X)

#endif
