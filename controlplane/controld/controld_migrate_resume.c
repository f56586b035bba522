/* controld_migrate_resume.c: the migrations a restarted lego-controld finds in its run
 * files, each followed to its end by a thread of its own once both hosts are back. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controld_migrate_watch.h"
#include "lib/log.h"
#include "lib/mono_clock.h"

static bool hosts_alive(const struct controld_migrate_job *j)
{
	const struct controld_registry_component *s, *d;
	bool up;

	controld_registry_lock();
	s = controld_registry_find_component(CP_KIND_PMON, j->src);
	d = controld_registry_find_component(CP_KIND_PMON, j->dest);
	up = s && s->alive && d && d->alive;
	controld_registry_unlock();
	return up;
}

static void *resume_thread(void *arg)
{
	struct controld_migrate_job *j = arg;
	char why[CP_ERRTEXT_MAX + 256] = "";
	int64_t logged = mono_clock_us();
	bool began;
	enum controld_migrate_outcome o;

	/* Both hosts register again by themselves; until then nothing can be asked. */
	while (!hosts_alive(j)) {
		if (mono_clock_us() - logged > (int64_t)HOSTS_WAIT_LOG_MS * 1000) {
			log_warn("vNode %s: waiting for %s and %s to register to resume its "
				 "migration",
				 j->name, j->src, j->dest);
			logged = mono_clock_us();
		}
		controld_migrate_watch_sleep_ms(RETRY_MS);
	}
	controld_registry_lock();
	began = controld_migrate_watch_job_vnode(j) &&
		controld_migrate_watch_job_vnode(j)->mig.dest_pid > 0;
	controld_registry_unlock();
	if (!began) {
		/* The source was told nothing (its destination's pid is recorded first). */
		controld_migrate_watch_finish(j, OUT_FAILED, -1, NULL);
		log_warn("vNode %s: its migration to %s had not begun when lego-controld stopped: "
			 "the destination is stopped, it runs on %s",
			 j->name, j->dest, j->src);
		free(j);
		return NULL;
	}
	o = controld_migrate_watch_follow(j, why, sizeof(why));
	if (o == OUT_FAILED)
		log_warn("vNode %s: migration to %s failed: %s; it runs on %s", j->name, j->dest,
			 why, j->src);
	if (o == OUT_LOST)
		log_error("vNode %s: %s", j->name, why);
	controld_migrate_watch_finish(
		j, o, o == OUT_LOST ? controld_migrate_watch_exit_status(j, false, NULL) : -1,
		NULL);
	free(j);
	return NULL;
}

void controld_migrate_resume_all(void)
{
	controld_registry_lock();
	for (int i = 0; i < controld_registry_nr_vnodes(); i++) {
		struct controld_registry_vnode *v = controld_registry_vnode_at(i);
		struct controld_migrate_job *j;
		pthread_t t;

		if (!v->mig.active || !v->mig.restored)
			continue;
		j = calloc(1, sizeof(*j));
		if (!j) {
			log_error("vNode %s: out of memory: its migration is not resumed",
				  v->def.name);
			continue;
		}
		memcpy(j->uuid, v->def.uuid, 16);
		snprintf(j->name, sizeof(j->name), "%s", v->def.name);
		j->id = v->id;
		snprintf(j->src, sizeof(j->src), "%s", v->host);
		snprintf(j->dest, sizeof(j->dest), "%s", v->mig.dest);
		j->t0_us = mono_clock_us();
		v->mig.started_ms = mono_clock_ms();
		v->mig.src_exit = v->mig.dest_exit = -1;
		if (pthread_create(&t, NULL, resume_thread, j)) {
			log_error("vNode %s: out of threads: its migration is not resumed",
				  v->def.name);
			free(j);
			continue;
		}
		pthread_detach(t);
	}
	controld_registry_unlock();
}
