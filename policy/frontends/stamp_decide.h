/*
 * stamp_decide.h - the stamping milter's decisions, apart from the
 * protocol: which mail it stamps (as OpenDKIM decides what to sign), what
 * one recipient domain is paid, and whether a recipient already holds a
 * good stamp in the message.
 */
#ifndef POSTAGE_POLICY_STAMP_DECIDE_H
#define POSTAGE_POLICY_STAMP_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "policy/frontends/stamp_config.h"

enum pd_stamp_who {
    PD_STAMP_WHO_AUTHENTICATED = 0, /* {auth_authen} is not empty            */
    PD_STAMP_WHO_LOCAL,             /* Postfix non_smtpd_milters: pickup,
                                       sendmail(1), "localhost" 127.0.0.1
                                       port 0                                */
    PD_STAMP_WHO_CLIENT,            /* the address is in stamp_clients       */
    PD_STAMP_WHO_OUTSIDE,           /* none of these: not stamped            */
};

/* Which mail this is.  @auth: the {auth_authen} macro (NULL: none);
 * @hostname, @address, @port: the client as the MTA gave it at connect
 * (address "" when not IPv4 or IPv6). */
enum pd_stamp_who pd_stamp_who(const struct pd_stamp_config *cfg, const char *auth,
                               const char *hostname, const char *address, unsigned port);

/* A few words for the log line: "authenticated as alice", ... written
 * into @out. */
void pd_stamp_who_text(enum pd_stamp_who who, const char *auth, const char *address,
                       char *out, size_t size);

enum pd_stamp_price {
    PD_STAMP_PAY = 0,     /* mint *bits                                       */
    PD_STAMP_SKIP,        /* publishes nothing and no default, or asks more than
                             stamp_max_bits: no stamp, nothing wrong           */
    PD_STAMP_FAULT,       /* DNS failed or timed out: stamp_on_error applies   */
};

/* What @domain is paid: looks _postage.@domain up through cfg->dns before
 * @deadline_ms (pd_dns_now_ms based).  @why gets the words for the log
 * line ("example.org b=20 published", "other.net publishes nothing",
 * "big.example asks 30 bits, over stamp_max_bits 26", "x.example: DNS
 * timeout"). */
enum pd_stamp_price pd_stamp_price_of(const struct pd_stamp_config *cfg, const char *domain,
                                      uint64_t deadline_ms, unsigned *bits, char *why,
                                      size_t whylen);

/* Does one of the @n stamps (as carried, unfolded) pay for @rcpt: its
 * resource is @rcpt (case ignored, as postaged's engine matches), its
 * SHA-1 hash has the bits it claims, and its date is within cfg's
 * validity and grace at @now?  Returns its index, or -1.  Whatever its
 * bits: a stamp someone paid is never paid again (and a copy that this
 * milter injected passes as it comes back). */
long pd_stamp_find_valid(const struct pd_stamp_config *cfg, const char *rcpt,
                         char *const *stamps, size_t n, int64_t now);

#endif
