/* control_config.h: the control socket and the statistics file the command line asks for
 * (control_options.h's rows, read by control_config.c). */
#ifndef LEGO_CONTROL_CONFIG_H
#define LEGO_CONTROL_CONFIG_H

struct vmm_options;

struct control_config {
	const char *socket;    /* --control PATH or @NAME, or NULL */
	const char *stats;     /* --stats PATH, or NULL */
	const char *exit_file; /* --exit-file PATH, or NULL */
};

void control_config_init(struct vmm_options *c);

#endif
