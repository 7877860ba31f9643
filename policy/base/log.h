/*
 * log.h - postaged's diagnostics: one line per event, to syslog or stderr.
 *
 * Thread-safe (syslog and stdio are).  pd_log_fatal is for the daemon's
 * start-up only: it exits.  Nothing under lib/, simd/, mint/ or verify/
 * logs; only the daemon does.
 */
#ifndef POSTAGE_POLICY_LOG_H
#define POSTAGE_POLICY_LOG_H

enum pd_log_level { PD_LOG_ERROR = 0, PD_LOG_WARNING, PD_LOG_INFO, PD_LOG_DEBUG };

/* Where to log: use_syslog 1 for syslog (facility mail), 0 for stderr.
 * verbosity: PD_LOG_INFO normally, PD_LOG_DEBUG with -v. */
void pd_log_open(const char *ident, int use_syslog, enum pd_log_level verbosity);
void pd_log(enum pd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pd_log_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
