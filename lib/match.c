/*
 * match.c - does a stamp's RESOURCE match what the checker asked for?
 *
 * Exact (case-blind by default) comparison, or hashcash 1.22's wildcard
 * rules (its email_match()): '*' globs; for addresses the user parts are
 * globbed and the domains compared label by label with equal label counts.
 * Lengths are explicit everywhere, so no input can read past its end.
 */
#include "config.h"

#include <string.h>

#include "postage/stamp.h"

static unsigned char
fold(unsigned char c, unsigned flags)
{
    if (!(flags & POSTAGE_MATCH_CASE_SENSITIVE) && c >= 'A' && c <= 'Z')
        return (unsigned char) (c - 'A' + 'a');
    return c;
}

static int
equal(const char *a, size_t alen, const char *b, size_t blen, unsigned flags)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (fold((unsigned char) a[i], flags) != fold((unsigned char) b[i], flags))
            return 0;
    return 1;
}

/* '*' matches any run of characters (even none); nothing else is special.
 * Linear-time two-pointer matching with backtracking to the last star. */
static int
glob(const char *pat, size_t plen, const char *s, size_t slen, unsigned flags)
{
    size_t p = 0, i = 0, star = (size_t) -1, mark = 0;

    while (i < slen) {
        if (p < plen && pat[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < plen &&
                   fold((unsigned char) pat[p], flags) == fold((unsigned char) s[i], flags)) {
            p++;
            i++;
        } else if (star != (size_t) -1) {
            p = star + 1;
            i = ++mark;
        } else {
            return 0;
        }
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

static const char *
last_at(const char *s, size_t n)
{
    for (size_t i = n; i-- > 0;)
        if (s[i] == '@')
            return s + i;
    return NULL;
}

static size_t
count_labels(const char *s, size_t n)
{
    size_t labels = 1;
    for (size_t i = 0; i < n; i++)
        labels += s[i] == '.';
    return labels;
}

static int
domain_match(const char *pat, size_t plen, const char *dom, size_t dlen,
             unsigned flags)
{
    if (count_labels(pat, plen) != count_labels(dom, dlen))
        return 0;
    while (1) {
        const char *pdot = memchr(pat, '.', plen);
        const char *ddot = memchr(dom, '.', dlen);
        size_t pl = pdot ? (size_t) (pdot - pat) : plen;
        size_t dl = ddot ? (size_t) (ddot - dom) : dlen;
        if (!glob(pat, pl, dom, dl, flags))
            return 0;
        if (pdot == NULL) /* equal label counts: both ended */
            return 1;
        pat += pl + 1;
        plen -= pl + 1;
        dom += dl + 1;
        dlen -= dl + 1;
    }
}

int
postage_resource_match(const char *pattern, size_t plen, const char *resource,
                       size_t rlen, unsigned flags)
{
    if (pattern == NULL || resource == NULL)
        return 0;
    if (!(flags & POSTAGE_MATCH_WILDCARD))
        return equal(pattern, plen, resource, rlen, flags);

    const char *pat_at = last_at(pattern, plen);
    const char *res_at = last_at(resource, rlen);
    if (pat_at == NULL && res_at == NULL)
        return glob(pattern, plen, resource, rlen, flags);
    /* 1.22 fails a domain pattern against a bare resource, and crashes on a
     * bare pattern against an address: both are simply no match here. */
    if (pat_at == NULL || res_at == NULL)
        return 0;
    size_t pu = (size_t) (pat_at - pattern), ru = (size_t) (res_at - resource);
    return glob(pattern, pu, resource, ru, flags) &&
           domain_match(pat_at + 1, plen - pu - 1, res_at + 1, rlen - ru - 1, flags);
}
