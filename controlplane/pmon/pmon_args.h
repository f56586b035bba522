/* pmon_args.h: the check of the lego-vmm options a VM_START carries. */
#ifndef LEGO_PMON_ARGS_H
#define LEGO_PMON_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* args: argc NUL-terminated strings (as cluster_proto_vm_start_get checked them). Every option must
 * be one of lego-vmm's, spelled in full, with its value; none of those lego-pmon sets itself
 * (--control, --console, --stats, --vnode-id); no positional arguments; --kernel given; a
 * --cpus equal to vcpus; --incoming (lego-controld migrating a vNode here), if given, is
 * HOST:PORT and needs --mmon. Fills argv[0..argc) with pointers into args, *remote (guest
 * RAM on memory servers: --mmon given) and *incoming, and *secret: the index in argv of
 * the value of an option lego-pmon hands over in a private file (--capability), or -1.
 * 0, or -1 with err naming the offending argument. */
int pmon_args_check(const char *args, uint32_t argc, uint32_t vcpus, const char **argv,
		    bool *remote, bool *incoming, int *secret, char *err, size_t errlen);

#endif
