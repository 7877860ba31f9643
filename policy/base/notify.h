/*
 * notify.h - telling systemd how postaged is doing (sd_notify(3)), for a
 * Type=notify unit: ready once its sockets are bound and its store is
 * open, reloading while SIGHUP is read, stopping.  Built on libsystemd
 * when configure found it (--with-systemd); without it every call is a
 * no-op, and so it is when postaged was not started by systemd (no
 * $NOTIFY_SOCKET): the calls are always safe to make.
 */
#ifndef POSTAGE_POLICY_BASE_NOTIFY_H
#define POSTAGE_POLICY_BASE_NOTIFY_H

/* READY=1 with STATUS=@status (NULL: no status). */
void pd_notify_ready(const char *status);

/* RELOADING=1 with MONOTONIC_USEC= now on CLOCK_MONOTONIC, as
 * Type=notify-reload asks (systemd 253) and older systemd ignores; follow
 * with pd_notify_ready when the reload is done, whether or not it took. */
void pd_notify_reloading(void);

/* STOPPING=1 with STATUS=@status (NULL: no status). */
void pd_notify_stopping(const char *status);

#endif
