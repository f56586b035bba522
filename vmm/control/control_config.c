/* control_config.c: the handlers of --control, --stats and --exit-file. */
#include "control_config.h"

#include "vmm/control/vmm_options.h"

void control_config_init(struct vmm_options *c)
{
	c->control = (struct control_config){0};
}

int control_config_socket(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->control.socket = arg;
	return VMM_OPTIONS_OK;
}

int control_config_stats(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->control.stats = arg;
	return VMM_OPTIONS_OK;
}

int control_config_exit_file(struct vmm_options *c, char *arg, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->control.exit_file = arg;
	return VMM_OPTIONS_OK;
}
