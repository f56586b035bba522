/* pmon_loop.c: one thread for everything that is not a request: child exits (and adopted
 * vNodes' exits, through their pidfds), SIGKILL deadlines and the shutdown on
 * SIGINT/SIGTERM. */
#include "pmon_loop.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/svc_notify.h"
#include "lib/mono_clock.h"
#include "lib/netserver.h"
#include "pmon_adopt.h"
#include "pmon_net.h"

#define SHUTDOWN_GRACE_MS 10000

void pmon_loop_kick(struct pmon_ctx *p)
{
	cluster_agent_kick(p->agent);
}

void pmon_loop_wake(struct pmon_ctx *p)
{
	uint64_t one = 1;

	if (write(p->wake_fd, &one, sizeof(one)) < 0)
		(void)0; /* counter saturated: a wake-up is pending anyway */
}

static void reap(struct pmon_ctx *p)
{
	bool any = false;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		bool sig = WIFSIGNALED(st);
		int status = sig ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
		uint8_t uuid[16];
		uint64_t net_gen = 0;

		if (pmon_vms_reaped(&p->vms, pid, status, sig, false, uuid, &net_gen)) {
			/* For the next lego-pmon, should this one die before it is forgotten. */
			pmon_adopt_child_exited(p->run_dir, uuid, status);
			if (net_gen) /* its taps go with it */
				pmon_net_detach(uuid, net_gen);
			any = true;
		} else if (!pmon_net_reaped(pid, status)) {
			log_warn("reaped pid %d (status %d), which runs no vNode", (int)pid,
				 status);
		}
	}
	if (any)
		pmon_loop_kick(p);
}

/* SIGINT/SIGTERM: the first stops every vNode gracefully, another kills them now. */
static void shutdown_signal(struct pmon_ctx *p, unsigned sig, bool *stopping)
{
	int64_t now = mono_clock_ms();
	int n;

	if (*stopping) {
		n = pmon_vms_stop_all(&p->vms, now);
		log_warn("received signal %u again: killing %d vNode(s) now", sig, n);
		return;
	}
	*stopping = true;
	svc_notify_stopping();
	netserver_close_listeners(p->requests);
	n = pmon_vms_stop_all(&p->vms, now + SHUTDOWN_GRACE_MS);
	log_info("received signal %u: stopping %d running vNode(s) (SIGKILL after %d s)", sig, n,
		 SHUTDOWN_GRACE_MS / 1000);
}

int pmon_loop(struct pmon_ctx *p, int sfd)
{
	bool stopping = false;

	for (;;) {
		int64_t now = mono_clock_ms(), next = pmon_vms_kill_due(&p->vms, now);
		static struct pollfd f[2 + PMON_VMS_MAX];
		static int pidfds[PMON_VMS_MAX];
		struct signalfd_siginfo si;
		uint64_t v;
		int timeout = next < 0 ? -1 : (int)(next - now < INT_MAX ? next - now : INT_MAX);
		int n = pmon_vms_pidfds(&p->vms, pidfds, PMON_VMS_MAX);
		bool any = false;

		if (stopping && pmon_vms_live_count(&p->vms) == 0)
			return 0;
		f[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
		f[1] = (struct pollfd){.fd = p->wake_fd, .events = POLLIN};
		for (int i = 0; i < n; i++)
			f[2 + i] = (struct pollfd){.fd = pidfds[i], .events = POLLIN};
		if (poll(f, 2 + (nfds_t)n, timeout) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			return -1;
		}
		if (f[0].revents & POLLIN) {
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					reap(p);
				else
					shutdown_signal(p, si.ssi_signo, &stopping);
			}
		}
		if (f[1].revents & POLLIN && read(p->wake_fd, &v, sizeof(v)) < 0)
			(void)0; /* another read got it: the loop runs again anyway */
		for (int i = 0; i < n; i++)
			if (f[2 + i].revents)
				any |= pmon_adopt_exited(p, pidfds[i]);
		if (any)
			pmon_loop_kick(p);
	}
}
