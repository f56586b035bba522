/* control_options.h: lego-vmm's control and statistics options (rows of vmm/options.h);
 * handled in control_config.c. No code. */
#ifndef LEGO_CONTROL_OPTIONS_H
#define LEGO_CONTROL_OPTIONS_H

#define CONTROL_OPTIONS(X)                                                                       \
	X(control_config_socket, "control", 0, "PATH", OPTIONS_PMON,                             \
	  "UNIX socket answering\n'stats', 'flush', 'pause', 'resume' and 'help' while running " \
	  "(@NAME: an abstract socket, no file)")                                                \
	X(control_config_stats, "stats", 0, "PATH", OPTIONS_PMON,                                \
	  "write run statistics as JSON to PATH at exit")                                        \
	X(control_config_exit_file, "exit-file", 0, "PATH", OPTIONS_PMON,                        \
	  "write the exit status (a number) to PATH as the vNode ends: a lego-pmon that "        \
	  "restarted and adopted this lego-vmm is not its parent and reads it there")

#endif
