/*
 * published.c - the record of the price postaged promises, and its
 * zone-file line (published.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy/checks/reputation.h"
#include "policy/engine/published.h"
#include "policy/engine/settings.h"

static int
is_ldh(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-';
}

int
pd_published_domain(const char *domain, char *out, size_t cap, char *err, size_t errlen)
{
    const size_t prefix = strlen(PD_PRICE_RECORD_PREFIX);
    size_t n = domain != NULL ? strlen(domain) : 0;

    if (n > 0 && domain[n - 1] == '.')
        n--;                          /* "example.org." is example.org */
    if (n == 0) {
        snprintf(err, errlen, "the domain is empty");
        return -1;
    }
    if (n + prefix > PD_DNS_NAME_MAX) {
        snprintf(err, errlen, "the domain is too long: %sDOMAIN would be %zu characters, "
                 "over %d", PD_PRICE_RECORD_PREFIX, n + prefix, PD_DNS_NAME_MAX);
        return -1;
    }
    if (n + 1 > cap) {
        snprintf(err, errlen, "no room for the domain");
        return -1;
    }
    size_t start = 0;
    int digits_only = 1;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char) domain[i] : '.';
        if (c == '.') {
            size_t len = i - start;
            if (len == 0) {
                snprintf(err, errlen, "'%s' has an empty label", domain);
                return -1;
            }
            if (len > 63) {
                snprintf(err, errlen, "'%.80s' has a label of %zu characters, over 63", domain,
                         len);
                return -1;
            }
            if (domain[start] == '-' || domain[i - 1] == '-') {
                snprintf(err, errlen, "'%s': a label cannot begin or end with '-'", domain);
                return -1;
            }
            if (i < n) {
                out[i] = '.';
                start = i + 1;
                digits_only = 1;
            }
            continue;
        }
        if (c == '@') {
            snprintf(err, errlen, "'%s' is an address: give its domain", domain);
            return -1;
        }
        if (c >= 0x80) {
            snprintf(err, errlen, "'%s' is not ASCII: give the domain's A-label form "
                     "(xn--...)", domain);
            return -1;
        }
        if (!is_ldh(c)) {
            snprintf(err, errlen, "'%s' has a character a domain cannot have: '%c'", domain,
                     c >= 0x20 && c < 0x7f ? c : '?');
            return -1;
        }
        if (c < '0' || c > '9')
            digits_only = 0;
        out[i] = (char) (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (digits_only) {
        snprintf(err, errlen, "'%s' is an address, not a domain", domain);
        return -1;
    }
    out[n] = '\0';
    return 0;
}

int
pd_published_record(const struct pd_settings *s, struct pd_price_record *out, char *err,
                    size_t errlen)
{
    struct pd_rep_params p;
    if (!s->postage) {
        snprintf(err, errlen, "postage is off: postaged asks no postage, so it has no price "
                 "to publish");
        return -1;
    }
    if (pd_settings_rep_params(s, &p, err, errlen) != 0)
        return -1;
    if (p.published > PD_PRICE_RECORD_MAX_BITS) {
        snprintf(err, errlen, "published_price %d is over the %d bits a record may ask",
                 p.published, PD_PRICE_RECORD_MAX_BITS);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->bits = (unsigned) p.published;
    out->kinds = (unsigned) s->postage_kinds;
    if (out->kinds & POSTAGE_KIND_ARGON2ID) {
        out->argon2id_max_memory = s->argon2id_max_memory;
        out->argon2id_max_passes = s->argon2id_max_passes;
    }
    return 0;
}

int
pd_published_zone_line(const struct pd_settings *s, const char *domain, char *out, size_t cap,
                       int *bad_domain, char *err, size_t errlen)
{
    char name[PD_DNS_NAME_MAX + 1], text[PD_PRICE_RECORD_TEXT_MAX];
    struct pd_price_record r;
    int dummy;

    if (bad_domain == NULL)
        bad_domain = &dummy;
    *bad_domain = pd_published_domain(domain, name, sizeof name, err, errlen) != 0;
    if (*bad_domain || pd_published_record(s, &r, err, errlen) != 0)
        return -1;
    if (pd_price_record_format(&r, text, sizeof text) == 0) {
        snprintf(err, errlen, "the settings make no valid record");
        return -1;
    }
    int w = snprintf(out, cap, "%s%s. %d IN TXT \"%s\"", PD_PRICE_RECORD_PREFIX, name,
                     PD_PUBLISHED_TTL, text);
    if (w < 0 || (size_t) w >= cap) {
        snprintf(err, errlen, "no room for the line");
        return -1;
    }
    return 0;
}
