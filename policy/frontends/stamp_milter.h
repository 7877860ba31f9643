/*
 * stamp_milter.h - postaged's third front-end, the stamping milter (the
 * sending side): the sending MTA's non_smtpd_milters and its submission
 * service's smtpd_milters hand it the mail its users send, and it adds
 * one X-Hashcash stamp per paid recipient, at the price each recipient
 * domain publishes in DNS (_postage.<domain>), as OpenDKIM signs.
 * Off unless stamp_listen is set.
 */
#ifndef POSTAGE_POLICY_STAMP_MILTER_H
#define POSTAGE_POLICY_STAMP_MILTER_H

#include <stddef.h>

#include "policy/engine/settings.h"

/* Check the stamp_* settings of @s without opening anything (postaged
 * -n).  0, or -1 with the reason in @err. */
int pd_stamp_check(const struct pd_settings *s, char *err, size_t errlen);

/* Open stamp_listen's socket (before privileges are dropped) and make
 * the configuration from @s.  0, or -1 with the reason in @err. */
int pd_stamp_open(const struct pd_settings *s, char *err, size_t errlen);

/* Count decisions and minting times in postaged's metrics registry
 * (NULL: none); before pd_stamp_run. */
struct pd_metrics;
void pd_stamp_set_metrics(struct pd_metrics *metrics);

/* The counters of the resolver in force (metrics); *out is left as it is
 * while the stamping milter is off. */
struct pd_dns_stats;
void pd_stamp_dns_stats(struct pd_dns_stats *out);

/* Serve until pd_stamp_stop(), in the caller's thread; returns once every
 * MTA connection has ended: 0, or -1. */
int pd_stamp_run(void);

/* Take the stamp_* settings of @s for the messages that end from now on
 * (SIGHUP).  0, or -1 with the reason in @err (the running configuration
 * stays). */
int pd_stamp_reload(const struct pd_settings *s, char *err, size_t errlen);

/* Ask pd_stamp_run to return (any thread). */
void pd_stamp_stop(void);

/* Close the socket and free the configuration, after pd_stamp_run. */
void pd_stamp_close(void);

#endif
