/*
 * auto_bits.c - the published price of each resource's domain, for
 * postage-mint -b auto (auto_bits.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/auto_bits.h"
#include "policy/base/price_record.h"
#include "postage/verify.h"   /* POSTAGE_KIND_SHA1 */
#include "util/cli.h"

/* One resource, by domain: sorted, so that each domain is asked and
 * reported once however many resources share it. */
struct by_domain {
    char domain[PD_DNS_NAME_MAX + 1];   /* "" when the resource has none */
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

/* No usable price for @what: the fallback, said on stderr, or an error. */
static int
no_price(const struct auto_bits_options *o, const char *what, const char *why,
         unsigned *bits)
{
    if (!o->has_fallback) {
        cli_error("-b auto: no price for %s: %s; give the bits with -b, or "
                  "--fallback-bits", what, why);
        return -1;
    }
    fprintf(stderr, "%s: %u bits for %s (--fallback-bits): %s\n", cli_program(),
            o->fallback_bits, what, why);
    *bits = o->fallback_bits;
    return 0;
}

int
auto_bits(const struct auto_bits_options *o, char *const *resources, size_t n, unsigned *bits)
{
    char err[512];
    struct pd_dns_config cfg;
    pd_dns_config_init(&cfg);
    cfg.servers = o->dns_server != NULL && strcmp(o->dns_server, "system") != 0
                      ? o->dns_server : NULL;
    /* half the budget per attempt, so that a second server has its turn */
    double per_attempt = o->timeout * 1000 / 2;
    cfg.timeout_ms = per_attempt < 1 ? 1 : per_attempt > 2000 ? 2000 : (unsigned) per_attempt;
    struct pd_dns *dns = pd_dns_new(&cfg, err, sizeof err);
    if (dns == NULL) {
        cli_error("--dns-server: %s", err);
        return -1;
    }
    struct by_domain *d = malloc((n ? n : 1) * sizeof *d);
    if (d == NULL) {
        cli_error("out of memory");
        pd_dns_free(dns);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        d[i].index = i;
        if (pd_price_domain_of(resources[i], d[i].domain, sizeof d[i].domain) != 0)
            d[i].domain[0] = '\0';
    }
    qsort(d, n, sizeof *d, cmp_domain);

    uint64_t deadline = pd_dns_now_ms() + (uint64_t) (o->timeout * 1000 + 0.5);
    int rc = 0;
    for (size_t g = 0, end; g < n && rc == 0; g = end) {
        for (end = g + 1; end < n && strcmp(d[end].domain, d[g].domain) == 0; end++)
            ;
        const char *domain = d[g].domain;
        unsigned b = 0;
        if (domain[0] == '\0') {
            /* each such resource is named: they have no domain in common */
            for (size_t k = g; k < end && rc == 0; k++) {
                char what[300];
                snprintf(what, sizeof what, "'%.250s'", resources[d[k].index]);
                rc = no_price(o, what, "not an address with a domain to look up", &b);
                bits[d[k].index] = b;
            }
            continue;
        }
        struct pd_price_record rec;
        enum pd_price_found found = pd_price_lookup(dns, domain, deadline, &rec, err, sizeof err);
        if (found == PD_PRICE_FOUND && !(rec.kinds & POSTAGE_KIND_SHA1)) {
            snprintf(err, sizeof err, "_postage.%s takes no SHA-1 stamps", domain);
            found = PD_PRICE_INVALID;
        }
        if (found == PD_PRICE_FOUND) {
            b = rec.bits;
            fprintf(stderr, "%s: %u bits, published at _postage.%s\n", cli_program(), b, domain);
        } else {
            rc = no_price(o, domain, err, &b);
        }
        for (size_t k = g; k < end; k++)
            bits[d[k].index] = b;
    }
    free(d);
    pd_dns_free(dns);
    return rc;
}
