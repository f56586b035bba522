/* vmm_options.h: lego-vmm's command line read into struct vmm_options: each row of
 * vmm/options.h goes to its subsystem's handler, then each subsystem checks what depends on
 * other options (vmm_options.c). */
#ifndef LEGO_CONTROL_VMM_OPTIONS_H
#define LEGO_CONTROL_VMM_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "vmm/block/blk_config.h"
#include "vmm/boot/boot_config.h"
#include "vmm/control/control_config.h"
#include "vmm/control/vmm_caps.h"
#include "vmm/devices/legacy/console.h"
#include "vmm/memory/mem_config.h"
#include "vmm/migration/migrate_config.h"
#include "vmm/net/net_config.h"
#include "vmm/options.h"

/* Every subsystem's part of the command line. */
struct vmm_options {
	struct boot_config boot;
	struct blk_config blk;
	struct net_config net;
	struct console_config console;
	struct mem_config mem;
	struct migrate_config migrate;
	struct control_config control;
	struct vmm_caps caps;
};

/* What a handler or a subsystem's check returns. */
enum vmm_options_result {
	VMM_OPTIONS_OK = 0,
	VMM_OPTIONS_EXIT = 1,	  /* done (--help, --version): exit 0 */
	VMM_OPTIONS_BAD = -1,	  /* err: a bad command line, with a pointer to --help */
	VMM_OPTIONS_REFUSED = -2, /* err: a value out of range, said in full */
};

/* A row's handler: arg is the option's value (NULL for a flag), which it may keep (it is
 * argv's) and change in place. */
typedef int vmm_options_take(struct vmm_options *c, char *arg, char *err, size_t errlen);
#define VMM_OPTIONS_DECLARE(take, ...) vmm_options_take take;
OPTIONS_ALL(VMM_OPTIONS_DECLARE)

/* Read argv into c (defaults first); -1 to go on and run the vNode, or lego-vmm's exit
 * status (0 after --help or --version; VMM_EXIT_USAGE with the problem on stderr). */
int vmm_options_parse(int argc, char **argv, struct vmm_options *c);
/* What parsing allocated. */
void vmm_options_free(struct vmm_options *c);
/* --help's text, generated from the rows. */
void vmm_options_usage(FILE *f);

#endif
