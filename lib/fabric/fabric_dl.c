/* fabric_dl.c: load libfabric once, on first use. */
#include "fabric_dl.h"

#include <dlfcn.h>
#include <pthread.h>

#include "lib/log.h"

static struct fabric_dl api;
static const struct fabric_dl *loaded;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *h = dlopen("libfabric.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		log_error("cannot load libfabric (Debian package libfabric1): %s", dlerror());
		return;
	}
	*(void **)&api.getinfo = dlsym(h, "fi_getinfo");
	*(void **)&api.freeinfo = dlsym(h, "fi_freeinfo");
	*(void **)&api.dupinfo = dlsym(h, "fi_dupinfo");
	*(void **)&api.fabric = dlsym(h, "fi_fabric");
	*(void **)&api.strerror = dlsym(h, "fi_strerror");
	if (!api.getinfo || !api.freeinfo || !api.dupinfo || !api.fabric || !api.strerror) {
		log_error("libfabric.so.1 lacks fi_getinfo/fi_freeinfo/fi_dupinfo/fi_fabric/"
			  "fi_strerror: %s",
			  dlerror());
		dlclose(h);
		return;
	}
	loaded = &api; /* never unloaded: providers keep threads running */
}

const struct fabric_dl *fabric_dl(void)
{
	pthread_once(&once, load);
	return loaded;
}
