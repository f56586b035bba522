/* console_options.h: lego-vmm's console option (a row of vmm/options.h): where the guest's
 * console goes; handled in console.c. No code. */
#ifndef LEGO_CONSOLE_OPTIONS_H
#define LEGO_CONSOLE_OPTIONS_H

#define CONSOLE_OPTIONS(X)                                         \
	X(console_config_path, "console", 0, "PATH", OPTIONS_PMON, \
	  "write the guest console to PATH instead of stdout")

#endif
