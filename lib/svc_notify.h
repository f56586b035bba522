/* svc_notify.h: the service manager's readiness protocol (sd_notify(3), written by hand: no
 * libsystemd): a daemon started by systemd as Type=notify says when it serves and when it
 * stops. Nothing happens outside systemd (no NOTIFY_SOCKET). */
#ifndef LEGO_SVC_NOTIFY_H
#define LEGO_SVC_NOTIFY_H

#include <stdbool.h>

/* Take NOTIFY_SOCKET from the environment (and remove it, so that children such as
 * lego-vmm do not speak for us). Call once, early, before any thread starts. */
void svc_notify_init(void);
/* Send "READY=1" and a STATUS= line (status may be NULL). */
void svc_notify_ready(const char *status);
/* Send "STOPPING=1". */
void svc_notify_stopping(void);
/* Send "RELOADING=1" (before a reload; svc_notify_ready after it). */
void svc_notify_reloading(void);
/* Send a state text as it is ("STATUS=..."): false if it could not be sent (or no
 * service manager listens). */
bool svc_notify_send(const char *state);

#endif
