/* pmon_vms.c: the vNode table: admission against the host's cores and ExCache memory,
 * exits, SIGKILL deadlines and the heartbeat's view of it all. */
#include "pmon_vms.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"

void pmon_vms_init(struct pmon_vms *t, uint32_t cores, uint64_t capacity)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->cores = cores;
	t->capacity = capacity;
}

struct pmon_vms_entry *pmon_vms_find(struct pmon_vms *t, const uint8_t uuid[16])
{
	for (int i = 0; i < PMON_VMS_MAX; i++)
		if (t->vm[i].used && !memcmp(t->vm[i].uuid, uuid, 16))
			return &t->vm[i];
	return NULL;
}

void pmon_vms_used(struct pmon_vms *t, uint32_t *cores, uint64_t *bytes)
{
	*cores = 0;
	*bytes = 0;
	for (int i = 0; i < PMON_VMS_MAX; i++) {
		const struct pmon_vms_entry *v = &t->vm[i];

		if (v->used && pmon_vms_live(v)) {
			*cores += v->vcpus;
			*bytes += v->excache_bytes;
		}
	}
}

enum cluster_proto_status pmon_vms_admit(struct pmon_vms *t, const struct cluster_proto_vm_start *m,
					 struct pmon_vms_entry **out, char *err, size_t errlen)
{
	struct pmon_vms_entry *v = pmon_vms_find(t, m->uuid);
	uint32_t cores;
	uint64_t bytes, free_bytes;
	int n = 0;

	if (t->closing) {
		snprintf(err, errlen, "lego-pmon is shutting down");
		return CP_EIO;
	}
	if (v && pmon_vms_live(v)) {
		snprintf(err, errlen, "vNode %s (%s) is already running here as pid %d", v->id,
			 v->name, (int)v->pid);
		return CP_EEXIST;
	}
	pmon_vms_used(t, &cores, &bytes);
	free_bytes = t->capacity - bytes;
	/* Say everything that is short, so the placer learns it in one answer. */
	if (m->vcpus > t->cores - cores)
		n += snprintf(err, errlen, "needs %u cores but only %u of %u are free", m->vcpus,
			      t->cores - cores, t->cores);
	if (m->excache_bytes > free_bytes && (size_t)n < errlen)
		snprintf(err + n, errlen - (size_t)n,
			 "%sneeds %llu MiB of ExCache memory but only %llu of %llu MiB are free",
			 n ? "; " : "", (unsigned long long)(m->excache_bytes >> 20),
			 (unsigned long long)(free_bytes >> 20),
			 (unsigned long long)(t->capacity >> 20));
	if (m->vcpus > t->cores - cores || m->excache_bytes > free_bytes)
		return CP_ENOSPC;
	for (int i = 0; !v && i < PMON_VMS_MAX; i++)
		if (!t->vm[i].used)
			v = &t->vm[i];
	if (!v) {
		snprintf(err, errlen,
			 "this host already keeps %d vNode records: VM_FORGET exited ones first",
			 PMON_VMS_MAX);
		return CP_ENOSPC;
	}
	*v = (struct pmon_vms_entry){.used = true,
				     .vnode_uid = m->vnode_uid,
				     .domid = m->domid,
				     .vcpus = m->vcpus,
				     .excache_bytes = m->excache_bytes,
				     .state = CP_VM_RUNNING};
	memcpy(v->uuid, m->uuid, 16);
	uuid_str_format(m->uuid, v->id);
	snprintf(v->name, sizeof(v->name), "%s", m->name);
	*out = v;
	return CP_OK;
}

void pmon_vms_drop(struct pmon_vms_entry *v)
{
	memset(v, 0, sizeof(*v));
}

bool pmon_vms_reaped(struct pmon_vms *t, pid_t pid, int status, bool signalled, bool unknown,
		     uint8_t uuid[16], uint64_t *net_gen)
{
	bool found = false;

	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < PMON_VMS_MAX && !found; i++) {
		struct pmon_vms_entry *v = &t->vm[i];

		if (!v->used || !pmon_vms_live(v) || v->pid != pid)
			continue;
		found = true;
		memcpy(uuid, v->uuid, 16);
		*net_gen = v->net_gen;
		v->net_gen = 0;
		v->state = CP_VM_EXITED;
		v->exit_status = status;
		v->kill_at = 0;
		if (v->adopted && v->pidfd >= 0)
			close(v->pidfd);
		v->pidfd = -1;
		if (v->exec_errno)
			log_error("vNode %s (%s) pid %d exited with status %d: lego-vmm could not "
				  "be executed: %s",
				  v->name, v->id, (int)pid, status, strerror(v->exec_errno));
		else if (unknown)
			log_warn("vNode %s (%s) pid %d exited, leaving no exit status (killed or "
				 "crashed): reported as %d",
				 v->name, v->id, (int)pid, status);
		else if (signalled)
			log_warn("vNode %s (%s) pid %d exited with status %d (killed by signal "
				 "%d)",
				 v->name, v->id, (int)pid, status, status - 128);
		else if (status == 126 && v->migrating)
			log_info("vNode %s (%s) pid %d exited with status 126: migrated (it runs "
				 "on another host now)",
				 v->name, v->id, (int)pid);
		else if (status == 124 && v->incoming)
			log_info("vNode %s (%s) pid %d exited with status 124: incoming migration "
				 "aborted (nothing ran here)",
				 v->name, v->id, (int)pid);
		else
			log_info("vNode %s (%s) pid %d exited with status %d", v->name, v->id,
				 (int)pid, status);
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

int pmon_vms_signal(struct pmon_vms_entry *v, int sig)
{
	v->last_signal = sig;
	if (v->adopted)
		return (int)syscall(SYS_pidfd_send_signal, v->pidfd, sig, NULL, 0);
	return kill(v->pid, sig);
}

int pmon_vms_insert(struct pmon_vms *t, const struct pmon_vms_entry *e)
{
	if (pmon_vms_find(t, e->uuid))
		return -1;
	for (int i = 0; i < PMON_VMS_MAX; i++) {
		if (!t->vm[i].used) {
			t->vm[i] = *e;
			t->vm[i].used = true;
			return 0;
		}
	}
	return -1;
}

int pmon_vms_pidfds(struct pmon_vms *t, int *fds, int max)
{
	int n = 0;

	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < PMON_VMS_MAX && n < max; i++) {
		const struct pmon_vms_entry *v = &t->vm[i];

		if (v->used && v->adopted && pmon_vms_live(v) && v->pidfd >= 0)
			fds[n++] = v->pidfd;
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

int64_t pmon_vms_kill_due(struct pmon_vms *t, int64_t now)
{
	int64_t next = -1;

	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < PMON_VMS_MAX; i++) {
		struct pmon_vms_entry *v = &t->vm[i];

		if (!v->used || !pmon_vms_live(v) || !v->kill_at)
			continue;
		if (v->kill_at <= now) {
			/* Still live in the table, so not yet reaped: the pid is ours. */
			log_warn("vNode %s (%s) pid %d did not stop in time: SIGKILL", v->name,
				 v->id, (int)v->pid);
			if (v->pid > 0)
				pmon_vms_signal(v, SIGKILL);
			v->kill_at = 0;
		} else if (next < 0 || v->kill_at < next) {
			next = v->kill_at;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return next;
}

int pmon_vms_stop_all(struct pmon_vms *t, int64_t kill_at)
{
	int n = 0;

	pthread_mutex_lock(&t->lock);
	t->closing = true;
	for (int i = 0; i < PMON_VMS_MAX; i++) {
		struct pmon_vms_entry *v = &t->vm[i];

		if (!v->used || !pmon_vms_live(v))
			continue;
		n++;
		if (v->pid > 0 && pmon_vms_signal(v, SIGTERM) && errno != ESRCH)
			log_warn("cannot signal vNode %s pid %d: %s", v->name, (int)v->pid,
				 strerror(errno));
		if (!v->kill_at || v->kill_at > kill_at)
			v->kill_at = kill_at;
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

int pmon_vms_live_count(struct pmon_vms *t)
{
	int n = 0;

	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < PMON_VMS_MAX; i++)
		n += t->vm[i].used && pmon_vms_live(&t->vm[i]);
	pthread_mutex_unlock(&t->lock);
	return n;
}

size_t pmon_vms_heartbeat(struct pmon_vms *t, uint8_t *buf, size_t cap)
{
	struct cluster_proto_heartbeat hb = {0};
	size_t len = CP_HEARTBEAT_LEN;

	pthread_mutex_lock(&t->lock);
	pmon_vms_used(t, &hb.used_cores, &hb.used_bytes);
	for (int i = 0; i < PMON_VMS_MAX && len + CP_VM_STATUS_LEN <= cap; i++) {
		const struct pmon_vms_entry *v = &t->vm[i];
		struct cluster_proto_vm_status st;

		if (!v->used)
			continue;
		st = (struct cluster_proto_vm_status){.vnode_uid = v->vnode_uid,
						      .domid = v->domid,
						      .pid = (uint32_t)v->pid,
						      .state = v->state,
						      .exit_status = v->exit_status,
						      .vcpus = v->vcpus};
		memcpy(st.uuid, v->uuid, 16);
		cluster_proto_vm_status_put(buf + len, &st);
		len += CP_VM_STATUS_LEN;
		hb.nr_vms++;
	}
	pthread_mutex_unlock(&t->lock);
	cluster_proto_heartbeat_put(buf, &hb);
	return len;
}
