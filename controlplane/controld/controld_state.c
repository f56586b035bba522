/* controld_state.c: the state store's entry points, dispatched to the directory or the
 * RADOS store chosen by --state. */
#include "controld_state.h"

#include <stdio.h>
#include <string.h>

#include "controld_state_rados.h"
#include "lib/log.h"

static const struct controld_state_ops *ops;
static char where[4200];
static bool rados;

void controld_state_set_ops(const struct controld_state_ops *o, const char *w)
{
	ops = o;
	snprintf(where, sizeof(where), "%s", w);
}

int controld_state_open(const struct controld_state_options *o)
{
	const char *spec = o->spec;

	if (!strncmp(spec, "rados:", 6)) {
		rados = true;
		return controld_state_rados_open(spec + 6, o);
	}
	if (!strncmp(spec, "dir:", 4))
		spec += 4;
	if (!spec[0]) {
		log_error("state: '%s' names no directory", o->spec);
		return -1;
	}
	return controld_state_dir_open(spec);
}

bool controld_state_is_rados(void)
{
	return rados;
}

const char *controld_state_where(void)
{
	return where;
}

int controld_state_put(const char *key, const void *data, size_t len)
{
	return ops->put(key, data, len);
}

int controld_state_remove(const char *key)
{
	return ops->remove(key);
}

char *controld_state_get(const char *key, size_t *len)
{
	return ops->get(key, len);
}

void controld_state_each(const char *sub, const char *suffix,
			 void (*fn)(const char *key, char *text, size_t len, void *ctx), void *ctx)
{
	ops->each(sub, suffix, fn, ctx);
}
