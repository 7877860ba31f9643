/*
 * helo_dns.c - struct pd_helo_resolver over pd_dns_lookup.
 *
 * A name that is not a valid domain name (BADNAME) cannot exist: it
 * counts as NXDOMAIN.  Every other failure is temporary (the module never
 * fails a test over one).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy/helo/helo_dns.h"

static enum pd_helo_rcode
rcode_of(enum pd_dns_rcode rc)
{
    switch (rc) {
    case PD_DNS_NOERROR: return PD_HELO_RC_NOERROR;
    case PD_DNS_NXDOMAIN: return PD_HELO_RC_NXDOMAIN;
    case PD_DNS_BADNAME: return PD_HELO_RC_NXDOMAIN;
    case PD_DNS_SERVFAIL: return PD_HELO_RC_SERVFAIL;
    case PD_DNS_TIMEOUT: return PD_HELO_RC_TIMEOUT;
    case PD_DNS_ERROR: return PD_HELO_RC_ERROR;
    }
    return PD_HELO_RC_ERROR;
}

static void
lookup_addr(void *vctx, const char *name, enum pd_addr_family family,
            struct pd_helo_addrs *out)
{
    struct pd_helo_dns_ctx *ctx = vctx;
    struct pd_dns_answer *ans = NULL;
    enum pd_dns_type type = family == PD_ADDR_V6 ? PD_DNS_AAAA : PD_DNS_A;
    size_t len = family == PD_ADDR_V6 ? 16 : 4;

    memset(out, 0, sizeof *out);
    enum pd_dns_rcode rc = pd_dns_lookup(ctx->dns, name, type, ctx->deadline_ms, &ans);
    out->rcode = ans == NULL ? PD_HELO_RC_ERROR : rcode_of(rc);
    if (ans == NULL)
        return;
    for (size_t i = 0; i < ans->count && out->count < PD_HELO_DNS_ADDRS; i++) {
        if (ans->rr[i].type != type)
            continue;
        struct pd_addr *a = &out->addr[out->count++];
        memset(a, 0, sizeof *a);
        a->family = family == PD_ADDR_V6 ? PD_ADDR_V6 : PD_ADDR_V4;
        memcpy(a->bytes, ans->rr[i].addr, len);
    }
    pd_dns_answer_free(ans);
}

static void
lookup_ptr(void *vctx, const struct pd_addr *addr, struct pd_helo_ptr *out)
{
    struct pd_helo_dns_ctx *ctx = vctx;
    struct pd_dns_answer *ans = NULL;
    char name[80];
    size_t n = 0;

    memset(out, 0, sizeof *out);
    if (addr->family == PD_ADDR_V4) {
        snprintf(name, sizeof name, "%u.%u.%u.%u.in-addr.arpa", addr->bytes[3], addr->bytes[2],
                 addr->bytes[1], addr->bytes[0]);
    } else if (addr->family == PD_ADDR_V6) {
        static const char hex[] = "0123456789abcdef";
        for (int i = 15; i >= 0; i--) {
            name[n++] = hex[addr->bytes[i] & 15];
            name[n++] = '.';
            name[n++] = hex[addr->bytes[i] >> 4];
            name[n++] = '.';
        }
        memcpy(name + n, "ip6.arpa", sizeof "ip6.arpa");
    } else {
        out->rcode = PD_HELO_RC_ERROR;
        return;
    }
    enum pd_dns_rcode rc = pd_dns_lookup(ctx->dns, name, PD_DNS_PTR, ctx->deadline_ms, &ans);
    out->rcode = ans == NULL ? PD_HELO_RC_ERROR : rcode_of(rc);
    if (ans == NULL)
        return;
    for (size_t i = 0; i < ans->count && out->count < PD_HELO_DNS_PTRS; i++) {
        if (ans->rr[i].type != PD_DNS_PTR || ans->rr[i].text == NULL ||
            ans->rr[i].text_len >= sizeof out->name[0])
            continue;
        memcpy(out->name[out->count], ans->rr[i].text, ans->rr[i].text_len);
        out->name[out->count][ans->rr[i].text_len] = '\0';
        out->count++;
    }
    pd_dns_answer_free(ans);
}

void
pd_helo_dns_resolver(struct pd_helo_dns_ctx *ctx, struct pd_helo_resolver *r)
{
    r->ctx = ctx;
    r->lookup_addr = lookup_addr;
    r->lookup_ptr = lookup_ptr;
}
