/*
 * price_record.c - the _postage.<domain> TXT record: parse, format, look
 * up.  The grammar is in docs/price-discovery.md; this file is its only
 * reader, so the receiving and the sending side cannot disagree on it.
 *
 * The text comes from DNS, that is from anyone: every byte is checked,
 * lengths are explicit (a TXT record may hold NULs), and numbers are read
 * digit by digit with a bound, never with strtoul's silent wrap.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy/base/price_record.h"
#include "postage/verify.h"   /* POSTAGE_KIND_* */

#define VERSION_TAG "POSTAGE1"
/* Argon2id bounds a record may state: RFC 9106's smallest memory for one
 * lane, and 4 GiB / 1000 passes, far beyond any stamp. */
#define AM_MIN 8u
#define AM_MAX 4194304u
#define AT_MAX 1000u

static bool
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A whole value of decimal digits, at most @max; false otherwise. */
static bool
parse_number(const char *v, size_t n, unsigned max, unsigned *out)
{
    unsigned long value = 0;

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(v[i]))
            return false;
        value = value * 10 + (unsigned long) (v[i] - '0');
        if (value > max)
            return false;
    }
    *out = (unsigned) value;
    return true;
}

static bool
word_is(const char *w, size_t n, const char *lit)
{
    size_t l = strlen(lit);

    if (n != l)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = w[i];
        if (c >= 'A' && c <= 'Z')
            c = (char) (c - 'A' + 'a');
        if (c != lit[i])
            return false;
    }
    return true;
}

/* k=: a ':'-separated list; names this version does not know are skipped
 * (a later version may add kinds), but one known kind is needed. */
static bool
parse_kinds(const char *v, size_t n, unsigned *out)
{
    unsigned kinds = 0;
    size_t i = 0;

    while (i <= n) {
        size_t start = i;
        while (i < n && v[i] != ':')
            i++;
        const char *w = v + start;
        size_t wn = i - start;
        while (wn > 0 && is_wsp(w[0])) {
            w++;
            wn--;
        }
        while (wn > 0 && is_wsp(w[wn - 1]))
            wn--;
        if (word_is(w, wn, "sha1"))
            kinds |= POSTAGE_KIND_SHA1;
        else if (word_is(w, wn, "argon2id"))
            kinds |= POSTAGE_KIND_ARGON2ID;
        i++;
    }
    if (kinds == 0)
        return false;
    *out = kinds;
    return true;
}

/* The tags this version reads, as bits, to find duplicates of them;
 * unknown tags are compared by name against those seen before. */
enum { TAG_V = 1, TAG_B = 2, TAG_K = 4, TAG_AM = 8, TAG_AT = 16 };

int
pd_price_record_parse(const char *text, size_t len, struct pd_price_record *out,
                      char *err, size_t errlen)
{
    struct pd_price_record r = { .bits = 0, .kinds = POSTAGE_KIND_SHA1 };
    unsigned seen = 0;
    /* Unknown tag names seen so far, for the duplicate check: offsets into
     * text.  A record is at most PD_DNS_TXT_MAX bytes, so a few hundred
     * tags at most; a fixed bound keeps this allocation-free. */
    enum { MAX_UNKNOWN = 64 };
    size_t unknown_at[MAX_UNKNOWN], unknown_len[MAX_UNKNOWN];
    size_t n_unknown = 0;
    size_t i = 0;
    bool first = true;

    if (text == NULL)
        len = 0;
    if (err != NULL && errlen > 0)
        err[0] = '\0';

    while (i < len) {
        /* One tag: WSP name WSP "=" WSP value WSP, up to ";" or the end. */
        while (i < len && is_wsp(text[i]))
            i++;
        if (i < len && text[i] == ';' && !first) {
            i++;       /* an empty tag, as in "b=20;;" or a final ";" */
            continue;
        }
        if (i >= len)
            break;
        size_t name_at = i;
        if (!is_alpha(text[i])) {
            if (first)
                return 1;
            snprintf(err, errlen, "a tag name must start with a letter (at byte %zu)", i);
            return -1;
        }
        while (i < len && (is_alpha(text[i]) || is_digit(text[i]) || text[i] == '_'))
            i++;
        size_t name_len = i - name_at;
        while (i < len && is_wsp(text[i]))
            i++;
        if (i >= len || text[i] != '=') {
            if (first)
                return 1;
            snprintf(err, errlen, "tag %.*s has no '='", (int) (name_len > 32 ? 32 : name_len),
                     text + name_at);
            return -1;
        }
        i++;
        while (i < len && is_wsp(text[i]))
            i++;
        size_t value_at = i;
        while (i < len && text[i] != ';') {
            unsigned char c = (unsigned char) text[i];
            if ((c < 0x21 && !is_wsp((char) c)) || c > 0x7e) {
                if (first)
                    return 1;
                snprintf(err, errlen, "byte 0x%02x at %zu is not allowed in a record", c, i);
                return -1;
            }
            i++;
        }
        size_t value_len = i - value_at;
        while (value_len > 0 && is_wsp(text[value_at + value_len - 1]))
            value_len--;
        if (i < len)
            i++;                                   /* the ';' */

        const char *name = text + name_at, *value = text + value_at;
        if (first) {
            /* Case matters here, as in DMARC's v=DMARC1: a record that says
             * anything else is some other version, to be ignored. */
            if (name_len != 1 || name[0] != 'v' || value_len != strlen(VERSION_TAG) ||
                memcmp(value, VERSION_TAG, value_len) != 0)
                return 1;
            seen |= TAG_V;
            first = false;
            continue;
        }

        unsigned bit = 0;
        if (name_len == 1 && name[0] == 'v')
            bit = TAG_V;
        else if (name_len == 1 && name[0] == 'b')
            bit = TAG_B;
        else if (name_len == 1 && name[0] == 'k')
            bit = TAG_K;
        else if (name_len == 2 && memcmp(name, "am", 2) == 0)
            bit = TAG_AM;
        else if (name_len == 2 && memcmp(name, "at", 2) == 0)
            bit = TAG_AT;

        if (bit == 0) {
            for (size_t u = 0; u < n_unknown; u++)
                if (unknown_len[u] == name_len && memcmp(text + unknown_at[u], name, name_len) == 0) {
                    snprintf(err, errlen, "tag %.*s given twice",
                             (int) (name_len > 32 ? 32 : name_len), name);
                    return -1;
                }
            if (n_unknown == MAX_UNKNOWN) {
                snprintf(err, errlen, "more than %d unknown tags", MAX_UNKNOWN);
                return -1;
            }
            unknown_at[n_unknown] = name_at;
            unknown_len[n_unknown++] = name_len;
            continue;
        }
        if (seen & bit) {
            snprintf(err, errlen, "tag %.*s given twice", (int) name_len, name);
            return -1;
        }
        seen |= bit;

        bool ok = true;
        unsigned number = 0;
        switch (bit) {
        case TAG_V:
            ok = false;
            break;
        case TAG_B:
            ok = parse_number(value, value_len, PD_PRICE_RECORD_MAX_BITS, &r.bits);
            if (!ok) {
                snprintf(err, errlen, "b=%.*s is not a number of bits from 0 to %d",
                         (int) (value_len > 16 ? 16 : value_len), value, PD_PRICE_RECORD_MAX_BITS);
                return -1;
            }
            break;
        case TAG_K:
            ok = parse_kinds(value, value_len, &r.kinds);
            if (!ok) {
                snprintf(err, errlen, "k=%.*s names no kind of stamp this version knows (sha1, argon2id)",
                         (int) (value_len > 32 ? 32 : value_len), value);
                return -1;
            }
            break;
        case TAG_AM:
            ok = parse_number(value, value_len, AM_MAX, &number) && number >= AM_MIN;
            if (!ok) {
                snprintf(err, errlen, "am=%.*s is not a memory size from %u to %u KiB",
                         (int) (value_len > 16 ? 16 : value_len), value, AM_MIN, AM_MAX);
                return -1;
            }
            r.argon2id_max_memory = number;
            break;
        case TAG_AT:
            ok = parse_number(value, value_len, AT_MAX, &number) && number >= 1;
            if (!ok) {
                snprintf(err, errlen, "at=%.*s is not a number of passes from 1 to %u",
                         (int) (value_len > 16 ? 16 : value_len), value, AT_MAX);
                return -1;
            }
            r.argon2id_max_passes = number;
            break;
        }
        if (!ok) {
            snprintf(err, errlen, "tag v given twice");
            return -1;
        }
    }

    if (first)
        return 1;
    if (!(seen & TAG_B)) {
        snprintf(err, errlen, "no b= tag (the price in bits)");
        return -1;
    }
    if (out != NULL)
        *out = r;
    return 0;
}

size_t
pd_price_record_format(const struct pd_price_record *r, char *out, size_t cap)
{
    unsigned known = POSTAGE_KIND_SHA1 | POSTAGE_KIND_ARGON2ID;

    if (r == NULL || out == NULL || r->bits > PD_PRICE_RECORD_MAX_BITS ||
        (r->kinds & known) == 0 ||
        (r->argon2id_max_memory != 0 &&
         (r->argon2id_max_memory < AM_MIN || r->argon2id_max_memory > AM_MAX)) ||
        r->argon2id_max_passes > AT_MAX)
        return 0;

    char text[PD_PRICE_RECORD_TEXT_MAX];
    size_t n = (size_t) snprintf(text, sizeof text, "v=%s; b=%u", VERSION_TAG, r->bits);
    if (r->kinds & POSTAGE_KIND_ARGON2ID)
        n += (size_t) snprintf(text + n, sizeof text - n, "; k=%s",
                               (r->kinds & POSTAGE_KIND_SHA1) ? "sha1:argon2id" : "argon2id");
    if (r->argon2id_max_memory != 0)
        n += (size_t) snprintf(text + n, sizeof text - n, "; am=%u", r->argon2id_max_memory);
    if (r->argon2id_max_passes != 0)
        n += (size_t) snprintf(text + n, sizeof text - n, "; at=%u", r->argon2id_max_passes);
    if (n + 1 > cap)
        return 0;
    memcpy(out, text, n + 1);
    return n;
}

int
pd_price_domain_of(const char *address, char *out, size_t cap)
{
    if (address == NULL || out == NULL || cap == 0)
        return -1;
    size_t len = strlen(address);
    while (len > 0 && is_wsp(address[len - 1]))
        len--;
    while (len > 0 && is_wsp(address[0])) {
        address++;
        len--;
    }
    if (len >= 2 && address[0] == '<' && address[len - 1] == '>') {
        address++;
        len -= 2;
    }
    const char *at = NULL;
    for (size_t i = 0; i < len; i++)
        if (address[i] == '@')
            at = address + i;
    if (at == NULL)
        return -1;
    const char *d = at + 1;
    size_t n = len - (size_t) (d - address);
    if (n > 0 && d[n - 1] == '.')
        n--;
    if (n == 0 || n > PD_DNS_NAME_MAX || n + 1 > cap)
        return -1;

    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = d[i];
        if (c == '.') {
            if (label == 0)
                return -1;
            label = 0;
        } else if (is_alpha(c) || is_digit(c) || c == '-' || c == '_') {
            if (++label > 63)
                return -1;
        } else {
            return -1;            /* "[192.0.2.1]", spaces, 8-bit... */
        }
        out[i] = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
    }
    if (label == 0)
        return -1;
    out[n] = '\0';
    return 0;
}

enum pd_price_found
pd_price_lookup(struct pd_dns *dns, const char *domain, uint64_t deadline_ms,
                struct pd_price_record *out, char *err, size_t errlen)
{
    char name[PD_DNS_NAME_MAX + 2];
    struct pd_dns_answer *answer = NULL;
    enum pd_price_found found;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (domain == NULL || domain[0] == '\0' ||
        strlen(domain) + strlen(PD_PRICE_RECORD_PREFIX) > PD_DNS_NAME_MAX) {
        snprintf(err, errlen, "no record name for domain \"%.64s\": too long or empty",
                 domain != NULL ? domain : "");
        return PD_PRICE_DNS_ERROR;
    }
    snprintf(name, sizeof name, "%s%s", PD_PRICE_RECORD_PREFIX, domain);

    enum pd_dns_rcode rc = pd_dns_lookup(dns, name, PD_DNS_TXT, deadline_ms, &answer);
    if (answer == NULL) {
        snprintf(err, errlen, "DNS look-up of %s failed: out of memory", name);
        return PD_PRICE_DNS_ERROR;
    }
    switch (rc) {
    case PD_DNS_NOERROR: {
        size_t valid = 0;
        found = PD_PRICE_NONE;
        for (size_t i = 0; i < answer->count; i++) {
            const struct pd_dns_rr *rr = &answer->rr[i];
            struct pd_price_record r;
            char why[160];
            if (rr->type != PD_DNS_TXT || rr->text == NULL)
                continue;
            int p = pd_price_record_parse(rr->text, rr->text_len, &r, why, sizeof why);
            if (p == 1)
                continue;
            if (p < 0) {
                snprintf(err, errlen, "%s: %s", name, why);
                found = PD_PRICE_INVALID;
                break;
            }
            if (++valid > 1) {
                snprintf(err, errlen, "%s: more than one v=POSTAGE1 record", name);
                found = PD_PRICE_INVALID;
                break;
            }
            if (out != NULL)
                *out = r;
            found = PD_PRICE_FOUND;
        }
        if (found == PD_PRICE_NONE)
            snprintf(err, errlen, "no v=POSTAGE1 record at %s", name);
        break;
    }
    case PD_DNS_NXDOMAIN:
        snprintf(err, errlen, "no record at %s (NXDOMAIN)", name);
        found = PD_PRICE_NONE;
        break;
    default:
        snprintf(err, errlen, "DNS look-up of %s: %s", name, pd_dns_rcode_name(rc));
        found = PD_PRICE_DNS_ERROR;
        break;
    }
    pd_dns_answer_free(answer);
    return found;
}

const char *
pd_price_found_name(enum pd_price_found found)
{
    switch (found) {
    case PD_PRICE_FOUND:
        return "found";
    case PD_PRICE_NONE:
        return "none";
    case PD_PRICE_INVALID:
        return "invalid";
    case PD_PRICE_DNS_ERROR:
        return "dns-error";
    }
    return "?";
}
