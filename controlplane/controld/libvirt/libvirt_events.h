/* libvirt_events.h: domain lifecycle events for libvirt clients (`virsh event --all
 * --loop`, python's domainEventRegisterAny): registrations per connection, and the events
 * lego-controld's parts report, sent by a thread of their own so that no reporter waits
 * for a client. */
#ifndef LEGO_LIBVIRT_EVENTS_H
#define LEGO_LIBVIRT_EVENTS_H

#include <stdint.h>

struct libvirt_conn;

/* virDomainEventType and the details lego reports. */
enum libvirt_events_type {
	LIBVIRT_EVENT_DEFINED = 0,
	LIBVIRT_EVENT_UNDEFINED = 1,
	LIBVIRT_EVENT_STARTED = 2,
	LIBVIRT_EVENT_SUSPENDED = 3,
	LIBVIRT_EVENT_RESUMED = 4,
	LIBVIRT_EVENT_STOPPED = 5,
};

/* A vNode's lifecycle changed (name, uuid, its id: -1 once stopped): queued for every
 * client that registered for it. Any thread, any lock held. */
void libvirt_events_lifecycle(const char *name, const uint8_t uuid[16], int id, int event,
			      int detail);
/* The STOPPED detail for a libvirt shut-off reason (controld_registry.h's VN_SHUTOFF_*). */
int libvirt_events_stopped_detail(int shutoff_reason);
/* A connection ends: its registrations go (waits while an event is being sent to it). */
void libvirt_events_conn_end(struct libvirt_conn *cl);

#endif
