/*
 * helo_dns.h - the HELO module's resolver interface (struct
 * pd_helo_resolver, policy/helo/helo.h) over postaged's stub resolver
 * (policy/base/dns.h).
 */
#ifndef POSTAGE_POLICY_HELO_DNS_H
#define POSTAGE_POLICY_HELO_DNS_H

#include <stdint.h>

#include "policy/base/dns.h"
#include "policy/helo/helo.h"

/* The callbacks' context: the resolver and one deadline for all the
 * lookups of one check (pd_dns_now_ms() based; 0 = none). */
struct pd_helo_dns_ctx {
    struct pd_dns *dns;
    uint64_t deadline_ms;
};

/* Fill *r with callbacks that resolve through ctx (which must outlive
 * every use of *r). */
void pd_helo_dns_resolver(struct pd_helo_dns_ctx *ctx, struct pd_helo_resolver *r);

#endif
