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

#include "policy/base/price_record.h"
#include "postage/verify.h"   /* POSTAGE_KIND_SHA1 */
#include "sendmail/sendmail_price.h"

/* One recipient, by domain: sorting these groups a message's recipients
 * so that each domain is asked (and reported) once. */
struct by_domain {
    char domain[PD_DNS_NAME_MAX + 1];   /* "" when the address has none */
    size_t index;
};

static int
cmp_domain(const void *a, const void *b)
{
    const struct by_domain *x = a, *y = b;
    int c = strcmp(x->domain, y->domain);
    if (c != 0)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void
rules_for_all(const struct smc_conf *c, const char *const *addrs, size_t n, unsigned *bits)
{
    for (size_t i = 0; i < n; i++)
        bits[i] = smc_bits_for(c, addrs[i]);
}

/* The resolver for c's settings, or NULL with the reason in err. */
static struct pd_dns *
resolver(const struct smc_conf *c, char *err, size_t errlen)
{
    struct pd_dns_config cfg;
    pd_dns_config_init(&cfg);
    cfg.servers = strcmp(c->dns_server, "system") == 0 ? NULL : c->dns_server;
    /* One attempt at one server gets at most half the budget (2 s at
     * most), so that a dead first server leaves time for the next; the
     * deadline bounds the whole anyway. */
    double per_attempt = c->dns_timeout * 1000 / 2;
    if (per_attempt > 2000)
        per_attempt = 2000;
    cfg.timeout_ms = per_attempt < 1 ? 1 : (unsigned) per_attempt;
    return pd_dns_new(&cfg, err, errlen);
}

void
smp_price_recipients(const struct smc_conf *c, const char *const *addrs, size_t n,
                     unsigned *bits, smp_say_fn *say)
{
    rules_for_all(c, addrs, n, bits);
    if (n == 0 || strcmp(c->dns_server, "none") == 0)
        return;

    char err[512];
    struct pd_dns *dns = resolver(c, err, sizeof err);
    if (dns == NULL) {
        say(LOG_WARNING, "dns_server: %s; stamping at the bits rules", err);
        return;
    }
    struct by_domain *d = malloc(n * sizeof *d);
    if (d == NULL) {
        say(LOG_WARNING, "out of memory looking up prices; stamping at the bits rules");
        pd_dns_free(dns);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        d[i].index = i;
        if (pd_price_domain_of(addrs[i], d[i].domain, sizeof d[i].domain) != 0)
            d[i].domain[0] = '\0';   /* a local name, a literal: the rules */
    }
    qsort(d, n, sizeof *d, cmp_domain);

    uint64_t deadline = pd_dns_now_ms() + (uint64_t) (c->dns_timeout * 1000 + 0.5);
    size_t failed = 0;
    char first_failure[512] = "";
    for (size_t g = 0, end; g < n; g = end) {
        for (end = g + 1; end < n && strcmp(d[end].domain, d[g].domain) == 0; end++)
            ;
        const char *domain = d[g].domain;
        if (domain[0] == '\0')
            continue;
        struct pd_price_record rec;
        enum pd_price_found found = pd_price_lookup(dns, domain, deadline, &rec, err, sizeof err);
        unsigned fallback = bits[d[g].index];
        if (found == PD_PRICE_DNS_ERROR) {
            if (failed++ == 0)
                snprintf(first_failure, sizeof first_failure, "%s", err);
            continue;
        }
        if (found == PD_PRICE_NONE) {
            say(LOG_INFO, "%s: %s; %u bits from the bits rules", domain, err, fallback);
            continue;
        }
        if (found == PD_PRICE_INVALID) {
            say(LOG_WARNING, "%s: invalid record (%s); %u bits from the bits rules", domain, err,
                fallback);
            continue;
        }
        if (!(rec.kinds & POSTAGE_KIND_SHA1)) {
            say(LOG_WARNING, "%s: _postage.%s takes no SHA-1 stamps; %u bits from the bits rules",
                domain, domain, fallback);
            continue;
        }
        unsigned pay = rec.bits;
        if (pay > c->max_bits) {
            say(LOG_WARNING, "%s: _postage.%s asks %u bits, more than max_bits = %u: paying %u",
                domain, domain, rec.bits, c->max_bits, c->max_bits);
            pay = c->max_bits;
        } else {
            say(LOG_INFO, "%s: %u bits, published at _postage.%s", domain, pay, domain);
        }
        for (size_t k = g; k < end; k++)
            bits[d[k].index] = pay;
    }
    if (failed > 0)
        say(LOG_WARNING, "no price from DNS for %zu domain%s (%s%s); stamping at the bits rules",
            failed, failed == 1 ? "" : "s", first_failure, failed > 1 ? ", ..." : "");
    free(d);
    pd_dns_free(dns);
}
