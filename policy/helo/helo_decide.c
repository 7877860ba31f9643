/*
 * helo_decide.c - the HELO module's DNS decisions (policy/helo/helo.h):
 * does the name resolve, does it resolve to the client, has the client
 * forward-confirmed reverse DNS, from answers the caller supplies; which
 * lookups a check needs; and collecting them through a struct
 * pd_helo_resolver (helo_dns.c has the one over postaged's resolver).
 * Anything but a definite answer is a TEMPORARY outcome: doubt never
 * rejects.
 */
#include "config.h"

#include <string.h>

#include "policy/helo/helo_internal.h"

const char *
pd_helo_outcome_name(enum pd_helo_outcome o)
{
    switch (o) {
    case PD_HELO_NOT_RUN: return "not_run";
    case PD_HELO_PASS: return "pass";
    case PD_HELO_FAIL: return "fail";
    case PD_HELO_TEMP: return "temp";
    }
    return "?";
}

/* Anything but a definite answer (including an rcode out of range from a
 * broken resolver) is temporary: doubt must never reject. */
static int
rc_temp(enum pd_helo_rcode rc)
{
    return rc != PD_HELO_RC_UNASKED && rc != PD_HELO_RC_NOERROR && rc != PD_HELO_RC_NXDOMAIN;
}

static unsigned
addrs_count(const struct pd_helo_addrs *a)
{
    if (a->rcode != PD_HELO_RC_NOERROR)
        return 0;
    return a->count < PD_HELO_DNS_ADDRS ? a->count : PD_HELO_DNS_ADDRS;
}

static int
addrs_contain(const struct pd_helo_addrs *a, const struct pd_addr *client)
{
    unsigned i, n = addrs_count(a);

    for (i = 0; i < n; i++)
        if (pd_helo_addr_equal(&a->addr[i], client))
            return 1;
    return 0;
}

enum pd_helo_outcome
pd_helo_dns_resolves(const struct pd_helo_fwd *fwd)
{
    if (fwd == NULL)
        return PD_HELO_NOT_RUN;
    if (addrs_count(&fwd->a) > 0 || addrs_count(&fwd->aaaa) > 0)
        return PD_HELO_PASS;
    if (rc_temp(fwd->a.rcode) || rc_temp(fwd->aaaa.rcode))
        return PD_HELO_TEMP;
    if (fwd->a.rcode == PD_HELO_RC_UNASKED && fwd->aaaa.rcode == PD_HELO_RC_UNASKED)
        return PD_HELO_NOT_RUN;
    return PD_HELO_FAIL;
}

enum pd_helo_outcome
pd_helo_dns_matches(const struct pd_helo_fwd *fwd, const struct pd_addr *client)
{
    const struct pd_helo_addrs *own;
    struct pd_addr c;

    if (fwd == NULL || !helo_addr_known(client))
        return PD_HELO_NOT_RUN;
    if (addrs_contain(&fwd->a, client) || addrs_contain(&fwd->aaaa, client))
        return PD_HELO_PASS;
    /* Only the query that could hold the client's address matters: an
     * AAAA failure says nothing about an IPv4 client. */
    c = helo_addr_norm(client);
    own = c.family == PD_ADDR_V4 ? &fwd->a : &fwd->aaaa;
    if (rc_temp(own->rcode))
        return PD_HELO_TEMP;
    if (own->rcode == PD_HELO_RC_UNASKED)
        return PD_HELO_NOT_RUN;
    return PD_HELO_FAIL;
}

/* A PTR name worth a forward lookup: a syntactically valid FQDN (not
 * "localhost", not an address), as Postfix also insists. */
static int
ptr_name_ok(const char *name, struct pd_helo_parsed *p)
{
    return pd_helo_syntax(name, NULL, NULL, p) == PD_HELO_OK_FQDN;
}

enum pd_helo_outcome
pd_helo_dns_fcrdns(const struct pd_helo_ptr *ptr, const struct pd_addr *client)
{
    struct pd_helo_parsed p;
    unsigned i, n;
    int temp = 0;

    if (ptr == NULL || !helo_addr_known(client) || ptr->rcode == PD_HELO_RC_UNASKED)
        return PD_HELO_NOT_RUN;
    if (rc_temp(ptr->rcode))
        return PD_HELO_TEMP;
    if (ptr->rcode != PD_HELO_RC_NOERROR)
        return PD_HELO_FAIL;
    n = ptr->count < PD_HELO_DNS_PTRS ? ptr->count : PD_HELO_DNS_PTRS;
    for (i = 0; i < n; i++) {
        enum pd_helo_outcome o;

        /* The name is the resolver's text: bounded by its array. */
        if (memchr(ptr->name[i], '\0', sizeof ptr->name[i]) == NULL
            || !ptr_name_ok(ptr->name[i], &p))
            continue;
        o = pd_helo_dns_matches(&ptr->fwd[i], client);
        if (o == PD_HELO_PASS)
            return PD_HELO_PASS;
        if (o == PD_HELO_TEMP)
            temp = 1;
    }
    return temp ? PD_HELO_TEMP : PD_HELO_FAIL;
}

unsigned
pd_helo_dns_wanted(const struct pd_helo_config *cfg, enum pd_helo_syntax s,
                   const struct pd_addr *client)
{
    enum pd_helo_test failed;
    unsigned want = 0;

    if (cfg == NULL)
        return 0;
    /* A verdict already final needs no lookups; ourselves, nothing to
     * verify. */
    if (s == PD_HELO_OK_LOCAL)
        return 0;
    failed = helo_syntax_test(s);
    if (failed != PD_HELO_TEST_COUNT && cfg->rule[failed].act == PD_HELO_ACT_REJECT)
        return 0;
    if (s == PD_HELO_OK_FQDN
        && (cfg->rule[PD_HELO_TEST_RESOLVE].act != PD_HELO_ACT_OFF
            || (cfg->rule[PD_HELO_TEST_MATCH].act != PD_HELO_ACT_OFF && helo_addr_known(client))))
        want |= PD_HELO_WANT_FWD;
    if (cfg->rule[PD_HELO_TEST_FCRDNS].act != PD_HELO_ACT_OFF && helo_addr_known(client))
        want |= PD_HELO_WANT_PTR;
    return want;
}

/* Make what a callback returned safe to read: a known rcode, a count
 * within the array. */
static void
clamp_addrs(struct pd_helo_addrs *a)
{
    if ((unsigned) a->rcode > PD_HELO_RC_ERROR)
        a->rcode = PD_HELO_RC_ERROR;
    if (a->count > PD_HELO_DNS_ADDRS)
        a->count = PD_HELO_DNS_ADDRS;
}

static void
lookup(const struct pd_helo_resolver *r, const char *name, enum pd_addr_family fam,
       struct pd_helo_addrs *out)
{
    memset(out, 0, sizeof *out);
    r->lookup_addr(r->ctx, name, fam, out);
    clamp_addrs(out);
    /* A resolver that forgot to set the rcode answered nothing usable. */
    if (out->rcode == PD_HELO_RC_UNASKED)
        out->rcode = PD_HELO_RC_ERROR;
}

void
pd_helo_dns_collect(const struct pd_helo_resolver *r, unsigned want, const char *name,
                    const struct pd_addr *client, struct pd_helo_dns *out)
{
    enum pd_addr_family first = PD_ADDR_V4;
    struct pd_helo_parsed p;
    unsigned i;

    if (out == NULL)
        return;
    memset(out, 0, sizeof *out);
    if (r == NULL)
        return;
    if (helo_addr_known(client) && helo_addr_norm(client).family == PD_ADDR_V6)
        first = PD_ADDR_V6;

    if ((want & PD_HELO_WANT_FWD) && r->lookup_addr != NULL && name != NULL && name[0] != '\0'
        && strnlen(name, PD_HELO_NAME_MAX + 1) <= PD_HELO_NAME_MAX) {
        struct pd_helo_addrs *a = first == PD_ADDR_V4 ? &out->helo.a : &out->helo.aaaa;
        struct pd_helo_addrs *b = first == PD_ADDR_V4 ? &out->helo.aaaa : &out->helo.a;

        lookup(r, name, first, a);
        /* The other family only matters when the first gave nothing:
         * "resolves" is then still open, "matches" is already decided. */
        if (addrs_count(a) == 0)
            lookup(r, name, first == PD_ADDR_V4 ? PD_ADDR_V6 : PD_ADDR_V4, b);
        out->have_helo = 1;
    }

    if ((want & PD_HELO_WANT_PTR) && r->lookup_ptr != NULL && r->lookup_addr != NULL
        && helo_addr_known(client)) {
        struct pd_helo_ptr *ptr = &out->ptr;

        r->lookup_ptr(r->ctx, client, ptr);
        if ((unsigned) ptr->rcode > PD_HELO_RC_ERROR || ptr->rcode == PD_HELO_RC_UNASKED)
            ptr->rcode = PD_HELO_RC_ERROR;
        if (ptr->count > PD_HELO_DNS_PTRS)
            ptr->count = PD_HELO_DNS_PTRS;
        memset(ptr->fwd, 0, sizeof ptr->fwd);
        for (i = 0; i < PD_HELO_DNS_PTRS; i++)
            ptr->name[i][sizeof ptr->name[i] - 1] = '\0';
        for (i = 0; ptr->rcode == PD_HELO_RC_NOERROR && i < ptr->count; i++)
            if (ptr_name_ok(ptr->name[i], &p))
                lookup(r, p.name, first,
                       first == PD_ADDR_V4 ? &ptr->fwd[i].a : &ptr->fwd[i].aaaa);
        out->have_ptr = 1;
    }
}
