/*
 * helo_internal.h - what the files of the HELO module (policy/helo/helo.h)
 * share and nobody else uses: ASCII case folding for names, the test
 * each syntax class fails (the check and the choice of DNS lookups must
 * agree on it), and the one reading of an address every part applies (an
 * IPv4-mapped IPv6 address is the IPv4 address it carries, so that a
 * resolver or caller that built a pd_addr by hand compares correctly).
 * Header-only, static inline.
 */
#ifndef POSTAGE_POLICY_HELO_INTERNAL_H
#define POSTAGE_POLICY_HELO_INTERNAL_H

#include <stddef.h>
#include <string.h>

#include "policy/helo/helo.h"

/* c in lower case if it is an ASCII capital; anything else unchanged. */
static inline char
helo_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/* 1 if the alen bytes at a equal the string b, ignoring ASCII case. */
static inline int
helo_eq_nocase(const char *a, size_t alen, const char *b)
{
    size_t i;

    if (strlen(b) != alen)
        return 0;
    for (i = 0; i < alen; i++)
        if (helo_lower(a[i]) != helo_lower(b[i]))
            return 0;
    return 1;
}

/* *a, with an IPv4-mapped IPv6 address (::ffff:a.b.c.d) made IPv4. */
static inline struct pd_addr
helo_addr_norm(const struct pd_addr *a)
{
    static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    struct pd_addr n = *a;

    if (n.family == PD_ADDR_V6 && memcmp(n.bytes, v4_mapped, sizeof v4_mapped) == 0) {
        n.family = PD_ADDR_V4;
        memmove(n.bytes, n.bytes + 12, 4);
        memset(n.bytes + 4, 0, 12);
    }
    return n;
}

/* 1 if a is non-NULL and holds an IPv4 or IPv6 address. */
static inline int
helo_addr_known(const struct pd_addr *a)
{
    return a != NULL && (a->family == PD_ADDR_V4 || a->family == PD_ADDR_V6);
}

/* The test a syntax result fails, or PD_HELO_TEST_COUNT for none. */
static inline enum pd_helo_test
helo_syntax_test(enum pd_helo_syntax s)
{
    switch (s) {
    case PD_HELO_BAD_EMPTY: return PD_HELO_TEST_MISSING;
    case PD_HELO_BAD_SYNTAX: return PD_HELO_TEST_SYNTAX;
    case PD_HELO_BAD_BARE_IP: return PD_HELO_TEST_BARE_IP;
    case PD_HELO_BAD_SINGLE_LABEL: return PD_HELO_TEST_SINGLE_LABEL;
    case PD_HELO_BAD_LOCALHOST: return PD_HELO_TEST_LOCALHOST;
    case PD_HELO_BAD_OWN_NAME: return PD_HELO_TEST_OWN;
    case PD_HELO_BAD_LITERAL_MISMATCH: return PD_HELO_TEST_LITERAL;
    case PD_HELO_OK_FQDN:
    case PD_HELO_OK_LITERAL:
    case PD_HELO_OK_LOCAL:
        break;
    }
    return PD_HELO_TEST_COUNT;
}

#endif
