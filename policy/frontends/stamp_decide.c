/*
 * stamp_decide.c - which mail the stamping milter stamps, what a domain
 * is paid, and which recipients are paid already (stamp_decide.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy/base/price_record.h"
#include "policy/frontends/stamp_decide.h"
#include "postage/stamp.h"
#include "postage/status.h"
#include "postage/verify.h"

enum pd_stamp_who
pd_stamp_who(const struct pd_stamp_config *cfg, const char *auth, const char *hostname,
             const char *address, unsigned port)
{
    if (auth != NULL && auth[0] != '\0')
        return PD_STAMP_WHO_AUTHENTICATED;
    /* Postfix's cleanup, for mail that did not come through smtpd
     * (pickup: sendmail(1), postdrop), pretends a client "localhost"
     * [127.0.0.1] on port 0 (cleanup_milter.c); no TCP client has port 0,
     * so that cannot be an SMTP client on the loopback. */
    if (port == 0 && strcmp(address, "127.0.0.1") == 0 && strcmp(hostname, "localhost") == 0)
        return PD_STAMP_WHO_LOCAL;
    struct pd_addr a;
    if (address[0] != '\0' && pd_addr_parse(address, strlen(address), &a) == PD_NETADDR_OK)
        for (size_t i = 0; i < cfg->n_clients; i++)
            if (pd_cidr_match(&cfg->clients[i], &a))
                return PD_STAMP_WHO_CLIENT;
    return PD_STAMP_WHO_OUTSIDE;
}

void
pd_stamp_who_text(enum pd_stamp_who who, const char *auth, const char *address, char *out,
                  size_t size)
{
    switch (who) {
    case PD_STAMP_WHO_AUTHENTICATED:
        snprintf(out, size, "authenticated as %.200s", auth);
        return;
    case PD_STAMP_WHO_LOCAL:
        snprintf(out, size, "submitted locally");
        return;
    case PD_STAMP_WHO_CLIENT:
        snprintf(out, size, "client %s is in stamp_clients", address);
        return;
    case PD_STAMP_WHO_OUTSIDE:
        break;
    }
    snprintf(out, size, "client %s is neither authenticated nor in stamp_clients",
             address[0] ? address : "(not IP)");
}

enum pd_stamp_price
pd_stamp_price_of(const struct pd_stamp_config *cfg, const char *domain, uint64_t deadline_ms,
                  unsigned *bits, char *why, size_t whylen)
{
    struct pd_price_record rec;
    char err[256] = "";
    enum pd_price_found f = pd_price_lookup(cfg->dns, domain, deadline_ms, &rec, err,
                                            sizeof err);
    switch (f) {
    case PD_PRICE_FOUND:
        if (!(rec.kinds & POSTAGE_KIND_SHA1)) {
            snprintf(why, whylen, "%s takes only Argon2id stamps", domain);
            return PD_STAMP_SKIP;
        }
        if (rec.bits > cfg->max_bits) {
            snprintf(why, whylen, "%s asks %u bits, over stamp_max_bits %u", domain, rec.bits,
                     cfg->max_bits);
            return PD_STAMP_SKIP;
        }
        *bits = rec.bits;
        snprintf(why, whylen, "%s b=%u published", domain, rec.bits);
        return PD_STAMP_PAY;
    case PD_PRICE_NONE:
    case PD_PRICE_INVALID:
        /* An invalid record is "publishes nothing" (docs/price-discovery.md);
         * the log says why. */
        if (cfg->default_bits != PD_STAMP_BITS_NONE && cfg->default_bits <= cfg->max_bits) {
            *bits = cfg->default_bits;
            snprintf(why, whylen, "%s %s, stamp_default_bits %u", domain,
                     f == PD_PRICE_NONE ? "publishes nothing" : "has an invalid record",
                     cfg->default_bits);
            return PD_STAMP_PAY;
        }
        if (f == PD_PRICE_NONE)
            snprintf(why, whylen, "%s publishes nothing", domain);
        else
            snprintf(why, whylen, "%s has an invalid record (%.150s)", domain, err);
        return PD_STAMP_SKIP;
    case PD_PRICE_DNS_ERROR:
        break;
    }
    snprintf(why, whylen, "%s: %.150s", domain, err[0] ? err : "DNS look-up failed");
    return PD_STAMP_FAULT;
}

long
pd_stamp_find_valid(const struct pd_stamp_config *cfg, const char *rcpt, char *const *stamps,
                    size_t n, int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        struct postage_stamp st;
        size_t len = strlen(stamps[i]);
        if (postage_stamp_parse(stamps[i], len, &st) != POSTAGE_OK || st.version != 1 ||
            st.resource_len != strlen(rcpt) ||
            strncasecmp(st.resource, rcpt, st.resource_len) != 0)
            continue;
        struct postage_check_options o;
        postage_check_options_init(&o, now);
        o.required_bits = st.claimed;   /* the bits it claims, whatever they are */
        o.validity = cfg->validity;
        o.grace = cfg->grace;
        const char *res[1] = { rcpt };
        o.resources = res;
        o.resource_count = 1;
        if (postage_check(stamps[i], len, &o, NULL) == POSTAGE_OK)
            return (long) i;
    }
    return -1;
}
