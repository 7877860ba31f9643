/*
 * sendmail_price.c - the bits for each recipient, from the price its
 * domain publishes in DNS or from the bits rules (sendmail_price.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "policy/base/price_batch.h"
#include "sendmail/sendmail_price.h"

static void
rules_for_all(const struct smc_conf *c, const char *const *addrs, size_t n, unsigned *bits)
{
    for (size_t i = 0; i < n; i++)
        bits[i] = smc_bits_for(c, addrs[i]);
}

struct walk {
    const struct smc_conf *c;
    unsigned *bits;
    smp_say_fn *say;
    size_t failed;
    char first_failure[512];
};

static int
on_domain(void *ctx, const char *domain, enum pd_price_found found,
          const struct pd_price_record *rec, const char *err, const size_t *index, size_t count)
{
    struct walk *w = ctx;
    if (domain[0] == '\0')
        return 0;                      /* a local name, a literal: the rules */
    unsigned fallback = w->bits[index[0]];
    switch (found) {
    case PD_PRICE_DNS_ERROR:
        if (w->failed++ == 0)
            snprintf(w->first_failure, sizeof w->first_failure, "%s", err);
        return 0;
    case PD_PRICE_NONE:
        w->say(LOG_INFO, "%s: %s; %u bits from the bits rules", domain, err, fallback);
        return 0;
    case PD_PRICE_INVALID:
        w->say(LOG_WARNING, "%s: invalid record (%s); %u bits from the bits rules", domain, err,
               fallback);
        return 0;
    case PD_PRICE_FOUND:
        break;
    }
    unsigned pay = rec->bits;
    if (pay > w->c->max_bits) {
        w->say(LOG_WARNING, "%s: _postage.%s asks %u bits, more than max_bits = %u: paying %u",
               domain, domain, rec->bits, w->c->max_bits, w->c->max_bits);
        pay = w->c->max_bits;
    } else {
        w->say(LOG_INFO, "%s: %u bits, published at _postage.%s", domain, pay, domain);
    }
    for (size_t k = 0; k < count; k++)
        w->bits[index[k]] = pay;
    return 0;
}

void
smp_price_recipients(const struct smc_conf *c, const char *const *addrs, size_t n,
                     unsigned *bits, smp_say_fn *say)
{
    rules_for_all(c, addrs, n, bits);
    if (n == 0 || strcmp(c->dns_server, "none") == 0)
        return;

    char err[512];
    struct pd_dns *dns = pd_price_resolver(c->dns_server, c->dns_timeout, err, sizeof err);
    if (dns == NULL) {
        say(LOG_WARNING, "dns_server: %s; stamping at the bits rules", err);
        return;
    }
    struct walk w = { .c = c, .bits = bits, .say = say };
    uint64_t deadline = pd_dns_now_ms() + (uint64_t) (c->dns_timeout * 1000 + 0.5);
    if (pd_price_lookup_addresses(dns, addrs, n, deadline, on_domain, &w) != 0)
        say(LOG_WARNING, "out of memory looking up prices; stamping at the bits rules");
    if (w.failed > 0)
        say(LOG_WARNING, "no price from DNS for %zu domain%s (%s%s); stamping at the bits rules",
            w.failed, w.failed == 1 ? "" : "s", w.first_failure, w.failed > 1 ? ", ..." : "");
    pd_dns_free(dns);
}
