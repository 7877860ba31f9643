/*
 * warn_limit.h - repeated warnings per client, rate-limited: the first
 * `limit` warnings of a client in each `interval` are logged, the rest
 * only counted, and one summary line per client and interval says how
 * many were suppressed.  One blank line sent to the policy port used to
 * log one warning, so a client could have postaged write tens of thousands
 * of lines (issue 16, defect 10); Postfix's smtpd bounds its own the same
 * way.
 *
 * A fixed table of PD_WARN_LIMIT_CLIENTS clients: when it is full, the
 * client whose interval began first gives up its place (its suppressed
 * count is reported first), so memory stays bounded whatever the number
 * of clients.  Not thread-safe: the policy server's loop owns one.
 */
#ifndef POSTAGE_POLICY_WARN_LIMIT_H
#define POSTAGE_POLICY_WARN_LIMIT_H

#include <stdint.h>

#define PD_WARN_LIMIT_CLIENTS 256
#define PD_WARN_LIMIT_KEY_MAX 64

/* Called with a client's suppressed count when its interval is over or
 * its place is taken; `seconds` is how long the count ran. */
typedef void pd_warn_report_fn(const char *client, unsigned long suppressed, int64_t seconds,
                               void *arg);

struct pd_warn_limit;

/* limit: warnings logged per client and interval (0: none); interval in
 * seconds (>= 1).  NULL when out of memory. */
struct pd_warn_limit *pd_warn_limit_new(unsigned limit, int64_t interval,
                                        pd_warn_report_fn *report, void *arg);
void pd_warn_limit_free(struct pd_warn_limit *w);

/* May this warning about `client` (cut to PD_WARN_LIMIT_KEY_MAX - 1
 * bytes) be logged at `now`?  1 yes; 0 no, and it is counted. */
int pd_warn_limit_allow(struct pd_warn_limit *w, const char *client, int64_t now);

/* Report and forget every client whose interval is over at `now`. */
void pd_warn_limit_flush(struct pd_warn_limit *w, int64_t now);

/* Report and forget every client, its interval over or not (at exit). */
void pd_warn_limit_flush_all(struct pd_warn_limit *w, int64_t now);

#endif
