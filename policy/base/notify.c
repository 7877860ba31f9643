/*
 * notify.c - sd_notify(3) for postaged's Type=notify unit (notify.h).
 * Failures are not reported: systemd not listening must never stop mail.
 */
#include "config.h"

#include "policy/base/notify.h"

#ifdef HAVE_SYSTEMD
#include <stdio.h>
#include <time.h>
#include <systemd/sd-daemon.h>

/* unset_environment = 0: a reload or stop later still finds the socket. */
static void
send_state(const char *state, const char *status)
{
    if (status != NULL)
        sd_notifyf(0, "%s\nSTATUS=%s", state, status);
    else
        sd_notify(0, state);
}

void
pd_notify_ready(const char *status)
{
    send_state("READY=1", status);
}

void
pd_notify_reloading(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
        return;
    }
    unsigned long long usec = (unsigned long long) ts.tv_sec * 1000000ULL +
                              (unsigned long long) ts.tv_nsec / 1000ULL;
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration", usec);
}

void
pd_notify_stopping(const char *status)
{
    send_state("STOPPING=1", status);
}

#else  /* !HAVE_SYSTEMD */

void
pd_notify_ready(const char *status)
{
    (void) status;
}

void
pd_notify_reloading(void)
{
}

void
pd_notify_stopping(const char *status)
{
    (void) status;
}

#endif
