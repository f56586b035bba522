/* libvirt_events.c: lifecycle event registrations (CONNECT_DOMAIN_EVENT_REGISTER_ANY,
 * the callback form CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, and their deregistrations)
 * and the queue of events a thread sends as MESSAGE packets (DOMAIN_EVENT_LIFECYCLE, or
 * DOMAIN_EVENT_CALLBACK_LIFECYCLE with the callback's id). */
#include "libvirt_events.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "controlplane/controld/controld_registry.h"
#include "lib/log.h"
#include "libvirt_dispatch.h"

#define MAX_REGS		      1024
#define MAX_PER_CONN		      64 /* so that one client cannot take every registration */
#define QUEUE_LEN		      1024
#define EVENT_ID_LC		      0 /* VIR_DOMAIN_EVENT_ID_LIFECYCLE: the only one lego sends */
#define PROC_EVENT_LIFECYCLE	      107
#define PROC_EVENT_CALLBACK_LIFECYCLE 318

struct reg {
	struct libvirt_conn *cl;
	int callback_id; /* 0: the legacy form (one per connection and event id) */
	bool one_dom;
	uint8_t uuid[16];
};

struct event {
	char name[DOM_NAME_MAX + 1];
	uint8_t uuid[16];
	int id, event, detail;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER, sent = PTHREAD_COND_INITIALIZER;
static struct reg regs[MAX_REGS];
static int nr_regs, next_callback = 1;
static struct event queue[QUEUE_LEN];
static unsigned head, tail; /* queue[tail % QUEUE_LEN] is the next to send */
static bool running;
static struct libvirt_conn *sending; /* the connection an event is being written to */
static uint64_t dropped;

int libvirt_events_stopped_detail(int reason)
{
	/* VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN 0, DESTROYED 1, CRASHED 2, MIGRATED 3, FAILED 5 */
	switch (reason) {
	case VN_SHUTOFF_DESTROYED:
		return 1;
	case VN_SHUTOFF_CRASHED:
		return 2;
	case 4: /* VIR_DOMAIN_SHUTOFF_MIGRATED */
		return 3;
	case VN_SHUTOFF_FAILED:
		return 5;
	default:
		return 0;
	}
}

/* Send one event to every registration that wants it (lock held; dropped while writing). */
static void deliver(const struct event *e)
{
	for (int i = 0; i < nr_regs; i++) {
		struct reg r = regs[i];
		struct rpc_proto_hdr h = {.prog = RPC_REMOTE_PROGRAM,
					  .vers = RPC_REMOTE_VERSION,
					  .proc = r.callback_id ? PROC_EVENT_CALLBACK_LIFECYCLE
								: PROC_EVENT_LIFECYCLE,
					  .type = RPC_MESSAGE,
					  .serial = 0,
					  .status = RPC_OK};
		struct xdr_out o;

		if (r.one_dom && memcmp(r.uuid, e->uuid, 16))
			continue;
		xdr_out_init(&o, 512);
		rpc_proto_begin(&o, &h);
		if (r.callback_id)
			xdr_put_i32(&o, r.callback_id);
		xdr_put_string(&o, e->name);
		xdr_put_fixed(&o, e->uuid, 16);
		xdr_put_i32(&o, e->id);
		xdr_put_i32(&o, e->event);
		xdr_put_i32(&o, e->detail);
		rpc_proto_end(&o);
		sending = r.cl;
		pthread_mutex_unlock(&lock);
		libvirt_conn_send(r.cl, &o); /* a client gone: its connection ends by itself */
		pthread_mutex_lock(&lock);
		sending = NULL;
		pthread_cond_broadcast(&sent);
		xdr_out_free(&o);
	}
}

static void *sender(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (head == tail)
			pthread_cond_wait(&wake, &lock);
		struct event e = queue[tail++ % QUEUE_LEN];

		deliver(&e);
	}
	return NULL;
}

void libvirt_events_lifecycle(const char *name, const uint8_t uuid[16], int id, int event,
			      int detail)
{
	struct event *e;

	pthread_mutex_lock(&lock);
	if (!nr_regs) { /* nobody listens */
		pthread_mutex_unlock(&lock);
		return;
	}
	if (head - tail == QUEUE_LEN) {
		if (log_sampled(++dropped))
			log_warn(
				"libvirt events: queue full, an event for %s dropped (%llu so far)",
				name, (unsigned long long)dropped);
		pthread_mutex_unlock(&lock);
		return;
	}
	e = &queue[head++ % QUEUE_LEN];
	snprintf(e->name, sizeof(e->name), "%s", name);
	memcpy(e->uuid, uuid, 16);
	e->id = id;
	e->event = event;
	e->detail = detail;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

void libvirt_events_conn_end(struct libvirt_conn *cl)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nr_regs;)
		if (regs[i].cl == cl)
			regs[i] = regs[--nr_regs];
		else
			i++;
	while (sending == cl)
		pthread_cond_wait(&sent, &lock);
	pthread_mutex_unlock(&lock);
}

/* Why a registration cannot be made (lock held): 0 if it can, else c's error set. */
static int refuse(struct libvirt_call *c, int event_id, bool callback)
{
	int mine = 0;

	if (event_id != EVENT_ID_LC) {
		libvirt_dispatch_fail(c, RPC_ERR_ARGUMENT_UNSUPPORTED,
				      "argument unsupported: lego-controld sends lifecycle events "
				      "only (event ID 0), not event ID %d",
				      event_id);
		return -1;
	}
	for (int i = 0; i < nr_regs; i++) {
		mine += regs[i].cl == c->cl;
		if (!callback && regs[i].cl == c->cl && !regs[i].callback_id) {
			libvirt_dispatch_fail(c, RPC_ERR_INTERNAL,
					      "internal error: domain event %d already registered",
					      event_id);
			return -1;
		}
	}
	if (nr_regs == MAX_REGS || mine == MAX_PER_CONN) {
		libvirt_dispatch_fail(c, RPC_ERR_OPERATION_FAILED,
				      "operation failed: too many event registrations (%d on this "
				      "connection, %d in all)",
				      MAX_PER_CONN, MAX_REGS);
		return -1;
	}
	return 0;
}

/* A registration (lock held): its callback id (0 for the legacy form), or -1 with c's
 * error set. */
static int add(struct libvirt_call *c, int event_id, bool callback, bool one_dom,
	       const uint8_t uuid[16])
{
	pthread_t t;

	if (refuse(c, event_id, callback))
		return -1;
	if (!running) {
		if (pthread_create(&t, NULL, sender, NULL)) {
			libvirt_dispatch_fail(c, RPC_ERR_INTERNAL,
					      "internal error: out of threads");
			return -1;
		}
		pthread_detach(t);
		running = true;
	}
	regs[nr_regs] = (struct reg){
		.cl = c->cl, .callback_id = callback ? next_callback++ : 0, .one_dom = one_dom};
	if (one_dom)
		memcpy(regs[nr_regs].uuid, uuid, 16);
	return regs[nr_regs++].callback_id;
}

/* CONNECT_DOMAIN_EVENT_REGISTER_ANY (int eventID): the legacy form, no answer payload. */
enum libvirt_result libvirt_events_register_legacy(struct libvirt_call *c)
{
	int rc;

	pthread_mutex_lock(&lock);
	rc = add(c, c->a->i1, false, false, NULL);
	pthread_mutex_unlock(&lock);
	return rc < 0 ? LIBVIRT_FAILED : LIBVIRT_REPLY;
}

/* CONNECT_DOMAIN_EVENT_DEREGISTER_ANY (int eventID). */
enum libvirt_result libvirt_events_deregister_legacy(struct libvirt_call *c)
{
	bool found = false;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < nr_regs && !found; i++)
		if (regs[i].cl == c->cl && !regs[i].callback_id && c->a->i1 == EVENT_ID_LC) {
			regs[i] = regs[--nr_regs];
			found = true;
		}
	pthread_mutex_unlock(&lock);
	if (!found)
		return libvirt_dispatch_fail(c, RPC_ERR_INTERNAL,
					     "internal error: domain event %d not registered",
					     c->a->i1);
	return LIBVIRT_REPLY;
}

/* CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY (int eventID; remote_domain dom) -> int
 * callbackID. */
enum libvirt_result libvirt_events_register(struct libvirt_call *c)
{
	int id;

	pthread_mutex_lock(&lock);
	id = add(c, c->a->i1, true, c->a->u1 != 0, c->a->uuid);
	pthread_mutex_unlock(&lock);
	if (id < 0)
		return LIBVIRT_FAILED;
	xdr_put_i32(c->o, id);
	return LIBVIRT_REPLY;
}

/* CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY (int callbackID). */
enum libvirt_result libvirt_events_deregister(struct libvirt_call *c)
{
	bool found = false;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < nr_regs && !found; i++)
		if (regs[i].cl == c->cl && regs[i].callback_id == c->a->i1) {
			regs[i] = regs[--nr_regs];
			found = true;
		}
	pthread_mutex_unlock(&lock);
	if (!found)
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG,
					     "invalid argument: no domain event callback %d",
					     c->a->i1);
	return LIBVIRT_REPLY;
}
