/*
 * log.c - postaged's log lines, to syslog (facility mail, as Postfix's
 * own) or to stderr with a timestamp.  Every line is escaped here, at the
 * sink (escape.h): the addresses, names and attributes in it come from
 * outside, and a CR or LF among them must not start a forged line.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

#include "policy/base/escape.h"
#include "policy/base/log.h"

/* Set once at start-up (and again on SIGHUP before threads read it):
 * the daemon's own state, not the library's. */
static int log_syslog;
static enum pd_log_level log_verbosity = PD_LOG_INFO;
static const char *log_ident = "postaged";

void
pd_log_open(const char *ident, int use_syslog, enum pd_log_level verbosity)
{
    log_ident = ident;
    log_syslog = use_syslog;
    log_verbosity = verbosity;
    if (use_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static void
vlog(enum pd_log_level level, const char *fmt, va_list ap)
{
    static const int priority[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
    static const char *const word[] = { "error", "warning", "info", "debug" };

    if (level > log_verbosity)
        return;
    char raw[4096], line[4096], when[32];
    vsnprintf(raw, sizeof raw, fmt, ap);
    pd_escape_str(line, sizeof line, raw);
    if (log_syslog) {
        syslog(priority[level], "%s", line);
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* One fprintf per line so concurrent threads do not interleave. */
    fprintf(stderr, "%s %s: %s: %s\n", when, log_ident, word[level], line);
}

void
pd_log(enum pd_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void
pd_log_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(PD_LOG_ERROR, fmt, ap);
    va_end(ap);
    if (!log_syslog)
        fflush(stderr);
    exit(1);
}
