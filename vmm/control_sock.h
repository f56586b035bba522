/* control_sock.h: lego-vmm's control socket (--control PATH, or @NAME for an abstract
 * socket): a UNIX stream socket that answers one-line commands with one line of JSON while
 * the vNode runs.
 *
 *   stats   {"vnode": ID, "pager": {...pager statistics...}}
 *   flush   {"flushed_pages": N}   write every dirty ExCache page back to its server
 *   help    the commands
 */
#ifndef LEGO_CONTROL_SOCK_H
#define LEGO_CONTROL_SOCK_H

#include <stdint.h>

struct pager;
struct control_sock;

int control_sock_start(struct control_sock **out, const char *path, uint64_t vnode,
		       struct pager *pg);
void control_sock_stop(struct control_sock *cs);

#endif
