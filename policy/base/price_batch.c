/*
 * price_batch.c - the published prices of many addresses, each domain
 * asked once (price_batch.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/base/price_batch.h"
#include "postage/verify.h"   /* POSTAGE_KIND_SHA1 */

struct by_domain {
    char domain[PD_DNS_NAME_MAX + 1];   /* "" when the address has none */
    size_t index;
};

/* By domain, then by position, so that each group keeps the caller's order. */
static int
cmp_domain(const void *a, const void *b)
{
    const struct by_domain *x = a, *y = b;
    int c = strcmp(x->domain, y->domain);
    if (c != 0)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

struct pd_dns *
pd_price_resolver(const char *servers, double budget_s, char *err, size_t errlen)
{
    struct pd_dns_config cfg;
    pd_dns_config_init(&cfg);
    cfg.servers = servers != NULL && strcmp(servers, "system") != 0 ? servers : NULL;
    double per_attempt = budget_s * 1000 / 2;
    cfg.timeout_ms = per_attempt < 1 ? 1 : per_attempt > 2000 ? 2000 : (unsigned) per_attempt;
    return pd_dns_new(&cfg, err, errlen);
}

int
pd_price_lookup_addresses(struct pd_dns *dns, const char *const *addrs, size_t n,
                          uint64_t deadline_ms, pd_price_domain_fn *fn, void *ctx)
{
    struct by_domain *d = malloc((n ? n : 1) * sizeof *d);
    size_t *index = malloc((n ? n : 1) * sizeof *index);
    if (d == NULL || index == NULL) {
        free(d);
        free(index);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        d[i].index = i;
        if (pd_price_domain_of(addrs[i], d[i].domain, sizeof d[i].domain) != 0)
            d[i].domain[0] = '\0';
    }
    qsort(d, n, sizeof *d, cmp_domain);

    int rc = 0;
    for (size_t g = 0, end; g < n && rc == 0; g = end) {
        for (end = g + 1; end < n && strcmp(d[end].domain, d[g].domain) == 0; end++)
            ;
        for (size_t k = g; k < end; k++)
            index[k - g] = d[k].index;
        const char *domain = d[g].domain;
        struct pd_price_record rec;
        char err[512];
        enum pd_price_found found;
        if (domain[0] == '\0') {
            snprintf(err, sizeof err, "not an address with a domain to look up");
            found = PD_PRICE_NONE;
        } else {
            found = pd_price_lookup(dns, domain, deadline_ms, &rec, err, sizeof err);
            if (found == PD_PRICE_FOUND && !(rec.kinds & POSTAGE_KIND_SHA1)) {
                snprintf(err, sizeof err, "_postage.%s takes no SHA-1 stamps", domain);
                found = PD_PRICE_INVALID;
            }
        }
        rc = fn(ctx, domain, found, found == PD_PRICE_FOUND ? &rec : NULL, err, index, end - g);
    }
    free(d);
    free(index);
    return rc;
}
