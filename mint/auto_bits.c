/*
 * auto_bits.c - the published price of each resource's domain, for
 * postage-mint -b auto (auto_bits.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mint/auto_bits.h"
#include "policy/base/price_batch.h"
#include "util/cli.h"

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

struct walk {
    const struct auto_bits_options *o;
    char *const *resources;
    unsigned *bits;
};

static int
on_domain(void *ctx, const char *domain, enum pd_price_found found,
          const struct pd_price_record *rec, const char *err, const size_t *index, size_t count)
{
    struct walk *w = ctx;
    unsigned b = 0;
    if (domain[0] == '\0') {
        /* each such resource is named: they have no domain in common */
        for (size_t k = 0; k < count; k++) {
            char what[300];
            snprintf(what, sizeof what, "'%.250s'", w->resources[index[k]]);
            if (no_price(w->o, what, err, &b) != 0)
                return 1;          /* said; stop */
            w->bits[index[k]] = b;
        }
        return 0;
    }
    if (found == PD_PRICE_FOUND) {
        b = rec->bits;
        fprintf(stderr, "%s: %u bits, published at _postage.%s\n", cli_program(), b, domain);
    } else if (no_price(w->o, domain, err, &b) != 0) {
        return 1;
    }
    for (size_t k = 0; k < count; k++)
        w->bits[index[k]] = b;
    return 0;
}

int
auto_bits(const struct auto_bits_options *o, char *const *resources, size_t n, unsigned *bits)
{
    char err[512];
    struct pd_dns *dns = pd_price_resolver(o->dns_server, o->timeout, err, sizeof err);
    if (dns == NULL) {
        cli_error("--dns-server: %s", err);
        return -1;
    }
    struct walk w = { .o = o, .resources = resources, .bits = bits };
    uint64_t deadline = pd_dns_now_ms() + (uint64_t) (o->timeout * 1000 + 0.5);
    int rc = pd_price_lookup_addresses(dns, (const char *const *) resources, n, deadline,
                                       on_domain, &w);
    if (rc == -1)
        cli_error("out of memory");
    pd_dns_free(dns);
    return rc == 0 ? 0 : -1;
}
