/* control_cmds.h: the control socket's commands (control_sock.h lists them): one command line
 * in, its one-line JSON answer out. */
#ifndef LEGO_CONTROL_CMDS_H
#define LEGO_CONTROL_CMDS_H

#include "control_sock.h"

/* The answer to line (without its newline): malloc'ed, ending in a newline; NULL when out of
 * memory. */
char *control_cmds_answer(const struct control_sock_target *t, const char *line);

#endif
