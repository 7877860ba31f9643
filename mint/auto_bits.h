/*
 * auto_bits.h - postage-mint -b auto: each resource's bits are the price
 * its domain publishes at _postage.<domain> (policy/base/price_record.h,
 * docs/price-discovery.md), looked up through postaged's resolver.
 */
#ifndef POSTAGE_MINT_AUTO_BITS_H
#define POSTAGE_MINT_AUTO_BITS_H

#include <stddef.h>

struct auto_bits_options {
    const char *dns_server;   /* NULL or "system": resolv.conf; else a
                               * HOST:PORT list (pd_dns_config.servers) */
    double timeout;           /* seconds for all the look-ups           */
    int has_fallback;         /* --fallback-bits given                  */
    unsigned fallback_bits;   /* for a domain that publishes no usable
                               * price, or DNS failing                  */
};

/*
 * Fill bits[i] for each of the @n resources (e-mail addresses).  Each
 * distinct domain is looked up once, and stderr says where its figure came
 * from ("postage-mint: 20 bits, published at _postage.example.org", or the
 * fallback and why).  Without a fallback, a resource with no domain, a
 * domain with no record, an invalid record, one that takes no SHA-1
 * stamps, or a DNS failure is an error: returns -1 after saying which
 * domain and why (cli_error).  Returns 0 when every resource has its bits.
 */
int auto_bits(const struct auto_bits_options *o, char *const *resources, size_t n,
              unsigned *bits);

#endif
